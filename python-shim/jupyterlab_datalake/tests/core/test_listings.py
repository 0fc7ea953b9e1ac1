"""Paged listings: one Rucio read per listing, kept on disk, within the server's memory cap."""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator

import psutil
import pytest

from jupyterlab_datalake.core.listings import ListingCache
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
    assert pages[-1]["total"] == 12 and pages[-1]["offset"] == 10


async def test_a_first_page_reads_afresh_unless_a_read_just_started(service, fake_rucio):
    await service.children("demo:lofar-obs", limit=2)
    await service.children("demo:lofar-obs", limit=2)
    reads = [c for c in fake_rucio.calls if c[1].endswith("/dids")]
    assert len(reads) == 1  # within seconds: the same read
    service.listings.fresh_enough = 0
    await service.children("demo:lofar-obs", limit=2)
    reads = [c for c in fake_rucio.calls if c[1].endswith("/dids")]
    assert len(reads) == 2


async def test_a_jump_sent_with_the_first_page_shares_its_read(service, fake_rucio):
    fake_rucio.add_generated_dataset("demo", "gen", 5000)
    last, first = await asyncio.gather(
        service.files("demo:gen", limit=10, position=-10), service.files("demo:gen", limit=10)
    )
    assert last["items"][-1]["name"] == "gen.f0004999" and first["offset"] == 0
    assert len([c for c in fake_rucio.calls if c[1].endswith("/files")]) == 1


async def test_a_jump_to_the_end_and_back_and_the_total(service, fake_rucio):
    fake_rucio.add_generated_dataset("demo", "gen", 2500)
    last = await service.files("demo:gen", limit=100, position=-100)
    assert last["offset"] == 2400 and last["total"] == 2500 and last["next_cursor"] is None
    assert [i["name"] for i in last["items"]][-1] == "gen.f0002499"
    middle = await service.files("demo:gen", limit=10, position=1234)
    assert middle["items"][0]["name"] == "gen.f0001234" and middle["next_cursor"]
    following = await service.files("demo:gen", limit=10, cursor=middle["next_cursor"])
    assert following["items"][0]["name"] == "gen.f0001244"
    assert len([c for c in fake_rucio.calls if c[1].endswith("/files")]) == 1


async def test_sorted_by_size_and_name_and_the_cursor_keeps_the_order(service, fake_rucio):
    fake_rucio.add_generated_dataset("demo", "gen", 3000)
    first = await service.files("demo:gen", limit=5, sort="size")
    sizes = [i["bytes"] for i in first["items"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 1976 and first["sort"] == "size"
    second = await service.files("demo:gen", limit=5, cursor=first["next_cursor"])
    assert second["sort"] == "size" and second["items"][0]["bytes"] <= sizes[-1]
    by_name = await service.files("demo:gen", limit=3, sort="name", position=-3)
    assert [i["name"] for i in by_name["items"]] == [f"gen.f000{n}" for n in (2997, 2998, 2999)]


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"sort": "date"}, "BAD_SORT"),
        ({"position": "end"}, "BAD_POSITION"),
        ({"position": 10**12}, "BAD_POSITION"),
        ({"cursor": "eyJvIjogMCwgInMiOiAieCJ9"}, "BAD_CURSOR"),  # {"o": 0, "s": "x"}
    ],
)
async def test_bad_sorts_positions_and_cursors_are_400(service, arguments, reason):
    with pytest.raises(DatalakeError) as info:
        await service.files("demo:lofar-obs", **arguments)
    assert info.value.status == 400 and info.value.reason == reason


async def test_a_million_rows_stay_under_the_memory_cap(service, fake_rucio):
    """A fake Rucio streams a million files; paging to the end keeps the cache's own accounting
    under its cap all along and the process's memory flat."""
    fake_rucio.add_generated_dataset("demo", "million", 1_000_000)
    cache = service.listings
    process = psutil.Process()
    before = process.memory_info().rss
    peak_rss, peak_accounted = before, 0
    first = await service.files("demo:million", limit=100)
    assert len(first["items"]) == 100
    listing = next(iter(cache._listings.values()))
    while not listing.done:
        await asyncio.sleep(0.05)
        peak_rss = max(peak_rss, process.memory_info().rss)
        peak_accounted = max(peak_accounted, cache.memory_bytes)
    last = await service.files("demo:million", limit=100, position=-100)
    peak_rss = max(peak_rss, process.memory_info().rss)
    assert last["total"] == 1_000_000 and last["items"][-1]["name"] == "million.f0999999"
    assert 0 < peak_accounted <= cache.memory_cap
    # 1M rows are about 130 MB of JSON: kept in memory they would show here.
    assert peak_rss - before < 40 * 1024**2, f"grew {(peak_rss - before) / 2**20:.0f} MiB"
    assert cache.disk_bytes > 100 * 1024**2


async def rows(count: int, fail_after: int | None = None) -> AsyncIterator[dict]:
    for index in range(count):
        if index == fail_after:
            raise DatalakeError(504, "Rucio did not answer in time.", "RUCIO_TIMEOUT")
        await asyncio.sleep(0)
        yield {"n": index}


async def test_a_page_waits_only_for_its_rows_and_sees_errors_after_them():
    cache = ListingCache()
    listing = cache.get("k", True, lambda: rows(50, fail_after=30), dict)
    first, more, _ = await listing.page(0, 10)
    assert [r["n"] for r in first] == list(range(10)) and more
    with pytest.raises(DatalakeError) as info:
        await listing.page(25, 10)
    assert info.value.reason == "RUCIO_TIMEOUT"
    cache.close()


class SlowQueries:
    """The listing's SQLite connection, its SELECTs lasting until the event loop has answered
    something else (at most two seconds), as sorting a million rows lasts seconds."""

    def __init__(self, db: sqlite3.Connection, loop_answered: threading.Event) -> None:
        self._db = db
        self._loop_answered = loop_answered
        self.answered_meanwhile: list[bool] = []

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.lstrip().startswith("SELECT"):
            self.answered_meanwhile.append(self._loop_answered.wait(2.0))
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


@pytest.mark.parametrize(("offset", "sort"), [(10, "name"), (5, "size"), (-5, None)])
async def test_the_server_answers_others_while_a_sorted_page_or_a_jump_is_queried(offset, sort):
    cache = ListingCache()
    listing = cache.get("k", True, lambda: rows(100), dict)
    await listing.page(0, 100)  # the whole listing is on disk
    loop_answered = threading.Event()
    listing._db = slow = SlowQueries(listing._db, loop_answered)

    async def another_request() -> None:
        await asyncio.sleep(0.01)
        loop_answered.set()

    other = asyncio.ensure_future(another_request())
    items, _, _ = await listing.page(offset, 5, sort)
    await other
    assert len(items) == 5
    assert slow.answered_meanwhile == [True]  # the loop was free while SQLite worked
    cache.close()


async def test_the_cache_keeps_a_bounded_number_of_listings():
    cache = ListingCache(keep=2)
    listings = [cache.get(key, False, lambda: rows(3), dict) for key in "abc"]
    assert cache.get("c", False, lambda: rows(3), dict) is listings[2]
    assert cache.get("a", False, lambda: rows(3), dict) is not listings[0]  # evicted, read anew
    assert (await listings[2].page(0, 10))[:2] == ([{"n": 0}, {"n": 1}, {"n": 2}], False)
    await asyncio.sleep(0.01)
    with pytest.raises(sqlite3.ProgrammingError):  # an evicted listing's file is closed
        listings[0]._db.execute("SELECT 1")
    cache.close()


async def test_a_listing_leaves_no_file_behind(tmp_path):
    """Its file is unlinked as soon as it is made: a server killed leaves nothing either."""
    cache = ListingCache(directory=str(tmp_path))
    listing = cache.get("k", True, lambda: rows(2000), dict)
    assert len((await listing.page(1500, 10))[0]) == 10
    assert list(tmp_path.iterdir()) == []
    cache.close()


async def test_the_disk_cap_drops_old_listings_then_stops_one_too_long():
    cache = ListingCache(max_disk=60_000)
    old = cache.get("old", True, lambda: rows(1000), dict)
    await old.page(0, 1000)
    long = cache.get("long", True, lambda: rows(100_000), dict)
    with pytest.raises(DatalakeError) as info:
        await long.page(50_000, 10)
    assert info.value.status == 413 and info.value.reason == "LISTING_TOO_LONG"
    assert "old" not in cache._listings and cache.disk_bytes <= 60_000 + 40_000
    assert len((await long.page(0, 10))[0]) == 10  # what it kept still pages
    cache.close()


async def test_a_listing_dropped_before_its_read_started_tells_its_pages():
    cache = ListingCache(keep=1)
    first = cache.get("a", True, lambda: rows(3), dict)
    cache.get("b", True, lambda: rows(3), dict)  # drops "a" in the same step
    for wanted in ((0, 10, None), (-10, 10, None), (0, 10, "name")):
        with pytest.raises(DatalakeError) as info:
            await asyncio.wait_for(first.page(*wanted), 1)
        assert info.value.reason == "RELISTED"
    cache.close()


async def test_a_page_waiting_on_a_replaced_listing_is_told_so():
    cache = ListingCache(fresh_enough=0)

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


async def test_a_listing_read_at_full_speed_lets_other_requests_in_often():
    """Rucio's lines are often all buffered already (a 1M-file container): the reader must
    not hold the event loop for a whole batch, or every step of another request (details
    asked meanwhile) waits that long."""
    read = 0

    async def buffered(count: int) -> AsyncIterator[dict]:
        nonlocal read
        for index in range(count):
            read += 1
            yield {"name": f"f{index}", "bytes": index}  # never waits

    cache = ListingCache()
    listing = cache.get("k", True, lambda: buffered(5000), dict)
    gaps, last = [], 0
    while not listing.complete:
        await asyncio.sleep(0)  # another request's step
        gaps.append(read - last)
        last = read
    assert read == 5000
    assert max(gaps) <= 50
    cache.close()
