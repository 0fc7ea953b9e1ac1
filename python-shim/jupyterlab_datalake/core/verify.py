"""Verify the local copies of a DID against Rucio's checksums, and report the bad ones.

Every AVAILABLE replica of each file on an RSE this server mounts is read (in parallel,
``COPIES_AT_ONCE``, in bounded chunks) and its adler32 compared with the one Rucio keeps. One line
per copy: ``OK``, ``MISMATCH`` (expected and found), ``UNREADABLE`` (the file is not there or
cannot be read), or ``NO_CHECKSUM`` (Rucio keeps no adler32 for the file: the copy cannot be
checked, so it is neither good nor bad). With ``report``, every mismatching copy is declared
*suspicious* to Rucio by its PFN with a reason (any account may; declaring a replica bad stays
with the operators and Rucio's replica recoverer). The last line, ``DONE``, counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from ..errors import DatalakeError
from .config import InstanceConfig
from .did import DID, parse_did
from .paths import SCHEMES, PathResolver, inside_mounts
from .rucio import RucioClient
from .staging import StagingManager
from .writers import adler32_of

COPIES_AT_ONCE = 4
CHUNK = 500

Event = dict[str, Any]


def _check(path: str, expected: str) -> tuple[str, str | None]:
    """(state, adler32 found) of one local copy."""
    try:
        found = adler32_of(path)
    except OSError:
        return "UNREADABLE", None
    return ("OK" if found == expected.lower() else "MISMATCH"), found


class Verifier:
    def __init__(
        self,
        instance: InstanceConfig,
        client: RucioClient,
        staging: StagingManager,
        paths: PathResolver,
    ) -> None:
        self.instance = instance
        self.client = client
        self.staging = staging
        self.resolver = paths

    async def verify(self, did: object, report: object) -> AsyncIterator[Event]:
        if report not in (None, True, False):
            raise DatalakeError(400, "'report' must be true or false.", "BAD_REPORT")
        parsed = parse_did(did)
        info = await self.client.did(parsed)
        files = 1 if info["type"] == "FILE" else info.get("length")
        yield {"state": "PLANNED", "did": str(parsed), "files": files}
        counts = {"OK": 0, "MISMATCH": 0, "UNREADABLE": 0, "NO_CHECKSUM": 0}
        bad: list[Event] = []
        async for event in self._copies(parsed, info["type"]):
            counts[event["state"]] += 1
            if event["state"] == "MISMATCH":
                bad.append(event)
            yield event
        reported = 0
        if report and bad:
            reported = await self._report(bad)
            for event in bad:
                yield {**event, "state": "REPORTED"}
        yield {
            "state": "DONE",
            "did": str(parsed),
            "checked": sum(counts.values()) - counts["NO_CHECKSUM"],
            "mismatches": counts["MISMATCH"],
            "unreadable": counts["UNREADABLE"],
            "unchecked": counts["NO_CHECKSUM"],
            "reported": reported,
        }

    async def _files(self, did: DID, kind: str) -> AsyncIterator[list[dict[str, str]]]:
        if kind == "FILE":
            yield [{"scope": did.scope, "name": did.name}]
            return
        chunk: list[dict[str, str]] = []
        lines = self.client.did_files(did)
        async with contextlib.aclosing(lines):
            async for item in lines:
                chunk.append({"scope": item["scope"], "name": item["name"]})
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    async def _local_copies(self, files: list[dict[str, str]]) -> list[Event]:
        """Every AVAILABLE copy of these files on a mounted RSE, with its local path."""
        copies: list[Event] = []
        lines = self.client.list_replicas(files, schemes=SCHEMES)
        async with contextlib.aclosing(lines):
            async for replica in lines:
                did = f"{replica['scope']}:{replica['name']}"
                for rse, state in (replica.get("states") or {}).items():
                    if rse not in self.instance.mounts or not str(state).endswith("AVAILABLE"):
                        continue
                    for pfn in (replica.get("rses") or {}).get(rse) or []:
                        path = await self.resolver.local_path(rse, pfn)
                        if path is not None:
                            copies.append(
                                {
                                    "did": did,
                                    "rse": rse,
                                    "path": path,
                                    "pfn": pfn,
                                    "url": None,
                                    "state": "AVAILABLE",
                                    "expected": replica.get("adler32"),
                                }
                            )
                            break
        # A link on the storage that leads elsewhere is not read.
        return [
            c
            for c in await asyncio.to_thread(inside_mounts, copies, dict(self.instance.mounts))
            if c["path"] is not None
        ]

    async def _copies(self, did: DID, kind: str) -> AsyncIterator[Event]:
        slots = asyncio.Semaphore(COPIES_AT_ONCE)

        async def check(copy: Event) -> Event:
            if not copy["expected"]:
                # Nothing to compare the copy with: calling it a mismatch would have a good
                # copy declared suspicious to Rucio.
                state, found = "NO_CHECKSUM", None
            else:
                async with slots:
                    state, found = await asyncio.to_thread(_check, copy["path"], copy["expected"])
            return {
                "state": state,
                "did": copy["did"],
                "rse": copy["rse"],
                "path": copy["path"],
                "pfn": copy["pfn"],
                "expected": copy["expected"],
                "found": found,
            }

        async for files in self._files(did, kind):
            tasks = [asyncio.ensure_future(check(c)) for c in await self._local_copies(files)]
            try:
                for done in asyncio.as_completed(tasks):
                    yield await done
            finally:
                for task in tasks:
                    task.cancel()

    async def _report(self, bad: list[Event]) -> int:
        account = await self.staging.account()
        reason = (
            f"adler32 mismatch found from JupyterLab by {account}: "
            + "; ".join(f"{e['did']} {e['found']} != {e['expected']}" for e in bad[:5])
        )[:250]
        pfns = [e["pfn"] for e in bad]
        not_declared = await self.client.declare_suspicious(pfns, reason)
        # Rucio answers what it did not declare: a list, or lists per RSE.
        if isinstance(not_declared, dict):
            not_declared = [p for v in not_declared.values() if isinstance(v, list) for p in v]
        left = len(not_declared)
        if left:
            raise DatalakeError(
                502,
                f"Rucio did not record {left} of the {len(pfns)} suspicious copies: tell the "
                "operators which files mismatch (listed above).",
                "NOT_REPORTED",
            )
        return len(pfns)
