"""Files and bytes of a DID per RSE, from Rucio's dataset replica counts: never a per-file list
for a dataset (a 100k-file dataset is one line per RSE), at most ``MAX_DATASETS_FOR_STATE``
datasets of a container. Used by the DID's replicas, its near-hub state and a staging's bytes
arrived.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .browse import did_type
from .did import DID
from .rucio import RucioClient

MAX_DATASETS_FOR_STATE = 200
# Above this many files Rucio's deep dataset-replica count is too slow (minutes on SQLite):
# use the stored collection replicas (kept up to date by abacus) instead.
DEEP_REPLICA_LIMIT = 20000


async def replica_rows(
    client: RucioClient, did: DID, kind: str, deep: bool = True
) -> list[dict[str, Any]]:
    """Per (dataset or file, RSE): length, available_length, available_bytes."""
    rows: list[dict[str, Any]] = []
    if kind == "FILE":
        lines = client.list_replicas([{"scope": did.scope, "name": did.name}])
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
        lines = client.did_children(did)
        async with contextlib.aclosing(lines):
            async for child in lines:
                if did_type(child.get("type") or child.get("did_type")) == "DATASET":
                    datasets.append(DID(child["scope"], child["name"]))
                if len(datasets) >= MAX_DATASETS_FOR_STATE:
                    break
    for dataset in datasets:
        lines = client.dataset_replicas(dataset, deep=deep)
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
