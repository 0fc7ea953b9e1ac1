"""The testbed's daemon loop: stock Rucio daemons, run one after the other, every ~1 s.

Stand-alone Rucio daemons each wait for work-partition rebalancing (1-10 s) and
poll on their own timers, so a rule would take about a minute to go through
judge -> conveyor -> judge. Here every daemon runs in this one process, one
iteration at a time, in pipeline order, with no start-up waits. That is also what
SQLite wants: one writer at a time besides the API server.

- judge evaluator, injector, repairer, cleaner, reaper, abacus-account and
  abacus-collection-replica (dataset replica counts per RSE): their
  module-level `run_once` with a long-lived heartbeat (what `run_daemon` does,
  minus the partition wait);
- conveyor submitter, poller and finisher: the stock daemon functions with
  `once=True, partition_wait_time=0` (poller `older_than=0`), only while the
  requests table is non-empty, so an idle loop costs a few cheap queries;
- transfers go through testbed/localcopy.py (`[conveyor] transfertool = localcopy`);
- hermes, when server.cfg has `[messaging-hermes]` (testbed/broker.py): its `run_once` in a
  thread of its own, woken at the end of every cycle, so the messages a cycle queued (RULE_OK,
  RULE_PROGRESS, transfer-*) reach the broker at once; and a broker that is down or slow
  (hermes spends ~1 s per message trying to connect) never holds up rules and transfers.

While the file named by TESTBED_PAUSE_FILE (up.sh: `.testbed/run/daemons.pause`) exists, no
new cycle starts: tests hold transfers back for a while (what a slow FTS would do) and let them
go by deleting it. Pausing between cycles never leaves a transaction (an SQLite lock) open, as a
SIGSTOP could.

Needs RUCIO_CONFIG (server config) and testbed/ on PYTHONPATH; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rucio.common.config import config_get, config_get_int, config_has_section
from rucio.common.logging import setup_logging
from rucio.daemons.abacus import account as abacus_account
from rucio.daemons.abacus import collection_replica
from rucio.daemons.common import HeartbeatHandler
from rucio.daemons.conveyor import finisher, poller, submitter
from rucio.daemons.hermes import hermes
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
PAUSE_FILE = os.environ.get("TESTBED_PAUSE_FILE")

Step = tuple[str, Callable[[], Any]]

log = logging.getLogger("testbed-daemons")
stop_event = threading.Event()
wake_hermes = threading.Event()


@read_session
def _has_requests(*, session: Session) -> bool:
    return session.execute(select(models.Request.id).limit(1)).first() is not None


@read_session
def _has_messages(*, session: Session) -> bool:
    return session.execute(select(models.Message.id).limit(1)).first() is not None


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


def build_steps(stack: ExitStack) -> tuple[list[Step], list[Step], Step | None]:
    """The per-cycle pipeline, the slower housekeeping steps and hermes (None: no broker)."""

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
    slow = [
        daemon(reaper, **REAPER_ARGS),
        daemon(abacus_account),
        daemon(collection_replica, limit=1000),
    ]
    events = daemon(hermes, bulk=1000) if config_has_section("messaging-hermes") else None
    return fast, slow, events


def _broker_listening() -> bool:
    address = (
        config_get("messaging-hermes", "brokers"),
        config_get_int("messaging-hermes", "nonssl_port"),
    )
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


def deliver_events(run_once: Callable[[], Any], wake: threading.Event) -> None:
    """hermes's thread: after each cycle (or every INTERVAL), send what is queued.

    Skipped while the broker does not accept connections: hermes would try to connect once per
    message and log twice per message per second; the messages stay in Rucio's table meanwhile.
    """
    listening = True
    while not stop_event.is_set():
        wake.wait(INTERVAL)
        wake.clear()
        if stop_event.is_set() or not _has_messages():
            continue
        if not _broker_listening():
            if listening:
                log.warning("broker not reachable: Rucio keeps its messages until it is back")
            listening = False
            continue
        if not listening:
            log.info("broker reachable again: delivering the messages kept meanwhile")
            listening = True
        run_step("hermes", run_once)


def run_step(name: str, step: Callable[[], Any]) -> None:
    try:
        step()
    except Exception:
        # One failing daemon (e.g. SQLite busy) must not stop the others; retry next cycle.
        log.exception("%s failed", name)


def wait_while_paused() -> None:
    if not PAUSE_FILE or not Path(PAUSE_FILE).exists():
        return
    log.info("paused (%s exists)", PAUSE_FILE)
    while Path(PAUSE_FILE).exists() and not stop_event.is_set():
        stop_event.wait(0.1)
    log.info("resumed")


def _stop(signum: int, frame: object) -> None:
    stop_event.set()
    wake_hermes.set()


def main() -> None:
    setup_logging(process_name="testbed-daemons")
    # Idle-cycle chatter ("Did not get any work", "Reaper started") every second.
    for quiet in ("abacus-account", "reaper"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    localcopy.register()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    with ExitStack() as stack:
        fast, slow, events = build_steps(stack)
        if events:
            thread = threading.Thread(target=deliver_events, args=(events[1], wake_hermes))
            thread.start()
            stack.callback(thread.join, 10)
        log.info("daemon loop started (interval %.1f s)", INTERVAL)
        cycle = 0
        while not stop_event.is_set():
            wait_while_paused()
            started = time.monotonic()
            for name, step in fast:
                run_step(name, step)
            wake_hermes.set()
            if cycle % SLOW_EVERY == 0:
                for name, step in slow:
                    run_step(name, step)
            cycle += 1
            stop_event.wait(max(0.0, INTERVAL - (time.monotonic() - started)))
    log.info("daemon loop stopped")


if __name__ == "__main__":
    main()
