"""Before you stage, what will happen: for a DID and a QoS class, the storage Rucio will use
(near the hub or not), what is already there, how many files and bytes will move and from
where, and your quota left on that storage.

Bounded work, whatever the DID's size: the DID's size (one call), its replicas per RSE as
dataset replica counts (``Availability.replicas``: at most 200 datasets, no file list), the
rules on the DID (one stream), the class's RSEs and the account's usage on each (both kept a
while). Rucio picks the RSE when the rule is made; this says which one it most likely picks:
among those with room for the DID, the one that already holds most of it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .availability import Availability
from .config import InstanceConfig
from .did import DID
from .quota import Quota
from .rucio import RucioClient
from .sizes import format_bytes
from .staging import StagingManager, is_released, resolve_qos, staging_from_rule


class Preview:
    def __init__(
        self,
        instance: InstanceConfig,
        client: RucioClient,
        availability: Availability,
        staging: StagingManager,
        quota: Quota,
    ) -> None:
        self.instance = instance
        self.client = client
        self.availability = availability
        self.staging = staging
        self.quota = quota

    async def preview(self, did: DID, qos: str | None) -> dict[str, Any]:
        qos_class = resolve_qos(self.instance, qos)
        account = await self.staging.account()
        info = await self.client.did(did)
        files = 1 if info.get("type") == "FILE" else int(info.get("length") or 0)
        size = int(info.get("bytes") or 0)
        near = set(await self.availability.expression_rses(self.instance.site_expression))
        replicas = (await self.availability.replicas(did))["rses"]
        present = {r["rse"]: r for r in replicas}
        targets = []
        for rse in await self.availability.expression_rses(qos_class.expression):
            left, known = await self.quota.room(account, rse)
            here = present.get(rse, {})
            targets.append(
                {
                    "rse": rse,
                    "near_hub": rse in near,
                    "files_present": int(here.get("files") or 0),
                    "bytes_present": int(here.get("bytes") or 0),
                    "quota_left": left,
                    "quota_known": known,
                    "fits": left is None or size <= left,
                }
            )
        existing = await self._existing(did, account, qos_class.expression, (size, files))
        fitting = [t for t in targets if t["fits"]]
        target = max(
            fitting, key=lambda t: (t["bytes_present"], t["quota_left"] or 0), default=None
        )
        to_move = (
            {
                "files": max(0, files - target["files_present"]),
                "bytes": max(0, size - target["bytes_present"]),
            }
            if target
            else None
        )
        sources = [
            {k: r[k] for k in ("rse", "site", "qos", "near_hub", "files", "bytes")}
            for r in replicas
            if r["files"] > 0 and (target is None or r["rse"] != target["rse"])
        ]
        return {
            "did": str(did),
            "qos": qos_class.name,
            "expression": qos_class.expression,
            "files": files,
            "bytes": size,
            "near_hub": bool(targets) and all(t["near_hub"] for t in targets),
            "targets": targets,
            "target": target["rse"] if target else None,
            "to_move": to_move,
            "sources": sources,
            "existing": existing,
            "fits": existing is not None or target is not None,
            "message": self._message(qos_class.name, targets, size, existing),
        }

    async def _existing(
        self, did: DID, account: str, expression: str, size: tuple[int, int]
    ) -> dict[str, Any] | None:
        """This account's staging of the DID on the class's storage, when there is one."""
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                if (
                    rule.get("account") == account
                    and rule.get("rse_expression") == expression
                    and not is_released(rule)
                ):
                    return staging_from_rule(rule, self.instance, size)
        return None

    @staticmethod
    def _message(
        qos: str, targets: list[dict[str, Any]], size: int, existing: dict[str, Any] | None
    ) -> str | None:
        """Why staging would be refused, in a sentence; None when it would go ahead."""
        if existing is not None:
            return None
        if not targets:
            return f"No storage matches the QoS class {qos}: choose another class."
        if any(t["fits"] for t in targets):
            return None
        room = max(int(t["quota_left"] or 0) for t in targets)
        return (
            f"Over your Rucio quota: this needs {format_bytes(size)} and your quota for {qos} "
            f"has {format_bytes(room)} left. Stage a smaller part, release other stagings, or "
            "ask your data manager for more quota."
        )
