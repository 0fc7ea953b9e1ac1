"""With Rucio frozen every verb ends within the deadline, callers share one Rucio call and its
failure, and the last list of stagings is served with its age."""

import asyncio
import time

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.core.staging import STALE_WAIT
from jupyterlab_datalake.core.verbs import VERBS
from jupyterlab_datalake.errors import DatalakeError

DEADLINE = 0.5
RULE = "0" * 31 + "1"
ARGUMENTS = {
    "whoami": {},
    "scopes": {},
    "search": {"did": "demo:*"},
    "did_info": {"did": "demo:lofar-obs"},
    "children": {"did": "demo:lofar-obs"},
    "files": {"did": "demo:lofar-obs-sb000"},
    "replicas": {"did": "demo:lofar-obs"},
    "did_rules": {"did": "demo:lofar-obs"},
    "qos": {},
    "list_stagings": {},
    "stage": {"dids": ["demo:lofar-obs-sb000"], "qos": "FAST"},
    "preview": {"did": "demo:lofar-obs-sb000", "qos": "FAST"},
    "get_staging": {"rule_id": RULE},
    "wait_stagings": {"rule_ids": RULE},
    "extend": {"rule_id": RULE, "lifetime": 7200},
    "release": {"rule_id": RULE},
    "paths": {"did": "demo:lofar-obs-sb000"},
    "move": {"rule_id": RULE, "qos": "CHEAP-ANALYSIS"},
    "verify": {"did": "demo:lofar-obs-sb000"},
    "upload": {"paths": [__file__], "to": "user.alice", "qos": "SAFE"},
}


@pytest.fixture
async def quick(fake_rucio, tmp_path):
    # A writable mount: an upload gets as far as asking Rucio.
    instance = stub_instance(mounts={"HUB-FAST": str(tmp_path)})
    svc = DatalakeService(
        parse_config([instance], "stub", request_timeout=DEADLINE),
        transport=fake_rucio.transport(),
    )
    yield svc
    await svc.close()


def freeze(fake_rucio, method=None, prefix=""):
    """From now on Rucio takes a minute to answer (these) authenticated calls."""
    route = fake_rucio.route

    async def frozen(request, parts):
        if (method is None or request.method == method) and "/".join(parts).startswith(prefix):
            await asyncio.sleep(60)
        return route(request, parts)

    fake_rucio.route = frozen


async def run(service, verb):
    answer = service.call(verb, ARGUMENTS[verb])
    if VERBS[verb].stream:
        return [line async for line in answer]
    return await answer


def test_the_arguments_cover_every_verb():
    assert set(ARGUMENTS) == set(VERBS) - {"instances", "version"}


@pytest.mark.parametrize("verb", ARGUMENTS)
async def test_every_verb_ends_within_the_deadline_with_rucio_frozen(quick, fake_rucio, verb):
    await quick.whoami()  # a token in hand, so the freeze meets the verb's own calls
    freeze(fake_rucio)
    started = time.monotonic()
    with pytest.raises(DatalakeError) as info:
        await run(quick, verb)
    assert time.monotonic() - started < DEADLINE + 0.5
    assert info.value.status == 504 and "try again later" in info.value.message


async def test_a_wait_for_a_change_ends_as_an_answer_within_the_deadline(quick, fake_rucio):
    staged = await quick.stage(["demo:lofar-obs-sb000"], qos="FAST")
    rule_id = staged["stagings"][0]["id"]
    first = await quick.call("wait_stagings", {"rule_ids": rule_id})
    # When: a kernel waits 25 s for a change that does not come, under a deadline of 0.5 s
    started = time.monotonic()
    answer = await quick.call(
        "wait_stagings", {"rule_ids": rule_id, "after": first["cursor"], "timeout": 25}
    )
    # Then: the unchanged staging, in time, not a 504
    assert time.monotonic() - started < DEADLINE
    assert [s["id"] for s in answer["stagings"]] == [rule_id]


async def test_frozen_rucio_callers_share_one_listing_and_its_failure(quick, fake_rucio):
    await quick.whoami()
    freeze(fake_rucio, "GET", "rules")
    started = time.monotonic()
    # When: ten tabs ask for the stagings at once
    answers = await asyncio.gather(
        *(quick.call("list_stagings", {}) for _ in range(10)), return_exceptions=True
    )
    # Then: one Rucio call, and all ten get its failure within the deadline
    assert time.monotonic() - started < DEADLINE + 0.5
    assert {a.reason for a in answers} == {"RUCIO_TIMEOUT"}
    assert fake_rucio.calls.count(("GET", "/rucio/rules/")) == 1


async def test_with_rucio_frozen_the_last_list_is_served_with_its_age(quick, fake_rucio):
    await quick.stage(["demo:lofar-obs-sb000"], qos="FAST")
    first = await quick.list_stagings()
    assert first["error"] is None and len(first["stagings"]) == 1
    # Given: the list has grown old, and Rucio stops answering
    manager = quick.instance().staging
    manager._listed_at -= manager.list_ttl + 1
    freeze(fake_rucio, "GET", "rules")
    # When
    started = time.monotonic()
    answers = await asyncio.gather(*(quick.call("list_stagings", {}) for _ in range(5)))
    # Then: the last list, at once, saying how old it is and why
    assert time.monotonic() - started < min(STALE_WAIT, DEADLINE / 4) + 0.2
    for answer in answers:
        assert [s["id"] for s in answer["stagings"]] == [s["id"] for s in first["stagings"]]
        assert answer["listed_at"] == first["listed_at"]
        assert (answer["error"]["reason"], answer["error"]["status"]) == ("RUCIO_TIMEOUT", 504)
        assert answer["error"]["message"].endswith(
            f"This is the list as Rucio gave it at {first['listed_at'][11:19]} UTC."
        )
    assert fake_rucio.calls.count(("GET", "/rucio/rules/")) == 2
