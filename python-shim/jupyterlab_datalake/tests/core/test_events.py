"""The broker subscription: configuration, what counts as a rule event, and the connection's life
(with a stand-in for stomp.py's connection that calls back from its own thread, as stomp.py does).
The real broker is in tests/integration/test_events_through_broker.py."""

import asyncio
import json
import threading
from types import SimpleNamespace

import pytest

from jupyterlab_datalake.core import events as events_module
from jupyterlab_datalake.core.events import (
    SELECTOR,
    EventsConfig,
    RuleEvents,
    _Listener,
    client_id_for,
    parse_events,
    rule_event,
)
from jupyterlab_datalake.errors import ConfigError

RULE = "ab" * 16
GOOD = {
    "brokers": ["broker.example.org:61613"],
    "destination": "/topic/rucio.events",
    "username": "datalake",
    "password_file": "/etc/datalake/broker.password",
}


def test_parse_events_reads_the_contract_shape():
    config = parse_events({**GOOD, "use_ssl": True, "reconcile_interval": 120}, "i")
    assert config.brokers == (("broker.example.org", 61613),)
    assert config.use_ssl and config.reconcile_interval == 120.0
    assert parse_events(None, "i") is None


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        ({"password": "x"}, "do not put 'password'"),
        ({"brokers": ["no-port"]}, "host:port"),
        ({"brokers": []}, "'brokers'"),
        ({"destination": None}, "'destination'"),
        ({"password_file": None}, "needs 'password_file' or 'password_env'"),
        ({"use_ssl": "yes"}, "true or false"),
        ({"reconcile_interval": 1}, ">= 10"),
    ],
)
def test_parse_events_says_what_is_wrong(patch, words):
    with pytest.raises(ConfigError, match=words):
        parse_events({**GOOD, **patch}, "DatalakeApp.instances[t]")


def test_the_password_comes_from_the_file_or_the_withheld_environment(tmp_path):
    secret = tmp_path / "broker.password"
    secret.write_text("s3cret\n")
    config = EventsConfig((("h", 1),), "/topic/t", "u", password_file=str(secret))
    assert config.password(lambda name: None) == "s3cret"
    by_env = EventsConfig((("h", 1),), "/topic/t", "u", password_env="BROKER_PW")
    assert by_env.password({"BROKER_PW": "env-secret"}.get) == "env-secret"
    assert "s3cret" not in repr(config)


def _message(event_type, payload):
    return json.dumps({"event_type": event_type, "payload": payload, "created_at": "2026-01-01"})


def test_rule_event_reads_only_rule_events_with_a_rule_id():
    ok = _message("rule_ok", {"scope": "s", "name": "n", "rule_id": RULE.upper()})
    assert rule_event({"event_type": "rule_ok"}, ok) == ("rule_ok", RULE)
    assert rule_event({"event_type": "rule_progress"}, ok) == ("rule_progress", RULE)
    assert rule_event({"event_type": "transfer-done"}, ok) is None
    assert rule_event({}, ok) is None
    assert rule_event({"event_type": "rule_ok"}, "not json") is None
    assert rule_event({"event_type": "rule_ok"}, _message("rule_ok", {"rule_id": "../x"})) is None
    assert rule_event({"event_type": "rule_ok"}, json.dumps([1])) is None


async def test_a_message_nested_too_deep_to_read_is_ignored_and_the_next_one_heard():
    # Given: a forged body nested so deep that json.loads gives up with RecursionError; raised
    # in stomp.py's receiver thread, that would end its loop and drop the connection
    heard = []
    events = RuleEvents(
        EventsConfig((("h", 1),), "/topic/t"),
        "lake",
        on_event=lambda event_type, rule_id: heard.append((event_type, rule_id)),
        on_live=lambda live: None,
        environ=lambda name: None,
        connection_factory=FakeBroker(),
    )
    listener = _Listener(events, asyncio.get_running_loop(), events._generation)
    deep = '{"payload": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert rule_event({"event_type": "rule_ok"}, deep) is None
    # When
    listener.on_message(SimpleNamespace(headers={"event_type": "rule_ok"}, body=deep))
    good = _message("rule_ok", {"rule_id": RULE})
    listener.on_message(SimpleNamespace(headers={"event_type": "rule_ok"}, body=good))
    # Then: only the readable event reached the watcher
    await _until(lambda: heard)
    assert heard == [("rule_ok", RULE)]


def test_the_durable_name_is_stable_and_plain():
    config = parse_events(GOOD, "i")
    assert client_id_for(config, "lake", "jupyter-alice-8888") == (
        "jupyterlab-datalake.lake.jupyter-alice-8888"
    )
    assert client_id_for(config, "lake", "host name/1") == "jupyterlab-datalake.lake.host_name_1"
    assert client_id_for(config, "lake", None) is None  # no stable identity: not durable
    named = parse_events({**GOOD, "client_id": "ops-chosen"}, "i")
    assert client_id_for(named, "lake", "h-1") == "ops-chosen"


class FakeBroker:
    """Stands in for stomp.py: each connection answers from another thread, as its receiver
    thread would. ``refuse`` makes the next connections fail; ``error`` sends an ERROR frame."""

    def __init__(self):
        self.connections = []
        self.refuse = False
        self.error = None

    def __call__(self, hosts, **options):
        conn = FakeConnection(self, hosts, options)
        self.connections.append(conn)
        return conn


class FakeConnection:
    def __init__(self, broker, hosts, options):
        self.broker, self.hosts, self.options = broker, hosts, options
        self.listener = None
        self.sent = []

    def _later(self, callback, *args):
        threading.Thread(target=callback, args=args).start()

    def set_listener(self, name, listener):
        self.listener = listener

    def set_ssl(self, **options):
        self.sent.append(("ssl", options))

    def connect(self, username, password, wait, headers):
        if self.broker.refuse:
            raise OSError("connection refused")
        self.sent.append(("connect", username, password, headers))
        if self.broker.error:
            frame = SimpleNamespace(headers={"message": self.broker.error}, body="")
            self._later(self.listener.on_error, frame)
        else:
            self._later(self.listener.on_connected, SimpleNamespace(headers={}, body=""))

    def subscribe(self, destination, id, ack, headers):
        self.sent.append(("subscribe", destination, headers))
        frame = SimpleNamespace(headers={"receipt-id": headers["receipt"]}, body="")
        self._later(self.listener.on_receipt, frame)

    def unsubscribe(self, id, headers):
        self.sent.append(("unsubscribe", headers))

    def disconnect(self):
        self.sent.append(("disconnect",))

    def deliver(self, event_type, payload):
        frame = SimpleNamespace(
            headers={"event_type": event_type}, body=_message(event_type, payload)
        )
        self._later(self.listener.on_message, frame)

    def drop(self):
        self._later(self.listener.on_disconnected)


async def _until(predicate, timeout=3.0):
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(events_module, "RECONNECT_FIRST", 0.02)
    monkeypatch.setattr(events_module, "RECONNECT_MAX", 0.05)


async def test_subscribes_durably_hears_events_on_the_loop_and_comes_back(tmp_path, fast_retries):
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    config = parse_events({**GOOD, "password_file": str(secret)}, "i")
    broker = FakeBroker()
    loop_thread = threading.get_ident()
    heard, live = [], []

    def on_event(event_type, rule_id):
        assert threading.get_ident() == loop_thread  # handed over, never run in stomp's thread
        heard.append((event_type, rule_id))

    events = RuleEvents(
        config,
        "lake",
        on_event=on_event,
        on_live=live.append,
        environ=lambda name: None,
        identity="host-8888",
        connection_factory=broker,
    )
    events.start()
    await _until(lambda: events.live)
    conn = broker.connections[0]
    assert conn.sent[0] == ("connect", "datalake", "s3cret", {"client-id": events.client_id})
    _, destination, headers = conn.sent[1]
    assert destination == "/topic/rucio.events"
    assert headers["selector"] == SELECTOR
    assert headers["activemq.subscriptionName"] == events.client_id
    conn.deliver("rule_ok", {"scope": "s", "name": "n", "rule_id": RULE})
    conn.deliver("rule_progress", {"rule_id": "not an id"})
    await _until(lambda: heard)
    assert heard == [("rule_ok", RULE)]

    broker.refuse = True
    conn.drop()  # the broker went away: polling until it is back
    await _until(lambda: live == [True, False])
    await asyncio.sleep(0.1)  # a few refused attempts
    broker.refuse = False
    await _until(lambda: events.live)
    assert live == [True, False, True] and events.connects == 2
    await events.close()
    last = broker.connections[-1].sent
    assert ("unsubscribe", {"activemq.subscriptionName": events.client_id}) in last
    assert last[-1] == ("disconnect",)


async def test_a_refusing_broker_is_retried_and_never_reported_live(fast_retries, caplog):
    broker = FakeBroker()
    broker.error = "User name [datalake] or password is invalid."
    live = []
    events = RuleEvents(
        EventsConfig((("h", 1),), "/topic/t", "datalake", password_env="PW"),
        "lake",
        on_event=lambda *a: None,
        on_live=live.append,
        environ={"PW": "wrong-secret"}.get,
        connection_factory=broker,
    )
    events.start()
    await _until(lambda: len(broker.connections) >= 3)
    assert live == [] and not events.live
    assert "password is invalid" in caplog.text
    assert "wrong-secret" not in caplog.text
    # Without a stable identity the subscription is a plain one: nothing to remove on close.
    assert "client-id" not in broker.connections[0].sent[0][3]
    await events.close()
