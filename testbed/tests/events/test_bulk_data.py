"""The bulk-registered data, as alice sees it through Rucio's REST API: demo:big-100k from the
seed, and a small container made by scale.sh (demo:scale-1m is the same code at 10 x 100,000)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
import zlib
from pathlib import Path

SCALE_SH = Path(__file__).resolve().parents[2] / "scale.sh"


def adler32_of(name: str) -> str:
    return f"{zlib.adler32(name.encode()) & 0xFFFFFFFF:08x}"


def test_big_100k_is_a_closed_dataset_of_100000_registered_files(alice):
    did = alice.get_did("demo", "big-100k")
    assert (did["type"], did["open"], did["length"]) == ("DATASET", False, 100_000)
    assert did["bytes"] == 100_000 * 200 * 2**20
    assert alice.get_metadata("demo", "big-100k")["datatype"] == "SIM"

    names = [f["name"] for f in alice.list_files("demo", "big-100k")]
    assert len(names) == len(set(names)) == 100_000
    assert names[0] == "big-100k.f000000"

    last = "big-100k.f099999"
    [replica] = alice.list_replicas([{"scope": "demo", "name": last}])
    assert replica["states"] == {"LAKE-SAFE": "AVAILABLE"}
    assert replica["adler32"] == adler32_of(last)
    assert replica["md5"] == hashlib.md5(last.encode()).hexdigest()
    # The collection replica Rucio's dataset-level answers use.
    [dataset_replica] = alice.list_dataset_replicas("demo", "big-100k")
    assert dataset_replica["rse"] == "LAKE-SAFE"
    assert (dataset_replica["available_length"], dataset_replica["state"]) == (100_000, "AVAILABLE")


def test_a_rule_on_all_of_big_100k_is_suspended_for_quota_without_transfers(alice, rules):
    # Rucio injects rules on >= 10,000 files asynchronously: accepted first (INJECT), then the
    # judge-injector finds 20 TiB over alice's 10 TB quota and suspends it.
    [rule_id] = alice.add_replication_rule(
        dids=[{"scope": "demo", "name": "big-100k"}], copies=1, rse_expression="HUB-FAST"
    )
    rules.append(rule_id)
    deadline = time.monotonic() + 30
    rule = alice.get_replication_rule(rule_id)
    while rule["state"] == "INJECT" and time.monotonic() < deadline:
        time.sleep(0.5)
        rule = alice.get_replication_rule(rule_id)
    assert rule["state"] == "SUSPENDED"
    assert rule["locks_ok_cnt"] == rule["locks_replicating_cnt"] == rule["locks_stuck_cnt"] == 0


def test_scale_sh_makes_a_container_of_datasets_once(alice, tb):
    name = f"scale-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TESTBED_DIR": str(tb)}
    args = ["bash", str(SCALE_SH), "--scope", "tbtest", "--name", name, "--datasets", "3"]
    args += ["--files", "2500"]

    first = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    assert "(3 datasets created)" in first
    again = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    assert "(0 datasets created)" in again

    container = alice.get_did("tbtest", name)
    assert (container["type"], container["length"]) == ("CONTAINER", 7500)
    children = sorted(c["name"] for c in alice.list_content("tbtest", name))
    assert children == [f"{name}-ds00", f"{name}-ds01", f"{name}-ds02"]
    files = list(alice.list_files("tbtest", f"{name}-ds02"))
    assert len(files) == 2500
    sizes = [f["bytes"] for f in files]
    assert 2**20 <= min(sizes) < max(sizes) <= 2**32
    assert all(f["adler32"] == adler32_of(f["name"]) for f in files)
    assert sum(sizes) == alice.get_did("tbtest", f"{name}-ds02")["bytes"]
