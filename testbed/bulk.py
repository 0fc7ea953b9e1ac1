"""Register many files (catalogue only, no bytes on disk) in a dataset, fast.

The stock way, `rucio.gateway.did.attach_dids(..., {"rse": ..., "dids": files})`, checks each
file with an OR of per-file conditions, and SQLite's expression depth limit (1000) caps that at a
few hundred files per call: 100,000 files took 40-250 s. Here the same rows that call writes
(`dids`, `replicas`, `contents`, and the RSE counter update through Rucio's own
`rse_counter.increase`) are inserted with one multi-row INSERT per table and batch, through
Rucio's SQLAlchemy models and session, so column defaults and types are Rucio's. The dataset
itself is created and closed through the gateway, as the stock path does (metadata checks,
bytes/length, the CLOSE message).

The dataset also gets its collection replica on the RSE, counted by Rucio's own
`update_collection_replica` (what abacus-collection-replica runs), as data placed by a rule would
have: Rucio's dataset-level answers (`GET /replicas/{scope}/{name}/datasets`) then know where it is.

Only for new, rule-free datasets whose files do not exist yet (the testbed's generated data):
nothing here re-evaluates rules, and a name clash is an error, not a merge. Resumable: batches
are transactions written in name order, so a run stopped halfway continues after the last
batch that made it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rucio.common.types import InternalAccount, InternalScope
from rucio.core import rse_counter
from rucio.core.replica import update_collection_replica
from rucio.core.rse import get_rse_id
from rucio.db.sqla import models
from rucio.db.sqla.constants import DIDType, ReplicaState
from rucio.db.sqla.session import read_session, transactional_session
from rucio.gateway import did
from sqlalchemy import func, insert, select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ISSUER = "root"
# Rows per transaction: large enough that per-statement overhead vanishes, small enough that
# the API server and the daemon loop, which share the SQLite file, wait at most a second or so.
BATCH = 20_000


@dataclass(frozen=True)
class File:
    name: str
    bytes: int
    adler32: str
    md5: str | None = None


@read_session
def _dataset_state(scope: InternalScope, name: str, *, session: Session) -> tuple[bool, int] | None:
    """(is_open, number of attached files), or None when the dataset does not exist."""
    row = session.execute(
        select(models.DataIdentifier.is_open).where(
            models.DataIdentifier.scope == scope, models.DataIdentifier.name == name
        )
    ).first()
    if row is None:
        return None
    count = session.execute(
        select(func.count())
        .select_from(models.DataIdentifierAssociation)
        .where(
            models.DataIdentifierAssociation.scope == scope,
            models.DataIdentifierAssociation.name == name,
        )
    ).scalar_one()
    return bool(row.is_open), count


@transactional_session
def _add_collection_replica(
    scope: InternalScope, name: str, rse_id: str, *, session: Session
) -> None:
    exists = session.execute(
        select(models.CollectionReplica.rse_id).where(
            models.CollectionReplica.scope == scope,
            models.CollectionReplica.name == name,
            models.CollectionReplica.rse_id == rse_id,
        )
    ).first()
    if exists:
        return
    dataset = session.execute(
        select(models.DataIdentifier.bytes, models.DataIdentifier.length).where(
            models.DataIdentifier.scope == scope, models.DataIdentifier.name == name
        )
    ).one()
    session.execute(
        insert(models.CollectionReplica.__table__).values(
            scope=scope,
            name=name,
            did_type=DIDType.DATASET,
            rse_id=rse_id,
            bytes=dataset.bytes,
            length=dataset.length,
            state=ReplicaState.UNAVAILABLE,
        )
    )
    # Queued and processed at once, as abacus-collection-replica would.
    request = models.UpdatedCollectionReplica(
        scope=scope, name=name, did_type=DIDType.DATASET, rse_id=rse_id
    )
    request.save(session=session)
    update_collection_replica(request.to_dict(), session=session)


@transactional_session
def _insert_batch(
    dataset: tuple[InternalScope, str],
    rse_id: str,
    account: InternalAccount,
    files: list[File],
    *,
    session: Session,
) -> None:
    ds_scope, ds_name = dataset
    session.execute(
        insert(models.DataIdentifier.__table__),
        [
            {
                "scope": ds_scope,
                "name": f.name,
                "account": account,
                "did_type": DIDType.FILE,
                "bytes": f.bytes,
                "md5": f.md5,
                "adler32": f.adler32,
            }
            for f in files
        ],
    )
    session.execute(
        insert(models.RSEFileAssociation.__table__),
        [
            {
                "rse_id": rse_id,
                "scope": ds_scope,
                "name": f.name,
                "bytes": f.bytes,
                "md5": f.md5,
                "adler32": f.adler32,
                "state": ReplicaState.AVAILABLE,
                "lock_cnt": 0,
            }
            for f in files
        ],
    )
    # rule_evaluation stays NULL: the dataset has no rule yet, which is what the judge-evaluator
    # leaves behind after the stock attach.
    session.execute(
        insert(models.DataIdentifierAssociation.__table__),
        [
            {
                "scope": ds_scope,
                "name": ds_name,
                "child_scope": ds_scope,
                "child_name": f.name,
                "did_type": DIDType.DATASET,
                "child_type": DIDType.FILE,
                "bytes": f.bytes,
                "adler32": f.adler32,
                "md5": f.md5,
            }
            for f in files
        ],
    )
    rse_counter.increase(rse_id, len(files), sum(f.bytes for f in files), session=session)


def _batches(files: Iterator[File], skip: int) -> Iterator[list[File]]:
    batch: list[File] = []
    for index, f in enumerate(files):
        if index < skip:
            continue
        batch.append(f)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def register_dataset(
    scope: str,
    name: str,
    rse: str,
    files: Callable[[], Iterator[File]],
    total: int,
    meta: dict[str, Any] | None = None,
    progress: Callable[[str], None] = print,
) -> bool:
    """Create dataset scope:name with `total` files from `files()` on `rse`, closed.

    `files()` must yield the same files in the same order on every call (it is re-run to
    resume). Returns False when the dataset was already complete (nothing done).
    """
    internal_scope = InternalScope(scope)
    rse_id = get_rse_id(rse)
    state = _dataset_state(internal_scope, name)
    complete = state is not None and not state[0]
    if not complete:
        if state is None:
            did.add_did(scope, name, "DATASET", issuer=ISSUER, meta=meta or {})
        done = state[1] if state else 0
        account = InternalAccount(ISSUER)
        started, resumed_at = time.monotonic(), done
        for batch in _batches(files(), done):
            _insert_batch((internal_scope, name), rse_id, account, batch)
            done += len(batch)
            rate = (done - resumed_at) / max(time.monotonic() - started, 1e-3)
            progress(f"{scope}:{name}: {done:,} of {total:,} files ({rate:,.0f} files/s)")
        # Closing also computes the dataset's bytes and length, as after a stock attach.
        did.set_status(scope, name, issuer=ISSUER, open=False)
    _add_collection_replica(internal_scope, name, rse_id)
    return not complete
