"""Stagings through the service facade, Rucio in memory."""

import json

import pytest
from conftest import stub_instance
from fake_rucio import FakeRucio

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.core.staging import staging_from_rule
from jupyterlab_datalake.errors import DatalakeError


async def test_stage_sends_a_complete_rule(service, fake_rucio):
    result = await service.stage(
        ["demo:lofar-obs-sb000"],
        qos="FAST",
        lifetime=600,
        source_qos="SAFE",
        start_in=120,
        comment="for the demo",
    )
    (staging,) = result["stagings"]
    body = fake_rucio.rules[staging["id"]]["_body"]
    assert body == {
        "dids": [{"scope": "demo", "name": "lofar-obs-sb000"}],
        "account": "alice",
        "copies": 1,
        "rse_expression": "QOS=FAST&site=HUB",
        "grouping": "DATASET",
        "lifetime": 600,
        "comment": "jupyterlab-datalake@stub FAST for the demo",
        "source_replica_expression": "QOS=SAFE",
        "delay_injection": 120,
        "notify": "P",
    }
    assert staging["state"] == "REPLICATING" and staging["files_total"] == 4
    assert staging["bytes_total"] == sum(
        fake_rucio.dids[f]["bytes"] for f in fake_rucio.files_of(("demo", "lofar-obs-sb000"))
    )
    assert fake_rucio.rules[staging["id"]]["_rse"] == "HUB-FAST"  # never FAR-FAST


async def test_same_request_twice_is_one_rule(service, fake_rucio):
    first = await service.stage(["demo:lofar-obs-sb001"], qos="FAST")
    again = await service.stage(["demo:lofar-obs-sb001"], qos="FAST")
    assert not again["created"] and first["created"]
    assert again["stagings"][0]["id"] == first["stagings"][0]["id"]
    assert len(fake_rucio.rules) == 1


async def test_a_new_service_finds_the_stagings_again(service, fake_rucio):
    staged = await service.stage(
        ["demo:lofar-obs-sb000", "demo:lofar-obs-sb001"], qos="CHEAP-ANALYSIS"
    )
    template = next(iter(fake_rucio.rules.values()))
    # Rules made by hand: one on a QoS class's expression (a staging made outside JupyterLab),
    # one elsewhere (no staging at all).
    fake_rucio.rules["e" * 32] = {
        **template,
        "id": "e" * 32,
        "name": "lofar-obs-sb002",
        "comments": "made by hand",
    }
    fake_rucio.rules["f" * 32] = {
        **template,
        "id": "f" * 32,
        "comments": "made by hand",
        "rse_expression": "LAKE-SAFE",
    }
    restarted = DatalakeService(service.config, transport=fake_rucio.transport())
    listed = (await restarted.list_stagings())["stagings"]
    ours = sorted(s["id"] for s in staged["stagings"])
    assert sorted(s["id"] for s in listed) == sorted([*ours, "e" * 32])
    assert {s["qos"] for s in listed} == {"CHEAP-ANALYSIS"}
    assert {s["id"]: s["outside"] for s in listed} == {**dict.fromkeys(ours, False), "e" * 32: True}
    with pytest.raises(DatalakeError) as info:
        await restarted.release("f" * 32)
    assert info.value.reason == "NOT_A_STAGING"
    await restarted.close()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"qos": "GOLD"}, "UNKNOWN_QOS"),
        ({"lifetime": 59}, "BAD_LIFETIME"),
        ({"lifetime": 8 * 86400}, "BAD_LIFETIME"),
        ({"lifetime": "1d"}, "BAD_LIFETIME"),
        ({"source_qos": "QOS=X|*"}, "BAD_SOURCE_QOS"),
        ({"start_in": -5}, "BAD_START_IN"),
        ({"comment": "x" * 300}, "BAD_COMMENT"),
    ],
)
async def test_caller_mistakes_are_400(service, fake_rucio, kwargs, reason):
    with pytest.raises(DatalakeError) as info:
        await service.stage(["demo:lofar-obs-sb000"], **kwargs)
    assert (info.value.status, info.value.reason) == (400, reason)
    assert not fake_rucio.rules


async def test_bad_dids_and_rule_ids(service):
    for dids in (["nope"], [], "demo:a b", None):
        with pytest.raises(DatalakeError) as info:
            await service.stage(dids)
        assert info.value.status == 400
    with pytest.raises(DatalakeError) as info:
        await service.get_staging("../../etc")
    assert info.value.reason == "BAD_RULE_ID"


@pytest.mark.parametrize(
    "rule_ids",
    [
        "[not json",
        # Nested too deep for json.loads (RecursionError), as a query string may be.
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["not JSON", "nested too deep, cut", "nested too deep"],
)
async def test_rule_ids_that_cannot_be_read_are_a_bad_rule_id(service, rule_ids):
    with pytest.raises(DatalakeError) as info:
        await service.wait_stagings(rule_ids)
    assert (info.value.status, info.value.reason) == (400, "BAD_RULE_ID")
    assert "1 to 100 rule ids" in info.value.message


async def test_no_eligible_rse_is_409(fake_rucio):
    instance = stub_instance(qos_classes={"FAST": {}, "TAPE": {"expression": "QOS=TAPE"}})
    svc = DatalakeService(parse_config([instance], None), transport=fake_rucio.transport())
    with pytest.raises(DatalakeError) as info:
        await svc.stage(["demo:lofar-obs-sb000"], qos="TAPE")
    assert (info.value.status, info.value.reason) == (409, "NO_ELIGIBLE_RSE")
    await svc.close()


async def test_list_is_served_from_cache(service, fake_rucio):
    await service.stage(["demo:lofar-obs-sb000"], qos="FAST")
    await service.list_stagings()
    before = len(fake_rucio.calls)
    for _ in range(100):  # a hundred tabs polling
        await service.list_stagings()
    assert len(fake_rucio.calls) == before


async def test_a_fresh_list_reads_rucio_even_while_events_keep_the_cache(service, fake_rucio):
    await service.list_stagings()
    manager = service.instance().staging
    manager.watcher.set_events_live(True)  # the list is re-read only every 5 minutes
    # Given: a staging made elsewhere (the Rucio client), not in the cache
    made = await service.stage(["demo:lofar-obs-sb000"], qos="FAST")
    manager._list_ids.remove(made["stagings"][0]["id"])
    manager._listed_at -= manager.list_ttl + 1
    # When the panel polls: still the cached list, no Rucio call
    listings = lambda: fake_rucio.calls.count(("GET", "/rucio/rules/"))  # noqa: E731
    before = listings()
    assert (await service.list_stagings())["stagings"] == []
    assert listings() == before
    # When the user asks for a fresh list: Rucio's
    answer = await service.list_stagings(fresh="true")
    assert [s["id"] for s in answer["stagings"]] == [made["stagings"][0]["id"]]
    assert listings() == before + 1
    # ... not again for a Refresh pressed at once
    await service.list_stagings(fresh=True)
    assert listings() == before + 1
    with pytest.raises(DatalakeError) as bad:
        await service.list_stagings(fresh="maybe")
    assert bad.value.status == 400 and bad.value.reason == "BAD_FRESH"


async def test_progress_extend_release(service, fake_rucio):
    (staging,) = (await service.stage(["demo:lofar-obs-sb000"], qos="FAST"))["stagings"]
    fake_rucio.advance(staging["id"], files=2)
    fresh = await service.instance().staging.fetch(staging["id"])
    assert (fresh["files_ok"], fresh["files_replicating"], fresh["state"]) == (2, 2, "REPLICATING")
    info = await service.did_info("demo:lofar-obs-sb000")
    assert info["near_hub"] == {"state": "REPLICATING", "rses": ["HUB-FAST"]}  # rule at work
    fake_rucio.replicas[fake_rucio.files_of(("demo", "lofar-obs-sb001"))[0]]["HUB-CHEAP"] = (
        "AVAILABLE"
    )
    info = await service.did_info("demo:lofar-obs-sb001")
    assert info["near_hub"] == {"state": "PARTIAL", "rses": ["HUB-CHEAP"]}  # no rule
    fake_rucio.advance(staging["id"])
    info = await service.did_info("demo:lofar-obs-sb000")
    assert info["near_hub"] == {"state": "AVAILABLE", "rses": ["HUB-FAST"]}
    extended = await service.extend(staging["id"], 7 * 86400)
    assert extended["expires_at"] > staging["expires_at"] and extended["state"] == "OK"
    await service.release(staging["id"])
    assert (await service.list_stagings())["stagings"] == []


async def test_update_size_does_not_grow_with_files():
    fake = FakeRucio(big_files=3000)
    svc = DatalakeService(parse_config([stub_instance()], None), transport=fake.transport())
    small = (await svc.stage(["demo:lofar-obs-sb000"], qos="FAST"))["stagings"][0]
    big = (await svc.stage(["demo:big"], qos="FAST"))["stagings"][0]
    assert abs(len(json.dumps(big)) - len(json.dumps(small))) < 40
    await svc.close()


def test_a_delayed_staging_counts_the_files_it_will_copy():
    # Before injection Rucio has made no locks; the file count comes from the DID.
    rule = {
        "id": "a" * 32,
        "scope": "demo",
        "name": "big-100k",
        "state": "INJECT",
        "locks_ok_cnt": 0,
        "locks_replicating_cnt": 0,
        "locks_stuck_cnt": 0,
        "comments": "jupyterlab-datalake FAST",
    }
    instance = parse_config([stub_instance()], None).instances["stub"]
    staging = staging_from_rule(rule, instance, (2_000, 100_000))
    assert staging["state"] == "INJECT"
    assert staging["files_total"] == 100_000 and staging["files_ok"] == 0
    # Once locks exist they are the truth, even if the DID grew since.
    staging = staging_from_rule({**rule, "locks_ok_cnt": 7}, instance, (2_000, 4))
    assert staging["files_total"] == 7


async def test_a_new_staging_joins_the_cached_list_without_relisting(service, fake_rucio):
    await service.stage(["demo:lofar-obs-sb000"], qos="FAST")
    await service.list_stagings()
    lists = [c for c in fake_rucio.calls if c == ("GET", "/rucio/rules/")]
    assert len(lists) == 1
    new = (await service.stage(["demo:lofar-obs-sb001"], qos="FAST"))["stagings"][0]
    listed = (await service.list_stagings())["stagings"]
    assert new["id"] in {s["id"] for s in listed} and len(listed) == 2
    assert [c for c in fake_rucio.calls if c == ("GET", "/rucio/rules/")] == lists
