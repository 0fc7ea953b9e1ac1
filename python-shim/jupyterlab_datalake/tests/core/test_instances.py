"""Two instances that reach the same Rucio as the same account (as `testbed` and `testbed-x509`
do): each lists, extends and releases only its own stagings."""

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError

SB000, SB001 = "demo:lofar-obs-sb000", "demo:lofar-obs-sb001"


@pytest.fixture
async def two(fake_rucio):
    config = parse_config(
        [stub_instance(), stub_instance(name="stub-x509", display_name="Stub over X.509")],
        "stub",
    )
    svc = DatalakeService(config, transport=fake_rucio.transport())
    yield svc
    await svc.close()


async def ids(svc, instance):
    return {s["id"] for s in (await svc.list_stagings(instance=instance))["stagings"]}


async def test_stagings_of_one_instance_never_show_under_another(two, fake_rucio):
    mine = (await two.stage([SB000], qos="FAST", instance="stub-x509"))["stagings"][0]
    theirs = (await two.stage([SB001], qos="FAST", instance="stub"))["stagings"][0]
    assert mine["instance"] == "stub-x509" and theirs["instance"] == "stub"
    assert fake_rucio.rules[mine["id"]]["comments"] == "jupyterlab-datalake@stub-x509 FAST"
    assert await ids(two, "stub-x509") == {mine["id"]}
    assert await ids(two, "stub") == {theirs["id"]}
    # A fresh service (a restarted server) tells them apart the same way, from Rucio alone.
    again = DatalakeService(two.config, transport=fake_rucio.transport())
    assert await ids(again, "stub-x509") == {mine["id"]}
    assert await ids(again, "stub") == {theirs["id"]}
    await again.close()


@pytest.mark.parametrize("verb", ["get_staging", "extend", "release"])
async def test_another_instances_staging_is_not_yours_to_manage(two, fake_rucio, verb):
    staged = (await two.stage([SB000], qos="FAST", instance="stub-x509"))["stagings"][0]
    before = dict(fake_rucio.rules[staged["id"]])
    args = (staged["id"], 7200) if verb == "extend" else (staged["id"],)
    with pytest.raises(DatalakeError) as info:
        await getattr(two, verb)(*args, instance="stub")
    assert info.value.status == 404 and info.value.reason == "NOT_A_STAGING"
    assert "a staging of instance 'stub-x509', not of 'stub'" in info.value.message
    assert fake_rucio.rules[staged["id"]] == before  # untouched


async def test_the_same_data_staged_from_the_other_instance_is_refused(two, fake_rucio):
    first = (await two.stage([SB000], qos="FAST", instance="stub"))["stagings"][0]
    with pytest.raises(DatalakeError) as info:
        await two.stage([SB000], qos="FAST", instance="stub-x509")
    assert info.value.status == 409 and info.value.reason == "DUPLICATE_RULE"
    assert "already staged in QoS class FAST by instance 'stub'" in info.value.message
    assert list(fake_rucio.rules) == [first["id"]]
    assert await ids(two, "stub-x509") == set()


async def test_stagings_from_before_instances_were_tagged_stay_with_the_default(two, fake_rucio):
    staged = (await two.stage([SB000], qos="FAST", instance="stub"))["stagings"][0]
    fake_rucio.rules[staged["id"]]["comments"] = "jupyterlab-datalake FAST"
    again = DatalakeService(two.config, transport=fake_rucio.transport())
    assert await ids(again, "stub") == {staged["id"]}
    assert await ids(again, "stub-x509") == set()
    await again.close()
