"""The Python API behind ``%datalake``: ``from jupyterlab_datalake import datalake``.

Two channels answer the same calls with the same dicts, so a notebook runs unchanged in both places:

- ``HttpChannel``: in a kernel started by a Jupyter server with the extension, the shim's routes at
  ``$DATALAKE_SHIM_URL``, authenticated by ``$DATALAKE_SHIM_SECRET`` (the user's Rucio tokens stay
  in the server);
- ``InProcessChannel``: headless (nbclient, papermill, batch jobs), the shim's own
  ``DatalakeService`` run in this process on a private event loop thread (``$DATALAKE_CONFIG``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from ..errors import ConfigError, DatalakeError
from .lifetime import parse_duration
from .results import DidInfo, DidList, DidPaths, QosClasses, Staging

if TYPE_CHECKING:
    from ..core.service import DatalakeService

__all__ = ["Datalake", "DatalakeError", "HttpChannel", "InProcessChannel", "datalake"]

T = TypeVar("T")
Duration = str | float | timedelta
Json = dict[str, Any]

SHIM_URL_ENV = "DATALAKE_SHIM_URL"
SHIM_SECRET_ENV = "DATALAKE_SHIM_SECRET"
CONFIG_ENV = "DATALAKE_CONFIG"
PAGE = 1000


class Channel(Protocol):
    """The service calls the kernel needs; every method returns the route's JSON as dicts."""

    def search(
        self,
        did: str,
        type: str = "all",
        filters: Json | None = None,
        limit: int = 100,
        cursor: str | None = None,
        *,
        instance: str | None = None,
    ) -> Json: ...
    def did_info(self, did: str, *, instance: str | None = None) -> Json: ...
    def files(
        self, did: str, limit: int = PAGE, cursor: str | None = None, *, instance: str | None = None
    ) -> Json: ...
    def replicas(self, did: str, *, instance: str | None = None) -> Json: ...
    def qos(self, *, instance: str | None = None) -> Json: ...
    def list_stagings(self, *, instance: str | None = None) -> Json: ...
    def stage(
        self,
        dids: list[str],
        qos: str | None = None,
        lifetime: int | None = None,
        source_qos: str | None = None,
        start_in: int | None = None,
        comment: str | None = None,
        *,
        instance: str | None = None,
    ) -> Json: ...
    def get_staging(self, rule_id: str, *, instance: str | None = None) -> Json: ...
    def extend(self, rule_id: str, lifetime: int, *, instance: str | None = None) -> Json: ...
    def release(self, rule_id: str, *, instance: str | None = None) -> None: ...
    def paths(
        self, did: str, qos: str | None = None, *, instance: str | None = None
    ) -> list[Json]: ...


class HttpChannel:
    """The shim's REST routes, as seen from a kernel of the same Jupyter server."""

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        # The secret lives only in this client's default headers: never in an attribute of ours,
        # a repr or an error message. trust_env=False: the shim is local, never behind a proxy.
        self._http = httpx.Client(
            base_url=self.url,
            headers={"X-Datalake-Secret": secret},
            timeout=httpx.Timeout(timeout, connect=10.0),
            trust_env=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<HttpChannel {self.url}>"

    def _send(
        self,
        method: str,
        path: str,
        params: Json | None = None,
        body: Json | None = None,
        instance: str | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if instance is not None:
            query["instance"] = instance
        try:
            response = self._http.request(method, path, params=query, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_for_status(response, path)
        return response

    def _unreachable(self, exc: Exception) -> DatalakeError:
        return DatalakeError(
            503,
            f"The datalake service at {self.url} is not reachable ({type(exc).__name__}): check "
            "that the Jupyter server is running, and restart this kernel if the server restarted.",
            "SHIM_UNREACHABLE",
        )

    def _get(self, path: str, instance: str | None = None, **params: Any) -> Json:
        return self._send("GET", path, params, instance=instance).json()

    def search(
        self,
        did: str,
        type: str = "all",
        filters: Json | None = None,
        limit: int = 100,
        cursor: str | None = None,
        *,
        instance: str | None = None,
    ) -> Json:
        flt = json.dumps(filters) if filters else None
        return self._get(
            "search", instance, did=did, type=type, filters=flt, limit=limit, cursor=cursor
        )

    def did_info(self, did: str, *, instance: str | None = None) -> Json:
        return self._get("did", instance, did=did)

    def files(
        self, did: str, limit: int = PAGE, cursor: str | None = None, *, instance: str | None = None
    ) -> Json:
        return self._get("did/files", instance, did=did, limit=limit, cursor=cursor)

    def replicas(self, did: str, *, instance: str | None = None) -> Json:
        return self._get("did/replicas", instance, did=did)

    def qos(self, *, instance: str | None = None) -> Json:
        return self._get("qos", instance)

    def list_stagings(self, *, instance: str | None = None) -> Json:
        return self._get("stagings", instance)

    def stage(
        self,
        dids: list[str],
        qos: str | None = None,
        lifetime: int | None = None,
        source_qos: str | None = None,
        start_in: int | None = None,
        comment: str | None = None,
        *,
        instance: str | None = None,
    ) -> Json:
        body = {
            "dids": dids,
            "qos": qos,
            "lifetime": lifetime,
            "source_qos": source_qos,
            "start_in": start_in,
            "comment": comment,
            "instance": instance,
        }
        return self._send("POST", "stagings", body=body).json()

    def get_staging(self, rule_id: str, *, instance: str | None = None) -> Json:
        return self._get(f"stagings/{_segment(rule_id)}", instance)

    def extend(self, rule_id: str, lifetime: int, *, instance: str | None = None) -> Json:
        path = f"stagings/{_segment(rule_id)}"
        return self._send("PATCH", path, body={"lifetime": lifetime}, instance=instance).json()

    def release(self, rule_id: str, *, instance: str | None = None) -> None:
        self._send("DELETE", f"stagings/{_segment(rule_id)}", instance=instance)

    def paths(self, did: str, qos: str | None = None, *, instance: str | None = None) -> list[Json]:
        query = {k: v for k, v in {"did": did, "qos": qos, "instance": instance}.items() if v}
        try:
            with self._http.stream("GET", "paths", params=query) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response, "paths")
                entries = [json.loads(line) for line in response.iter_lines() if line.strip()]
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        # Rucio failed after the stream began: the shim ends it with one error line.
        if entries and "error" in entries[-1]:
            error = entries[-1]["error"]
            raise DatalakeError(502, error["message"], error.get("reason", "RUCIO_ERROR"))
        return entries

    def close(self) -> None:
        self._http.close()


class InProcessChannel:
    """The shim's ``DatalakeService`` in this process, for kernels without a Jupyter server.

    The service is async; a kernel's own thread already runs an event loop, so the service gets a
    private loop in a daemon thread and each call waits for its result there.
    """

    def __init__(self, factory: Callable[[], DatalakeService], description: str) -> None:
        self._factory = factory
        self.description = description
        self._service: DatalakeService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> InProcessChannel:
        """From ``$DATALAKE_CONFIG`` (``{"DatalakeApp": {...}}`` JSON) or the env fallback."""
        path = os.environ.get(CONFIG_ENV)
        path = os.path.abspath(path) if path else None  # the kernel may chdir later

        def build() -> DatalakeService:
            # Imported on first use: a kernel that only loads the magics stays light.
            from ..core.service import DatalakeService

            if path:
                return DatalakeService.from_config_file(path)
            return DatalakeService.from_settings({})

        return cls(build, f"{CONFIG_ENV}={path}" if path else "environment (DATALAKE_RUCIO_URL...)")

    def __repr__(self) -> str:
        return f"<InProcessChannel {self.description}>"

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="datalake-client", daemon=True
                ).start()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    def _run(self, call: Callable[[DatalakeService], Awaitable[T]]) -> T:
        future = asyncio.run_coroutine_threadsafe(self._call(call), self._ensure_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # interrupted (Ctrl-C): do not leave the call running
            raise

    async def _call(self, call: Callable[[DatalakeService], Awaitable[T]]) -> T:
        # Built on the private loop: the service's HTTP client belongs to it.
        if self._service is None:
            try:
                self._service = self._factory()
            except ConfigError as exc:
                raise DatalakeError(
                    503,
                    f"{exc} Set {CONFIG_ENV} to a file with a DatalakeApp section (as given to "
                    "jupyter server --config), or run in JupyterLab with jupyterlab-datalake.",
                    "NOT_CONFIGURED",
                ) from None
        return await call(self._service)

    # The service has the channel's verbs with the same names and keywords (docs/contract.md):
    # each one is forwarded unchanged, to run on the private loop.
    _FORWARDED = frozenset(
        {
            "search",
            "did_info",
            "files",
            "replicas",
            "qos",
            "list_stagings",
            "stage",
            "get_staging",
            "extend",
            "release",
        }
    )

    def __getattr__(self, verb: str) -> Callable[..., Any]:
        if verb not in self._FORWARDED:
            raise AttributeError(f"{type(self).__name__} has no {verb!r}")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._run(lambda service: getattr(service, verb)(*args, **kwargs))

        return call

    def paths(self, did: str, qos: str | None = None, *, instance: str | None = None) -> list[Json]:
        async def collect(service: DatalakeService) -> list[Json]:
            return [line async for line in service.paths(did, qos=qos, instance=instance)]

        return self._run(collect)

    def close(self) -> None:
        """Close the service and stop the private loop (also run at interpreter exit)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._service is not None:
            service, self._service = self._service, None
            # Closing at exit must not raise.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(service.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)


def _segment(rule_id: str) -> str:
    # Rule ids are hex; refuse anything that would change the route.
    if not rule_id or not rule_id.replace("-", "").isalnum():
        raise DatalakeError(400, f"{rule_id!r} is not a rule id (32 hex digits).", "BAD_RULE_ID")
    return rule_id


def _raise_for_status(response: httpx.Response, path: str) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        message, reason = body["message"], body.get("reason", "ERROR")
    except (ValueError, KeyError, TypeError):
        if response.status_code in (401, 403):
            message = (
                "The datalake service refused this kernel's credentials: restart the kernel so it "
                "gets the current server's."
            )
        else:
            message = (
                f"The datalake service answered {response.status_code} for {path}: see the "
                "Jupyter server log."
            )
        reason = "SHIM_ERROR"
    raise DatalakeError(response.status_code, message, reason)


class Datalake:
    """Find, stage and use Rucio data near the hub. ``datalake`` is the ready-made instance.

    Every verb takes ``instance=`` (a configured Rucio instance name; default: the server's).
    Results display as tables; failures raise ``DatalakeError``, a sentence that says what to do.
    """

    def __init__(self, channel: Channel | None = None) -> None:
        self._channel = channel
        self._lock = threading.Lock()
        #: first and longest pause (seconds) between two looks at a staging while waiting
        self.poll_interval: tuple[float, float] = (1.0, 10.0)

    @property
    def channel(self) -> Channel:
        """The shim over HTTP in a Jupyter server's kernel, else the in-process service."""
        with self._lock:
            if self._channel is None:
                url, secret = os.environ.get(SHIM_URL_ENV), os.environ.get(SHIM_SECRET_ENV)
                if url and secret:
                    self._channel = HttpChannel(url, secret)
                else:
                    self._channel = InProcessChannel.from_environment()
            return self._channel

    @channel.setter
    def channel(self, channel: Channel) -> None:
        with self._lock:
            self._channel = channel

    def __repr__(self) -> str:
        return (
            f"<Datalake via {self._channel!r}>" if self._channel else "<Datalake (not connected)>"
        )

    def ls(
        self,
        pattern: str,
        *,
        type: str = "all",
        filters: Json | None = None,
        limit: int = 100,
        instance: str | None = None,
    ) -> DidList:
        """DIDs matching ``scope:pattern`` (``*`` wildcards), at most ``limit`` of them.

        ``type`` is ``all``, ``container``, ``dataset`` or ``file``; ``filters`` are Rucio metadata
        filters such as ``{"datatype": "RAW", "run_number.gt": 3}``.
        """
        items: list[Json] = []
        cursor = None
        while len(items) < limit:
            page = self.channel.search(
                pattern,
                type=type,
                filters=filters,
                cursor=cursor,
                limit=min(PAGE, limit - len(items)),
                instance=instance,
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return DidList(items[:limit], caption=pattern)

    def info(self, did: str, *, instance: str | None = None) -> DidInfo:
        """Type, size, file count, metadata of ``did``, its replicas, and what is near the hub."""
        info = DidInfo(self.channel.did_info(did, instance=instance))
        info["replicas"] = self.channel.replicas(did, instance=instance)["rses"]
        # Rucio keeps no size for open datasets; the fullest replica is the whole DID.
        for key, column in (("length", "files"), ("bytes", "bytes")):
            if info.get(key) is None and info["replicas"]:
                info[key] = max(rep.get(column) or 0 for rep in info["replicas"])
        return info

    def files(self, did: str, *, instance: str | None = None) -> DidList:
        """Every file of ``did`` with its size and checksums (``adler32``, ``md5``)."""
        items: list[Json] = []
        cursor = None
        while True:
            page = self.channel.files(did, limit=PAGE, cursor=cursor, instance=instance)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return DidList(items, caption=f"files of {did}")

    def qos(self, *, instance: str | None = None) -> QosClasses:
        """The QoS classes you can stage to, and the near-hub RSEs that serve each."""
        return QosClasses(self.channel.qos(instance=instance)["classes"])

    def stage(
        self,
        *dids: str | Iterable[str],
        qos: str | None = None,
        lifetime: Duration | None = None,
        source_qos: str | None = None,
        start_in: Duration | None = None,
        wait: bool = False,
        timeout: float | None = None,
        comment: str | None = None,
        instance: str | None = None,
    ) -> Staging:
        """Ask for a copy of each DID near the hub in QoS class ``qos`` for ``lifetime``.

        ``lifetime`` and ``start_in`` take seconds or ``"7d"``, ``"2h"``...; ``source_qos`` picks
        where to copy from; ``start_in`` delays the transfers. Staging what is already staged
        returns the existing rule. With ``wait=True``, blocks (showing progress) until it is there.
        Returns a ``Staging`` handle (``.rule_ids``, ``.expression``, ``.wait()``, ``.progress()``).
        """
        names = _flatten(dids)
        if not names:
            raise DatalakeError(
                400, "Name at least one DID to stage, e.g. demo:lofar-obs.", "BAD_DID"
            )
        answer = self.channel.stage(
            names,
            qos=qos,
            lifetime=None if lifetime is None else parse_duration(lifetime),
            source_qos=source_qos,
            start_in=None if start_in is None else parse_duration(start_in, "start delay"),
            comment=comment,
            instance=instance,
        )
        staging = Staging(self, answer["stagings"], instance)
        return staging.wait(timeout) if wait else staging

    def status(
        self, target: str | Iterable[str] | None = None, *, instance: str | None = None
    ) -> Staging:
        """Your stagings: all of them, those of a DID, or one rule id. Refreshes the numbers."""
        if target is None:
            return Staging(
                self, self.channel.list_stagings(instance=instance)["stagings"], instance
            )
        return self._resolve(target, instance)

    def wait(
        self,
        target: str | Iterable[str] | Staging,
        *,
        timeout: float | None = None,
        instance: str | None = None,
    ) -> Staging:
        """Block until the stagings of a DID (or a rule id, or a handle) are complete.

        Shows live progress (files and bytes). Raises ``DatalakeError`` when a rule is stuck or
        after ``timeout`` seconds; the staging itself goes on either way.
        """
        return self._resolve(target, instance).wait(timeout)

    def paths(self, did: str, *, qos: str | None = None, instance: str | None = None) -> DidPaths:
        """Local paths of the files of ``did`` near the hub (in QoS class ``qos`` if given).

        Raises ``DatalakeError`` (``NOT_STAGED``), naming the command to run, if a file is missing.
        """
        lines = self.channel.paths(did, qos=qos, instance=instance)
        missing = [line for line in lines if line.get("state") != "AVAILABLE"]
        if missing:
            where = f" in QoS class {qos}" if qos else ""
            raise DatalakeError(
                409,
                f"{len(missing)} of {len(lines)} files of {did} are not near the hub{where}: "
                f"stage them with %datalake stage {did} --qos {qos or 'CLASS'} --wait "
                "(%datalake qos lists the classes).",
                "NOT_STAGED",
            )
        return DidPaths((line.get("path") or line["url"] for line in lines), did, qos, lines)

    def extend(
        self,
        target: str | Iterable[str] | Staging,
        lifetime: Duration,
        *,
        instance: str | None = None,
    ) -> Staging:
        """Keep the copies of a DID (or rule ids) near the hub for ``lifetime`` from now."""
        seconds = parse_duration(lifetime)
        rules = self._resolve(target, instance).rule_ids
        return Staging(
            self, [self.channel.extend(r, seconds, instance=instance) for r in rules], instance
        )

    def release(
        self, target: str | Iterable[str] | Staging, *, instance: str | None = None
    ) -> list[str]:
        """Give back the near-hub copies of a DID (or rule ids); returns the released rule ids."""
        rules = self._resolve(target, instance).rule_ids
        for rule_id in rules:
            self.channel.release(rule_id, instance=instance)
        return rules

    def need(
        self,
        *dids: str | Iterable[str],
        qos: str | None = None,
        lifetime: Duration | None = None,
        timeout: float | None = None,
        instance: str | None = None,
    ) -> dict[str, DidPaths]:
        """Paths of each DID, staging (and waiting for) those not yet near the hub.

        The batch-job friendly form of ``%%datalake need``: returns ``{did: DidPaths}``.
        """
        found: dict[str, DidPaths] = {}
        missing = []
        for did in _flatten(dids):
            try:
                found[did] = self.paths(did, qos=qos, instance=instance)
            except DatalakeError as exc:
                if exc.reason != "NOT_STAGED":
                    raise
                missing.append(did)
        if missing:
            self.stage(missing, qos=qos, lifetime=lifetime, instance=instance).wait(timeout)
            for did in missing:
                found[did] = self.paths(did, qos=qos, instance=instance)
        return {did: found[did] for did in _flatten(dids)}

    def _resolve(self, target: str | Iterable[str] | Staging, instance: str | None) -> Staging:
        """A handle on the rules named by DIDs (``scope:name``) and/or rule ids."""
        if isinstance(target, Staging):
            return target.refresh()
        names = _flatten([target])
        dids = [n for n in names if ":" in n]
        rules = [self.channel.get_staging(n, instance=instance) for n in names if ":" not in n]
        if dids:
            mine = self.channel.list_stagings(instance=instance)["stagings"]
            for did in dids:
                of_did = [rule for rule in mine if rule["did"] == did]
                if not of_did:
                    raise DatalakeError(
                        404,
                        f"You have no staging of {did}: start one with %datalake stage {did} "
                        "--qos CLASS (see %datalake status for yours).",
                        "NO_STAGING",
                    )
                rules += of_did
        return Staging(self, rules, instance)


def _flatten(values: Iterable[str | Iterable[str]]) -> list[str]:
    names: list[str] = []
    for value in values:
        names += [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


#: The ready-made API object: ``from jupyterlab_datalake import datalake``.
datalake = Datalake()


def adopt_shim_channel() -> None:
    """In a kernel of a Jupyter server: give ``datalake`` its HTTP channel now and take the shim
    secret out of the environment, where printed ``os.environ``, ``!env`` and subprocesses would
    show it. Called when the IPython extension loads (at kernel start)."""
    url, secret = os.environ.get(SHIM_URL_ENV), os.environ.pop(SHIM_SECRET_ENV, None)
    if url and secret:
        datalake.channel = HttpChannel(url, secret)
