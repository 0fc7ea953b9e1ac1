"""The testbed's daemon loop: stock Rucio daemons, run one after the other, every ~1 s.

Stand-alone Rucio daemons each wait for work-partition rebalancing (1-10 s) and
poll on their own timers, so a rule would take about a minute to go through
judge -> conveyor -> judge. Here every daemon runs in this one process, one
iteration at a time, in pipeline order, with no start-up waits. That is also what
SQLite wants: one writer at a time besides the API server.

- judge evaluator, injector, repairer, cleaner, reaper and abacus-account: their
  module-level `run_once` with a long-lived heartbeat (what `run_daemon` does,
  minus the partition wait);
- conveyor submitter, poller and finisher: the stock daemon functions with
  `once=True, partition_wait_time=0` (poller `older_than=0`), only while the
  requests table is non-empty, so an idle loop costs a few cheap queries;
- transfers go through testbed/localcopy.py (`[conveyor] transfertool = localcopy`).

Needs RUCIO_CONFIG (server config) and testbed/ on PYTHONPATH; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rucio.common.logging import setup_logging
from rucio.daemons.abacus import account as abacus_account
from rucio.daemons.common import HeartbeatHandler
from rucio.daemons.conveyor import finisher, poller, submitter
from rucio.daemons.judge import cleaner, evaluator, injector, repairer
from rucio.daemons.reaper import reaper
from rucio.db.sqla import models
from rucio.db.sqla.session import read_session
from sqlalchemy import select

import localcopy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

INTERVAL = float(os.environ.get("TESTBED_DAEMON_INTERVAL", "1"))
# Housekeeping (deletion, usage counters) does not need to run every cycle.
SLOW_EVERY = 10
# A STUCK rule is retried after this long (Rucio's default is 30 min; a demo wants minutes).
REPAIR_DELTA = 300
HEARTBEAT_RENEWAL = 30

Step = tuple[str, Callable[[], Any]]

log = logging.getLogger("testbed-daemons")
stop_event = threading.Event()


@read_session
def _has_requests(*, session: Session) -> bool:
    return session.execute(select(models.Request.id).limit(1)).first() is not None


def _conveyor() -> None:
    if not _has_requests():
        return
    submitter.submitter(
        once=True,
        partition_wait_time=0,
        transfertools=[localcopy.NAME],
        filter_transfertool=None,
        transfertype="single",
    )
    poller.poller(once=True, partition_wait_time=0, older_than=0, transfertool=localcopy.NAME)
    finisher.finisher(once=True, partition_wait_time=0)


# Greedy: delete tombstoned replicas (released stagings) at once, not only when the RSE
# runs out of space, so that releasing a staging visibly frees the hub's disk.
REAPER_ARGS: dict[str, Any] = {
    "rses": [],
    "include_rses": None,
    "exclude_rses": None,
    "vos": None,
    "chunk_size": 100,
    "greedy": True,
    "scheme": None,
    "delay_seconds": 0,
    "auto_exclude_threshold": 100,
    "auto_exclude_timeout": 600,
}


def build_steps(stack: ExitStack) -> tuple[list[Step], list[Step]]:
    """The per-cycle pipeline and the slower housekeeping steps."""

    def daemon(module: ModuleType, **kwargs: Any) -> Step:
        # What run_daemon() does, minus the partition wait: a heartbeat that lives
        # as long as this process, passed to the daemon's own run_once.
        name = module.DAEMON_NAME
        handler = stack.enter_context(HeartbeatHandler(name, HEARTBEAT_RENEWAL))
        run_once = functools.partial(
            module.run_once, heartbeat_handler=handler, activity=None, **kwargs
        )
        return name, run_once

    fast = [
        daemon(evaluator, paused_dids={}, did_limit=1000),
        daemon(injector, paused_rules={}),
        ("conveyor", _conveyor),
        daemon(repairer, paused_rules={}, delta=REPAIR_DELTA),
        daemon(cleaner, paused_rules={}),
    ]
    slow = [daemon(reaper, **REAPER_ARGS), daemon(abacus_account)]
    return fast, slow


def run_step(name: str, step: Callable[[], Any]) -> None:
    try:
        step()
    except Exception:
        # One failing daemon (e.g. SQLite busy) must not stop the others; retry next cycle.
        log.exception("%s failed", name)


def _stop(signum: int, frame: object) -> None:
    stop_event.set()


def main() -> None:
    setup_logging(process_name="testbed-daemons")
    # Idle-cycle chatter ("Did not get any work", "Reaper started") every second.
    for quiet in ("abacus-account", "reaper"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    localcopy.register()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    with ExitStack() as stack:
        fast, slow = build_steps(stack)
        log.info("daemon loop started (interval %.1f s)", INTERVAL)
        cycle = 0
        while not stop_event.is_set():
            started = time.monotonic()
            for name, step in fast:
                run_step(name, step)
            if cycle % SLOW_EVERY == 0:
                for name, step in slow:
                    run_step(name, step)
            cycle += 1
            stop_event.wait(max(0.0, INTERVAL - (time.monotonic() - started)))
    log.info("daemon loop stopped")


if __name__ == "__main__":
    main()
