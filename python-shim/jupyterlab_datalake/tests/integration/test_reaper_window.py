"""A staging asked while Rucio's reaper deletes copies of the same file near the hub, against the
real testbed. The reaper marks a copy BEING_DELETED, removes the file, then its row; a rule asked
in between meets that row, and Rucio 41 answers 409 ReplicationRuleCreationTemporaryFailed (CI
saw it when a test staged a DID another test had just released). The shim asks again for a few
seconds: the staging is made, once.

The reaper's moment is made to last: the test marks alice's own copy BEING_DELETED in Rucio's
database, as the reaper does, and puts it back a second later."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from test_testbed import ROOT, alice_http, lake, testbed  # noqa: F401

pytestmark = pytest.mark.integration

FILE = "lofar-obs-sb001.f1.h5"  # staged by no other test
DID = f"demo:{FILE}"
RSE = "HUB-CHEAP"  # where CHEAP-ANALYSIS near the hub is
DATABASE = ROOT / ".testbed" / "var" / "rucio.db"
ACCESS_LOG = ROOT / ".testbed" / "log" / "access.log"


def set_copy_state(state: str) -> None:
    """The state of the file's copy on RSE in Rucio's own table ('B' BEING_DELETED, 'A')."""
    with closing(sqlite3.connect(DATABASE, timeout=30)) as db, db:
        changed = db.execute(
            "UPDATE replicas SET state = ? WHERE scope = 'demo' AND name = ? "
            "AND rse_id = (SELECT id FROM rses WHERE rse = ?)",
            (state, FILE, RSE),
        ).rowcount
    assert changed == 1, f"no copy of {DID} on {RSE}"


@contextmanager
def being_deleted() -> Iterator[None]:
    set_copy_state("B")
    try:
        yield
    finally:
        set_copy_state("A")


def refusals_since(offset: int) -> int:
    """Rule creations Rucio answered 409 since ``offset`` of its access log."""
    with Path(ACCESS_LOG).open("rb") as log:
        log.seek(offset)
        return sum(1 for line in log if b'"POST /rules/ ' in line and b'" 409 ' in line)


async def test_a_staging_asked_while_the_reaper_deletes_a_copy_is_made_once(lake, testbed):  # noqa: F811
    rucio = alice_http(testbed)
    # Alice's own copy near the hub, by the RSE's name: a rule the staging is no duplicate of.
    (own,) = rucio.post(
        "/rules/",
        json={
            "dids": [{"scope": "demo", "name": FILE}],
            "copies": 1,
            "rse_expression": RSE,
            "account": "alice",
            "lifetime": 600,
            "grouping": "NONE",
        },
    ).json()
    staging_id = None
    try:
        deadline = time.monotonic() + 90
        while rucio.get(f"/rules/{own}").json()["state"] != "OK":
            assert time.monotonic() < deadline, "alice's own rule did not get OK"
            await asyncio.sleep(1)
        offset = ACCESS_LOG.stat().st_size
        with being_deleted():
            asking = asyncio.create_task(lake.stage([DID], qos="CHEAP-ANALYSIS", lifetime=600))
            # Rucio refuses while the copy is being deleted...
            deadline = time.monotonic() + 10
            while not refusals_since(offset):
                assert time.monotonic() < deadline, "Rucio never refused the rule"
                assert not asking.done(), asking.result()
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            assert not asking.done(), asking
        # ...and the shim's next try, once the reaper has let go, makes the staging.
        staged = await asking
        (staging,) = staged["stagings"]
        staging_id = staging["id"]
        assert staged["created"] and staging["qos"] == "CHEAP-ANALYSIS"
        assert refusals_since(offset) >= 2
        # One rule of alice's for the QoS class, beside her own: nothing made twice.
        rules = [r for r in rucio.get(f"/dids/demo/{FILE}/rules").iter_lines() if r]
        assert len(rules) == 2, rules
        assert (await lake.get_staging(staging_id))["state"] in ("OK", "REPLICATING")
    finally:
        if staging_id:
            await lake.release(staging_id)
        for rule_id in filter(None, (own, staging_id)):
            rucio.put(f"/rules/{rule_id}", json={"options": {"lifetime": 1}})
        rucio.close()
