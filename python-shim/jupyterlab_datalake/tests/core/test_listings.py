"""Paged listings: one Rucio read per listing, whatever page the user asks for."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from jupyterlab_datalake.core.listings import Listing, ListingCache
from jupyterlab_datalake.errors import DatalakeError


async def test_paging_to_the_end_reads_rucio_once(service, fake_rucio):
    page = await service.files("demo:lofar-obs", limit=5)
    pages = [page]
    while page["next_cursor"]:
        page = await service.files("demo:lofar-obs", limit=5, cursor=page["next_cursor"])
        pages.append(page)
    names = [item["name"] for p in pages for item in p["items"]]
    assert len(names) == len(set(names)) == 12 and len(pages) == 3
    reads = [c for c in fake_rucio.calls if c[1].endswith("/files")]
    assert len(reads) == 1


async def test_a_first_page_reads_afresh(service, fake_rucio):
    await service.children("demo:lofar-obs", limit=2)
    await service.children("demo:lofar-obs", limit=2)
    reads = [c for c in fake_rucio.calls if c[1].endswith("/dids")]
    assert len(reads) == 2


async def rows(count: int, fail_after: int | None = None) -> AsyncIterator[dict]:
    for index in range(count):
        if index == fail_after:
            raise DatalakeError(504, "Rucio did not answer in time.", "RUCIO_TIMEOUT")
        await asyncio.sleep(0)
        yield {"n": index}


async def test_a_page_waits_only_for_its_rows_and_sees_errors_after_them():
    listing = Listing(rows(50, fail_after=30), dict)
    first, more = await listing.page(0, 10)
    assert [r["n"] for r in first] == list(range(10)) and more
    with pytest.raises(DatalakeError) as info:
        await listing.page(25, 10)
    assert info.value.reason == "RUCIO_TIMEOUT"


async def test_the_cache_keeps_a_bounded_number_of_listings():
    cache = ListingCache(keep=2)
    listings = [cache.get(key, False, lambda: rows(3), dict) for key in "abc"]
    assert cache.get("c", False, lambda: rows(3), dict) is listings[2]
    assert cache.get("a", False, lambda: rows(3), dict) is not listings[0]  # evicted, read anew
    assert (await listings[2].page(0, 10)) == ([{"n": 0}, {"n": 1}, {"n": 2}], False)
    cache.close()


async def test_a_page_waiting_on_a_replaced_listing_is_told_so():
    cache = ListingCache()

    async def slow() -> AsyncIterator[dict]:
        yield {"n": 0}
        await asyncio.sleep(60)
        yield {"n": 1}

    old = cache.get("k", True, slow, dict)
    waiting = asyncio.ensure_future(old.page(0, 10))
    await asyncio.sleep(0.01)
    cache.get("k", True, lambda: rows(3), dict)  # a fresh first page replaces it
    with pytest.raises(DatalakeError) as info:
        await waiting
    assert info.value.reason == "RELISTED"
    cache.close()
