"""The tornado-free facade shared by routes.py and the headless kernel client.

Every method is async, takes an optional ``instance`` keyword, returns the JSON-able dicts the
matching REST route returns (docs/contract.md), and raises DatalakeError for anything the user
must act on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from ..errors import ConfigError, DatalakeError
from .config import (
    DatalakeConfig,
    InstanceConfig,
    config_from_section,
    read_config_file,
    resolve_config,
)
from .did import DID, PATTERN_RE, SCOPE_MAX, SCOPE_RE, parse_did
from .listings import ListingCache
from .paths import PathResolver
from .rucio import RucioClient
from .staging import StagingManager, qos_expression, staging_from_rule

DID_TYPES = ("all", "container", "dataset", "file", "collection")
FILTER_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.(gt|lt|gte|lte|ne))?$")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
RSE_CACHE_TTL = 300.0
MAX_DATASETS_FOR_STATE = 200
# Above this many files Rucio's deep dataset-replica count is too slow (minutes on SQLite):
# use the stored collection replicas (kept up to date by abacus) instead.
DEEP_REPLICA_LIMIT = 20000
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


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: object) -> int:
    if cursor in (None, ""):
        return 0
    try:
        assert isinstance(cursor, str)
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (AssertionError, ValueError, KeyError, TypeError) as e:
        raise DatalakeError(
            400, "The cursor is not valid: start the listing again.", "BAD_CURSOR"
        ) from e


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
        except ValueError as e:
            raise DatalakeError(400, "filters must be a JSON object.", "BAD_FILTERS") from e
    clause: dict[str, Any] = {"name": pattern}
    if filters is not None:
        if not isinstance(filters, dict):
            raise DatalakeError(
                400, 'filters must be a JSON object such as {"datatype": "RAW"}.', "BAD_FILTERS"
            )
        for key, value in filters.items():
            if not FILTER_KEY_RE.match(key):
                raise DatalakeError(
                    400,
                    f"Filter key {key!r} is not valid: use a metadata name, optionally with "
                    ".gt .lt .gte .lte .ne.",
                    "BAD_FILTERS",
                )
            if not isinstance(value, (str, int, float, bool)):
                raise DatalakeError(
                    400, f"Filter {key!r} needs a string, number or boolean value.", "BAD_FILTERS"
                )
            clause[key] = value
    return repr([clause])


class _Instance:
    """The per-instance objects, built on first use."""

    def __init__(
        self, config: InstanceConfig, timeout: float, transport: httpx.AsyncBaseTransport | None
    ):
        self.config = config
        self.client = RucioClient(config, timeout=timeout, transport=transport)
        self.staging = StagingManager(config, self.client)
        self.paths = PathResolver(config, self.client)
        self.listings = ListingCache()
        self.version: str | None = None
        self._expr_rses: dict[str, tuple[float, list[str]]] = {}
        self._rse_attrs: dict[str, dict[str, Any]] = {}

    async def expression_rses(self, expression: str) -> list[str]:
        cached = self._expr_rses.get(expression)
        if cached and time.monotonic() - cached[0] < RSE_CACHE_TTL:
            return cached[1]
        rses: list[str] = []
        try:
            lines = self.client.stream("GET", "rses", "", params={"expression": expression})
            async with contextlib.aclosing(lines):
                async for line in lines:
                    rses.append(line["rse"] if isinstance(line, dict) else str(line))
        except DatalakeError as e:
            if e.reason not in ("NO_ELIGIBLE_RSE", "RUCIO_REFUSED"):
                raise
        rses.sort()
        self._expr_rses[expression] = (time.monotonic(), rses)
        return rses

    async def rse_attrs(self, rse: str) -> dict[str, Any]:
        if rse not in self._rse_attrs:
            attrs = await self.client.get_json("rses", rse, "attr", "")
            self._rse_attrs[rse] = attrs if isinstance(attrs, dict) else {}
        return self._rse_attrs[rse]

    async def close(self) -> None:
        self.listings.close()
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
        self._instances: dict[str, _Instance] = {}

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

    def _get(self, instance: str | None) -> _Instance:
        if self.config is None:
            raise DatalakeError(
                503, f"jupyterlab-datalake is not configured: {self.config_error}", "NOT_CONFIGURED"
            )
        name = instance or self.config.default_instance
        if name not in self.config.instances:
            known = ", ".join(self.config.instances)
            raise DatalakeError(
                400, f"Unknown instance {name!r}: choose one of {known}.", "UNKNOWN_INSTANCE"
            )
        if name not in self._instances:
            self._instances[name] = _Instance(
                self.config.instances[name], self.config.request_timeout, self._transport
            )
        return self._instances[name]

    # ---- instances and identity -------------------------------------------------------------

    async def instances(self) -> dict[str, Any]:
        if self.config is None:
            self._get(None)
        assert self.config is not None
        return {
            "default": self.config.default_instance,
            "instances": [i.public() for i in self.config.instances.values()],
        }

    async def whoami(self, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        if inst.version is None:
            inst.version = str((await inst.client.ping()).get("version", ""))
        # Always one authenticated call: it proves the credentials work right now.
        response = await inst.client.request("GET", "accounts", "whoami", ok=(200, 303))
        account = await inst.staging.account()
        if response.status_code == 200 and isinstance(response.json(), dict):
            account = response.json().get("account") or account
        auth = inst.client.auth
        expires = auth.expires_at
        return {
            "instance": inst.config.name,
            "account": account,
            "rucio_version": inst.version,
            "token_expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None,
            "auth_type": auth.auth_type,
        }

    async def scopes(self, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        scopes = await inst.client.get_json("scopes", "")
        return {"scopes": sorted(str(s) for s in scopes or [])}

    # ---- browsing ---------------------------------------------------------------------------

    async def _page(
        self,
        lines: AsyncIterator[Any],
        limit: object,
        cursor: object,
        convert: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        size = check_limit(limit)
        offset = decode_cursor(cursor)
        items: list[dict[str, Any]] = []
        more = False
        async with contextlib.aclosing(lines):
            index = 0
            async for line in lines:
                if index >= offset:
                    if len(items) == size:
                        more = True
                        break
                    items.append(convert(line))
                index += 1
        return {"items": items, "next_cursor": encode_cursor(offset + size) if more else None}

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
        inst = self._get(instance)
        text = (did or "").strip()
        if ":" not in text:
            text = f"{text}:*"
        scope, _, pattern = text.partition(":")
        pattern = pattern or "*"
        if not SCOPE_RE.match(scope) or len(scope) > SCOPE_MAX or not PATTERN_RE.match(pattern):
            parse_did(text, pattern=True)  # raises the explanatory 400
        kind = (type or "all").lower()
        if kind not in DID_TYPES:
            raise DatalakeError(400, f"type must be one of {', '.join(DID_TYPES)}.", "BAD_TYPE")
        size = check_limit(limit)
        offset = decode_cursor(cursor)
        params = {
            "type": kind,
            "long": "true",
            "recursive": "false",
            "limit": offset + size + 1,
            "filters": search_filters(pattern, filters),
        }
        lines = inst.client.stream(
            "GET",
            "dids",
            scope,
            "dids",
            "search",
            params=params,
            context={"did": f"{scope}:{pattern}"},
        )
        return await self._page(lines, size, cursor, did_json)

    async def _did(self, inst: _Instance, did: DID) -> dict[str, Any]:
        # dynamic_depth: open datasets have no stored bytes/length; let Rucio sum their files.
        info = await inst.client.get_json(
            "dids", did.scope, did.name, params={"dynamic_depth": "FILE"}, context={"did": str(did)}
        )
        return info if isinstance(info, dict) else {}

    async def did_info(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        parsed = parse_did(did)
        info = await self._did(inst, parsed)
        result = did_json(info)
        if result["type"] == "FILE":
            result.update({"adler32": info.get("adler32"), "md5": info.get("md5")})
        try:
            meta = await inst.client.get_json(
                "dids", parsed.scope, parsed.name, "meta", context={"did": str(parsed)}
            )
        except DatalakeError as e:
            if e.status == 404:
                raise
            meta = {}  # SQLite servers cannot list JSON metadata: show the rest anyway
        result["metadata"] = {
            k: v for k, v in (meta or {}).items() if v is not None and k not in META_HIDDEN
        }
        files = info.get("length") if result["type"] != "FILE" else 1
        result["near_hub"] = await self._near_hub(inst, parsed, result["type"], files)
        return result

    async def _listing_page(
        self,
        inst: _Instance,
        did: DID,
        kind: str,
        convert: Callable[[Mapping[str, Any]], dict[str, Any]],
        limit: object,
        cursor: object,
    ) -> dict[str, Any]:
        size = check_limit(limit)
        offset = decode_cursor(cursor)
        listing = inst.listings.get(
            (kind, str(did)),
            fresh=offset == 0,
            lines=lambda: inst.client.stream(
                "GET", "dids", did.scope, did.name, kind, context={"did": str(did)}
            ),
            convert=convert,
        )
        items, more = await listing.page(offset, size)
        return {"items": items, "next_cursor": encode_cursor(offset + size) if more else None}

    async def children(
        self,
        did: str,
        limit: object = DEFAULT_LIMIT,
        cursor: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        inst = self._get(instance)
        return await self._listing_page(inst, parse_did(did), "dids", did_json, limit, cursor)

    async def files(
        self,
        did: str,
        limit: object = DEFAULT_LIMIT,
        cursor: object = None,
        *,
        instance: str | None = None,
    ) -> dict[str, Any]:
        inst = self._get(instance)
        return await self._listing_page(inst, parse_did(did), "files", file_json, limit, cursor)

    async def _replica_rows(
        self, inst: _Instance, did: DID, kind: str, deep: bool = True
    ) -> list[dict[str, Any]]:
        """Per (dataset or file, RSE): length, available_length, available_bytes."""
        rows: list[dict[str, Any]] = []
        if kind == "FILE":
            body = {"dids": [{"scope": did.scope, "name": did.name}], "all_states": True}
            lines = inst.client.stream(
                "POST", "replicas", "list", json_body=body, context={"did": str(did)}
            )
            async with contextlib.aclosing(lines):
                async for replica in lines:
                    for rse, state in (replica.get("states") or {}).items():
                        ok = str(state).endswith("AVAILABLE")
                        rows.append(
                            {
                                "key": str(did),
                                "rse": rse,
                                "length": 1,
                                "available_length": 1 if ok else 0,
                                "available_bytes": replica.get("bytes") if ok else 0,
                            }
                        )
            return rows
        datasets = [did]
        if kind == "CONTAINER":
            datasets = []
            lines = inst.client.stream(
                "GET", "dids", did.scope, did.name, "dids", context={"did": str(did)}
            )
            async with contextlib.aclosing(lines):
                async for child in lines:
                    child_type = did_type(child.get("type") or child.get("did_type"))
                    if child_type == "DATASET":
                        datasets.append(DID(child["scope"], child["name"]))
                    if len(datasets) >= MAX_DATASETS_FOR_STATE:
                        break
        for dataset in datasets:
            lines = inst.client.stream(
                "GET",
                "replicas",
                dataset.scope,
                dataset.name,
                "datasets",
                params={"deep": "True"} if deep else None,
                context={"did": str(dataset)},
            )
            async with contextlib.aclosing(lines):
                async for row in lines:
                    rows.append(
                        {
                            "key": str(dataset),
                            "rse": row.get("rse"),
                            "length": row.get("length") or 0,
                            "available_length": row.get("available_length") or 0,
                            "available_bytes": row.get("available_bytes") or 0,
                        }
                    )
        return rows

    async def _near_hub(
        self, inst: _Instance, did: DID, kind: str, files: int | None
    ) -> dict[str, Any]:
        near = set(await inst.expression_rses(inst.config.site_expression))
        expressions = {c.expression for c in inst.config.qos_classes.values()}
        # Rules near the hub first: one cheap call, exact for what this product staged.
        ok_rses: set[str] = set()
        replicating = False
        lines = inst.client.stream(
            "GET", "dids", did.scope, did.name, "rules", context={"did": str(did)}
        )
        async with contextlib.aclosing(lines):
            async for rule in lines:
                expression = str(rule.get("rse_expression"))
                if expression not in expressions and inst.config.site_expression not in expression:
                    continue
                state = did_type(rule.get("state"))
                if state == "OK":
                    ok_rses.update(r for r in await inst.expression_rses(expression) if r in near)
                elif state in ("REPLICATING", "INJECT"):
                    replicating = True
        if ok_rses:
            return {"state": "AVAILABLE", "rses": sorted(ok_rses)}
        deep = files is None or files <= DEEP_REPLICA_LIMIT
        rows = [r for r in await self._replica_rows(inst, did, kind, deep) if r["rse"] in near]
        complete: dict[str, bool] = {}
        rses: set[str] = set()
        for row in rows:
            if row["available_length"] > 0:
                rses.add(row["rse"])
            done = row["length"] > 0 and row["available_length"] >= row["length"]
            complete[row["key"]] = complete.get(row["key"], False) or done
        if complete and all(complete.values()):
            state = "AVAILABLE"
        elif replicating:
            state = "REPLICATING"
        else:
            state = "PARTIAL" if rses else "NONE"
        return {"state": state, "rses": sorted(rses)}

    async def replicas(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        parsed = parse_did(did)
        info = await self._did(inst, parsed)
        kind = did_type(info.get("type"))
        deep = kind == "FILE" or (info.get("length") or 0) <= DEEP_REPLICA_LIMIT
        near = set(await inst.expression_rses(inst.config.site_expression))
        per_rse: dict[str, dict[str, int]] = {}
        for row in await self._replica_rows(inst, parsed, kind, deep):
            totals = per_rse.setdefault(row["rse"], {"files": 0, "bytes": 0})
            totals["files"] += int(row["available_length"] or 0)
            totals["bytes"] += int(row["available_bytes"] or 0)
        result = []
        for rse in sorted(per_rse):
            attrs = await inst.rse_attrs(rse)
            result.append(
                {
                    "rse": rse,
                    "qos": attrs.get("QOS"),
                    "site": attrs.get("site"),
                    "near_hub": rse in near,
                    "files": per_rse[rse]["files"],
                    "bytes": per_rse[rse]["bytes"],
                }
            )
        return {"rses": result}

    async def did_rules(self, did: str, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        parsed = parse_did(did)
        rules = []
        lines = inst.client.stream(
            "GET", "dids", parsed.scope, parsed.name, "rules", context={"did": str(parsed)}
        )
        async with contextlib.aclosing(lines):
            async for rule in lines:
                rules.append(rule)
        size = await inst.staging.did_size(str(parsed))
        return {"rules": [staging_from_rule(rule, inst.config, size) for rule in rules]}

    async def qos(self, *, instance: str | None = None) -> dict[str, Any]:
        inst = self._get(instance)
        classes = list(inst.config.qos_classes.values())
        rses = await asyncio.gather(*(inst.expression_rses(c.expression) for c in classes))
        return {
            "classes": [
                {
                    "name": c.name,
                    "description": c.description,
                    "expression": c.expression,
                    "rses": r,
                }
                for c, r in zip(classes, rses, strict=True)
            ]
        }

    # ---- stagings ---------------------------------------------------------------------------

    async def list_stagings(self, *, instance: str | None = None) -> dict[str, Any]:
        return {"stagings": await self._get(instance).staging.list()}

    async def stage_detailed(
        self,
        dids: object,
        qos: str | None = None,
        lifetime: object = None,
        source_qos: object = None,
        start_in: object = None,
        comment: object = None,
        *,
        instance: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Like stage(), plus whether any rule was created (the route answers 201 or 200)."""
        stagings, created = await self._get(instance).staging.stage(
            dids, qos, lifetime, source_qos, start_in, comment
        )
        return {"stagings": stagings}, created

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
        result, _ = await self.stage_detailed(
            dids, qos, lifetime, source_qos, start_in, comment, instance=instance
        )
        return result

    async def get_staging(self, rule_id: str, *, instance: str | None = None) -> dict[str, Any]:
        return await self._get(instance).staging.get(rule_id)

    async def extend(
        self, rule_id: str, lifetime: object, *, instance: str | None = None
    ) -> dict[str, Any]:
        return await self._get(instance).staging.extend(rule_id, lifetime)

    async def release(self, rule_id: str, *, instance: str | None = None) -> None:
        await self._get(instance).staging.release(rule_id)

    # ---- paths ------------------------------------------------------------------------------

    async def paths(
        self, did: str, qos: str | None = None, *, instance: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """One dict per file: ``{"did","state","path","url","rse"}``."""
        inst = self._get(instance)
        parsed = parse_did(did)
        expression = (
            inst.config.site_expression if qos in (None, "") else qos_expression(inst.config, qos)
        )
        async for entry in inst.paths.paths(str(parsed), expression):
            yield entry

    async def close(self) -> None:
        instances, self._instances = list(self._instances.values()), {}
        for inst in instances:
            await inst.close()
