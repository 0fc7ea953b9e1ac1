"""Before you stage: the storage a QoS class uses, what moves from where, the quota left."""

import pytest

from jupyterlab_datalake.errors import DatalakeError

SB0 = "demo:lofar-obs-sb000"


async def test_fast_uses_the_storage_near_the_hub_and_moves_everything(service, fake_rucio):
    size = fake_rucio.did_view(("demo", "lofar-obs-sb000"))["bytes"]
    preview = await service.preview(SB0, "FAST")
    assert preview["qos"] == "FAST" and preview["near_hub"] is True
    assert preview["target"] == "HUB-FAST"
    assert preview["files"] == 4 and preview["bytes"] == size
    assert preview["to_move"] == {"files": 4, "bytes": size}
    assert [s["rse"] for s in preview["sources"]] == ["LAKE-SAFE"]
    (target,) = preview["targets"]
    assert target["quota_left"] == 10**13 and target["fits"]
    assert preview["fits"] and preview["message"] is None and preview["existing"] is None


async def test_safe_is_not_near_the_hub_and_its_data_is_already_there(service):
    preview = await service.preview(SB0, "SAFE")
    assert preview["near_hub"] is False
    assert preview["target"] == "LAKE-SAFE"
    assert preview["to_move"] == {"files": 0, "bytes": 0}
    assert preview["targets"][0]["files_present"] == 4


async def test_over_the_quota_says_so_before_anything_is_made(service, fake_rucio):
    fake_rucio.limits["HUB-FAST"] = 100
    preview = await service.preview(SB0, "FAST")
    assert preview["fits"] is False and preview["target"] is None
    assert "Over your Rucio quota" in preview["message"]
    assert "100 B left" in preview["message"]
    assert fake_rucio.rules == {}


async def test_an_existing_staging_is_shown(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    fake_rucio.advance(made["id"], 1)
    preview = await service.preview(SB0, "FAST")
    assert preview["existing"]["id"] == made["id"]
    assert preview["targets"][0]["files_present"] == 1
    assert preview["to_move"]["files"] == 3


async def test_an_unknown_class_is_a_400(service):
    with pytest.raises(DatalakeError) as info:
        await service.preview(SB0, "NOPE")
    assert (info.value.status, info.value.reason) == (400, "UNKNOWN_QOS")
