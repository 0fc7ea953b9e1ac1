"""Your Rucio quota on the storage a QoS class uses: how much room is left, and whether a
staging fits before any rule is made.

Rucio charges a rule's whole size (every file of the DID, present there or not) to the
account on the RSE it picks, and picks only RSEs where the account's local limit minus its
usage covers it. A rule that fits nowhere is refused at once for a small DID, but a DID of
10,000 files or more is injected later and then sits SUSPENDED with no word to the user: so
the shim asks Rucio for the account's usage on each RSE of the expression first, and refuses
with a sentence. Where Rucio does not tell (an older server, a role without the right, a
malformed answer), the check is skipped and Rucio decides, as before.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from ..errors import DatalakeError
from .rucio import RucioClient
from .sizes import format_bytes

log = logging.getLogger(__name__)

# Usage changes when rules are made or removed (and abacus counts them): read again after this.
ROOM_TTL = 30.0
# RSE expressions change rarely.
RSES_TTL = 300.0


def room_left(usage: Mapping[str, Any]) -> int | None:
    """Bytes the account may still place on an RSE; None when Rucio sets no limit there."""
    remaining = usage.get("bytes_remaining")
    if remaining is None:
        limit, used = usage.get("bytes_limit"), usage.get("bytes")
        if not isinstance(limit, (int, float)) or not isinstance(used, (int, float)):
            return None
        remaining = limit - used
    if not isinstance(remaining, (int, float)) or isinstance(remaining, bool):
        return None
    # Rucio writes an unlimited account (-1) as Infinity.
    if math.isinf(remaining) or math.isnan(remaining) or usage.get("bytes_limit") == -1:
        return None
    return max(0, int(remaining))


class Quota:
    """The account's room per RSE, kept ``ROOM_TTL`` seconds."""

    def __init__(self, client: RucioClient) -> None:
        self.client = client
        self._room: dict[tuple[str, str], tuple[float, int | None, bool]] = {}
        self._rses: dict[str, tuple[float, list[str]]] = {}

    async def room(self, account: str, rse: str) -> tuple[int | None, bool]:
        """(bytes left or None for no limit, whether Rucio told us)."""
        cached = self._room.get((account, rse))
        if cached and time.monotonic() - cached[0] < ROOM_TTL:
            return cached[1], cached[2]
        try:
            usage = await self.client.account_usage(account, rse)
        except DatalakeError as e:
            if e.status not in (403, 404) and e.reason != "RUCIO_BAD_ANSWER":
                raise
            log.info("datalake: Rucio gives no usage of %s on %s (%s)", account, rse, e.reason)
            self._room[(account, rse)] = (time.monotonic(), None, False)
            return None, False
        known = usage is not None
        left = room_left(usage) if usage is not None else None
        self._room[(account, rse)] = (time.monotonic(), left, known)
        return left, known

    def forget(self, account: str) -> None:
        """After a new rule: the usage changed."""
        for key in [k for k in self._room if k[0] == account]:
            del self._room[key]

    async def rses(self, expression: str) -> list[str]:
        """The RSEs an expression selects (none when Rucio finds none), kept a while."""
        cached = self._rses.get(expression)
        if cached and time.monotonic() - cached[0] < RSES_TTL:
            return cached[1]
        try:
            rses = sorted(await self.client.rses(expression))
        except DatalakeError as e:
            if e.reason not in ("NO_ELIGIBLE_RSE", "RUCIO_REFUSED"):
                raise
            rses = []
        self._rses[expression] = (time.monotonic(), rses)
        return rses

    async def shortfall(self, account: str, expression: str, size: int) -> str | None:
        """Why a rule of ``size`` bytes cannot be placed by quota, in words; None when it could
        be, or Rucio does not tell. Rucio suspends such a rule without a word of its own."""
        rses = await self.rses(expression)
        rooms = [await self.room(account, rse) for rse in rses]
        if not rses or not all(known and left is not None for left, known in rooms):
            return None
        left = max(int(room or 0) for room, _ in rooms)
        if size <= left:
            return None
        return (
            f"over your quota on {', '.join(rses)} (needs {format_bytes(size)}, "
            f"{format_bytes(left)} left)"
        )

    async def check(
        self, account: str, expression: str, sizes: Mapping[str, int], qos: str
    ) -> None:
        """Refuse (409 ``QUOTA_EXCEEDED``) when the DIDs (name → bytes) cannot fit on the RSEs
        of ``expression``: each DID needs one RSE with room for it, and all of them together
        the room of all those RSEs."""
        sizes = {did: size for did, size in sizes.items() if size}
        rses = await self.rses(expression)
        if not rses or not sizes:
            return  # no storage at all: Rucio's own refusal says so
        rooms = [await self.room(account, rse) for rse in rses]
        if not all(known for _, known in rooms) or any(left is None for left, _ in rooms):
            return  # Rucio did not tell, or one of them has no limit
        left = {rse: int(room or 0) for rse, (room, _) in zip(rses, rooms, strict=True)}
        needed = sum(sizes.values())
        too_big = sorted(did for did, size in sizes.items() if size > max(left.values()))
        if not too_big and needed <= sum(left.values()):
            return
        where = ", ".join(f"{format_bytes(room)} left on {rse}" for rse, room in left.items())
        what = (
            f"{', '.join(too_big[:3])}{' and more' if len(too_big) > 3 else ''} "
            f"({format_bytes(sum(sizes[d] for d in too_big))})"
            if too_big
            else f"these DIDs ({format_bytes(needed)})"
        )
        raise DatalakeError(
            409,
            f"Over your Rucio quota: {what} would not fit in your quota for {qos} ({where}). "
            "Release other stagings, stage a smaller part (one dataset), or ask your data "
            "manager for more quota. Nothing was staged.",
            "QUOTA_EXCEEDED",
        )
