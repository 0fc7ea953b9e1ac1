"""Quota before a rule is made: a staging that would not fit is refused with a sentence and
creates nothing; where Rucio gives no usage, Rucio decides as before."""

import pytest
from fake_rucio import error

from jupyterlab_datalake.core.quota import room_left
from jupyterlab_datalake.errors import DatalakeError

SB0 = "demo:lofar-obs-sb000"


def sb0_bytes(fake_rucio):
    return fake_rucio.did_view(("demo", "lofar-obs-sb000"))["bytes"]


async def test_a_staging_over_the_quota_is_refused_and_creates_nothing(service, fake_rucio):
    # Given: room for less than the dataset on the only FAST storage near the hub
    fake_rucio.limits["HUB-FAST"] = sb0_bytes(fake_rucio) - 1
    # When
    with pytest.raises(DatalakeError) as info:
        await service.stage([SB0], qos="FAST")
    # Then: a 409 that says what to do, and no rule
    assert (info.value.status, info.value.reason) == (409, "QUOTA_EXCEEDED")
    assert "Over your Rucio quota" in info.value.message
    assert "HUB-FAST" in info.value.message and "Nothing was staged" in info.value.message
    assert fake_rucio.rules == {}


async def test_a_staging_that_fits_is_made(service, fake_rucio):
    fake_rucio.limits["HUB-FAST"] = sb0_bytes(fake_rucio)
    answer = await service.stage([SB0], qos="FAST")
    assert answer["created"] and len(fake_rucio.rules) == 1


async def test_several_dids_count_together(service, fake_rucio):
    # Given: room for one dataset, not two
    fake_rucio.limits["HUB-FAST"] = sb0_bytes(fake_rucio) + 10
    with pytest.raises(DatalakeError) as info:
        await service.stage([SB0, "demo:lofar-obs-sb001"], qos="FAST")
    assert info.value.reason == "QUOTA_EXCEEDED"
    assert fake_rucio.rules == {}


async def test_staging_again_what_is_already_staged_is_not_counted_twice(service, fake_rucio):
    # Given: a staging that uses the whole quota
    fake_rucio.limits["HUB-FAST"] = sb0_bytes(fake_rucio)
    first = await service.stage([SB0], qos="FAST")
    # When: staged again, with no room left
    again = await service.stage([SB0], qos="FAST")
    # Then: the same staging, no refusal
    assert again["stagings"][0]["id"] == first["stagings"][0]["id"]
    assert not again["created"]


async def test_without_usage_from_rucio_the_check_is_skipped(service, fake_rucio):
    # Given: Rucio refuses to tell the usage (a role without the right)
    fake_rucio.limits["HUB-FAST"] = 1
    fake_rucio.fail_next.append(
        ("GET", "/accounts/", lambda: error(403, "AccessDenied", "not allowed"))
    )
    answer = await service.stage([SB0], qos="FAST")
    assert answer["created"]


@pytest.mark.parametrize(
    ("usage", "left"),
    [
        ({"bytes": 5, "bytes_limit": 10, "bytes_remaining": 5}, 5),
        ({"bytes": 50, "bytes_limit": 10, "bytes_remaining": -40}, 0),
        ({"bytes": 0, "bytes_limit": float("inf"), "bytes_remaining": float("inf")}, None),
        ({"bytes": 0, "bytes_limit": -1, "bytes_remaining": -1}, None),
        ({"bytes": 3, "bytes_limit": 10}, 7),
        ({"bytes": "3", "bytes_limit": 10}, None),
    ],
)
def test_room_left(usage, left):
    assert room_left(usage) == left


async def test_a_rule_rucio_suspended_for_quota_says_so(service, fake_rucio):
    # Given: a staging made while there was room, then suspended by Rucio without a reason
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    fake_rucio.rules[made["id"]].update(state="SUSPENDED", locks_replicating_cnt=0)
    fake_rucio.rules[made["id"]]["_rse"] = "elsewhere"  # its locks no longer count
    fake_rucio.limits["HUB-FAST"] = 10
    service.instance().quota.forget("alice")
    # When
    staging = await service.instance().staging.fetch(made["id"])
    # Then: the reason is the quota, with the numbers
    assert staging["error"].startswith("over your quota on HUB-FAST")
    assert "10 B left" in staging["error"]


async def test_a_suspended_rule_with_room_gets_no_invented_reason(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    fake_rucio.rules[made["id"]].update(state="SUSPENDED")
    staging = await service.instance().staging.fetch(made["id"])
    assert staging["error"] is None
