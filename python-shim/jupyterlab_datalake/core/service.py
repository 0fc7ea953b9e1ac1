"""The tornado-free facade shared by the shim's routes and the headless kernel client.

Every verb is async, takes an optional ``instance`` keyword, returns the JSON-able dicts the
matching REST route returns (docs/contract.md, ``verbs.py``), and raises DatalakeError for anything
the user must act on. The verbs only pick the instance and hand over to browse, availability,
staging and paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

import httpx

from ..errors import ConfigError, DatalakeError, shown
from ..version import __version__
from .auth import secret_env
from .availability import Availability
from .browse import DEFAULT_LIMIT, Browser, did_type
from .config import (
    DatalakeConfig,
    InstanceConfig,
    config_from_section,
    read_config_file,
    resolve_config,
)
from .deadlines import lines_within
from .did import parse_did
from .events import RuleEvents
from .listings import ListingCache
from .paths import PathResolver
from .preview import Preview
from .quota import Quota
from .rucio import RucioClient
from .staging import StagingManager, qos_expression
from .upload import Uploader
from .verbs import VERBS
from .verify import Verifier

T = TypeVar("T")


class Instance:
    """The objects of one configured Rucio instance, built on first use (on the event loop:
    the broker subscription starts with it)."""

    def __init__(
        self,
        config: InstanceConfig,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        listings: ListingCache,
        events_identity: str | None = None,
        *,
        is_default: bool = True,
    ):
        self.config = config
        self.client = RucioClient(config, timeout=timeout, transport=transport)
        self.quota = Quota(self.client)
        self.staging = StagingManager(
            config, self.client, quota=self.quota, keeps_untagged=is_default
        )
        self.paths = PathResolver(config, self.client)
        self.browse = Browser(self.client, listings, config.name)
        self.availability = Availability(config, self.client, self.staging)
        self.uploads = Uploader(config, self.client, self.staging, self.paths)
        self.verifier = Verifier(config, self.client, self.staging, self.paths)
        self.preview = Preview(config, self.client, self.availability, self.staging, self.quota)
        self.version: str | None = None
        self.events: RuleEvents | None = None
        if config.events is not None:
            watcher = self.staging.watcher
            self.events = RuleEvents(
                config.events,
                config.name,
                on_event=lambda _type, rule_id: watcher.nudge(rule_id),
                on_live=watcher.set_events_live,
                environ=secret_env,
                identity=events_identity,
            )
            self.events.start()

    async def close(self) -> None:
        if self.events is not None:
            await self.events.close()
        await self.staging.close()
        await self.client.close()


class DatalakeService:
    def __init__(
        self,
        config: DatalakeConfig | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        config_error: str | None = None,
    ) -> None:
        self.config = config
        self.config_error = config_error
        self._transport = transport
        self._instances: dict[str, Instance] = {}
        #: the Jupyter server's root_dir (server/app.py): uploads through it stay inside it
        self.files_root: str | None = None
        #: names this server's durable broker subscriptions (stable across its restarts); the
        #: Jupyter server sets it once its port is bound, headless kernels leave it None
        self.events_identity: str | None = None
        # One cache for every user and instance of the server: its bounds are the server's.
        self._listings: ListingCache | None = None

    @property
    def listings(self) -> ListingCache:
        if self._listings is None:
            self._listings = ListingCache()
        return self._listings

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> DatalakeService:
        """From the ``DatalakeApp`` section; falls back to $DATALAKE_CONFIG and DATALAKE_* vars."""
        config = resolve_config(
            list(settings.get("instances") or []),
            settings.get("default_instance"),
            float(settings.get("request_timeout") or 30.0),
            environ,
        )
        return cls(config, transport=transport)

    @classmethod
    def from_config_file(
        cls, path: str | os.PathLike[str], *, transport: httpx.AsyncBaseTransport | None = None
    ) -> DatalakeService:
        return cls(config_from_section(read_config_file(path)), transport=transport)

    @classmethod
    def unconfigured(cls, error: ConfigError) -> DatalakeService:
        return cls(None, config_error=str(error))

    def instance(self, name: str | None = None) -> Instance:
        """The named instance (default: the configured default); 400 for an unknown name."""
        if self.config is None:
            raise DatalakeError(
                503, f"jupyterlab-datalake is not configured: {self.config_error}", "NOT_CONFIGURED"
            )
        name = name or self.config.default_instance
        if name not in self.config.instances:
            known = ", ".join(self.config.instances)
            raise DatalakeError(
                400, f"Unknown instance {shown(name)}: choose one of {known}.", "UNKNOWN_INSTANCE"
            )
        if name not in self._instances:
            self._instances[name] = Instance(
                self.config.instances[name],
                self.config.request_timeout,
                self._transport,
                self.listings,
                self.events_identity,
                is_default=name == self.config.default_instance,
            )
        return self._instances[name]

    # ---- the deadline -------------------------------------------------------------------------

    @property
    def deadline(self) -> float:
        """Seconds a verb may take (``request_timeout``); a stream, between two lines."""
        return self.config.request_timeout if self.config else 30.0

    def call(self, verb: str, arguments: Mapping[str, Any]) -> Any:
        """Run the verb named ``verb`` within the deadline: an awaitable, or for a streaming
        verb an async iterator. Routes and the in-process kernel channel call verbs this way,
        so every user-facing call ends in time whatever Rucio does."""
        answer = getattr(self, VERBS[verb].name)(**arguments)
        if VERBS[verb].stream:
            return lines_within(answer, self.deadline, self._late)
        return self._in_time(answer)

    def _late(self) -> DatalakeError:
        return DatalakeError(
            504,
            f"The data lake did not answer within {self.deadline:g} s (Rucio is slow or not "
            "answering); try again later.",
            "RUCIO_TIMEOUT",
        )

    async def _in_time(self, answer: Awaitable[T]) -> T:
        # The Rucio client turns its own timeouts into DatalakeError: a TimeoutError here is
        # this deadline's.
        try:
            async with asyncio.timeout(self.deadline):
                return await answer
        except TimeoutError:
            raise self._late() from None

    # ---- instances and identity -------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        """This package's version, for the frontend's handshake (it says when they differ).
        Answered configured or not: a mismatch explains many other failures."""
        return {"version": __version__}

    async def instances(self) -> dict[str, Any]:
        if self.config is None:
            self.instance()  # raises the 503 that says why
        assert self.config is not None
        return {
            "default": self.config.default_instance,
            "instances": [i.public() for i in self.config.instances.values()],
        }

    async def whoami(self, *, instance: str | None = None) -> dict[str, Any]:
        inst = self.instance(instance)
        if inst.version is None:
            inst.version = str((await inst.client.ping()).get("version", ""))
        # Always one authenticated call: it proves the credentials work right now.
        account = await inst.client.whoami() or await inst.staging.account()
        auth = inst.client.auth
        expires = auth.expires_at
        return {
            "instance": inst.config.name,
            "account": account,
            "rucio_version": inst.version,
            "token_expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None,
            "auth_type": auth.auth_type,
            # Where the token came from (hub, file, env; null: issued by Rucio), and whether
            # the shim gets a new one before it expires (then the user has nothing to do).
            "token_source": auth.token_source,
            "token_auto_renew": auth.renews,
        }

    async def scopes(self, *, instance: str | None = None) -> dict[str, Any]:
        return {"scopes": sorted(await self.instance(instance).client.scopes())}

    # ---- browsing ---------------------------------------------------------------------------

    async def search(
        self,
        did: str,
        type: str = "all",
        filters: object = None,
        limit: object = DEFAULT_LIMIT,
        cursor: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        return await self.instance(instance).browse.search(did, type, filters, limit, cursor)

    async def did_info(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        inst = self.instance(instance)
        parsed = parse_did(did)
        # The DID, its metadata and the rules on it are asked at once: while Rucio streams a
        # big listing each round trip is slow, five in a row took over a second (bench).
        details = asyncio.ensure_future(inst.browse.details(parsed))
        near = asyncio.ensure_future(inst.availability.near_hub(parsed, details))
        try:
            result = await details  # its error (no such DID...) is the answer
            result["near_hub"] = await near
        finally:
            for task in (details, near):
                task.cancel()
            await asyncio.gather(details, near, return_exceptions=True)
        return result

    async def children(
        self,
        did: str,
        limit: object = DEFAULT_LIMIT,
        cursor: object = None,
        sort: object = None,
        position: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        return await self.instance(instance).browse.children(
            parse_did(did), limit, cursor, sort, position
        )

    async def files(
        self,
        did: str,
        limit: object = DEFAULT_LIMIT,
        cursor: object = None,
        sort: object = None,
        position: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        return await self.instance(instance).browse.files(
            parse_did(did), limit, cursor, sort, position
        )

    # ---- availability -----------------------------------------------------------------------

    async def replicas(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        return await self.instance(instance).availability.replicas(parse_did(did))

    async def did_rules(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        return await self.instance(instance).availability.rules(parse_did(did))

    async def qos(self, *, instance: str | None = None) -> dict[str, Any]:
        return await self.instance(instance).availability.qos()

    # ---- stagings ---------------------------------------------------------------------------

    async def list_stagings(
        self, fresh: object = None, *, instance: str | None = None
    ) -> dict[str, Any]:
        """The stagings; ``fresh``: read from Rucio now (the user's Refresh), not the cache."""
        return await self.instance(instance).staging.list(fresh)

    async def stage(
        self,
        dids: object,
        qos: str | None = None,
        lifetime: object = None,
        source_qos: object = None,
        start_in: object = None,
        comment: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """``{"stagings": [...], "created": bool}``: ``created`` when any rule is new."""
        return await self.instance(instance).staging.stage(
            dids, qos, lifetime, source_qos, start_in, comment
        )

    async def preview(
        self, did: str, qos: str | None = None, *, instance: str | None = None
    ) -> dict[str, Any]:
        """What staging ``did`` with ``qos`` would do: storage, files to move, quota left."""
        return await self.instance(instance).preview.preview(parse_did(did), qos)

    async def get_staging(self, rule_id: str, *, instance: str | None = None) -> dict[str, Any]:
        return await self.instance(instance).staging.get(rule_id)

    async def wait_stagings(
        self,
        rule_ids: object,
        after: object = None,
        timeout: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        """``{"stagings": [...], "cursor": N}`` once one changed after ``after`` (or at once
        without it), else after ``timeout`` seconds: a kernel's wait, answered from the cache.
        It is held at most half the deadline, so that it ends as an answer, never a 504."""
        return await self.instance(instance).staging.wait_change(
            rule_ids, after, timeout, longest=self.deadline / 2
        )

    async def extend(
        self, rule_id: str, lifetime: object, *, instance: str | None = None
    ) -> dict[str, Any]:
        return await self.instance(instance).staging.extend(rule_id, lifetime)

    async def move(
        self, rule_id: str, qos: str | None = None, *, instance: str | None = None
    ) -> dict[str, Any]:
        """Move a staging to another QoS class; the old copies stay until the new are OK."""
        return await self.instance(instance).staging.move(rule_id, qos)

    async def release(self, rule_id: str, *, instance: str | None = None) -> None:
        await self.instance(instance).staging.release(rule_id)

    # ---- paths ------------------------------------------------------------------------------

    async def paths(
        self, did: str, qos: str | None = None, *, instance: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """One dict per file: ``{"did","state","path","url","rse"}``.

        Files of a staging you released are ``RELEASED`` (Rucio may delete them any time); a
        file list Rucio ends before the DID's file count ends with a 502, never short.
        """
        inst = self.instance(instance)
        parsed = parse_did(did)
        expression = (
            inst.config.site_expression if qos in (None, "") else qos_expression(inst.config, qos)
        )
        info = await inst.client.did(parsed)
        expected = 1 if did_type(info.get("type")) == "FILE" else info.get("length")
        released = await inst.staging.released(parsed)
        count = 0
        kind = did_type(info.get("type"))
        entries = inst.paths.paths(parsed, expression, kind)
        async with contextlib.aclosing(entries):  # a reader gone stops the lookups at once
            async for entry in entries:
                count += 1
                if released and entry["state"] == "AVAILABLE":
                    entry = {**entry, "state": "RELEASED"}
                yield entry
        if expected is not None and count < expected:
            raise DatalakeError(
                502,
                f"Rucio's list of the files of {parsed} ended after {count} of its {expected} "
                "files (cut short on the way): try again; if it persists, tell the operators.",
                "RUCIO_CUT_SHORT",
            )

    # ---- the other half of the lifecycle: upload, move, verify -------------------------------

    async def upload(
        self,
        paths: object,
        to: object,
        qos: str | None = None,
        dataset: object = None,
        lifetime: object = None,
        *,
        instance: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Upload files or directories into ``to`` (a scope, or scope:name for one file) with
        a QoS rule; one line per event (core/upload.py)."""
        # In a Jupyter server, only its files; in a kernel's own process, what it can read.
        root, confined = (self.files_root, True) if self.files_root else (os.getcwd(), False)
        uploads = self.instance(instance).uploads
        async for event in uploads.upload(paths, to, qos, dataset, lifetime, root, confined):
            yield event

    async def verify(
        self, did: str, report: object = False, *, instance: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Check the adler32 of every local copy of the files of ``did``; with ``report``,
        declare the mismatching ones suspicious (core/verify.py)."""
        async for event in self.instance(instance).verifier.verify(did, report):
            yield event

    async def close(self) -> None:
        instances, self._instances = list(self._instances.values()), {}
        for inst in instances:
            await inst.close()
        if self._listings is not None:
            self._listings.close()
            self._listings = None
