"""Listings a user pages through: read from Rucio once, in the background, and kept a while.

Rucio's content and file listings have no offset. Paging by re-reading from the start makes the
page at row k cost k rows, so scrolling to the end of a 100k-file dataset re-reads it a hundred
times. Instead the first page starts one background read of the whole listing and is answered as
soon as its rows have arrived; later pages are slices. Rows are kept as compact JSON text (about
200 bytes a file), at most ``keep`` listings, each dropped after ``idle`` seconds unused. A first
page (no cursor) always starts a fresh read, so what a user sees is never older than their last
fresh look.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from typing import Any

from ..errors import DatalakeError

Row = Callable[[Mapping[str, Any]], dict[str, Any]]


class Listing:
    """One listing being read in the background; pages wait only for their own rows."""

    def __init__(self, lines: AsyncIterator[Mapping[str, Any]], convert: Row) -> None:
        self._rows: list[str] = []
        self._done = False
        self._error: BaseException | None = None
        self._grown = asyncio.Event()
        self.used = time.monotonic()
        self._task = asyncio.create_task(self._read(lines, convert))

    async def _read(self, lines: AsyncIterator[Mapping[str, Any]], convert: Row) -> None:
        try:
            async with contextlib.aclosing(lines):
                async for line in lines:
                    self._rows.append(json.dumps(convert(line)))
                    self._grown.set()
        except Exception as error:  # handed to the page that needs the missing rows
            self._error = error
        except asyncio.CancelledError:
            # Replaced by a fresh read or evicted: a page still waiting must not end short.
            self._error = DatalakeError(
                503, "This listing was started again: ask for its first page again.", "RELISTED"
            )
            raise
        finally:
            self._done = True
            self._grown.set()

    async def page(self, offset: int, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Rows ``offset`` to ``offset + size`` and whether more follow."""
        self.used = time.monotonic()
        while not self._done and len(self._rows) <= offset + size:
            self._grown.clear()
            await self._grown.wait()
        if self._error is not None and len(self._rows) <= offset + size:
            raise self._error
        rows = [json.loads(row) for row in self._rows[offset : offset + size]]
        return rows, len(self._rows) > offset + size

    def close(self) -> None:
        self._task.cancel()


class ListingCache:
    def __init__(self, keep: int = 4, idle: float = 300.0) -> None:
        self.keep = keep
        self.idle = idle
        self._listings: OrderedDict[Hashable, Listing] = OrderedDict()

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
        listing = None if fresh else self._listings.get(key)
        if listing is None:
            if key in self._listings:
                self._listings.pop(key).close()
            listing = self._listings[key] = Listing(lines(), convert)
        self._listings.move_to_end(key)
        while len(self._listings) > self.keep:
            self._listings.popitem(last=False)[1].close()
        return listing

    def close(self) -> None:
        for listing in self._listings.values():
            listing.close()
        self._listings.clear()
