"""Files and bytes of a DID per RSE, from Rucio's dataset replica counts: never a per-file list
for a dataset (a 100k-file dataset is one line per RSE), and of a container at most
``MAX_DATASETS_FOR_STATE`` datasets, their stored counts asked in bulk. Used by the DID's
replicas, its near-hub state and a staging's bytes arrived.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .browse import did_type
from .did import DID
from .rucio import RucioClient

# A summary of a container reads at most this many of its datasets (never its whole content)
# and says so when there are more.
MAX_DATASETS_FOR_STATE = 200
# Datasets per bulk lookup of stored counts: one Rucio call answers them all.
BULK_DATASETS = 100
# Above this many files Rucio's deep dataset-replica count is too slow (minutes on SQLite):
# use the stored collection replicas (kept up to date by abacus) instead.
DEEP_REPLICA_LIMIT = 20000


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "rse": row.get("rse"),
        "length": row.get("length") or 0,
        "available_length": row.get("available_length") or 0,
        "available_bytes": row.get("available_bytes") or 0,
    }


async def replica_rows(
    client: RucioClient, did: DID, kind: str, deep: bool = True
) -> tuple[list[dict[str, Any]], bool]:
    """Per (dataset or file, RSE): length, available_length, available_bytes; and whether a
    container has more datasets than were counted. Each dataset of a container also has a row
    with ``rse`` None: one no RSE holds yet is incomplete everywhere."""
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
        return rows, False
    if kind != "CONTAINER":
        lines = client.dataset_replicas(did, deep=deep)
        async with contextlib.aclosing(lines):
            rows = [{"key": str(did), **_counts(row)} async for row in lines]
        return rows, False
    datasets, more = await _datasets(client, did)
    for start in range(0, len(datasets), BULK_DATASETS):
        lines = client.dataset_replicas_bulk(datasets[start : start + BULK_DATASETS])
        async with contextlib.aclosing(lines):
            async for row in lines:
                rows.append({"key": f"{row['scope']}:{row['name']}", **_counts(row)})
    for dataset in datasets:
        rows.append(
            {
                "key": str(dataset),
                "rse": None,
                "length": 1,
                "available_length": 0,
                "available_bytes": 0,
            }
        )
    return rows, more


async def _datasets(client: RucioClient, container: DID) -> tuple[list[DID], bool]:
    """The first ``MAX_DATASETS_FOR_STATE`` datasets of a container, and whether more follow
    (the listing is closed there: a summary never reads a whole content)."""
    datasets: list[DID] = []
    lines = client.did_children(container)
    async with contextlib.aclosing(lines):
        async for child in lines:
            if did_type(child.get("type") or child.get("did_type")) == "DATASET":
                if len(datasets) == MAX_DATASETS_FOR_STATE:
                    return datasets, True
                datasets.append(DID(child["scope"], child["name"]))
    return datasets, False
