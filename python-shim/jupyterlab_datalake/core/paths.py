"""Local paths for the files of a DID: PFNs on mounted RSEs become paths the kernel can open.

The file list is streamed (``GET /dids/{s}/{n}/files``) and resolved in chunks with
``POST /replicas/list`` restricted to the near-hub expression, so every file gets exactly one
line — ``MISSING`` when no replica near the hub is AVAILABLE — and memory stays bounded by the
chunk size whatever the number of files. A path is only given when the PFN lies under the RSE's
``file`` protocol prefix, the RSE is in the mount map, and the file's real path (symbolic links
followed) stays inside the mount's real path; otherwise the PFN of an RSE that is not mounted is
given as ``url``, and a file that leaves its mount gets neither. A replica list that ends early
looks like files missing, so files without a replica are asked for once more before they are
called ``MISSING``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import DatalakeError
from .config import InstanceConfig
from .did import DID
from .rucio import RucioClient

log = logging.getLogger(__name__)

SCHEMES = ["file", "root", "davs", "https"]
CHUNK = 500


def inside_mounts(entries: list[dict[str, Any]], mounts: dict[str, str]) -> list[dict[str, Any]]:
    """The entries, a path whose real path (symbolic links followed) leaves its mount's real
    path made ``REFUSED``: a link on the storage must not lead the kernel elsewhere."""
    roots = {rse: os.path.realpath(mount) for rse, mount in mounts.items()}
    for entry in entries:
        root = roots.get(entry["rse"])
        if entry["path"] is None or root is None:
            continue
        real = os.path.realpath(entry["path"])
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            log.warning(
                "datalake: %s leads out of its mount, to %s: not given", entry["path"], real
            )
            entry.update(state="REFUSED", path=None, url=None)
    return entries


class PathResolver:
    def __init__(
        self, instance: InstanceConfig, client: RucioClient, *, chunk: int = CHUNK
    ) -> None:
        self.instance = instance
        self.client = client
        self.chunk = chunk
        self._prefixes: dict[str, str | None] = {}

    async def file_prefix(self, rse: str) -> str | None:
        """The path prefix of the RSE's ``file`` protocol (fetched once per RSE)."""
        if rse not in self._prefixes:
            protocols = await self.client.rse_protocols(rse)
            prefix = next((p.get("prefix") for p in protocols if p.get("scheme") == "file"), None)
            self._prefixes[rse] = prefix
        return self._prefixes[rse]

    async def local_path(self, rse: str, pfn: str) -> str | None:
        mount = self.instance.mounts.get(rse)
        if mount is None:
            return None
        parts = urlsplit(pfn)
        if parts.scheme != "file":
            return None
        prefix = await self.file_prefix(rse)
        if not prefix:
            return None
        path = posixpath.normpath(unquote(parts.path))
        prefix = posixpath.normpath(prefix)
        if path != prefix and not path.startswith(prefix.rstrip("/") + "/"):
            return None
        relative = path[len(prefix) :].lstrip("/")
        if relative.split("/")[0] == "..":
            return None
        return os.path.join(mount, *relative.split("/")) if relative else mount

    async def _entry(self, replica: dict[str, Any]) -> dict[str, Any]:
        did = f"{replica['scope']}:{replica['name']}"
        states: dict[str, str] = replica.get("states") or {}
        rses: dict[str, list[str]] = replica.get("rses") or {}
        available = [rse for rse, state in states.items() if str(state).endswith("AVAILABLE")]
        # Mounted RSEs first, in the operator's order, then the others by name.
        order = [r for r in self.instance.mounts if r in available]
        order += sorted(r for r in available if r not in self.instance.mounts)
        url_choice: tuple[str, str] | None = None
        for rse in order:
            pfns = rses.get(rse) or []
            for pfn in pfns:
                path = await self.local_path(rse, pfn)
                if path is not None:
                    return {"did": did, "state": "AVAILABLE", "path": path, "url": None, "rse": rse}
            # A mounted RSE's PFN that gave no path is no URL to offer either.
            if pfns and url_choice is None and rse not in self.instance.mounts:
                url_choice = (rse, pfns[0])
        if url_choice is not None:
            rse, pfn = url_choice
            return {"did": did, "state": "AVAILABLE", "path": None, "url": pfn, "rse": rse}
        return {"did": did, "state": "MISSING", "path": None, "url": None, "rse": None}

    async def _resolve(
        self, files: list[dict[str, str]], expression: str
    ) -> AsyncIterator[dict[str, Any]]:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        asked = files
        while asked:
            found = await self._replicas(asked, expression)
            seen.update(found)
            unseen = [f for f in asked if (f["scope"], f["name"]) not in found]
            # Files with no replica near the hub, or a list cut short: asking again for just
            # those tells the two apart; a round that finds none of them settles it.
            asked = unseen if found and unseen else []
        entries = []
        for item in files:
            replica = seen.get((item["scope"], item["name"]))
            if replica is None:
                entries.append(
                    {
                        "did": f"{item['scope']}:{item['name']}",
                        "state": "MISSING",
                        "path": None,
                        "url": None,
                        "rse": None,
                    }
                )
            else:
                entries.append(await self._entry(replica))
        # Real paths are looked up on the (maybe network) file system, away from the loop.
        mounts = dict(self.instance.mounts)
        for entry in await asyncio.to_thread(inside_mounts, entries, mounts):
            yield entry

    async def _replicas(
        self, files: list[dict[str, str]], expression: str
    ) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        try:
            lines = self.client.list_replicas(
                files, rse_expression=expression, schemes=SCHEMES, sort="random"
            )
            async with contextlib.aclosing(lines):
                async for replica in lines:
                    found[(replica["scope"], replica["name"])] = replica
        except DatalakeError as e:
            # An expression with no RSE at all means nothing is near the hub.
            if e.reason != "NO_ELIGIBLE_RSE":
                raise
        return found

    async def paths(self, did: DID, expression: str) -> AsyncIterator[dict[str, Any]]:
        chunk: list[dict[str, str]] = []
        lines = self.client.did_files(did)
        async with contextlib.aclosing(lines):
            async for item in lines:
                chunk.append({"scope": item["scope"], "name": item["name"]})
                if len(chunk) >= self.chunk:
                    async for entry in self._resolve(chunk, expression):
                        yield entry
                    chunk = []
        if chunk:
            async for entry in self._resolve(chunk, expression):
                yield entry
