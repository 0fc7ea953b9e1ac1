"""One poll loop per rule, shared; backoff; stops when final or unwanted."""

import asyncio

import pytest

from jupyterlab_datalake.core.watcher import RuleWatcher
from jupyterlab_datalake.errors import DatalakeError


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
    await asyncio.sleep(0.1)
    assert watcher.get("r1")["state"] == "OK"
    assert not watcher.is_polling("r1")
    calls = rule.calls
    await asyncio.sleep(0.05)
    assert rule.calls == calls

    other = Rule()
    watcher2 = RuleWatcher(
        other.fetch, min_interval=0.01, max_interval=0.01, idle_after=0.05, spacing=0
    )
    watcher2.put("r2", dict(other.state))
    await asyncio.sleep(0.2)  # nobody reads: the loop ends
    assert not watcher2.is_polling("r2")
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
