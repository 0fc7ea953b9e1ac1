"""Browsing: search, a DID's details and metadata, its content and files, page by page.

Pages are ``{"items": [DID JSON], "next_cursor"}``; a cursor is an opaque offset (and sort order).
Rucio's content and file listings have no offset, so they are read once in the background
(``listings.py``); their pages also say where they start, how many rows were read and, once the
whole listing is read, its total, and can start at any position or be sorted by name or size.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import DatalakeError, shown
from .did import DID, parse_search
from .listings import SORTS, ListingCache, Row
from .rucio import RucioClient

DID_TYPES = ("all", "container", "dataset", "file", "collection")
# Rucio keeps metadata keys and values in columns of up to 255 characters.
FILTER_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}(\.(gt|lt|gte|lte|ne))?")
FILTER_VALUE_MAX = 255
# Keys the search sets itself (the pattern, the type): a filter must not replace them.
SEARCH_KEYS = frozenset({"name", "scope", "type", "did_type"})
FILTER_INT_MAX = 2**63 - 1  # what a database integer holds
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# Rucio's search has no offset: a page at offset k reads k rows first. Deeper pages would cost
# Rucio seconds per page, so a search is paged to this depth; narrowing it goes further.
SEARCH_DEPTH = 10_000
# No listing the shim pages through is longer; anything beyond is not a cursor it made.
MAX_OFFSET = 100_000_000
CURSOR_MAX = 64
# Bookkeeping columns of Rucio's DID_COLUMN metadata that say nothing to a scientist.
META_HIDDEN = frozenset(
    {
        "scope",
        "name",
        "did_type",
        "suppressed",
        "hidden",
        "obsolete",
        "is_new",
        "purge_replicas",
        "transient",
        "monotonic",
        "complete",
        "bytes",
        "length",
        "md5",
        "adler32",
        "availability",
    }
)


def did_type(value: object) -> str:
    # Rucio < 35 said "DIDType.DATASET", newer ones "DATASET" (the competitor broke on this).
    return str(value or "").split(".")[-1].upper()


def did_json(item: Mapping[str, Any]) -> dict[str, Any]:
    scope, name = item.get("scope"), item.get("name")
    return {
        "scope": scope,
        "name": name,
        "did": f"{scope}:{name}",
        "type": did_type(item.get("did_type") or item.get("type")),
        "bytes": item.get("bytes"),
        "length": item.get("length"),
    }


def file_json(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **did_json({**item, "type": "FILE"}),
        "adler32": item.get("adler32"),
        "md5": item.get("md5"),
    }


def encode_cursor(offset: int, sort: str | None = None) -> str:
    data: dict[str, Any] = {"o": offset} if sort is None else {"o": offset, "s": sort}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: object) -> int:
    return decode_sorted_cursor(cursor)[0]


def decode_sorted_cursor(cursor: object) -> tuple[int, str | None]:
    """The offset and the sort order a cursor continues."""
    if cursor in (None, ""):
        return 0, None
    try:
        if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, sort = data["o"], data.get("s")
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise ValueError
        if sort is not None and sort not in SORTS:
            raise ValueError
        return offset, sort
    except (ValueError, KeyError, TypeError, RecursionError, AttributeError) as e:
        raise DatalakeError(
            400, "The cursor is not valid: start the listing again.", "BAD_CURSOR"
        ) from e


def check_sort(sort: object) -> str | None:
    if sort in (None, "", "rucio"):
        return None
    if sort not in SORTS:
        raise DatalakeError(400, f"sort must be one of rucio, {', '.join(SORTS)}.", "BAD_SORT")
    return str(sort)


def check_position(position: object) -> int | None:
    """A row to start at; negative counts from the end (-100: the last 100 rows)."""
    if position in (None, ""):
        return None
    try:
        value = int(position)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = MAX_OFFSET + 1
    if isinstance(position, bool) or not -MAX_OFFSET <= value <= MAX_OFFSET:
        raise DatalakeError(
            400,
            "position must be a row number (0 is the first row, -100 starts 100 rows before "
            "the end).",
            "BAD_POSITION",
        )
    return value


def check_limit(limit: object) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(limit)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = 0
    if isinstance(limit, bool) or not 1 <= value <= MAX_LIMIT:
        raise DatalakeError(400, f"limit must be between 1 and {MAX_LIMIT}.", "BAD_LIMIT")
    return value


def search_filters(pattern: str, filters: object) -> str:
    """Rucio's ``filters`` query: the str() of a list of AND-dicts, read by ast.literal_eval."""
    if isinstance(filters, str):
        try:
            filters = json.loads(filters) if filters.strip() else None
        except (ValueError, RecursionError) as e:
            raise DatalakeError(400, "filters must be a JSON object.", "BAD_FILTERS") from e
    clause: dict[str, Any] = {"name": pattern}
    if filters is not None:
        if not isinstance(filters, dict):
            raise DatalakeError(
                400, 'filters must be a JSON object such as {"datatype": "RAW"}.', "BAD_FILTERS"
            )
        for key, value in filters.items():
            if key.split(".")[0] in SEARCH_KEYS:
                raise DatalakeError(
                    400,
                    f"Filter {shown(key)} is the search itself: give the name pattern as "
                    "scope:pattern and the type as type.",
                    "BAD_FILTERS",
                )
            if not FILTER_KEY_RE.fullmatch(key):
                raise DatalakeError(
                    400,
                    f"Filter key {shown(key)} is not valid: use a metadata name, optionally with "
                    ".gt .lt .gte .lte .ne.",
                    "BAD_FILTERS",
                )
            if not _filter_value(value):
                raise DatalakeError(
                    400,
                    f"Filter {shown(key)} needs a string (at most {FILTER_VALUE_MAX} characters), "
                    "a finite number or a boolean.",
                    "BAD_FILTERS",
                )
            clause[key] = value
    return repr([clause])


def _filter_value(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= FILTER_VALUE_MAX
    if isinstance(value, int):  # bool too
        return abs(value) <= FILTER_INT_MAX
    return isinstance(value, float) and math.isfinite(value)


def page(items: list[dict[str, Any]], more: bool, offset: int, size: int) -> dict[str, Any]:
    return {"items": items, "next_cursor": encode_cursor(offset + size) if more else None}


class Browser:
    """Search and listings of one instance."""

    def __init__(self, client: RucioClient, listings: ListingCache, instance: str = "") -> None:
        self.client = client
        self.listings = listings
        self.instance = instance

    async def search(
        self, did: object, type: object, filters: object, limit: object, cursor: object
    ) -> dict[str, Any]:
        pattern = parse_search(did)
        kind = str(type or "all").lower()
        if kind not in DID_TYPES:
            raise DatalakeError(400, f"type must be one of {', '.join(DID_TYPES)}.", "BAD_TYPE")
        size = check_limit(limit)
        offset = decode_cursor(cursor)
        if offset + size > SEARCH_DEPTH:
            raise DatalakeError(
                400,
                f"A search shows its first {SEARCH_DEPTH:,} results: narrow the pattern or add "
                "metadata filters to see the others.",
                "SEARCH_TOO_DEEP",
            )
        lines = self.client.search(
            pattern,
            did_type=kind,
            filters=search_filters(pattern.name, filters),
            limit=offset + size + 1,
        )
        items: list[dict[str, Any]] = []
        more = False
        async with contextlib.aclosing(lines):
            index = 0
            async for line in lines:
                if index >= offset:
                    if len(items) == size:
                        more = True
                        break
                    items.append(did_json(line))
                index += 1
        return page(items, more, offset, size)

    async def details(self, did: DID) -> dict[str, Any]:
        """The DID JSON, checksums for a file, and its metadata without Rucio's bookkeeping."""
        # Asked together: each is a round trip, slow while Rucio streams a big listing.
        info, meta = await asyncio.gather(self.client.did(did), self._meta(did))
        result = did_json(info)
        if result["type"] == "FILE":
            result.update({"adler32": info.get("adler32"), "md5": info.get("md5")})
        result["metadata"] = {
            k: v for k, v in meta.items() if v is not None and k not in META_HIDDEN
        }
        return result

    async def _meta(self, did: DID) -> dict[str, Any]:
        try:
            return await self.client.did_meta(did)
        except DatalakeError as e:
            # Rucio's own failure (a 5xx) on metadata it cannot list: show the rest anyway.
            # Anything else (no such DID, an unreadable answer, a timeout) is the answer.
            if e.reason != "RUCIO_ERROR":
                raise
            return {}

    async def children(
        self, did: DID, limit: object, cursor: object, sort: object, position: object
    ) -> dict[str, Any]:
        return await self._listing(did, "children", did_json, limit, cursor, sort, position)

    async def files(
        self, did: DID, limit: object, cursor: object, sort: object, position: object
    ) -> dict[str, Any]:
        return await self._listing(did, "files", file_json, limit, cursor, sort, position)

    async def _listing(
        self,
        did: DID,
        kind: str,
        convert: Row,
        limit: object,
        cursor: object,
        sort: object,
        position: object,
    ) -> dict[str, Any]:
        size = check_limit(limit)
        offset, order = decode_sorted_cursor(cursor)
        order = order if cursor else check_sort(sort)
        start = check_position(position)
        # Only a first page in Rucio's order reads afresh; a sort or a jump uses what was read.
        fresh = not cursor and start is None and order is None
        read = self.client.did_children if kind == "children" else self.client.did_files
        listing = self.listings.get(
            (self.instance, kind, str(did)), fresh=fresh, lines=lambda: read(did), convert=convert
        )
        items, more, offset = await listing.page(offset if start is None else start, size, order)
        return {
            "items": items,
            "next_cursor": encode_cursor(offset + size, order) if more else None,
            "offset": offset,
            "read": listing.read,
            "total": listing.count if listing.complete else None,
            "sort": order or "rucio",
        }
