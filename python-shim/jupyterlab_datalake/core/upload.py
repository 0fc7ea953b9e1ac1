"""Upload local files into the data lake with a target QoS, as Rucio's own upload client does with
``--register-after-upload``: nothing partial is ever in the catalogue.

Per file: the DID is looked up first (the same name with the same adler32 is a no-op that only
makes sure the QoS rule exists; other content under that name is a 409). A new file is written
onto an upload RSE near the hub (``writers.py``: a temporary inode, checksums while reading,
size and adler32 read back, then the final name given by Rucio's lfn2pfn), and only then
registered (``POST /replicas``, state AVAILABLE), attached to the dataset if one is named, and
given two rules: a short one that keeps the scratch copy on the upload RSE until the QoS copy is
there, and the QoS rule. A refused registration removes the file it wrote.

Everything a caller can get wrong is checked before any byte is written. Files go in parallel
(``FILES_AT_ONCE``), each in bounded chunks, so memory stays flat whatever the sizes. Transient
failures (Rucio 502/503/504) are retried with backoff. The verb streams one line per event:
``PLANNED`` first, ``UPLOADING`` progress, then ``UPLOADED``, ``EXISTS`` or ``FAILED`` per file,
``DONE`` last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from ..errors import DatalakeError, shown
from .config import InstanceConfig, QosClass
from .did import DID, parse_did
from .paths import PathResolver
from .rucio import RucioClient
from .staging import StagingManager, make_comment, resolve_qos, validate_lifetime
from .writers import ChangedWhileRead, Checksums, PosixWriter, Stopped, checksums_of

log = logging.getLogger(__name__)

FILES_AT_ONCE = 4
MAX_FILES = 10_000
RETRY_DELAYS = (1.0, 4.0)
TRANSIENT = (502, 503, 504)
PROGRESS_EVERY = 0.5
# The scratch copy on the upload RSE is kept this long: time enough for the QoS copy.
SCRATCH_LIFETIME = 7 * 86400
SCRATCH_COMMENT = "scratch copy of an upload from JupyterLab, kept until the QoS copy is there"

Event = dict[str, Any]


@dataclass(frozen=True)
class Item:
    path: str
    did: DID
    size: int


def _refused(message: str, reason: str, status: int = 400) -> DatalakeError:
    return DatalakeError(status, message + " Nothing was uploaded.", reason)


def _inside(path: str, root: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def list_files(paths: list[str], root: str, confined: bool) -> list[tuple[str, str]]:
    """(local path, file name) of every file named or under a named directory; hidden files
    and directories (``.ipynb_checkpoints``) are skipped inside directories. ``confined``: only
    paths whose real path is under ``root`` (the Jupyter server's files)."""
    found: list[tuple[str, str]] = []
    for given in paths:
        path = os.path.join(root, given)
        if confined and not _inside(path, root):
            raise _refused(
                f"{shown(given)} is outside the files of this Jupyter server ({root}): move it "
                "there first.",
                "PATH_OUTSIDE",
                403,
            )
        if os.path.isfile(path):
            found.append((path, os.path.basename(path)))
        elif os.path.isdir(path):
            for top, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [(os.path.join(top, n), n) for n in sorted(names) if not n.startswith(".")]
                if len(found) > MAX_FILES:
                    break
        else:
            raise _refused(
                f"{shown(given)} is not a file or directory here: check the path.",
                "PATH_NOT_FOUND",
                404,
            )
        if len(found) > MAX_FILES:
            raise _refused(f"More than {MAX_FILES} files: upload them in parts.", "TOO_MANY_FILES")
    return found


class Uploader:
    """Uploads for one instance; ``root`` is where relative paths start (the server's files)."""

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
        self._write_lock = asyncio.Lock()

    # ---- checks before any byte moves ------------------------------------------------------

    def _upload_rse(self) -> tuple[str, PosixWriter]:
        for rse in self.instance.upload_rses:
            mount = self.instance.mounts.get(rse)
            if mount is not None and PosixWriter(mount).writable():
                return rse, PosixWriter(mount)
        named = ", ".join(self.instance.upload_rses) or "none configured"
        raise _refused(
            f"No upload RSE is writable from this server ({named}): uploads need an RSE near the "
            "hub that is mounted here and writable; ask the operators ('upload_rses', 'mounts').",
            "NOT_WRITABLE",
            409,
        )

    def _targets(self, files: list[tuple[str, str]], to: DID | str) -> list[Item]:
        if isinstance(to, DID):
            if len(files) != 1:
                raise _refused(
                    f"{to} names one file but {len(files)} files were given: give only the scope "
                    "(each file keeps its name) or upload one file.",
                    "BAD_TARGET",
                )
            names = [to]
        else:
            names = [parse_did(f"{to}:{name}") for _, name in files]
            seen: set[DID] = set()
            for did in names:
                if did in seen:
                    raise _refused(
                        f"Two files would both be {did}: rename one or upload them separately.",
                        "BAD_TARGET",
                    )
                seen.add(did)
        return [
            Item(path, did, os.path.getsize(path))
            for (path, _), did in zip(files, names, strict=True)
        ]

    async def _check_scope(self, scope: str) -> None:
        account = await self.staging.account()
        if scope not in await self.client.account_scopes(account):
            raise _refused(
                f"Your account {account} cannot add files to scope {scope}: upload into one of "
                f"your own scopes (such as user.{account}).",
                "SCOPE_NOT_YOURS",
                403,
            )

    async def _check_qos(self, qos: QosClass) -> None:
        try:
            rses = await self.client.rses(qos.expression)
        except DatalakeError as e:
            if e.reason not in ("NO_ELIGIBLE_RSE", "RUCIO_REFUSED"):
                raise
            rses = []
        if not rses:
            raise _refused(
                f"No storage has QoS class {qos.name} ({qos.expression}): choose another class.",
                "NO_ELIGIBLE_RSE",
                409,
            )

    # ---- the verb -----------------------------------------------------------------------------

    async def upload(
        self,
        paths: object,
        to: object,
        qos: str | None,
        dataset: object,
        lifetime: object,
        root: str,
        confined: bool,
    ) -> AsyncIterator[Event]:
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise _refused("Give 'paths' as a list of files or directories.", "BAD_PATHS")
        if not isinstance(to, str) or not to.strip():
            raise _refused("Give 'to': a scope, or scope:name for one file.", "BAD_TARGET")
        target: DID | str = parse_did(to) if ":" in to else parse_did(f"{to}:x").scope
        qos_class = resolve_qos(self.instance, qos)
        rule_lifetime = None if lifetime is None else validate_lifetime(self.instance, lifetime)
        dataset_did = None if dataset in (None, "") else parse_did(dataset)
        rse, writer = self._upload_rse()
        files = await asyncio.to_thread(list_files, paths, root, confined)
        if not files:
            raise _refused("The directories given hold no files.", "BAD_PATHS")
        items = await asyncio.to_thread(self._targets, files, target)
        scopes = {item.did.scope for item in items} | (
            {dataset_did.scope} if dataset_did else set()
        )
        for scope in sorted(scopes):
            await self._check_scope(scope)
        await self._check_qos(qos_class)
        if dataset_did is not None:
            await self._ensure_dataset(dataset_did)
        plan = _Plan(self, rse, writer, qos_class, rule_lifetime, dataset_did)
        yield {
            "state": "PLANNED",
            "files": len(items),
            "bytes": sum(i.size for i in items),
            "rse": rse,
            "qos": qos_class.name,
        }
        async for event in plan.run(items):
            yield event

    async def _ensure_dataset(self, dataset: DID) -> None:
        try:
            info = await self.client.did(dataset)
        except DatalakeError as e:
            if e.reason != "DID_NOT_FOUND":
                raise
            async with self._write_lock:
                with contextlib.suppress(DatalakeError):
                    await self.client.add_dataset(dataset)
            info = await self.client.did(dataset)
        if info.get("type") != "DATASET":
            raise _refused(f"{dataset} is a {info.get('type')}, not a dataset.", "BAD_DATASET")


class _Plan:
    """One upload request: the workers, their events, their clean-up."""

    def __init__(
        self,
        uploader: Uploader,
        rse: str,
        writer: PosixWriter,
        qos: QosClass,
        lifetime: int | None,
        dataset: DID | None,
    ) -> None:
        self.up = uploader
        self.client = uploader.client
        self.rse = rse
        self.writer = writer
        self.qos = qos
        self.lifetime = lifetime
        self.dataset = dataset
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        self.stop = threading.Event()

    async def run(self, items: list[Item]) -> AsyncIterator[Event]:
        slots = asyncio.Semaphore(FILES_AT_ONCE)
        counts = {"UPLOADED": 0, "EXISTS": 0, "FAILED": 0}

        async def one(item: Item) -> None:
            async with slots:
                event = await self._with_retries(item)
                counts[event["state"]] += 1
                self.events.put_nowait(event)

        async def all_files() -> None:
            try:
                await asyncio.gather(*(one(item) for item in items))
            finally:
                self.events.put_nowait(None)

        task = asyncio.ensure_future(all_files())
        try:
            while (event := await self.events.get()) is not None:
                yield event
            await task
        finally:
            if not task.done():
                self.stop.set()
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        yield {
            "state": "DONE",
            "uploaded": counts["UPLOADED"],
            "existing": counts["EXISTS"],
            "failed": counts["FAILED"],
        }

    async def _with_retries(self, item: Item) -> Event:
        delays = list(RETRY_DELAYS)
        while True:
            try:
                return await self._one(item)
            except DatalakeError as e:
                if e.status in TRANSIENT and delays:
                    log.info("datalake: upload of %s: %s; trying again", item.did, e.message)
                    await asyncio.sleep(delays.pop(0))
                    continue
                return self._failed(item, e)
            except OSError as e:
                return self._failed(
                    item,
                    DatalakeError(
                        500,
                        f"Could not copy {item.path} to {self.rse}: {e.strerror or e}. Nothing "
                        "was registered.",
                        "WRITE_FAILED",
                    ),
                )

    def _failed(self, item: Item, error: DatalakeError) -> Event:
        return {
            "state": "FAILED",
            "path": item.path,
            "did": str(item.did),
            "error": {**error.to_json(), "status": error.status},
        }

    def _progress(self, item: Item) -> Callable[[int], None]:
        loop = asyncio.get_running_loop()
        done = 0
        last = 0.0

        def progress(n: int) -> None:
            nonlocal done, last
            done += n
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY or done == item.size:
                last = now
                event = {
                    "state": "UPLOADING",
                    "path": item.path,
                    "did": str(item.did),
                    "bytes_done": done,
                    "bytes": item.size,
                }
                loop.call_soon_threadsafe(self.events.put_nowait, event)

        return progress

    async def _one(self, item: Item) -> Event:
        existing = await self._existing(item.did)
        if existing is not None:
            return await self._same_again(item, existing)
        pfn = await self.client.write_pfn(self.rse, item.did, "file")
        target = await self.up.resolver.local_path(self.rse, pfn)
        if target is None:
            raise DatalakeError(
                409,
                f"Rucio puts {item.did} at {pfn}, which is not under the mount of {self.rse}: "
                "ask the operators to check the mount of the upload RSE.",
                "NOT_WRITABLE",
            )
        sums = await self._write(item, target)
        # Once the bytes are in place, registration runs to its end even if the caller goes.
        rules = await asyncio.shield(self._register(item, sums, target))
        return {
            "state": "UPLOADED",
            "path": item.path,
            "did": str(item.did),
            "bytes": sums.bytes,
            "adler32": sums.adler32,
            "rse": self.rse,
            "rule_ids": rules,
        }

    async def _existing(self, did: DID) -> dict[str, Any] | None:
        try:
            return await self.client.did(did)
        except DatalakeError as e:
            if e.reason == "DID_NOT_FOUND":
                return None
            raise

    async def _same_again(self, item: Item, existing: dict[str, Any]) -> Event:
        """The name is taken: the same bytes make it a no-op (the QoS rule is made sure of)."""
        sums = await asyncio.to_thread(checksums_of, item.path, self._progress(item))
        if existing.get("type") != "FILE" or (existing.get("bytes"), existing.get("adler32")) != (
            sums.bytes,
            sums.adler32,
        ):
            raise DatalakeError(
                409,
                f"{item.did} already exists in Rucio with other content: upload under another "
                "name (a DID's content never changes). Nothing was uploaded.",
                "NAME_TAKEN",
            )
        async with self.up._write_lock:
            rule, created = await self._ensure_rule(item.did)
        return {
            "state": "EXISTS",
            "path": item.path,
            "did": str(item.did),
            "bytes": sums.bytes,
            "adler32": sums.adler32,
            "rule_ids": [rule],
            "rule_created": created,
        }

    async def _write(self, item: Item, target: str) -> Checksums:
        """The bytes under their final name; a stale file of an upload that never got
        registered (its process killed between the two) is replaced."""
        progress = self._progress(item)
        for attempt in (1, 2):
            work = asyncio.ensure_future(
                asyncio.to_thread(self.writer.write, item.path, target, progress, self.stop)
            )
            try:
                return await asyncio.shield(work)
            except FileExistsError:
                if attempt == 2:
                    raise
                log.warning("datalake: removing %s, left by an upload never registered", target)
                await asyncio.to_thread(self.writer.remove, target)
            except ChangedWhileRead:
                raise DatalakeError(
                    409,
                    f"{item.path} changed while it was being uploaded: upload it again once it "
                    "is complete. Nothing was registered.",
                    "CHANGED_WHILE_READ",
                ) from None
            except asyncio.CancelledError:
                self.stop.set()
                with contextlib.suppress(Stopped, OSError, ChangedWhileRead):
                    await work
                    # Linked just before the stop was seen: not registered, so not kept.
                    await asyncio.to_thread(self.writer.remove, target)
                raise
        raise AssertionError("unreachable")

    async def _register(self, item: Item, sums: Checksums, target: str) -> list[str]:
        """Register the verified file (removed again if Rucio refuses), then its rules."""
        replica = {
            "scope": item.did.scope,
            "name": item.did.name,
            "bytes": sums.bytes,
            "adler32": sums.adler32,
            "md5": sums.md5,
            "state": "A",
        }
        async with self.up._write_lock:
            try:
                await self.client.add_replicas(self.rse, [replica])
            except DatalakeError as e:
                if e.reason != "ALREADY_EXISTS" or not await self._registered_as(item.did, sums):
                    await asyncio.to_thread(self.writer.remove, target)
                    raise
            if self.dataset is not None:
                await self._attach(item.did)
            rules = []
            if self.rse not in await self._qos_rses():
                rules.append(await self._scratch_rule(item.did))
            try:
                rule, _ = await self._ensure_rule(item.did)
            except DatalakeError as e:
                e.message += (
                    f" {item.did} is registered on {self.rse} (kept there for now): upload it "
                    "again once this is solved, which only adds the QoS rule."
                )
                raise
            rules.append(rule)
        return rules

    async def _registered_as(self, did: DID, sums: Checksums) -> bool:
        """After a retried registration: is it ours (same size and adler32)?"""
        existing = await self._existing(did)
        return existing is not None and (existing.get("bytes"), existing.get("adler32")) == (
            sums.bytes,
            sums.adler32,
        )

    async def _attach(self, did: DID) -> None:
        assert self.dataset is not None
        try:
            await self.client.attach(self.dataset, [did])
        except DatalakeError as e:
            if e.reason != "ALREADY_EXISTS":
                raise

    _qos_rse_names: list[str] | None = None

    async def _qos_rses(self) -> list[str]:
        if self._qos_rse_names is None:
            self._qos_rse_names = await self.client.rses(self.qos.expression)
        return self._qos_rse_names

    async def _scratch_rule(self, did: DID) -> str:
        account = await self.up.staging.account()
        body = {
            "dids": [{"scope": did.scope, "name": did.name}],
            "account": account,
            "copies": 1,
            "rse_expression": self.rse,
            "grouping": "NONE",
            "lifetime": SCRATCH_LIFETIME,
            "comment": SCRATCH_COMMENT,
        }
        try:
            return await self.client.add_rule(body)
        except DatalakeError as e:
            if e.reason != "DUPLICATE_RULE":
                raise
            existing = await self.up.staging._existing(did, account, self.rse)
            if existing is None:
                raise
            return str(existing["id"])

    async def _ensure_rule(self, did: DID) -> tuple[str, bool]:
        """The account's QoS rule on ``did``: (its id, whether this call made it)."""
        account = await self.up.staging.account()
        existing = await self.up.staging._existing(did, account, self.qos.expression)
        if existing is not None:
            return str(existing["id"]), False
        body = {
            "dids": [{"scope": did.scope, "name": did.name}],
            "account": account,
            "copies": 1,
            "rse_expression": self.qos.expression,
            "grouping": "NONE",
            "lifetime": self.lifetime,
            "comment": make_comment(self.up.instance.name, self.qos.name, "upload"),
            # No notify: on a file Rucio 41 fails the rule with a 500 (its notification code
            # reads the DID's 'open'); the staging is polled, events or not (watcher.py).
        }
        rule_id = await self.client.add_rule(body)
        # A staging now: the panel's next list has it without waiting for a relisting.
        await self.up.staging.joined([rule_id])
        return rule_id, True
