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

Rucio's per-chunk lookups cost it 0.5-1.5 s per 500 files on a big catalogue, so each dataset is
first asked about as a whole (one ``POST /replicas/list`` of the dataset, near the hub, of which
only the first line is read): a dataset with no replica near the hub has every file ``MISSING``
without a lookup per chunk. A container is resolved dataset by dataset.
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
# Files read while Rucio is still asked whether any file of their dataset is near the hub.
HELD = 5000
# Containers inside containers are followed this deep (Rucio allows nesting; nobody nests more).
MAX_DEPTH = 8


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


def missing(did: str) -> dict[str, Any]:
    """The entry of a file with no replica near the hub."""
    return {"did": did, "state": "MISSING", "path": None, "url": None, "rse": None}


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
        return missing(did)

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
                entries.append(missing(f"{item['scope']}:{item['name']}"))
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

    async def paths(
        self, did: DID, expression: str, kind: str = "DATASET"
    ) -> AsyncIterator[dict[str, Any]]:
        """One entry per file of ``did`` (a ``FILE``, ``DATASET`` or ``CONTAINER``)."""
        if kind == "FILE":
            async for entry in self._chunked(did, expression):
                yield entry
            return
        datasets = await self._datasets(did) if kind == "CONTAINER" else [did]
        # Rucio takes about half a second to say a 100k-file dataset has nothing near the hub:
        # the next dataset's look runs while this one's files are read (one ahead, no more).
        looks: list[asyncio.Task[bool]] = []
        try:
            for index, dataset in enumerate(datasets):
                if not looks:
                    looks.append(asyncio.create_task(self._any_near(dataset, expression)))
                if index + 1 < len(datasets):
                    looks.append(
                        asyncio.create_task(self._any_near(datasets[index + 1], expression))
                    )
                entries = self._dataset_paths(dataset, expression, looks[0])
                async with contextlib.aclosing(entries):
                    async for entry in entries:
                        yield entry
                looks.pop(0)
        finally:
            for look in looks:
                look.cancel()
            await asyncio.gather(*looks, return_exceptions=True)

    async def _datasets(self, container: DID, depth: int = 0) -> list[DID]:
        """The datasets of a container, nested containers followed, in Rucio's order (names
        only: a few bytes each, read before any file so no listing waits on another)."""
        datasets: list[DID] = []
        containers: list[DID] = []
        lines = self.client.did_children(container)
        async with contextlib.aclosing(lines):
            async for child in lines:
                kind = str(child.get("type") or child.get("did_type") or "").split(".")[-1]
                target = containers if kind.upper() == "CONTAINER" else datasets
                target.append(DID(child["scope"], child["name"]))
        if depth < MAX_DEPTH:
            for inner in containers:
                datasets += await self._datasets(inner, depth + 1)
        return datasets

    async def _dataset_paths(
        self, dataset: DID, expression: str, look: asyncio.Task[bool]
    ) -> AsyncIterator[dict[str, Any]]:
        """The dataset's entries; its first files are read while ``look`` (is any file near
        the hub?) is still out, up to ``HELD`` of them."""
        lines = self.client.did_files(dataset)
        async with contextlib.aclosing(lines):
            held: list[dict[str, str]] = []
            if not look.done():
                async for item in lines:
                    held.append({"scope": item["scope"], "name": item["name"]})
                    if look.done() or len(held) >= HELD:
                        break
            if await look:
                async for entry in self._chunked(dataset, expression, held, lines):
                    yield entry
                return
            for item in held:
                yield missing(f"{item['scope']}:{item['name']}")
            async for item in lines:
                yield missing(f"{item['scope']}:{item['name']}")

    async def _any_near(self, dataset: DID, expression: str) -> bool:
        """Whether any file of the dataset has a replica (in any state) the expression selects:
        the first line of one dataset-wide lookup."""
        try:
            lines = self.client.list_replicas(
                [{"scope": dataset.scope, "name": dataset.name}],
                rse_expression=expression,
                schemes=SCHEMES,
            )
            async with contextlib.aclosing(lines):
                async for _ in lines:
                    return True
        except DatalakeError as e:
            if e.reason != "NO_ELIGIBLE_RSE":
                raise
        return False

    async def _chunked(
        self,
        did: DID,
        expression: str,
        held: list[dict[str, str]] | None = None,
        lines: AsyncIterator[dict[str, Any]] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Entries resolved ``self.chunk`` files at a time: ``held`` first, then ``lines`` (the
        rest of a file list already begun) or the DID's file list."""
        chunk = list(held or [])
        rest = lines if lines is not None else self.client.did_files(did)
        async with contextlib.aclosing(rest):
            while len(chunk) >= self.chunk:
                async for entry in self._resolve(chunk[: self.chunk], expression):
                    yield entry
                chunk = chunk[self.chunk :]
            async for item in rest:
                chunk.append({"scope": item["scope"], "name": item["name"]})
                if len(chunk) >= self.chunk:
                    async for entry in self._resolve(chunk, expression):
                        yield entry
                    chunk = []
        if chunk:
            async for entry in self._resolve(chunk, expression):
                yield entry
