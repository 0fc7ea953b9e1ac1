"""The hostile matrix (tests/hostile.py) through a real Jupyter server, Rucio in memory: every
route x every field x hostile values is a 4xx sentence and leaves Rucio's rules as they were."""

import json

import pytest
from hostile import ROUTES, accepted, label, problem, request, staging_comment, values
from tornado.httpclient import HTTPClientError


def rules_state(fake_rucio):
    return {i: (r["expires_at"], r["comments"]) for i, r in fake_rucio.live_rules().items()}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_hostile_values_are_4xx_sentences_and_change_nothing(
    jp_fetch, app_service, fake_rucio, route
):
    # Given: a staging (for the routes of one staging)
    staged = await app_service.stage(["demo:lofar-obs-sb000"], qos="FAST")
    rule_id = staged["stagings"][0]["id"]
    problems = []
    cases = 0
    for field in route.fields:
        for value in values(route, field):
            cases += 1
            before = rules_state(fake_rucio)
            parts, kwargs = request(route, field, value, rule_id)
            # When
            try:
                response = await jp_fetch("datalake", *parts, **kwargs)
                code, text = response.code, response.body.decode()
            except HTTPClientError as e:
                code = e.code
                text = e.response.body.decode() if e.response is not None else ""
            # Then
            found = problem(code, text, route, field, value)
            after = rules_state(fake_rucio)
            if field == "comment" and accepted(route, field, value):
                new = {i: after[i] for i in set(after) - set(before)}
                comments = [comment for _, comment in new.values()]
                if comments != [staging_comment(value)]:
                    found = found or f"made {comments} instead of one staging with that comment"
                for made in new:  # back to the state before, for the next case
                    await app_service.release(made)
            elif after != before:
                found = found or f"rules changed: {before} -> {after}"
            if found:
                problems.append(f"{field}={label(value)}: {found}")
    assert cases >= 20
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.parametrize("path", ["stagings/a/b", "did/x/y", "nothing-here", "stagings/../../x"])
async def test_any_other_path_is_a_json_404(jp_fetch, app_service, path):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("datalake", *path.split("/"))
    answer = json.loads(info.value.response.body)
    assert info.value.code == 404 and answer["reason"] in ("NO_SUCH_ROUTE", "BAD_RULE_ID")
