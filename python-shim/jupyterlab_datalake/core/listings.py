"""Listings a user pages through: read from Rucio once, in the background, kept on disk.

Rucio's content and file listings have no offset. Paging by re-reading from the start makes the
page at row k cost k rows, so scrolling to the end of a 100k-file dataset would re-read it a
hundred times. Instead the first page starts one background read of the whole listing and is
answered as soon as its rows have arrived; later pages, a jump to any position and a sorted view
are queries on what was read.

Rows are not kept in memory: each listing spills them to its own temporary SQLite file as they
arrive (a few hundred rows at a time), and SQLite reads pages back through a small page cache. So
the memory of a listing is bounded (its batch of unwritten rows plus its page cache) whatever its
length, and the ``ListingCache`` shared by every user and instance of the server bounds all of
them together: at most ``keep`` listings and ``max_disk`` bytes on disk, the least recently used
dropped first. A sorted view needs the whole listing; SQLite sorts it on disk (an index), so
sorting a million rows takes seconds, not memory. A first page (no cursor) starts a fresh read
(unless one started seconds ago), so what a user sees is never older than their last fresh look.

Queries run in a worker thread: building a sort's index over a million rows, or a page far into
a sorted million (an OFFSET SQLite walks), takes a second or more, and the server's event loop
answers every other request meanwhile. The writer stays on the loop; the connection has one user
at a time, the writer or one query (``Listing._lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from typing import Any, TypeVar

from ..errors import DatalakeError

Row = Callable[[Mapping[str, Any]], dict[str, Any]]
T = TypeVar("T")

#: rows written to disk at once; a page that waits for rows has them written at once
BATCH = 500
#: rows read between two turns of the other requests: with a turn per batch, details asked
#: beside the background read of a 1M-file container took 0.3-1.3 s, their Rucio calls were
#: that slow to be sent and read
YIELD_EVERY = 50
#: SQLite's page cache per listing, in KiB
PAGE_CACHE_KIB = 1024
#: what the cache accounts per listing in memory: the page cache and a full batch of rows
ROW_BYTES_MAX = 2048
LISTING_MEMORY = PAGE_CACHE_KIB * 1024 + BATCH * ROW_BYTES_MAX
#: the sort orders a listing offers, as SQL on its table (and the index that serves it)
SORTS = {"name": "name, i", "size": "bytes DESC, i"}
#: how long a sorted page waits for the rest of the listing before saying how far it got
SORT_WAIT = 10.0


def relisted() -> DatalakeError:
    return DatalakeError(
        503, "This listing was started again: ask for its first page again.", "RELISTED"
    )


class Listing:
    """One listing being read in the background into its own SQLite file; pages wait only for
    their own rows."""

    def __init__(
        self,
        lines: AsyncIterator[Mapping[str, Any]],
        convert: Row,
        directory: str | None = None,
        on_grow: Callable[[], None] = lambda: None,
    ) -> None:
        handle, path = tempfile.mkstemp(prefix="datalake-listing-", suffix=".sqlite", dir=directory)
        os.close(handle)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            f"cache_size=-{PAGE_CACHE_KIB}",
            "temp_store=FILE",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE rows (i INTEGER PRIMARY KEY, name TEXT, bytes INTEGER, row TEXT)"
        )
        # Gone from the directory at once: the file lives as long as the connection, so nothing
        # is left behind however the server ends (no journal to find it by name again).
        os.unlink(path)
        self._batch: list[tuple[int, str, int, str]] = []
        # One SQLite user at a time: the writer on the loop, queries and sorts in a thread.
        self._lock = asyncio.Lock()
        self._sorted: set[str] = set()
        self.count = 0  # rows on disk
        self.disk_bytes = 0
        self.done = False
        self.stopped: DatalakeError | None = None  # set when the cache stops a listing too long
        self._error: BaseException | None = None
        self._closed = False
        self._wanted = 0  # a page waits until this many rows are on disk
        self._grown = asyncio.Event()
        self._on_grow = on_grow
        self.used = self.started = time.monotonic()
        self._task = asyncio.create_task(self._read(lines, convert))

    @property
    def memory_bytes(self) -> int:
        """What this listing holds in memory at most: its page cache and its unwritten rows."""
        return PAGE_CACHE_KIB * 1024 + sum(len(row[3]) for row in self._batch)

    @property
    def complete(self) -> bool:
        """Every row of the listing is on disk."""
        return self.done and self._error is None

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def read(self) -> int:
        return self.count + len(self._batch)

    async def _read(self, lines: AsyncIterator[Mapping[str, Any]], convert: Row) -> None:
        try:
            async with contextlib.aclosing(lines):
                async for line in lines:
                    item = convert(line)
                    text = json.dumps(item, separators=(",", ":"))
                    self._batch.append(
                        (self.read, str(item.get("name") or ""), int(item.get("bytes") or 0), text)
                    )
                    if len(self._batch) >= BATCH or self.read >= self._wanted > self.count:
                        await self._flush()
                    if len(self._batch) % YIELD_EVERY == 0:
                        # Rucio's lines may all be buffered already: let the server's other
                        # requests in this often, or each of their steps waits a whole batch.
                        await asyncio.sleep(0)
                    if self.stopped is not None:
                        return
        except Exception as error:  # handed to the page that needs the missing rows
            self._error = error
        except asyncio.CancelledError:
            # Replaced by a fresh read or evicted: a page still waiting must not end short.
            self._error = self._error or relisted()
            raise
        finally:
            with contextlib.suppress(sqlite3.Error):
                await self._flush()
            self.done = True
            self._grown.set()

    async def _flush(self) -> None:
        """Write the rows read so far, once no query is using the connection."""
        if not self._batch:
            return
        async with self._lock:
            if not self._batch:  # written by the other writer while this one waited
                return
            # One transaction per batch: ten times faster than one per row.
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", self._batch)
            self._db.execute("COMMIT")
            self.count += len(self._batch)
            # The row text dominates; SQLite's pages add about a tenth.
            self.disk_bytes += sum(len(row[3]) + len(row[1]) + 24 for row in self._batch)
            self._batch = []
        self._grown.set()
        self._on_grow()

    def stop(self, error: DatalakeError) -> None:
        """Keep what was read, read no further: pages beyond it get ``error``."""
        self.stopped = error
        self._error = error

    async def _rows_until(self, end: int | None) -> None:
        """Wait until rows up to ``end`` (all rows when None) are on disk or the read ended."""
        while not self.done and not self._closed and (end is None or self.count < end):
            self._wanted = self.count + BATCH if end is None else end
            self._grown.clear()
            if self.read >= self._wanted:
                await self._flush()
                continue
            await self._grown.wait()

    async def page(
        self, offset: int, size: int, sort: str | None = None
    ) -> tuple[list[dict[str, Any]], bool, int]:
        """Rows ``offset`` to ``offset + size`` (a negative offset counts from the end), whether
        more follow, and the offset they start at."""
        self.used = time.monotonic()
        if sort is not None or offset < 0:
            await self._whole(sort)
            if offset < 0:
                offset = max(0, self.count + offset)
        else:
            await self._rows_until(offset + size + 1)
        if self._error is not None and (self.count <= offset + size or self._closed):
            raise self._error
        rows = await self._in_thread(self._rows, offset, size, sort)
        return rows, self.count > offset + size, offset

    def _rows(self, offset: int, size: int, sort: str | None) -> list[dict[str, Any]]:
        """The page's rows (run in a worker thread: far into a sorted million, SQLite walks
        its index for a second or more)."""
        if sort is None:
            cursor = self._db.execute(
                "SELECT row FROM rows WHERE i >= ? AND i < ? ORDER BY i", (offset, offset + size)
            )
        else:
            cursor = self._db.execute(
                f"SELECT row FROM rows ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?", (size, offset)
            )
        return [json.loads(text) for (text,) in cursor]

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on the connection in a worker thread, the lock held until the thread
        is done: a caller cancelled meanwhile (a deadline, a closed page) cannot stop the thread,
        and the writer or ``close`` must not use the connection under it."""
        await self._lock.acquire()
        running = asyncio.ensure_future(asyncio.to_thread(work, *args))

        def done(future: asyncio.Future[T]) -> None:
            self._lock.release()
            if not future.cancelled():
                future.exception()  # retrieved: a caller that left is not told of it later

        running.add_done_callback(done)
        return await asyncio.shield(running)

    async def _whole(self, sort: str | None) -> None:
        """Wait for the whole listing (a sorted view or a position from the end needs it), then
        build the sort's index once."""
        try:
            async with asyncio.timeout(SORT_WAIT):
                await self._rows_until(None)
        except TimeoutError:
            raise DatalakeError(
                503,
                f"This needs the whole listing and {self.count:,} rows have been read so far: "
                "try again in a moment, or page through it in Rucio's order.",
                "LISTING_NOT_READ",
            ) from None
        if self._closed:
            raise self._error or relisted()
        if sort is not None and sort not in self._sorted:
            index = f"CREATE INDEX IF NOT EXISTS by_{sort} ON rows ({SORTS[sort]})"
            await self._in_thread(self._db.execute, index)
            self._sorted.add(sort)

    def close(self) -> None:
        """Stop reading and free the file (once the read has stopped writing to it)."""
        self._closed = True
        # Pages waiting on it are told, even if the read never started.
        self._error = self._error or relisted()
        self._grown.set()
        self._task.cancel()
        self._task.add_done_callback(lambda _: self._close_db())

    def _close_db(self) -> None:
        if self._lock.locked():  # a query or a sort is using it: close after it
            asyncio.get_running_loop().call_later(0.1, self._close_db)
            return
        self._db.close()


class ListingCache:
    """The listings of every user of the server: at most ``keep`` of them and ``max_disk`` bytes
    on disk, so at most ``keep * LISTING_MEMORY`` bytes in memory."""

    def __init__(
        self,
        keep: int = 8,
        idle: float = 300.0,
        max_disk: int = 2 * 1024**3,
        directory: str | None = None,
        fresh_enough: float = 5.0,
    ) -> None:
        self.keep = keep
        self.fresh_enough = fresh_enough
        self.idle = idle
        self.max_disk = max_disk
        self._directory = directory
        self._listings: OrderedDict[Hashable, Listing] = OrderedDict()

    @property
    def memory_cap(self) -> int:
        return self.keep * LISTING_MEMORY

    @property
    def memory_bytes(self) -> int:
        return sum(listing.memory_bytes for listing in self._listings.values())

    @property
    def disk_bytes(self) -> int:
        return sum(listing.disk_bytes for listing in self._listings.values())

    def get(
        self,
        key: Hashable,
        fresh: bool,
        lines: Callable[[], AsyncIterator[Mapping[str, Any]]],
        convert: Row,
    ) -> Listing:
        """The listing for ``key``, read anew when ``fresh`` or when it is not kept."""
        now = time.monotonic()
        for stale in [k for k, v in self._listings.items() if now - v.used > self.idle]:
            self._listings.pop(stale).close()
        listing = self._listings.get(key)
        if fresh and listing is not None:
            # A listing started moments ago (maybe by a jump sent just after this first page)
            # is fresh enough, unless it failed; reading it again would fail its waiting pages.
            recent = now - listing.started <= self.fresh_enough
            if not recent or listing.failed:
                listing = None
        if listing is None:
            if key in self._listings:
                self._listings.pop(key).close()
            listing = Listing(lines(), convert, self._directory, self._bound)
            self._listings[key] = listing
        self._listings.move_to_end(key)
        while len(self._listings) > self.keep:
            self._listings.popitem(last=False)[1].close()
        return listing

    def _bound(self) -> None:
        """Keep the disk under ``max_disk``: drop the least recently used listings; a listing
        too long alone keeps what it has and reads no further."""
        while self.disk_bytes > self.max_disk and len(self._listings) > 1:
            self._listings.popitem(last=False)[1].close()
        if self.disk_bytes > self.max_disk:
            listing = next(iter(self._listings.values()))
            if listing.stopped is None:
                listing.stop(
                    DatalakeError(
                        413,
                        f"This listing is longer than this server keeps ({listing.count:,} rows): "
                        "open its datasets one at a time, or iterate it in a notebook with "
                        "datalake.iter_paths().",
                        "LISTING_TOO_LONG",
                    )
                )

    def close(self) -> None:
        for listing in self._listings.values():
            listing.close()
        self._listings.clear()
