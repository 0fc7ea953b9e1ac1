"""Acceptance check of a running testbed, as alice, through the Rucio REST API.

Adds a rule on demo:lofar-obs-sb000 with `QOS=FAST&site=HUB` (lifetime 1 h), waits for
it to be OK, checks the copies on disk under storage/HUB-FAST (adler32 against the
catalogue) and that FAR-FAST got nothing, then deletes the rule. Rucio's DELETE of a
rule is a soft delete (the rule expires within the hour), so the check then sets its
lifetime to 0 and waits for the judge-cleaner to remove it and the reaper to delete
the copies. Prints timings; exits non-zero on failure.
Usage: `check.py TESTBED_DIR` with the testbed venv's Python.
"""

from __future__ import annotations

import os
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

TB = Path(sys.argv[1]).resolve()
# Client mode with alice's config, exactly as a user of the testbed would run it.
os.environ["RUCIO_CONFIG"] = str(TB / "rucio.cfg")
os.environ["RUCIO_CLIENT_MODE"] = "1"

from rucio.client import Client  # noqa: E402
from rucio.common.exception import DuplicateRule, RuleNotFound  # noqa: E402

DATASET = {"scope": "demo", "name": "lofar-obs-sb000"}
EXPRESSION = "QOS=FAST&site=HUB"
TARGET_RSE = "HUB-FAST"
TIMEOUT = 60.0
COMMENT = "testbed check"


def adler32_file(path: Path) -> str:
    value = 1
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def fail(msg: str) -> None:
    print(f"check: FAIL: {msg}", flush=True)
    sys.exit(1)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def rule_exists(client: Client, rule_id: str) -> bool:
    try:
        client.get_replication_rule(rule_id)
    except RuleNotFound:
        return False
    return True


def expire_now(client: Client, rule_id: str) -> None:
    """Lifetime 0: the judge-cleaner removes the rule on its next cycle (a hard delete)."""
    client.update_replication_rule(rule_id, {"lifetime": 0})
    if not wait_until(lambda: not rule_exists(client, rule_id), TIMEOUT):
        fail(f"rule {rule_id} still exists {TIMEOUT:.0f} s after expiring it")


def hub_replicas(client: Client) -> list[str]:
    replicas = client.list_replicas([DATASET], schemes=["file"], rse_expression=TARGET_RSE)
    return [r["name"] for r in replicas if r.get("rses")]


def remove_leftovers(client: Client) -> None:
    """Start from no copy on the hub, so the timing covers a real transfer.

    A previous run's rule may linger (soft delete; DuplicateRule would stop us), and its
    copies stay until the reaper's next pass.
    """
    for rule in client.list_did_rules(DATASET["scope"], DATASET["name"]):
        if rule["account"] != "alice" or rule["rse_expression"] != EXPRESSION:
            continue
        if rule["comments"] != COMMENT:
            # Someone else's staging (tests share the testbed): leave it alone.
            fail(
                f"rule {rule['id']} ({rule['comments']!r}) already stages this; use a fresh "
                "testbed (TESTBED_DIR=... TESTBED_PORT=...) or wait for it to go"
            )
        expire_now(client, rule["id"])
    if not wait_until(lambda: not hub_replicas(client), TIMEOUT):
        fail(f"copies on {TARGET_RSE} are not going away (another rule on them, or no daemon loop)")


def main() -> None:
    client = Client()
    account = client.whoami()["account"]
    if account != "alice":
        fail(f"whoami says {account}, expected alice")
    remove_leftovers(client)

    t0 = time.monotonic()
    try:
        [rule_id] = client.add_replication_rule(
            dids=[DATASET], copies=1, rse_expression=EXPRESSION, lifetime=3600, comment=COMMENT
        )
    except DuplicateRule:
        fail("a rule for this DID and expression already exists")
    state = ""
    while time.monotonic() - t0 < TIMEOUT:
        rule = client.get_replication_rule(rule_id)
        state = rule["state"]
        if state == "OK":
            break
        time.sleep(0.25)
    t_ok = time.monotonic() - t0
    if state != "OK":
        fail(f"rule {rule_id} is {state} after {TIMEOUT:.0f} s")
    print(f"check: rule {rule_id} OK after {t_ok:.1f} s", flush=True)

    files = list(client.list_files(DATASET["scope"], DATASET["name"]))
    replicas = client.list_replicas([DATASET], schemes=["file"], rse_expression=TARGET_RSE)
    by_name = {r["name"]: r for r in replicas}
    hub_pfns: list[str] = []
    for f in files:
        pfns = by_name.get(f["name"], {}).get("rses", {}).get(TARGET_RSE, [])
        if not pfns:
            fail(f"no {TARGET_RSE} replica for {f['name']}")
        hub_pfns.append(pfns[0])
        path = Path(urlparse(pfns[0]).path)
        if not path.is_relative_to(TB / "storage" / TARGET_RSE):
            fail(f"{path} is not under storage/{TARGET_RSE}")
        if not path.is_file():
            fail(f"{path} missing on disk")
        if adler32_file(path) != f["adler32"]:
            fail(f"{path}: adler32 differs from the catalogue")
    print(f"check: {len(files)} files on disk under storage/{TARGET_RSE} with matching adler32")

    far = TB / "storage" / "FAR-FAST"
    if any(p.is_file() for p in far.rglob("*")):
        fail("FAR-FAST has files")
    far_replicas = client.list_replicas([DATASET], rse_expression="FAR-FAST")
    if any(r.get("rses") for r in far_replicas):
        fail("FAR-FAST has replicas")
    print("check: FAR-FAST got nothing")

    client.delete_replication_rule(rule_id)
    expires = client.get_replication_rule(rule_id)["expires_at"]
    print(f"check: rule soft-deleted by its owner (now expires {expires})")
    t1 = time.monotonic()
    expire_now(client, rule_id)
    print(f"check: rule expired by its owner and removed in {time.monotonic() - t1:.1f} s")
    hub_paths = [Path(urlparse(pfn).path) for pfn in hub_pfns]
    if not wait_until(lambda: not any(p.exists() for p in hub_paths), TIMEOUT):
        fail(f"copies on {TARGET_RSE} not deleted {TIMEOUT:.0f} s after the rule went")
    print(f"check: reaper deleted the {TARGET_RSE} copies {time.monotonic() - t1:.1f} s after")
    print(f"check: PASS (time to OK {t_ok:.1f} s, total {time.monotonic() - t0:.1f} s)")


if __name__ == "__main__":
    main()
