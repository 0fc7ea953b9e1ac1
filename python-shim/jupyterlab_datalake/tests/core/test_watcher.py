"""One poll loop per rule, shared; backoff; stops when final or unwanted."""

import asyncio
import time

import pytest

from jupyterlab_datalake.core.watcher import RuleWatcher
from jupyterlab_datalake.errors import DatalakeError


async def until(condition, seconds=5.0):
    """Wait for what the loop does in its own time (a busy machine delays it)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not condition():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.01)


class Rule:
    def __init__(self):
        self.state = {"state": "REPLICATING", "files_ok": 0}
        self.calls = 0

    async def fetch(self, rule_id):
        self.calls += 1
        return dict(self.state)


async def test_one_loop_shared_by_all_readers():
    rule = Rule()
    watcher = RuleWatcher(rule.fetch, min_interval=0.05, max_interval=0.05, spacing=0)
    watcher.put("r1", dict(rule.state))
    for _ in range(50):  # fifty tabs asking all the time
        assert watcher.get("r1")["state"] == "REPLICATING"
        await asyncio.sleep(0.005)
    # ~0.25 s of polling at 0.05 s: a handful of calls, not fifty.
    assert 2 <= rule.calls <= 7
    await watcher.close()


async def test_backoff_grows_without_change_and_resets_on_change():
    rule = Rule()
    watcher = RuleWatcher(rule.fetch, min_interval=0.02, max_interval=0.16, spacing=0)
    watcher.put("r1", dict(rule.state))
    await asyncio.sleep(0.6)
    quiet = rule.calls  # 0.02 + 0.04 + 0.08 + 0.16 + 0.16 ... → about 5
    assert 3 <= quiet <= 7
    rule.state = {"state": "REPLICATING", "files_ok": 1}
    watcher.get("r1")
    await asyncio.sleep(0.45)
    assert watcher.get("r1")["files_ok"] == 1
    await watcher.close()


async def test_stops_when_ok_and_when_unwatched():
    rule = Rule()
    watcher = RuleWatcher(
        rule.fetch, min_interval=0.01, max_interval=0.01, idle_after=0.05, spacing=0
    )
    watcher.put("r1", dict(rule.state))
    rule.state = {"state": "OK", "files_ok": 4}
    await until(lambda: not watcher.is_polling("r1"))
    assert watcher.get("r1")["state"] == "OK"
    calls = rule.calls
    await asyncio.sleep(0.05)
    assert rule.calls == calls

    other = Rule()
    watcher2 = RuleWatcher(
        other.fetch, min_interval=0.01, max_interval=0.01, idle_after=0.05, spacing=0
    )
    watcher2.put("r2", dict(other.state))
    await until(lambda: not watcher2.is_polling("r2"))  # nobody reads: the loop ends
    await watcher.close()
    await watcher2.close()


async def test_gone_rule_is_forgotten():
    async def gone(rule_id):
        raise DatalakeError(404, "gone", "RULE_NOT_FOUND")

    watcher = RuleWatcher(gone, min_interval=0.01)
    watcher.put("r1", {"state": "REPLICATING"})
    await asyncio.sleep(0.05)
    assert watcher.get("r1") is None
    await watcher.close()


async def test_many_rules_watched_at_once_take_turns():
    """A panel opening on 20 stagings: their first reads are spread, never a burst."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def fetch(rule_id):
        times.append(loop.time())
        return {"state": "REPLICATING", "files_ok": 0}

    watcher = RuleWatcher(fetch, min_interval=0.05, max_interval=10.0, spacing=0.05)
    start = loop.time()
    for n in range(20):
        watcher.put(f"r{n}", {"state": "REPLICATING", "files_ok": 0})
    await asyncio.sleep(0.5)
    await watcher.close()
    # Turns of 0.05 s from 0.05 s on: at most 10 reads in 0.5 s (a late loop only delays
    # them), where one loop per rule alone would have read all 20 at 0.05 s.
    assert 3 <= len(times) <= 10
    assert len([t for t in times if t - start < 0.12]) <= 3


def test_a_loop_far_ahead_does_not_hold_back_the_others():
    watcher = RuleWatcher(Rule().fetch, spacing=1.0)
    assert watcher._turn(60) == pytest.approx(60, abs=0.01)
    assert watcher._turn(2) == pytest.approx(2, abs=0.01)
    assert watcher._turn(2) == pytest.approx(3, abs=0.01)  # a turn later, not at 61 s
    assert watcher._turn(59.5) == pytest.approx(61, abs=0.01)


async def test_an_event_burst_is_one_fetch_and_unwatched_ids_are_ignored(monkeypatch):
    monkeypatch.setattr("jupyterlab_datalake.core.watcher.EVENT_COALESCE", 0.02)
    rule = Rule()
    watcher = RuleWatcher(rule.fetch, min_interval=0.01, reconcile_interval=60, spacing=0)
    watcher.set_events_live(True)
    watcher.put("r1", dict(rule.state))
    await asyncio.sleep(0.1)
    assert rule.calls == 0  # live events: no polling between them
    rule.state = {"state": "OK", "files_ok": 4}
    # rule_progress 30, 60, 100 and rule_ok of one daemon cycle, plus somebody else's rule
    assert [watcher.nudge(r) for r in ("r1", "r1", "r1", "r1", "f" * 32)] == [True] * 4 + [False]
    await asyncio.sleep(0.1)
    assert rule.calls == 1 and watcher.get("r1")["state"] == "OK"
    assert not watcher.nudge("r1")  # final: later events are no news
    await watcher.close()


async def test_a_rule_rucio_sends_no_events_for_is_polled_while_events_are_live():
    # Made elsewhere or before notify (an upload's rule moved, the Rucio client): no event
    # will ever name it, so the slow reconcile alone would leave it stale for minutes.
    rule = Rule()
    rule.state["notified"] = False
    watcher = RuleWatcher(
        rule.fetch, min_interval=0.02, max_interval=0.02, reconcile_interval=60, spacing=0
    )
    watcher.set_events_live(True)
    watcher.put("r1", dict(rule.state))
    rule.state = {"state": "OK", "files_ok": 4, "notified": False}
    await until(lambda: watcher.get("r1")["state"] == "OK", 2.0)
    await watcher.close()


async def test_with_events_live_a_rule_is_looked_at_once_then_only_at_the_reconcile(monkeypatch):
    monkeypatch.setattr("jupyterlab_datalake.core.watcher.LIVE_FIRST_LOOK", 0.05)
    rule = Rule()
    looks = []

    async def fetch(rule_id):
        looks.append(time.monotonic())
        return await rule.fetch(rule_id)

    watcher = RuleWatcher(fetch, min_interval=0.01, reconcile_interval=0.6, spacing=0)
    watcher.set_events_live(True)
    watcher.put("r1", dict(rule.state))
    await until(lambda: len(looks) == 2, 3.0)
    # The first look (a rule Rucio sends no event for, such as a moved rule's child), then
    # none until the reconcile (doubling would have looked again 0.1 s later).
    assert looks[1] - looks[0] >= 0.6
    await watcher.close()


async def test_polls_while_the_broker_is_down_and_looks_once_when_it_is_back():
    rule = Rule()
    watcher = RuleWatcher(
        rule.fetch, min_interval=0.02, max_interval=0.02, reconcile_interval=60, spacing=0
    )
    watcher.put("r1", dict(rule.state))
    await asyncio.sleep(0.15)
    polling = rule.calls
    assert polling >= 3  # no broker: polling as before
    watcher.set_events_live(True)  # the state was read before the subscription: read it once
    await asyncio.sleep(0.15)
    assert rule.calls == polling + 1
    watcher.set_events_live(False)  # lost the broker: poll again at once
    await asyncio.sleep(0.15)
    assert rule.calls >= polling + 4
    await watcher.close()


async def test_changes_reach_listeners_and_waiters_once():
    rule = Rule()
    watcher = RuleWatcher(rule.fetch, min_interval=0.02, max_interval=0.02, spacing=0)
    heard = []
    watcher.add_listener(lambda rule_id, staging: heard.append((rule_id, staging)))
    watcher.put("r1", dict(rule.state))
    cursor = watcher.seq
    assert not await watcher.wait_change(["r1"], cursor, 0.1)  # polled, but nothing changed
    assert len(heard) == 1
    rule.state = {"state": "OK", "files_ok": 4}
    assert await watcher.wait_change(["r1"], cursor, 1.0)
    assert watcher.get("r1")["state"] == "OK"
    watcher.put("r1", {"state": "OK", "files_ok": 4})  # the same news again: not a change
    watcher.forget("r1")
    assert [(r, s and s["state"]) for r, s in heard] == [
        ("r1", "REPLICATING"),
        ("r1", "OK"),
        ("r1", None),
    ]
    await watcher.close()
