"""What one stage request leaves in Rucio: everything asked, or nothing; never a silent leftover,
a second rule, or someone else's lifetime."""

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from conftest import stub_instance
from fake_rucio import FakeRucio, error, rfc1123

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.core.staging import STALL_AFTER
from jupyterlab_datalake.errors import DatalakeError

SB = ["demo:lofar-obs-sb000", "demo:lofar-obs-sb001", "demo:lofar-obs-sb002"]


def fail_rule_post(fake_rucio, number, make):
    """Answer the ``number``-th POST /rules/ with ``make()``."""
    posts = 0
    route = fake_rucio.route

    def counting(request, parts):
        nonlocal posts
        if request.method == "POST" and parts[:2] == ["rules", ""]:
            posts += 1
            if posts == number:
                return make()
        return route(request, parts)

    fake_rucio.route = counting


async def test_a_missing_did_among_several_creates_nothing(service, fake_rucio):
    # When: the second of three DIDs does not exist
    with pytest.raises(DatalakeError) as info:
        await service.stage([SB[0], "demo:no-such-data", SB[1]], qos="FAST")
    # Then: a 404 that names it, and no rule at all
    assert (info.value.status, info.value.reason) == (404, "DID_NOT_FOUND")
    assert "demo:no-such-data does not exist" in info.value.message
    assert "Nothing was staged" in info.value.message
    assert fake_rucio.rules == {}
    assert not [c for c in fake_rucio.calls if c == ("POST", "/rucio/rules/")]


async def test_rucio_failing_midway_removes_what_the_request_created(service, fake_rucio):
    # Given: Rucio fails on the second rule
    fail_rule_post(fake_rucio, 2, lambda: error(500, "DatabaseException", "database is locked"))
    # When
    with pytest.raises(DatalakeError) as info:
        await service.stage(SB, qos="FAST")
    # Then: the first rule is gone again, and the stagings list does not show it
    assert info.value.status == 502
    assert len(fake_rucio.rules) == 1 and fake_rucio.live_rules() == {}
    assert (await service.list_stagings())["stagings"] == []


async def test_a_rule_that_cannot_be_removed_is_named_in_the_error(service, fake_rucio):
    fail_rule_post(fake_rucio, 2, lambda: error(500, "DatabaseException", "database is locked"))
    fake_rucio.fail_next.append(("DELETE", "/rules/", lambda: error(500, "DatabaseException", "")))
    with pytest.raises(DatalakeError) as info:
        await service.stage(SB, qos="FAST")
    (left,) = fake_rucio.live_rules()
    assert f"Rule {left} made by this request could not be removed" in info.value.message


async def test_a_deadline_midway_removes_what_the_request_created(fake_rucio):
    # Given: Rucio freezes on the second rule, and the deadline is one second
    svc = DatalakeService(
        parse_config([stub_instance()], "stub", request_timeout=1.0),
        transport=fake_rucio.transport(),
    )

    async def frozen():
        await asyncio.sleep(30)

    fail_rule_post(fake_rucio, 2, frozen)
    # When
    with pytest.raises(DatalakeError) as info:
        await svc.call("stage", {"dids": SB, "qos": "FAST"})
    # Then
    assert (info.value.status, info.value.reason) == (504, "RUCIO_TIMEOUT")
    assert len(fake_rucio.rules) == 1 and fake_rucio.live_rules() == {}
    await svc.close()


async def test_an_unknown_source_qos_is_refused_before_any_rule(service, fake_rucio):
    with pytest.raises(DatalakeError) as info:
        await service.stage(SB[:2], qos="FAST", source_qos="TAPE")
    assert (info.value.status, info.value.reason) == (400, "BAD_SOURCE_QOS")
    assert "No storage has the source QoS TAPE" in info.value.message
    assert fake_rucio.rules == {}


async def test_a_stage_lost_on_a_closed_pooled_connection_is_sent_again(service, fake_rucio):
    # Given: the POST meets a connection Rucio had just closed
    def closed():
        raise httpx.ReadError("connection reset by peer")

    fake_rucio.fail_next.append(("POST", "/rules/", closed))
    # When
    answer = await service.stage(SB[0], qos="FAST")
    # Then: it reached Rucio once, as one rule
    assert answer["created"] and len(fake_rucio.rules) == 1


async def test_a_retried_stage_that_had_reached_rucio_is_one_rule(service, fake_rucio):
    # Given: Rucio made the rule but the answer was lost on the way back
    route = fake_rucio.route
    lost = []

    def lose_first_answer(request, parts):
        response = route(request, parts)
        if request.method == "POST" and parts[0] == "rules" and not lost:
            lost.append(response)
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        return response

    fake_rucio.route = lose_first_answer
    # When
    answer = await service.stage(SB[0], qos="FAST")
    # Then: the retry got DuplicateRule, read as the rule already made
    assert len(fake_rucio.rules) == 1
    assert answer["stagings"][0]["id"] == next(iter(fake_rucio.rules))


async def test_concurrent_requests_keep_the_longest_lifetime(service, fake_rucio):
    # When: the same staging asked at once for 1 hour, 1 day and 2 hours
    answers = await asyncio.gather(
        *(service.stage(SB[0], qos="FAST", lifetime=t) for t in (3600, 86400, 7200))
    )
    # Then: one rule, kept for the longest asked, never shortened by a later request
    (rule,) = fake_rucio.rules.values()
    left = FakeRucio.expiry(rule) - datetime.now(timezone.utc)
    assert timedelta(hours=23, minutes=59) < left <= timedelta(days=1)
    assert sum(a["created"] for a in answers) == 1
    assert (
        max(a["stagings"][0]["expires_at"] for a in answers)
        == answers[1]["stagings"][0]["expires_at"]
    )


async def test_a_rule_made_outside_jupyterlab_is_shown_read_only(service, fake_rucio):
    # Given: alice made this rule with the Rucio client, on the FAST class's expression
    await service.stage(SB[0], qos="FAST")
    (rule,) = fake_rucio.rules.values()
    rule["comments"] = None
    service.instance().staging.watcher.forget(rule["id"])
    # When: she stages the same DID from JupyterLab
    answer = await service.stage(SB[0], qos="FAST", lifetime=86400)
    # Then: that rule is the staging, marked as made outside, listed, readable ...
    (staging,) = answer["stagings"]
    assert staging["id"] == rule["id"] and staging["outside"] and staging["qos"] == "FAST"
    assert not answer["created"] and len(fake_rucio.rules) == 1
    listed = (await service.list_stagings())["stagings"]
    assert [(s["id"], s["outside"]) for s in listed] == [(rule["id"], True)]
    assert (await service.get_staging(rule["id"]))["outside"]
    # ... and never changed here: extend and release say where to do it
    for change in (service.extend(rule["id"], 7200), service.release(rule["id"])):
        with pytest.raises(DatalakeError) as info:
            await change
        assert (info.value.status, info.value.reason) == (409, "OUTSIDE_RULE")
        assert "made outside JupyterLab" in info.value.message
    assert rule["comments"] is None and not rule.get("_deleted")


async def test_a_staging_without_progress_says_since_when(service, fake_rucio):
    (staging,) = (await service.stage(SB[0], qos="FAST"))["stagings"]
    assert staging["stalled_since"] is None
    # Rucio last touched the rule (a lock changed) 13 minutes ago
    rule = fake_rucio.rules[staging["id"]]
    since = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=13)
    rule["updated_at"] = rfc1123(since)
    assert STALL_AFTER < 13 * 60
    fetched = await service.instance().staging.fetch(staging["id"])
    assert fetched["stalled_since"] == since.isoformat().replace("+00:00", "Z")
    fake_rucio.advance(staging["id"])
    assert (await service.instance().staging.fetch(staging["id"]))["stalled_since"] is None
