"""Create the container demo:scale-1m: 10 datasets x 100,000 registered files, on demand.

For the 1M-file benchmarks (issue 15); not part of the default seed. Like demo:big-100k the
files are catalogue-only (replicas on LAKE-SAFE, no bytes on disk), but with sizes spread from
1 MiB to 4 GiB and checksums in Rucio's formats, derived from the name so every run makes the
same data. Idempotent and resumable (bulk.py): a second run only checks.
Usage: `scale.py TESTBED_DIR [--scope demo] [--name scale-1m] [--datasets 10] [--files 100000]`,
with the server config in RUCIO_CONFIG (testbed/scale.sh sets it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rucio.common.exception import DataIdentifierNotFound, Duplicate
from rucio.gateway import did, scope

import bulk

RSE = "LAKE-SAFE"
ISSUER = "root"
META = {"datatype": "SIM", "project": "bench"}


def log(msg: str) -> None:
    print(f"scale: {msg}", flush=True)


def file_of(name: str) -> bulk.File:
    digest = hashlib.md5(name.encode()).digest()
    # Log-uniform from 1 MiB to 4 GiB, like a mix of small logs and large data files.
    fraction = int.from_bytes(digest[:4], "big") / 2**32
    return bulk.File(
        name=name,
        bytes=int(2 ** (20 + 12 * fraction)),
        adler32=f"{zlib.adler32(name.encode()) & 0xFFFFFFFF:08x}",
        md5=digest.hex(),
    )


def files_of(dataset: str, count: int) -> Callable[[], Iterator[bulk.File]]:
    return lambda: (file_of(f"{dataset}.f{k:06d}") for k in range(count))


def ensure_scope(name: str) -> None:
    with contextlib.suppress(Duplicate):
        scope.add_scope(name, ISSUER, issuer=ISSUER)


def ensure_container(in_scope: str, name: str, datasets: list[str]) -> None:
    try:
        did.get_did(in_scope, name)
    except DataIdentifierNotFound:
        did.add_did(in_scope, name, "CONTAINER", issuer=ISSUER, meta=META)
    attached = {child["name"] for child in did.list_content(in_scope, name)}
    missing = [{"scope": in_scope, "name": ds} for ds in datasets if ds not in attached]
    if missing:
        did.attach_dids(in_scope, name, {"dids": missing}, issuer=ISSUER)
    if did.get_did(in_scope, name)["open"]:
        did.set_status(in_scope, name, issuer=ISSUER, open=False)


def db_size(tb: Path) -> int:
    db = tb / "var" / "rucio.db"
    return sum(p.stat().st_size for p in (db, db.with_name("rucio.db-wal")) if p.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("testbed_dir", type=Path)
    parser.add_argument("--scope", default="demo")
    parser.add_argument("--name", default="scale-1m")
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    tb = args.testbed_dir.resolve()

    started, size_before = time.monotonic(), db_size(tb)
    ensure_scope(args.scope)
    datasets = [f"{args.name}-ds{i:02d}" for i in range(args.datasets)]
    created = 0
    for index, dataset in enumerate(datasets):
        t0 = time.monotonic()
        made = bulk.register_dataset(
            args.scope,
            dataset,
            RSE,
            files_of(dataset, args.files),
            args.files,
            meta={**META, "run_number": index},
            progress=log,
        )
        if made:
            created += 1
            log(f"{args.scope}:{dataset} in {time.monotonic() - t0:.1f} s")
    ensure_container(args.scope, args.name, datasets)
    total = args.datasets * args.files
    log(
        f"{args.scope}:{args.name} ({args.datasets} datasets, {total:,} files) ready in "
        f"{time.monotonic() - started:.1f} s ({created} datasets created); "
        f"database {db_size(tb) / 2**20:,.0f} MiB (+{(db_size(tb) - size_before) / 2**20:,.0f} MiB)"
    )


if __name__ == "__main__":
    sys.exit(main())
