"""What is near the hub, through the service facade, Rucio in memory."""

import asyncio
import time

import pytest

from jupyterlab_datalake.errors import DatalakeError


async def test_replicating_state_near_hub(service, fake_rucio):
    await service.stage(["demo:lofar-obs-sb002"], qos="FAST")
    info = await service.did_info("demo:lofar-obs-sb002")
    assert info["near_hub"]["state"] == "REPLICATING"


async def test_container_details_ask_rucio_a_bounded_number_of_times(service, fake_rucio):
    """Stored counts of all its datasets in one call; the content read only up to the cap."""
    for n in range(250):
        fake_rucio.add_collection("demo", f"many-{n:03d}", "DATASET", None)
    fake_rucio.add_collection("demo", "many", "CONTAINER", open=False)
    fake_rucio.children[("demo", "many")] = [("demo", f"many-{n:03d}") for n in range(250)]
    fake_rucio.calls.clear()
    info = await service.did_info("demo:many")
    assert info["near_hub"] == {"state": "NONE", "rses": [], "sampled_datasets": 200}
    bulk = [c for c in fake_rucio.calls if c[1].endswith("/replicas/datasets_bulk")]
    assert len(bulk) == 2 and len(fake_rucio.calls) <= 8
    assert not [c for c in fake_rucio.calls if c[1].endswith("/datasets")]


async def test_a_container_is_near_the_hub_only_when_every_dataset_is(service, fake_rucio):
    await service.stage(["demo:lofar-obs-sb000"], qos="FAST")
    (rule,) = fake_rucio.rules
    fake_rucio.advance(rule)
    info = await service.did_info("demo:lofar-obs")
    assert info["near_hub"]["state"] == "PARTIAL" and info["near_hub"]["rses"] == ["HUB-FAST"]
    replicas = await service.replicas("demo:lofar-obs")
    hub = next(r for r in replicas["rses"] if r["rse"] == "HUB-FAST")
    assert hub["files"] == 4 and "sampled_datasets" not in replicas


async def test_details_ask_the_did_its_metadata_and_its_rules_at_once(service, fake_rucio):
    """While Rucio streams a big listing each answer is slow: five in a row took over a
    second on the 1M-file container, so the three that need nothing else go together."""
    await service.whoami()  # logged in: only the details' own calls are slowed
    route, begun = fake_rucio.route, []

    async def slow(request, parts):
        begun.append("/".join(parts))
        await asyncio.sleep(0.3)
        return route(request, parts)

    fake_rucio.route = slow
    started = time.monotonic()
    info = await service.did_info("demo:lofar-obs-sb001")
    elapsed = time.monotonic() - started
    assert info["type"] == "DATASET" and info["length"] == 4
    assert info["near_hub"]["state"] == "NONE"
    # The DID, its metadata, its rules (and the near-hub RSEs), then its replica counts.
    assert {"dids/demo/lofar-obs-sb001", "dids/demo/lofar-obs-sb001/meta"} <= set(begun[:4])
    assert "dids/demo/lofar-obs-sb001/rules" in begun[:4]
    assert elapsed < 4 * 0.3


async def test_details_of_a_missing_did_say_so_whatever_the_rules_say(service, fake_rucio):
    with pytest.raises(DatalakeError) as info:
        await service.did_info("demo:no-such-dataset")
    assert info.value.status == 404 and "demo:no-such-dataset" in info.value.message
