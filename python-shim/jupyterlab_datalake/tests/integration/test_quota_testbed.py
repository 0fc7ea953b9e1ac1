"""Quota and the stage preview against the real testbed Rucio: alice has 10 TB on every RSE,
demo:big-100k is 21 TB (nominal), so staging it must be refused before any rule exists, and a
rule made on it anyway (outside the shim) must say why Rucio stopped it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from conftest import body
from test_testbed import alice_http, jp_server_config, lake, testbed  # noqa: F401
from tornado.httpclient import HTTPClientError

from jupyterlab_datalake.core.staging import TAG

pytestmark = pytest.mark.integration

BIG = "demo:big-100k"
SB = "demo:lofar-obs-sb002"
# The judge-injector runs every few seconds in the testbed.
SUSPENDED_WITHIN = 60.0


async def test_staging_big_100k_is_refused_with_a_sentence_and_creates_nothing(jp_fetch, lake):  # noqa: F811
    before = {r["id"] for r in (await lake.did_rules(BIG))["rules"]}
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "datalake",
            "stagings",
            method="POST",
            body=json.dumps({"dids": [BIG], "qos": "FAST", "lifetime": 3600}),
        )
    answer = body(info.value.response)
    assert info.value.code == 409 and answer["reason"] == "QUOTA_EXCEEDED"
    assert "Over your Rucio quota" in answer["message"]
    assert "HUB-FAST" in answer["message"] and "10.0 TB left" in answer["message"]
    await asyncio.sleep(1)
    assert {r["id"] for r in (await lake.did_rules(BIG))["rules"]} == before


async def test_preview_of_big_100k_says_it_will_not_fit(lake):  # noqa: F811
    preview = await lake.preview(BIG, "FAST")
    assert preview["files"] == 100_000 and preview["bytes"] == 100_000 * 200 * 2**20
    assert preview["fits"] is False and preview["target"] is None
    (target,) = preview["targets"]
    assert target["rse"] == "HUB-FAST" and target["near_hub"]
    assert target["quota_left"] <= 10 * 10**12 and not target["fits"]
    assert "Over your Rucio quota" in preview["message"]


async def test_preview_of_a_dataset_near_the_hub_and_on_safe(lake):  # noqa: F811
    fast = await lake.preview(SB, "CHEAP-ANALYSIS")
    assert fast["near_hub"] and fast["target"] == "HUB-CHEAP" and fast["fits"]
    assert fast["files"] == 4 and fast["bytes"] > 0
    # Its custodial copy is a source; other tests' stagings may have left copies near the hub
    # (Rucio keeps a released rule's replicas up to an hour), which are sources too.
    sources = {s["rse"]: s for s in fast["sources"]}
    assert sources["LAKE-SAFE"]["files"] == 4
    assert set(sources) <= {"LAKE-SAFE", "HUB-FAST"}
    safe = await lake.preview(SB, "SAFE")
    # SAFE's storage is elsewhere: not near the hub, and the data is already there.
    assert safe["near_hub"] is False and safe["target"] == "LAKE-SAFE"
    assert safe["to_move"] == {"files": 0, "bytes": 0}


async def test_a_rule_rucio_suspends_for_quota_shows_why(lake, testbed):  # noqa: F811
    # Given: a staging of big-100k made outside the shim's check (an older shim, the CLI)
    with alice_http(testbed) as rucio:
        made = rucio.post(
            "/rules/",
            json={
                "dids": [{"scope": "demo", "name": "big-100k"}],
                "account": "alice",
                "copies": 1,
                "rse_expression": "QOS=FAST&site=HUB",
                "grouping": "DATASET",
                "lifetime": 3600,
                "comment": f"{TAG} FAST",
            },
        )
        if made.status_code == 409:  # an earlier run's rule, released and lingering: take it
            rule_id = next(
                r["id"]
                for r in map(json.loads, rucio.get("/dids/demo/big-100k/rules").text.splitlines())
                if r["account"] == "alice" and r["rse_expression"] == "QOS=FAST&site=HUB"
            )
            update = {"options": {"comment": f"{TAG} FAST", "lifetime": 3600}}
            rucio.put(f"/rules/{rule_id}", json=update).raise_for_status()
        else:
            made.raise_for_status()
            (rule_id,) = made.json()
        try:
            # When: Rucio's injector suspends it
            deadline = time.monotonic() + SUSPENDED_WITHIN
            while (staging := await lake.get_staging(rule_id))["state"] != "SUSPENDED":
                assert time.monotonic() < deadline, staging
                await asyncio.sleep(2)
                lake.instance().staging.watcher.forget(rule_id)
            # Then: the staging says it is over the quota, with the numbers
            assert staging["error"].startswith("over your quota on HUB-FAST"), staging
            assert "(needs 21.0 TB, 10.0 TB left)" in staging["error"]
        finally:
            await lake.release(rule_id)


async def test_bytes_arrived_grow_to_the_total(lake, testbed):  # noqa: F811
    # Not SB with CHEAP-ANALYSIS: the UI tests leave a delayed (INJECT) staging of it.
    made = await lake.stage(["demo:lofar-obs-sb000"], qos="CHEAP-ANALYSIS", lifetime=600)
    (staging,) = made["stagings"]
    seen = []
    try:
        deadline = time.monotonic() + 90
        while staging["state"] != "OK":
            assert staging["state"] in ("REPLICATING", "INJECT"), staging
            if staging["state"] == "REPLICATING":
                seen.append(staging["bytes_ok"])
            assert time.monotonic() < deadline, staging
            await asyncio.sleep(1)
            lake.instance().staging.watcher.forget(staging["id"])
            staging = await lake.get_staging(staging["id"])
        assert staging["bytes_ok"] == staging["bytes_total"] > 0
        assert all(isinstance(b, int) and 0 <= b <= staging["bytes_total"] for b in seen)
        assert seen == sorted(seen)
    finally:
        # Also a staging an earlier run left (then taken back, not "created"): released, and
        # expired so its copies go at once (the UI tests stage this DID to watch a copy).
        await lake.release(staging["id"])
        with alice_http(testbed) as rucio:
            rucio.put(f"/rules/{staging['id']}", json={"options": {"lifetime": 1}})
