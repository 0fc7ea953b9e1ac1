"""Create the container demo:scale-1m: 10 datasets x 100,000 registered files, on demand.

For the 1M-file benchmarks (issue 15); not part of the default seed. Like demo:big-100k the
files are catalogue-only (replicas on LAKE-SAFE, no bytes on disk), but with sizes spread from
1 MiB to 4 GiB and checksums in Rucio's formats, derived from the name so every run makes the
same data. Idempotent and resumable (bulk.py): a second run only checks.
Usage: `scale.py TESTBED_DIR [--name scale-1m] [--datasets 10] [--files 100000]`, with the
server config in RUCIO_CONFIG (testbed/scale.sh sets it).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rucio.common.exception import DataIdentifierNotFound
from rucio.gateway import did

import bulk

SCOPE = "demo"
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


def ensure_container(name: str, datasets: list[str]) -> None:
    try:
        did.get_did(SCOPE, name)
    except DataIdentifierNotFound:
        did.add_did(SCOPE, name, "CONTAINER", issuer=ISSUER, meta=META)
    attached = {child["name"] for child in did.list_content(SCOPE, name)}
    missing = [{"scope": SCOPE, "name": ds} for ds in datasets if ds not in attached]
    if missing:
        did.attach_dids(SCOPE, name, {"dids": missing}, issuer=ISSUER)
    if did.get_did(SCOPE, name)["open"]:
        did.set_status(SCOPE, name, issuer=ISSUER, open=False)


def db_size(tb: Path) -> int:
    db = tb / "var" / "rucio.db"
    return sum(p.stat().st_size for p in (db, db.with_name("rucio.db-wal")) if p.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("testbed_dir", type=Path)
    parser.add_argument("--name", default="scale-1m")
    parser.add_argument("--datasets", type=int, default=10)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    tb = args.testbed_dir.resolve()

    started, size_before = time.monotonic(), db_size(tb)
    datasets = [f"{args.name}-ds{i:02d}" for i in range(args.datasets)]
    created = 0
    for index, dataset in enumerate(datasets):
        t0 = time.monotonic()
        made = bulk.register_dataset(
            SCOPE,
            dataset,
            RSE,
            files_of(dataset, args.files),
            args.files,
            meta={**META, "run_number": index},
            progress=log,
        )
        if made:
            created += 1
            log(f"{SCOPE}:{dataset} in {time.monotonic() - t0:.1f} s")
    ensure_container(args.name, datasets)
    total = args.datasets * args.files
    log(
        f"{SCOPE}:{args.name} ({args.datasets} datasets, {total:,} files) ready in "
        f"{time.monotonic() - started:.1f} s ({created} datasets created); "
        f"database {db_size(tb) / 2**20:,.0f} MiB (+{(db_size(tb) - size_before) / 2**20:,.0f} MiB)"
    )


if __name__ == "__main__":
    sys.exit(main())
