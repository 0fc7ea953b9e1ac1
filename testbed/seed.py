"""Seed the testbed: accounts, RSEs, quotas and demo data.

Runs once, right after the DB bootstrap, in-process through rucio.gateway (the layer the
REST endpoints call, permission checks included) as root; the 100,000 catalogue-only files of
demo:big-100k go in through bulk.py (the same rows, multi-row inserts: ~6 s instead of 40-250 s).
Needs RUCIO_CONFIG pointing at the server config; `seed.py TESTBED_DIR`.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import sys
import time
import zlib
from collections.abc import Iterator
from itertools import permutations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rucio.daemons.common import HeartbeatHandler
from rucio.daemons.judge import evaluator
from rucio.db.sqla import models
from rucio.db.sqla.session import read_session
from rucio.gateway import (
    account,
    account_limit,
    did,
    identity,
    meta_conventions,
    replica,
    rse,
    rule,
    scope,
)
from rucio.rse import rsemanager
from sqlalchemy import func, select

import bulk

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ISSUER = "root"
ALICE = "alice"
DEMO_SCOPE = "demo"

# name -> (site, QoS class). Hub-side RSEs are where notebooks read from.
RSES: dict[str, tuple[str, str]] = {
    "HUB-FAST": ("HUB", "FAST"),
    "HUB-CHEAP": ("HUB", "CHEAP-ANALYSIS"),
    "LAKE-SAFE": ("LAKE", "SAFE"),
    "LAKE-OPPORTUNISTIC": ("LAKE", "OPPORTUNISTIC"),
    "FAR-FAST": ("FAR", "FAST"),
}
SOURCE_RSE = "LAKE-SAFE"
# 10 TB: big enough to never bind, and finite so limits do not serialise as JSON Infinity.
QUOTA_BYTES = 10 * 10**12

LOFAR_DATASETS = 3
FILES_PER_DATASET = 4
# Sizes from a few KiB to a few MiB; 3 datasets x ~3.3 MiB stay well under 20 MiB.
FILE_SIZES = (4 * 1024, 96 * 1024, 700 * 1024, 2560 * 1024)
BIG_DATASET = "big-100k"
BIG_FILES = 100_000
# Nominal size: 100,000 x 200 MiB = 20 TiB, more than alice's 10 TB quota, so a rule on
# the whole dataset is suspended by the judge-injector (Rucio injects rules on >= 10,000
# files asynchronously) instead of queueing 100,000 transfers of files with no bytes on disk.
BIG_FILE_BYTES = 200 * 2**20


def adler32_hex(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def log(msg: str) -> None:
    print(f"seed: {msg}", flush=True)


def seed_accounts(alice_password: str) -> None:
    account.add_account(ALICE, "USER", "alice@localhost", issuer=ISSUER)
    identity.add_account_identity(
        identity_key=ALICE,
        id_type="USERPASS",
        account=ALICE,
        email="alice@localhost",
        issuer=ISSUER,
        password=alice_password,
        default=True,
    )
    scope.add_scope(f"user.{ALICE}", ALICE, issuer=ISSUER)
    scope.add_scope(DEMO_SCOPE, "root", issuer=ISSUER)
    # Rucio validates a dataset's `datatype` against the metadata conventions table.
    meta_conventions.add_key("datatype", "ALL", issuer=ISSUER)
    for value in ("RAW", "SIM"):
        meta_conventions.add_value("datatype", value, issuer=ISSUER)


def seed_rses(storage: Path) -> None:
    domains = {
        "wan": {
            "read": 1,
            "write": 1,
            "delete": 1,
            "third_party_copy_read": 1,
            "third_party_copy_write": 1,
        },
        "lan": {"read": 1, "write": 1, "delete": 1},
    }
    for name, (site, qos) in RSES.items():
        prefix = storage / name
        prefix.mkdir(parents=True, exist_ok=True)
        rse.add_rse(name, issuer=ISSUER, deterministic=True, rse_type="DISK")
        rse.add_protocol(
            name,
            issuer=ISSUER,
            data={
                "scheme": "file",
                "hostname": "localhost",
                "port": 0,
                "prefix": f"{prefix}/",
                "impl": "rucio.rse.protocols.posix.Default",
                "domains": domains,
            },
        )
        rse.update_rse(name, {"qos_class": qos}, issuer=ISSUER)
        # lfn2pfn as an RSE attribute, so clients (which do not read the server's
        # [policy] default) compute the same PFNs as the server.
        for key, value in (("site", site), ("QOS", qos), ("lfn2pfn_algorithm", "identity")):
            rse.add_rse_attribute(name, key, value, issuer=ISSUER)
        for acct in (ALICE, "root"):
            account_limit.set_local_account_limit(acct, name, QUOTA_BYTES, issuer=ISSUER)
    # Same site is closer than another site; transfers need a distance for every pair.
    for src, dst in permutations(RSES, 2):
        distance = 1 if RSES[src][0] == RSES[dst][0] else 2
        rse.add_distance(src, dst, issuer=ISSUER, distance=distance)


def file_paths(names: list[str]) -> dict[str, Path]:
    """Local paths on the source RSE where Rucio expects each file (deterministic PFNs)."""
    info = rsemanager.get_rse_info(SOURCE_RSE)
    lfns = [{"scope": DEMO_SCOPE, "name": n} for n in names]
    pfns = rsemanager.lfns2pfns(info, lfns, operation="write", scheme="file")
    proto = rsemanager.create_protocol(info, "write", "file")
    return {n: Path(proto.pfn2path(pfns[f"{DEMO_SCOPE}:{n}"])) for n in names}


def seed_lofar() -> int:
    total = 0
    datasets = []
    for i in range(LOFAR_DATASETS):
        ds = f"lofar-obs-sb{i:03d}"
        names = [f"{ds}.f{j}.h5" for j in range(FILES_PER_DATASET)]
        paths = file_paths(names)
        files: list[dict[str, Any]] = []
        for name, size in zip(names, FILE_SIZES, strict=True):
            data = os.urandom(size)
            paths[name].parent.mkdir(parents=True, exist_ok=True)
            paths[name].write_bytes(data)
            total += size
            files.append(
                {
                    "scope": DEMO_SCOPE,
                    "name": name,
                    "bytes": size,
                    "adler32": adler32_hex(data),
                    "md5": hashlib.md5(data).hexdigest(),
                }
            )
        replica.add_replicas(SOURCE_RSE, files, issuer=ISSUER)
        did.add_did(
            DEMO_SCOPE,
            ds,
            "DATASET",
            issuer=ISSUER,
            meta={"datatype": "RAW", "project": "lofar", "run_number": 100 + i},
        )
        attachment = {"dids": [{"scope": DEMO_SCOPE, "name": f["name"]} for f in files]}
        did.attach_dids(DEMO_SCOPE, ds, attachment, issuer=ISSUER)
        # Published data is closed; closing also fills the dataset's length and bytes.
        did.set_status(DEMO_SCOPE, ds, issuer=ISSUER, open=False)
        datasets.append({"scope": DEMO_SCOPE, "name": ds})
    did.add_did(
        DEMO_SCOPE,
        "lofar-obs",
        "CONTAINER",
        issuer=ISSUER,
        meta={"datatype": "RAW", "project": "lofar"},
    )
    did.attach_dids(DEMO_SCOPE, "lofar-obs", {"dids": datasets}, issuer=ISSUER)
    did.set_status(DEMO_SCOPE, "lofar-obs", issuer=ISSUER, open=False)
    # Custodial copy: root's rule pins the demo data on LAKE-SAFE.
    rule.add_replication_rule(
        dids=[{"scope": DEMO_SCOPE, "name": "lofar-obs"}],
        copies=1,
        rse_expression=SOURCE_RSE,
        weight=None,
        lifetime=None,
        grouping="DATASET",
        account="root",
        locked=False,
        subscription_id=None,
        source_replica_expression=None,
        activity=None,
        notify=None,
        purge_replicas=False,
        ignore_availability=False,
        comment="testbed: custodial copy of the demo data",
        ask_approval=False,
        asynchronous=False,
        delay_injection=None,
        priority=3,
        split_container=False,
        meta=None,
        issuer=ISSUER,
    )
    return total


def big_files() -> Iterator[bulk.File]:
    for k in range(BIG_FILES):
        name = f"{BIG_DATASET}.f{k:06d}"
        yield bulk.File(
            name, BIG_FILE_BYTES, adler32_hex(name.encode()), hashlib.md5(name.encode()).hexdigest()
        )


def seed_big() -> None:
    """100,000 registered files for browsing/paging/streaming tests; no bytes on disk.

    Sizes are nominal (BIG_FILE_BYTES) and checksums are derived from the name; a
    transfer of one of these files fails (no source bytes), which is by design.
    """
    bulk.register_dataset(
        DEMO_SCOPE,
        BIG_DATASET,
        SOURCE_RSE,
        big_files,
        BIG_FILES,
        meta={"datatype": "SIM", "project": "bench", "run_number": 9},
        progress=log,
    )


@read_session
def _evaluation_backlog(*, session: Session) -> int:
    return session.execute(select(func.count()).select_from(models.UpdatedDID)).scalar_one()


def settle() -> None:
    """Run the stock judge-evaluator over the seed's attachments now.

    Re-evaluating the 100k-file dataset takes seconds; doing it here means the daemon
    loop starts idle and the first user rule is not queued behind it.
    """
    with HeartbeatHandler(evaluator.DAEMON_NAME, 60) as handler:
        # Bounded: anything left over (e.g. a paused DID) is the daemon loop's job.
        for _ in range(100):
            if not _evaluation_backlog():
                break
            evaluator.run_once(paused_dids={}, did_limit=1000, heartbeat_handler=handler)


def main() -> None:
    tb = Path(sys.argv[1]).resolve()
    # Read from the 0600 client config rather than argv, which any local user can see.
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(tb / "rucio.cfg")
    alice_password = cfg.get("client", "password")
    t0 = time.monotonic()
    seed_accounts(alice_password)
    seed_rses(tb / "storage")
    log(f"accounts and RSEs in {time.monotonic() - t0:.1f} s")
    t1 = time.monotonic()
    total = seed_lofar()
    log(f"demo:lofar-obs ({total / 2**20:.1f} MiB) in {time.monotonic() - t1:.1f} s")
    t2 = time.monotonic()
    seed_big()
    log(f"demo:{BIG_DATASET} ({BIG_FILES} files) in {time.monotonic() - t2:.1f} s")
    t3 = time.monotonic()
    settle()
    log(f"judge-evaluator pass over the new content in {time.monotonic() - t3:.1f} s")
    log(f"done in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
