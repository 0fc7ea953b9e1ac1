"""Search and listings through the service facade, Rucio in memory: cursors, limits, filters."""

import pytest

from jupyterlab_datalake.core.browse import decode_cursor, encode_cursor
from jupyterlab_datalake.errors import DatalakeError


def test_cursor_round_trip_and_limits():
    assert decode_cursor(encode_cursor(300)) == 300
    assert decode_cursor(None) == 0
    for bad in ("zzz", encode_cursor(-1), "eyJ4IjogMX0"):
        with pytest.raises(DatalakeError) as info:
            decode_cursor(bad)
        assert info.value.reason == "BAD_CURSOR"


async def test_limit_bounds(service):
    for limit in (0, 1001, "x"):
        with pytest.raises(DatalakeError) as info:
            await service.children("demo:lofar-obs", limit=limit)
        assert info.value.reason == "BAD_LIMIT"
    page = await service.files("demo:lofar-obs", limit=5)
    rest = await service.files("demo:lofar-obs", limit=1000, cursor=page["next_cursor"])
    assert len(page["items"]) + len(rest["items"]) == 12 and rest["next_cursor"] is None


async def test_search_rejects_bad_filters(service):
    with pytest.raises(DatalakeError) as info:
        await service.search("demo:*", filters='{"name; drop": 1}')
    assert info.value.reason == "BAD_FILTERS"
    with pytest.raises(DatalakeError):
        await service.search("demo:*", filters={"x": [1, 2]})
    found = await service.search("demo", type="container")  # a bare scope lists it
    assert [i["did"] for i in found["items"]] == ["demo:lofar-obs"]
