"""Where data is: replicas per RSE, whether a DID is near the hub, the rules on a DID, QoS classes.

"Near the hub" means on an RSE the instance's ``site_expression`` selects. RSE expressions and
attributes change rarely, so they are kept a few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any

from ..errors import DatalakeError
from .browse import did_type
from .config import InstanceConfig
from .did import DID
from .replica_counts import DEEP_REPLICA_LIMIT, MAX_DATASETS_FOR_STATE, replica_rows
from .rucio import RucioClient
from .staging import StagingManager, is_released, staging_from_rule

RSE_CACHE_TTL = 300.0


def sampled(more: bool) -> dict[str, Any]:
    """Said when a container's summary counted only its first datasets."""
    return {"sampled_datasets": MAX_DATASETS_FOR_STATE} if more else {}


class Availability:
    def __init__(
        self, instance: InstanceConfig, client: RucioClient, staging: StagingManager
    ) -> None:
        self.instance = instance
        self.client = client
        self.staging = staging
        self._expression_rses: dict[str, tuple[float, list[str]]] = {}
        self._rse_attributes: dict[str, dict[str, Any]] = {}

    async def expression_rses(self, expression: str) -> list[str]:
        """The RSEs an expression selects, sorted; none when Rucio finds the expression empty."""
        cached = self._expression_rses.get(expression)
        if cached and time.monotonic() - cached[0] < RSE_CACHE_TTL:
            return cached[1]
        try:
            rses = sorted(await self.client.rses(expression))
        except DatalakeError as e:
            if e.reason not in ("NO_ELIGIBLE_RSE", "RUCIO_REFUSED"):
                raise
            rses = []
        self._expression_rses[expression] = (time.monotonic(), rses)
        return rses

    async def rse_attributes(self, rse: str) -> dict[str, Any]:
        if rse not in self._rse_attributes:
            self._rse_attributes[rse] = await self.client.rse_attributes(rse)
        return self._rse_attributes[rse]

    async def qos(self) -> dict[str, Any]:
        """The QoS classes with the near-hub RSEs that serve each."""
        classes = list(self.instance.qos_classes.values())
        rses = await asyncio.gather(*(self.expression_rses(c.expression) for c in classes))
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

    async def near_hub(self, did: DID, details: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        """``{"state": AVAILABLE|REPLICATING|PARTIAL|NONE, "rses": [...]}`` near the hub.
        ``details`` is the DID's own answer (its type and length), asked meanwhile: the rules
        are read before it is needed."""
        site = self.instance.site_expression
        near = set(await self.expression_rses(site))
        # Rules near the hub first: one cheap call, exact for what this product staged.
        ok_rses: set[str] = set()
        replicating = False
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                expression = str(rule.get("rse_expression"))
                if is_released(rule) or not self.staging.near_hub(expression):
                    continue
                state = did_type(rule.get("state"))
                if state == "OK":
                    ok_rses.update(r for r in await self.expression_rses(expression) if r in near)
                elif state in ("REPLICATING", "INJECT"):
                    replicating = True
        if ok_rses:
            return {"state": "AVAILABLE", "rses": sorted(ok_rses)}
        info = await details
        kind = info["type"]
        files = 1 if kind == "FILE" else info.get("length")
        deep = files is None or files <= DEEP_REPLICA_LIMIT
        all_rows, more = await replica_rows(self.client, did, kind, deep)
        rows = [r for r in all_rows if r["rse"] in near or r["rse"] is None]
        complete: dict[str, bool] = {}
        rses: set[str] = set()
        for row in rows:
            if row["available_length"] > 0 and row["rse"] is not None:
                rses.add(row["rse"])
            done = row["length"] > 0 and row["available_length"] >= row["length"]
            complete[row["key"]] = complete.get(row["key"], False) or done
        if complete and all(complete.values()):
            state = "AVAILABLE"
        elif replicating:
            state = "REPLICATING"
        else:
            state = "PARTIAL" if rses else "NONE"
        return {"state": state, "rses": sorted(rses), **sampled(more)}

    async def replicas(self, did: DID) -> dict[str, Any]:
        """Files and bytes per RSE, with the RSE's QoS class, site and whether it is near."""
        info = await self.client.did(did)
        kind = did_type(info.get("type"))
        deep = kind == "FILE" or (info.get("length") or 0) <= DEEP_REPLICA_LIMIT
        near = set(await self.expression_rses(self.instance.site_expression))
        per_rse: dict[str, dict[str, int]] = {}
        rows, more = await replica_rows(self.client, did, kind, deep)
        for row in rows:
            if row["rse"] is None:
                continue
            totals = per_rse.setdefault(row["rse"], {"files": 0, "bytes": 0})
            totals["files"] += int(row["available_length"] or 0)
            totals["bytes"] += int(row["available_bytes"] or 0)
        result = []
        for rse in sorted(per_rse):
            attributes = await self.rse_attributes(rse)
            result.append(
                {
                    "rse": rse,
                    "qos": attributes.get("QOS"),
                    "site": attributes.get("site"),
                    "near_hub": rse in near,
                    "files": per_rse[rse]["files"],
                    "bytes": per_rse[rse]["bytes"],
                }
            )
        return {"rses": result, **sampled(more)}

    async def rules(self, did: DID) -> dict[str, Any]:
        """Every rule on the DID, as Staging documents (whoever made them), but the stagings
        released here: Rucio keeps them up to an hour, they are no rules any more."""
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            rules = [rule async for rule in lines if not is_released(rule)]
        size = await self.staging.did_size(did)
        return {"rules": [staging_from_rule(rule, self.instance, size) for rule in rules]}
