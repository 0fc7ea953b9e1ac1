"""Rucio's hermes messages through a STOMP broker: the hint to look at a rule again now.

One subscription per instance, filtered on the broker by a selector to ``rule_ok`` and
``rule_progress`` (sent for rules created with ``notify='P'``), and durable when the server gives
a stable identity (``client-id`` on CONNECT, ``activemq.subscriptionName`` on SUBSCRIBE), so
messages wait in the broker while the connection is down. Messages carry no account: an event is
only a hint, the watcher then fetches that rule from Rucio if it watches it and ignores every
other id, so a forged message can cost one read but never change what a user sees.

stomp.py runs its own receiver thread. Everything it hears is handed to the event loop with
``call_soon_threadsafe`` and its blocking calls (connect, subscribe, disconnect) run in worker
threads, so the loop never waits on the broker. One task keeps the connection: connect, subscribe
with a receipt, report "live", wait for the disconnection, report "down", try again with backoff.
The broker's password is read from a file or the shim's environment at each connect and is never
logged or returned (stomp.py masks ``passcode`` in its own debug log).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stomp
from stomp.exception import StompException

from ..errors import ConfigError

log = logging.getLogger(__name__)

#: the events that say a rule moved; the broker drops every other message for us
RULE_EVENTS = ("rule_ok", "rule_progress")
SELECTOR = "event_type IN ({})".format(", ".join(f"'{name}'" for name in RULE_EVENTS))
RULE_ID_RE = re.compile(r"[0-9a-fA-F]{32}")
DEFAULT_RECONCILE = 300.0
# Reconnect after 1, 2, 4 ... seconds, at most a minute apart (with jitter, so that the servers
# of a hub do not all knock at once after a broker restart).
RECONNECT_FIRST, RECONNECT_MAX = 1.0, 60.0
# How long the broker may take to answer CONNECT, SUBSCRIBE and DISCONNECT.
ANSWER_TIMEOUT = 10.0
SOCKET_TIMEOUT = 5.0
# STOMP heart-beats (ms): a broker that vanished without closing the socket is noticed.
HEARTBEATS = (20000, 20000)
SUBSCRIPTION_ID = "datalake-rules"

OnEvent = Callable[[str, str], None]
OnLive = Callable[[bool], None]
Environ = Callable[[str], "str | None"]


@dataclass(frozen=True)
class EventsConfig:
    """The ``events`` key of an instance (docs/contract.md): where hermes publishes."""

    brokers: tuple[tuple[str, int], ...]
    destination: str
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    use_ssl: bool = False
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    virtual_host: str | None = None
    client_id: str | None = None
    reconcile_interval: float = DEFAULT_RECONCILE

    def password(self, environ: Callable[[str], str | None]) -> str | None:
        """The broker password, read now (a rotated file is picked up at the next connect);
        ``environ`` looks a variable up where the shim keeps the secrets it withheld."""
        if self.password_env:
            value = environ(self.password_env)
            if value:
                return value
        if self.password_file:
            try:
                return Path(self.password_file).expanduser().read_text().strip() or None
            except OSError as e:
                raise BrokerError(f"cannot read password_file: {e.strerror}") from None
        return None


class BrokerError(Exception):
    """The broker refused or did not answer; the message holds no secret."""


def _broker(value: object, where: str) -> tuple[str, int]:
    host, sep, port = str(value).rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: each broker must be 'host:port', got {value!r}.")
    return host.strip("[]"), int(port)


def parse_events(raw: object, where: str) -> EventsConfig | None:
    """The ``events`` object of an instance, or None when absent (the shim then polls)."""
    if raw is None:
        return None
    where = f"{where}.events"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be an object with 'brokers' and 'destination'.")
    if "password" in raw:
        raise ConfigError(
            f"{where}: do not put 'password' in the configuration; use 'password_file' "
            "(a 0600 file) or 'password_env'."
        )
    brokers = raw.get("brokers")
    if isinstance(brokers, str):
        brokers = [brokers]
    if not isinstance(brokers, list) or not brokers:
        raise ConfigError(f"{where}: 'brokers' must list 'host:port' of the STOMP brokers.")
    text: dict[str, str | None] = {}
    for key in (
        "destination",
        "username",
        "password_file",
        "password_env",
        "ca_cert",
        "client_cert",
        "client_key",
        "virtual_host",
        "client_id",
    ):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: '{key}' must be a string.")
        text[key] = value or None
    if not text["destination"]:
        raise ConfigError(f"{where}: 'destination' (the topic hermes publishes to) is required.")
    if text["username"] and not (text["password_file"] or text["password_env"]):
        raise ConfigError(f"{where}: 'username' needs 'password_file' or 'password_env'.")
    use_ssl = raw.get("use_ssl", False)
    if not isinstance(use_ssl, bool):
        raise ConfigError(f"{where}: 'use_ssl' must be true or false.")
    reconcile = raw.get("reconcile_interval", DEFAULT_RECONCILE)
    if isinstance(reconcile, bool) or not isinstance(reconcile, (int, float)) or reconcile < 10:
        raise ConfigError(f"{where}: 'reconcile_interval' must be a number of seconds >= 10.")
    return EventsConfig(
        brokers=tuple(_broker(b, where) for b in brokers),
        use_ssl=use_ssl,
        reconcile_interval=float(reconcile),
        **text,  # type: ignore[arg-type]
    )


def rule_event(headers: Mapping[str, str], body: str) -> tuple[str, str] | None:
    """``(event_type, rule_id)`` of a hermes message about a rule, else None.

    The body is ``{"event_type", "payload": {"rule_id", ...}, "created_at"}``; anything else
    (another event, a malformed body, an id that is not 32 hex digits) is ignored.
    """
    event_type = str(headers.get("event_type") or "").lower()
    if event_type not in RULE_EVENTS:
        return None
    try:
        message = json.loads(body)
        rule_id = message["payload"]["rule_id"]
    except (ValueError, TypeError, KeyError, RecursionError):
        # RecursionError: a body nested too deep to read. Raised in stomp.py's receiver thread
        # it would end the connection; like any unreadable message, only one hint is lost.
        log.debug("datalake: ignored a %s message whose body is not readable", event_type)
        return None
    if not isinstance(rule_id, str) or not RULE_ID_RE.fullmatch(rule_id):
        return None
    return event_type, rule_id.lower()


def client_id_for(config: EventsConfig, instance: str, identity: str | None) -> str | None:
    """The durable subscription's name: configured, or from the server's stable identity.

    None (no stable identity, e.g. a headless kernel) means a plain subscription.
    """
    if config.client_id:
        return config.client_id
    if not identity:
        return None
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"jupyterlab-datalake.{instance}.{identity}")


class _Listener(stomp.ConnectionListener):
    """stomp.py's callbacks, run in its receiver thread: each only hands over to the loop."""

    def __init__(self, owner: RuleEvents, loop: asyncio.AbstractEventLoop, generation: int) -> None:
        self._owner = owner
        self._loop = loop
        self._generation = generation

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        # At shutdown the loop may be closed already: nothing is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._owner._heard, self._generation, callback, *args)

    def on_connected(self, frame: Any) -> None:
        self._call(self._owner._answered, "CONNECTED", None)

    def on_receipt(self, frame: Any) -> None:
        self._call(self._owner._answered, frame.headers.get("receipt-id"), None)

    def on_error(self, frame: Any) -> None:
        reason = str(frame.headers.get("message") or "ERROR frame")[:200]
        self._call(self._owner._answered, None, reason)

    def on_disconnected(self) -> None:
        self._call(self._owner._lost)

    def on_message(self, frame: Any) -> None:
        event = rule_event(frame.headers, frame.body if isinstance(frame.body, str) else "")
        if event is not None:
            # A hint is good whichever connection brought it.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._owner._heard_event, *event)


class RuleEvents:
    """The subscription of one instance; ``on_event(event_type, rule_id)`` and ``on_live(bool)``
    are called on the event loop."""

    def __init__(
        self,
        config: EventsConfig,
        instance: str,
        *,
        on_event: OnEvent,
        on_live: OnLive,
        environ: Environ,
        identity: str | None = None,
        connection_factory: Callable[..., Any] = stomp.Connection12,
    ) -> None:
        self.config = config
        self.instance = instance
        self._on_event = on_event
        self._on_live = on_live
        self._environ = environ
        self.client_id = client_id_for(config, instance, identity)
        self._factory = connection_factory
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._waiting: dict[str | None, asyncio.Future[None]] = {}
        self._gone = asyncio.Event()
        self._generation = 0
        self.live = False
        self.received = 0  # rule events heard (tests and benchmarks read it)
        self.connects = 0

    def start(self) -> None:
        """Keep the subscription from now on (call on the loop that will receive the events)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        delay = RECONNECT_FIRST
        reported = False
        while True:
            try:
                await self._connect()
            except (BrokerError, StompException, OSError, asyncio.TimeoutError) as e:
                # Said once per outage at WARNING; the retries that follow stay quiet.
                (log.info if reported else log.warning)(
                    "datalake: events of %s: broker %s not available (%s); polling Rucio, "
                    "next try in %.0f s",
                    self.instance,
                    self._where(),
                    str(e) or type(e).__name__,
                    delay,
                )
                reported = True
                await self._drop()
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            delay, reported = RECONNECT_FIRST, False
            self.connects += 1
            log.info("datalake: events of %s: subscribed at %s", self.instance, self._where())
            self._set_live(True)
            await self._gone.wait()
            self._set_live(False)
            log.warning(
                "datalake: events of %s: lost the broker %s; polling Rucio until it is back",
                self.instance,
                self._where(),
            )
            await self._drop()

    def _where(self) -> str:
        return ", ".join(f"{host}:{port}" for host, port in self.config.brokers)

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self._on_live(live)

    async def _connect(self) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        self._gone = asyncio.Event()
        self._generation += 1
        conn = self._factory(
            list(config.brokers),
            prefer_localhost=False,
            try_loopback_connect=False,
            reconnect_attempts_max=1,
            timeout=SOCKET_TIMEOUT,
            heartbeats=HEARTBEATS,
            vhost=config.virtual_host,
        )
        if config.use_ssl:
            conn.set_ssl(
                for_hosts=list(config.brokers),
                ca_certs=config.ca_cert,
                cert_file=config.client_cert,
                key_file=config.client_key,
            )
        conn.set_listener("datalake", _Listener(self, loop, self._generation))
        self._conn = conn
        headers = {"client-id": self.client_id} if self.client_id else {}
        password = config.password(self._environ)
        connected = self._expect("CONNECTED")
        await asyncio.to_thread(
            conn.connect, config.username, password, wait=False, headers=headers
        )
        await self._answer(connected, "CONNECT")
        receipt = uuid.uuid4().hex
        subscribed = self._expect(receipt)
        sub_headers = {"selector": SELECTOR, "receipt": receipt}
        if self.client_id:
            sub_headers["activemq.subscriptionName"] = self.client_id
        await asyncio.to_thread(
            conn.subscribe, config.destination, id=SUBSCRIPTION_ID, ack="auto", headers=sub_headers
        )
        await self._answer(subscribed, "SUBSCRIBE")

    def _expect(self, key: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        return future

    async def _answer(self, future: asyncio.Future[None], what: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(future), ANSWER_TIMEOUT)
        except asyncio.TimeoutError:
            raise BrokerError(f"no answer to {what} within {ANSWER_TIMEOUT:.0f} s") from None
        finally:
            self._waiting = {k: f for k, f in self._waiting.items() if f is not future}

    # ---- called on the loop by the listener ------------------------------------------------

    def _heard(self, generation: int, callback: Callable[..., None], *args: Any) -> None:
        # A late callback of a connection already given up must not touch the current one.
        if generation == self._generation:
            callback(*args)

    def _answered(self, key: str | None, error: str | None) -> None:
        if error is not None:
            # An ERROR frame (wrong password, client-id in use ...) fails whatever waits.
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(BrokerError(f"the broker said: {error}"))
            return
        future = self._waiting.get(key)
        if future is not None and not future.done():
            future.set_result(None)

    def _lost(self) -> None:
        self._gone.set()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BrokerError("the broker closed the connection"))

    def _heard_event(self, event_type: str, rule_id: str) -> None:
        self.received += 1
        self._on_event(event_type, rule_id)

    # ---- shutdown --------------------------------------------------------------------------

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(conn.disconnect), ANSWER_TIMEOUT)

    async def close(self) -> None:
        """Stop; a durable subscription is removed, so the broker keeps nothing for us."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn = self._conn
        if conn is not None and self.client_id and self.live:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.to_thread(
                        conn.unsubscribe,
                        SUBSCRIPTION_ID,
                        headers={"activemq.subscriptionName": self.client_id},
                    ),
                    ANSWER_TIMEOUT,
                )
        self.live = False
        await self._drop()
