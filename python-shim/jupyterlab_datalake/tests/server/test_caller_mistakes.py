"""A caller's mistake is a 4xx with a sentence that says what to do, and costs Rucio nothing."""

import json

import pytest
from conftest import body, fetch_error

from jupyterlab_datalake.core.browse import encode_cursor

RULE = "0" * 31 + "1"


async def test_a_body_that_is_not_utf8_is_400(jp_fetch, app_service, fake_rucio):
    error = await fetch_error(
        jp_fetch, "datalake", "stagings", method="POST", body=b'{"dids": ["demo:\xff\xfe"]}'
    )
    assert (error.code, body(error.response)["reason"]) == (400, "BAD_JSON")
    assert "UTF-8" in body(error.response)["message"]
    assert fake_rucio.rules == {}


@pytest.mark.parametrize(
    ("route", "did"),
    [("search", "demo:*"), ("did/children", "demo:lofar-obs"), ("did/files", "demo:big")],
)
@pytest.mark.parametrize("offset", [2**63 - 1, 2**63, 2**64, -1])
async def test_cursors_beyond_any_listing_are_400(jp_fetch, app_service, route, did, offset):
    error = await fetch_error(
        jp_fetch,
        "datalake",
        *route.split("/"),
        params={"did": did, "cursor": encode_cursor(offset)},
    )
    assert (error.code, body(error.response)["reason"]) == (400, "BAD_CURSOR")


async def test_a_deep_search_cursor_costs_rucio_nothing(jp_fetch, app_service, fake_rucio):
    before = len(fake_rucio.calls)
    error = await fetch_error(
        jp_fetch, "datalake", "search", params={"did": "demo:*", "cursor": encode_cursor(10**6)}
    )
    answer = body(error.response)
    assert (error.code, answer["reason"]) == (400, "SEARCH_TOO_DEEP")
    assert "narrow the pattern" in answer["message"]
    assert not [c for c in fake_rucio.calls[before:] if "search" in c[1]]


@pytest.mark.parametrize(
    "filters",
    [
        '{"run_number": NaN}',
        '{"run_number.gt": Infinity}',
        '{"' + "k" * 10_000 + '": 1}',
        '{"run_number": ' + str(2**64) + "}",
        '{"name": "*"}',
    ],
)
async def test_filters_rucio_cannot_take_are_400(jp_fetch, app_service, fake_rucio, filters):
    before = len(fake_rucio.calls)
    error = await fetch_error(
        jp_fetch, "datalake", "search", params={"did": "demo:*", "filters": filters}
    )
    answer = body(error.response)
    assert (error.code, answer["reason"]) == (400, "BAD_FILTERS")
    assert len(answer["message"]) < 300
    assert len(fake_rucio.calls) == before


@pytest.mark.parametrize("lifetime", ["null", "NaN", "Infinity", "1e999", str(10**400)])
async def test_patch_needs_a_real_lifetime(jp_fetch, app_service, fake_rucio, lifetime):
    (staging,) = (await app_service.stage(["demo:lofar-obs-sb000"], qos="FAST"))["stagings"]
    expires = fake_rucio.rules[staging["id"]]["expires_at"]
    error = await fetch_error(
        jp_fetch,
        "datalake",
        "stagings",
        staging["id"],
        method="PATCH",
        body='{"lifetime": ' + lifetime + "}",
    )
    assert (error.code, body(error.response)["reason"]) == (400, "BAD_LIFETIME")
    assert fake_rucio.rules[staging["id"]]["expires_at"] == expires


@pytest.mark.parametrize("lifetime", ["NaN", "Infinity", "-Infinity", str(10**400)])
async def test_stage_needs_a_real_lifetime(jp_fetch, app_service, fake_rucio, lifetime):
    request = '{"dids": ["demo:lofar-obs-sb000"], "lifetime": ' + lifetime + "}"
    error = await fetch_error(jp_fetch, "datalake", "stagings", method="POST", body=request)
    assert (error.code, body(error.response)["reason"]) == (400, "BAD_LIFETIME")
    assert fake_rucio.rules == {}


async def test_a_method_a_route_does_not_answer_says_which_it_does(jp_fetch, app_service):
    error = await fetch_error(jp_fetch, "datalake", "did", method="DELETE", params={"did": "a:b"})
    answer = body(error.response)
    assert (error.code, answer["reason"]) == (405, "METHOD_NOT_ALLOWED")
    assert answer["message"] == "This route answers GET."
    assert json.loads(error.response.body)["message"]
