"""One poll loop per watched rule, shared by every browser tab and kernel.

Readers only touch the cache; the loop asks Rucio ``GET /rules/{id}`` with a backoff from
``min_interval`` to ``max_interval`` (reset when the progress changes), and stops when the rule is
final, gone, or nobody asked about it for ``idle_after`` seconds. The cost to Rucio is therefore
independent of the number of tabs, and each update is a few counters whatever the file count.
The loops of one watcher take turns: two polls are at least ``spacing`` seconds apart, so a panel
opening on many stagings starts their loops together without a burst of reads (each loop's own
interval is a lower bound; with many rules the turns set the pace, at most one read per
``spacing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatalakeError

log = logging.getLogger(__name__)

FINAL_STATES = frozenset({"OK", "SUSPENDED"})
PROGRESS_KEYS = ("state", "files_ok", "files_replicating", "files_stuck", "expires_at", "error")

Fetch = Callable[[str], Awaitable[dict[str, Any]]]


@dataclass
class _Entry:
    staging: dict[str, Any]
    fetched_at: float
    last_read: float
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _progress(staging: dict[str, Any] | None) -> tuple[Any, ...]:
    return tuple((staging or {}).get(key) for key in PROGRESS_KEYS)


class RuleWatcher:
    def __init__(
        self,
        fetch: Fetch,
        *,
        min_interval: float = 2.0,
        max_interval: float = 60.0,
        idle_after: float = 300.0,
        spacing: float = 1.0,
    ) -> None:
        self._fetch = fetch
        self.spacing = spacing
        self._turns: list[float] = []  # when the loops plan their next polls
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.idle_after = idle_after
        self._entries: dict[str, _Entry] = {}
        self.polls = 0  # Rucio calls made by the loops (tests and benchmarks read it)

    def put(self, rule_id: str, staging: dict[str, Any]) -> dict[str, Any]:
        """Store a fresh state from Rucio and make sure a loop follows it if it is not final."""
        now = time.monotonic()
        entry = self._entries.get(rule_id)
        if entry is None:
            entry = self._entries[rule_id] = _Entry(staging, now, now)
        else:
            entry.staging, entry.fetched_at, entry.last_read = staging, now, now
        self._ensure_loop(rule_id, entry)
        return staging

    def get(self, rule_id: str) -> dict[str, Any] | None:
        """The cached state (marks the rule as still wanted); None if never seen."""
        entry = self._entries.get(rule_id)
        if entry is None:
            return None
        entry.last_read = time.monotonic()
        self._ensure_loop(rule_id, entry)
        return entry.staging

    def age(self, rule_id: str) -> float | None:
        entry = self._entries.get(rule_id)
        return None if entry is None else time.monotonic() - entry.fetched_at

    def is_polling(self, rule_id: str) -> bool:
        entry = self._entries.get(rule_id)
        return bool(entry and entry.task and not entry.task.done())

    def forget(self, rule_id: str) -> None:
        entry = self._entries.pop(rule_id, None)
        if entry and entry.task:
            entry.task.cancel()

    def _ensure_loop(self, rule_id: str, entry: _Entry) -> None:
        if entry.staging.get("state") in FINAL_STATES:
            return
        if entry.task is None or entry.task.done():
            entry.task = asyncio.get_running_loop().create_task(self._poll(rule_id, entry))

    async def _poll(self, rule_id: str, entry: _Entry) -> None:
        interval = self.min_interval
        while True:
            await asyncio.sleep(self._turn(interval))
            if time.monotonic() - entry.last_read > self.idle_after:
                return
            try:
                self.polls += 1
                staging = await self._fetch(rule_id)
            except DatalakeError as e:
                if e.status == 404:
                    self._entries.pop(rule_id, None)
                    return
                log.info("datalake: polling rule %s failed: %s", rule_id, e.message)
                interval = min(interval * 2, self.max_interval)
                continue
            except Exception:  # a loop must never die silently with a stale "REPLICATING"
                log.exception("datalake: polling rule %s crashed", rule_id)
                interval = min(interval * 2, self.max_interval)
                continue
            changed = _progress(staging) != _progress(entry.staging)
            entry.staging, entry.fetched_at = staging, time.monotonic()
            if staging.get("state") in FINAL_STATES:
                return
            interval = self.min_interval if changed else min(interval * 2, self.max_interval)

    def _turn(self, interval: float) -> float:
        """Seconds until this loop's next poll: ``interval`` from now, moved later until it is
        ``spacing`` away from the polls other loops have planned (a loop that polls in a minute
        does not hold back one that polls in 2 s)."""
        now = time.monotonic()
        self._turns = [t for t in self._turns if t > now - self.spacing]
        at = now + interval
        for planned in sorted(self._turns):
            if abs(planned - at) < self.spacing:
                at = planned + self.spacing
        self._turns.append(at)
        return at - now

    async def close(self) -> None:
        tasks = [e.task for e in self._entries.values() if e.task and not e.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._entries.clear()
