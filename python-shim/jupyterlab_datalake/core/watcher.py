"""One watch loop per rule, shared by every browser tab and kernel, and the news of its changes.

Readers only touch the cache. Each loop asks Rucio ``GET /rules/{id}``:
- without broker events, with a backoff from ``min_interval`` to ``max_interval`` (reset when the
  progress changes);
- while the broker's events are live (``set_events_live``), when an event names the rule
  (``nudge``), and otherwise only every ``reconcile_interval``, so that a lost message cannot
  leave a staging stale for ever.
A loop stops when the rule is final, gone, or nobody asked about it for ``idle_after`` seconds.
The cost to Rucio is independent of the number of tabs, and each update is a few counters
whatever the file count. Every change of a cached staging bumps a sequence number and is told
to the listeners (the browser's push) and to ``wait_change`` (a kernel's wait).
The polls of one watcher's loops take turns: two are at least ``spacing`` seconds apart, so a
panel opening on many stagings starts their loops together without a burst of reads (each
loop's own interval is a lower bound; with many rules the turns set the pace, at most one read
per ``spacing``). Event fetches do not wait for a turn: events are already coalesced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DatalakeError

log = logging.getLogger(__name__)

FINAL_STATES = frozenset({"OK", "SUSPENDED"})
PROGRESS_KEYS = ("state", "files_ok", "files_replicating", "files_stuck", "expires_at", "error")
# Events of one daemon cycle (progress steps and rule_ok) arrive together: one fetch for them.
EVENT_COALESCE = 0.2
# However many events name a rule, it is fetched at most once per this many seconds.
EVENT_MIN_GAP = 1.0
# While events are live a rule is still looked at once after this long: events are hints, and
# Rucio does not send one for every rule (observed: none for the child of a rule move whose
# copies were done within a second). Then only every reconcile interval: a rule still going
# after its first look sends progress events, and those lost while the broker was away are
# covered by the look right after subscribing again. (Doubling from 15 s cost 0.033 Rucio
# requests/s for 5 waiting stagings in the events benchmark, for no news.)
LIVE_FIRST_LOOK = 15.0

Fetch = Callable[[str], Awaitable[dict[str, Any]]]
#: ``(rule_id, staging)``; ``staging`` None when the rule left the cache (released, gone)
Listener = Callable[[str, dict[str, Any] | None], None]


@dataclass
class _Entry:
    staging: dict[str, Any]
    fetched_at: float
    last_read: float
    seq: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    #: set to end the loop's current wait early; ``fetch_now`` says whether to ask Rucio then
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    fetch_now: bool = False


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
        reconcile_interval: float = 300.0,
        spacing: float = 1.0,
    ) -> None:
        self._fetch = fetch
        self.spacing = spacing
        self._turns: list[float] = []  # when the loops plan their next polls
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.idle_after = idle_after
        self.reconcile_interval = reconcile_interval
        self.events_live = False
        self._live_since = 0.0
        self._entries: dict[str, _Entry] = {}
        self._listeners: set[Listener] = set()
        self._seq = 0
        self._changed = asyncio.Event()
        self.polls = 0  # Rucio calls made by the loops (tests and benchmarks read it)

    # ---- the cache -----------------------------------------------------------------------

    def put(self, rule_id: str, staging: dict[str, Any]) -> dict[str, Any]:
        """Store a fresh state from Rucio and make sure a loop follows it if it is not final."""
        now = time.monotonic()
        entry = self._entries.get(rule_id)
        if entry is None:
            entry = self._entries[rule_id] = _Entry(staging, now, now)
            self._announce(rule_id, entry)
        else:
            before = entry.staging
            entry.staging, entry.fetched_at, entry.last_read = staging, now, now
            if _progress(before) != _progress(staging):
                self._announce(rule_id, entry)
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
        if entry is None:
            return
        if entry.task:
            entry.task.cancel()
        self._seq += 1
        self._tell(rule_id, None)

    # ---- events --------------------------------------------------------------------------

    def watches(self, rule_id: str) -> bool:
        """Whether an event about this rule is news: it is cached and not final."""
        entry = self._entries.get(rule_id)
        return entry is not None and entry.staging.get("state") not in FINAL_STATES

    def nudge(self, rule_id: str) -> bool:
        """A broker event named this rule: fetch it soon, once for a burst. False if unwatched
        (messages carry no account: any other rule id is somebody else's)."""
        if not self.watches(rule_id):
            return False
        entry = self._entries[rule_id]
        entry.fetch_now = True
        entry.wake.set()
        self._ensure_loop(rule_id, entry)
        return True

    def set_events_live(self, live: bool) -> None:
        """The broker subscription is up (events tell when to look) or down (poll again)."""
        if live == self.events_live:
            return
        self.events_live = live
        self._live_since = time.monotonic()
        for entry in self._entries.values():
            entry.wake.set()  # each loop picks its new schedule now

    # ---- changes ---------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Grows with every change of a cached staging (a cursor for ``wait_change``)."""
        return self._seq

    def seq_of(self, rule_id: str) -> int:
        entry = self._entries.get(rule_id)
        return self._seq if entry is None else entry.seq

    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    async def wait_change(self, rule_ids: Iterable[str], after: int, timeout: float) -> bool:
        """Wait until one of these rules changed after cursor ``after`` (True), or ``timeout``."""
        ids = list(rule_ids)
        deadline = time.monotonic() + timeout
        while not any(self.seq_of(rule_id) > after for rule_id in ids):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            changed = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), left)
        return True

    def _announce(self, rule_id: str, entry: _Entry) -> None:
        self._seq += 1
        entry.seq = self._seq
        self._tell(rule_id, entry.staging)

    def _tell(self, rule_id: str, staging: dict[str, Any] | None) -> None:
        # Wake every waiter once: each checks its own rules, then waits on the next event.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            try:
                listener(rule_id, staging)
            except Exception:  # one broken listener must not stop the news for the others
                log.exception("datalake: a staging listener failed")

    # ---- the loops -------------------------------------------------------------------------

    def _ensure_loop(self, rule_id: str, entry: _Entry) -> None:
        if entry.staging.get("state") in FINAL_STATES:
            return
        if entry.task is None or entry.task.done():
            entry.task = asyncio.get_running_loop().create_task(self._poll(rule_id, entry))

    async def _next_look(self, entry: _Entry, interval: float, live_interval: float) -> None:
        """Sleep until the next look at the rule: an event, a change of mode, or the schedule
        (a poll takes its turn among the other loops' polls)."""
        turn_at: float | None = None
        while True:
            entry.wake.clear()
            if entry.fetch_now:
                return
            now = time.monotonic()
            # A rule Rucio sends no events for is polled even while they are live.
            if self.events_live and entry.staging.get("notified", True):
                if entry.fetched_at < self._live_since:
                    return  # fetched before the subscription: an event may have been missed
                turn_at = None
                wait = entry.fetched_at + min(live_interval, self.reconcile_interval) - now
            else:
                if turn_at is None:
                    turn_at = now + self._turn(max(0.0, entry.fetched_at + interval - now))
                wait = turn_at - now
            if wait <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(entry.wake.wait(), wait)

    async def _poll(self, rule_id: str, entry: _Entry) -> None:
        interval = self.min_interval
        live_interval = LIVE_FIRST_LOOK
        last_event_fetch = 0.0
        while True:
            await self._next_look(entry, interval, live_interval)
            if entry.fetch_now:
                # Let the rest of the burst arrive, and never fetch one rule too often.
                gap = last_event_fetch + EVENT_MIN_GAP - time.monotonic()
                await asyncio.sleep(max(EVENT_COALESCE, gap))
                entry.fetch_now = False
                last_event_fetch = time.monotonic()
            elif time.monotonic() - entry.last_read > self.idle_after:
                return
            try:
                self.polls += 1
                staging = await self._fetch(rule_id)
            except DatalakeError as e:
                if e.status == 404:
                    self.forget(rule_id)
                    return
                log.info("datalake: polling rule %s failed: %s", rule_id, e.message)
                entry.fetched_at = time.monotonic()
                interval = min(interval * 2, self.max_interval)
                continue
            except Exception:  # a loop must never die silently with a stale "REPLICATING"
                log.exception("datalake: polling rule %s crashed", rule_id)
                entry.fetched_at = time.monotonic()
                interval = min(interval * 2, self.max_interval)
                continue
            if self._entries.get(rule_id) is not entry:
                return  # released or forgotten meanwhile
            changed = _progress(staging) != _progress(entry.staging)
            entry.staging, entry.fetched_at = staging, time.monotonic()
            if changed:
                self._announce(rule_id, entry)
            if staging.get("state") in FINAL_STATES:
                return
            interval = self.min_interval if changed else min(interval * 2, self.max_interval)
            live_interval = self.reconcile_interval

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
        self._listeners.clear()
