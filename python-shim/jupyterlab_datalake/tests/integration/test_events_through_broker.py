"""Events through the testbed's real broker: Rucio's hermes → ActiveMQ → the shim → a browser tab's
WebSocket and a kernel's wait, in a real Jupyter server. Rucio's calls are counted by a transport
around the shim's own, and Rucio's own time of a rule's OK is the RULE_OK message it queued.

Skipped without a testbed, or one whose events are off (DATALAKE_REQUIRE_TESTBED=1: failures).
The daemon loop is held back with its pause file (testbed/daemons.py), the broker stopped and
killed with testbed/broker-ctl.sh and its pid file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import body

from jupyterlab_datalake.core.service import DatalakeService

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
CONFIG = Path(
    os.environ.get("DATALAKE_TESTBED_CONFIG") or ROOT / ".testbed/jupyter_server_config.json"
)
TB = CONFIG.parent
PAUSE = TB / "run" / "daemons.pause"
HELD_BACK = 40.0  # what a slow transfer service does; a poller backs off meanwhile
WITHIN_RUCIO = 2.0
MAX_CHECKS = 3
MAX_RUCIO_REQUESTS = 6


def _section() -> dict[str, Any]:
    reason = None
    if not CONFIG.exists():
        reason = f"no testbed ({CONFIG} is missing; run make testbed-up)"
    else:
        section = json.loads(CONFIG.read_text())["DatalakeApp"]
        instance = section["instances"][0]
        try:
            httpx.get(f"{instance['rucio_url']}/ping", timeout=3).raise_for_status()
        except httpx.HTTPError:
            reason = f"the testbed Rucio at {instance['rucio_url']} does not answer /ping"
        if reason is None and "events" not in instance:
            reason = "the testbed's events are off (no broker): see the last line of testbed/up.sh"
    if reason:
        if os.environ.get("DATALAKE_REQUIRE_TESTBED") == "1":
            pytest.fail(f"DATALAKE_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    return section


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> dict[str, Any]:
    config = dict(jp_server_config)
    config["DatalakeApp"] = _section()
    return config


class CountingTransport(httpx.AsyncHTTPTransport):
    """The shim's own transport, writing down every request it sends to Rucio."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((time.monotonic(), f"{request.method} {request.url.path}"))
        return await super().handle_async_request(request)

    def since(self, start: float, end: float) -> list[str]:
        return [what for at, what in self.sent if start <= at <= end]


@pytest.fixture
async def shim(jp_serverapp: Any) -> AsyncIterator[tuple[DatalakeService, CountingTransport]]:
    """The server's service, with a counting transport and a durable subscription of its own."""
    settings = jp_serverapp.web_app.settings
    original = settings["datalake_service"]
    counting = CountingTransport()
    svc = DatalakeService(original.config, transport=counting)
    svc.events_identity = f"itest-{uuid.uuid4().hex[:8]}"
    settings["datalake_service"] = svc
    yield svc, counting
    await svc.close()
    settings["datalake_service"] = original


def _testbed_env() -> dict[str, str]:
    values = dict(line.split("=", 1) for line in (TB / "env").read_text().split() if "=" in line)
    return {**os.environ, **values}


def fresh_dataset(label: str) -> str:
    """A new closed dataset on LAKE-SAFE that nobody staged: its rule needs real transfers."""
    env = _testbed_env()
    made = subprocess.run(
        [
            f"{env['TESTBED_VENV']}/bin/python",
            str(ROOT / "testbed/tests/events/fresh_dataset.py"),
            str(TB),
            f"shimev-{label}-{uuid.uuid4().hex[:8]}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def broker_ctl(action: str) -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "testbed/broker-ctl.sh"), action],
        capture_output=True,
        text=True,
        env=_testbed_env(),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@contextmanager
def daemons_paused() -> Iterator[None]:
    """Hold the daemon loop between two cycles (no transfer starts) until the block ends."""
    log = TB / "log" / "daemons.log"
    size = log.stat().st_size
    PAUSE.touch()
    try:
        deadline = time.monotonic() + 10
        while b"paused" not in log.read_bytes()[size:]:
            assert time.monotonic() < deadline, (
                "the daemon loop does not honour its pause file: restart it (down.sh, up.sh)"
            )
            time.sleep(0.1)
        yield
    finally:
        PAUSE.unlink(missing_ok=True)


def rucio_ok_at(rule_id: str) -> float | None:
    """When Rucio queued the rule's RULE_OK (epoch seconds), from its own message tables."""
    db = sqlite3.connect(f"file:{TB / 'var/rucio.db'}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT created_at FROM messages WHERE event_type = 'RULE_OK' AND payload LIKE ? "
            "UNION SELECT created_at FROM messages_history "
            "WHERE event_type = 'RULE_OK' AND payload LIKE ?",
            (f"%{rule_id}%", f"%{rule_id}%"),
        ).fetchall()
    finally:
        db.close()
    if not rows:
        return None
    queued = datetime.fromisoformat(str(rows[0][0])).replace(tzinfo=timezone.utc)
    return queued.timestamp()


class Tab:
    """What a browser tab hears on the staging socket, with the time of each push."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.pushes: list[tuple[float, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while (text := await self.ws.read_message()) is not None:
            self.pushes.append((time.time(), json.loads(text)))

    def states(self, rule_id: str) -> list[str]:
        return [
            p["staging"]["state"]
            for _, p in self.pushes
            if p.get("staging", {}).get("id") == rule_id
        ]

    def ok_at(self, rule_id: str) -> float | None:
        for at, p in self.pushes:
            staging = p.get("staging") or {}
            if staging.get("id") == rule_id and staging.get("state") == "OK":
                return at
        return None

    def close(self) -> None:
        self.ws.close()
        self.task.cancel()


class Kernel:
    """A kernel's ``%datalake wait``: the wait route, call after call, as kernel/results.py."""

    def __init__(self, jp_fetch: Any, rule_id: str) -> None:
        self.jp_fetch = jp_fetch
        self.rule_id = rule_id
        self.done_at: float | None = None
        self.answers: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._wait())

    async def _wait(self) -> None:
        cursor = None
        while True:
            params: dict[str, Any] = {"rule_ids": self.rule_id, "timeout": 20}
            if cursor is not None:
                params["after"] = cursor
            answer = body(
                await self.jp_fetch(
                    "datalake", "stagings", "wait", params=params, request_timeout=60
                )
            )
            self.answers.append(answer)
            cursor = answer["cursor"]
            if answer["stagings"][0]["state"] == "OK":
                self.done_at = time.time()
                return


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f} s"
        await asyncio.sleep(0.05)


async def _stage(jp_fetch: Any, did: str) -> dict[str, Any]:
    body_ = json.dumps({"dids": [did], "qos": "FAST", "lifetime": 600})
    return body(await jp_fetch("datalake", "stagings", method="POST", body=body_))["stagings"][0]


async def _release(jp_fetch: Any, rule_id: str) -> None:
    await jp_fetch("datalake", "stagings", rule_id, method="DELETE")


async def test_events_tell_the_tab_and_the_kernel_within_2s_of_rucio(jp_fetch, jp_ws_fetch, shim):
    svc, counting = shim
    did = fresh_dataset("live")
    await jp_fetch("datalake", "whoami")  # the account and a token, before the clock starts
    events = svc.instance().events
    assert events is not None
    await _until(lambda: events.live, 30, "the shim's broker subscription")
    tab = Tab(await jp_ws_fetch("datalake", "stagings", "events"))
    with daemons_paused():
        posted = time.monotonic()
        staging = await _stage(jp_fetch, did)
        kernel = Kernel(jp_fetch, staging["id"])
        await asyncio.sleep(HELD_BACK)
        assert staging["state"] == "REPLICATING" and kernel.done_at is None
    try:
        await _until(lambda: tab.ok_at(staging["id"]) and kernel.done_at, 60, "OK")
        ok = time.monotonic()
        rucio_ok = rucio_ok_at(staging["id"])
        assert rucio_ok is not None, "Rucio queued no RULE_OK: was the rule made with notify?"
        tab_late, kernel_late = tab.ok_at(staging["id"]) - rucio_ok, kernel.done_at - rucio_ok
        print(f"tab {tab_late:.2f} s, kernel {kernel_late:.2f} s after Rucio's OK")
        assert tab_late <= WITHIN_RUCIO and kernel_late <= WITHIN_RUCIO
        sent = counting.since(posted, ok)
        print(f"{len(sent)} Rucio requests from the POST to OK: {sent}")
        # Before the rule is made, what a refused request must know: the DID exists, the
        # storage of the class and the quota left there (a refused request creates nothing).
        made = sent.index("POST /rules/")
        assert len(sent[:made]) <= MAX_CHECKS, sent
        # From the rule's creation to OK: what watching it costs.
        assert len(sent[made:]) <= MAX_RUCIO_REQUESTS, sent
        assert events.received >= 1
        await asyncio.sleep(2)  # any late or repeated news would arrive by now
        assert tab.states(staging["id"]).count("OK") == 1
        rule = svc.instance().client
        assert (await rule.rule(staging["id"]))["notification"] == "PROGRESS"
    finally:
        tab.close()
        await _release(jp_fetch, staging["id"])


async def test_broker_stopped_falls_back_to_polling_and_completes(jp_fetch, jp_ws_fetch, shim):
    svc, _ = shim
    did = fresh_dataset("nobroker")
    broker_ctl("stop")
    try:
        await jp_fetch("datalake", "whoami")
        events = svc.instance().events
        assert events is not None
        tab = Tab(await jp_ws_fetch("datalake", "stagings", "events"))
        staging = await _stage(jp_fetch, did)
        kernel = Kernel(jp_fetch, staging["id"])
        await _until(lambda: kernel.done_at and tab.ok_at(staging["id"]), 90, "OK by polling")
        assert not events.live and events.received == 0
        assert svc.instance().staging.watcher.polls >= 1
        assert tab.states(staging["id"]).count("OK") == 1
        tab.close()
        await _release(jp_fetch, staging["id"])
    finally:
        broker_ctl("start")


async def test_broker_killed_mid_staging_loses_nothing_and_repeats_nothing(
    jp_fetch, jp_ws_fetch, shim
):
    svc, _ = shim
    did = fresh_dataset("killed")
    await jp_fetch("datalake", "whoami")
    events = svc.instance().events
    assert events is not None
    await _until(lambda: events.live, 30, "the shim's broker subscription")
    tab = Tab(await jp_ws_fetch("datalake", "stagings", "events"))
    try:
        with daemons_paused():
            staging = await _stage(jp_fetch, did)
            kernel = Kernel(jp_fetch, staging["id"])
            os.kill(int((TB / "run/broker.pid").read_text()), signal.SIGKILL)
            await _until(lambda: not events.live, 30, "noticing the broker is gone")
        # Rucio finishes while the broker is down: hermes keeps RULE_OK, the shim polls.
        await _until(lambda: kernel.done_at and tab.ok_at(staging["id"]), 90, "OK by polling")
        heard = events.received
        broker_ctl("start")
        await _until(lambda: events.live, 90, "the subscription back after the restart")
        # hermes now delivers the RULE_OK it kept: it reaches the shim, which knows it already.
        await _until(lambda: events.received > heard, 30, "the kept RULE_OK")
        await asyncio.sleep(2)
        assert tab.states(staging["id"]).count("OK") == 1
        # A kernel waiting on from its last answer hears of no change either.
        params = {"rule_ids": staging["id"], "after": kernel.answers[-1]["cursor"], "timeout": 1}
        again = body(await jp_fetch("datalake", "stagings", "wait", params=params))
        assert again["cursor"] == kernel.answers[-1]["cursor"]
    finally:
        tab.close()
        if not (TB / "run/broker.pid").exists() or not events.live:
            broker_ctl("start")
        await _release(jp_fetch, staging["id"])


async def test_a_single_file_is_staged_and_followed_while_events_are_live(jp_fetch, shim):
    # Rucio 41 fails a rule with notify on a file (a 500 from its notification code): a file's
    # staging is made without it, and polled, since no event will ever name it.
    svc, _ = shim
    did = fresh_dataset("file")
    events = svc.instance().events
    assert events is not None
    await _until(lambda: events.live, 30, "the shim's broker subscription")
    files = body(await jp_fetch("datalake", "did", "files", params={"did": did}))["items"]
    staging = await _stage(jp_fetch, files[0]["did"])
    try:
        assert staging["notified"] is False and staging["files_total"] == 1
        deadline = time.monotonic() + 60
        while staging["state"] != "OK":
            assert time.monotonic() < deadline, f"still {staging['state']} after 60 s"
            await asyncio.sleep(0.5)
            staging = body(await jp_fetch("datalake", "stagings", staging["id"]))
    finally:
        await _release(jp_fetch, staging["id"])
