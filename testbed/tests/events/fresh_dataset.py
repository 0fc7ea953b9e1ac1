"""New closed datasets of small real files on LAKE-SAFE, made by root through the REST API.

Usage: `fresh_dataset.py TESTBED_DIR NAME [COUNT]` makes NAME, or NAME-0 .. NAME-<COUNT-1>.

A separate process because the Rucio client keeps one token file per client config, so root
and alice cannot share a process. Prints the DID. Each test gets data nobody else staged, so
its rule needs real transfers (copies left on the hub by other tests would make it OK at once).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import zlib
from pathlib import Path

TB = Path(sys.argv[1]).resolve()
os.environ["RUCIO_CONFIG"] = str(TB / "rucio-root.cfg")
os.environ["RUCIO_CLIENT_MODE"] = "1"

from rucio.client import Client  # noqa: E402
from rucio.common.exception import Duplicate  # noqa: E402

# Test data stays out of the demo scope, which people and the UI tests browse.
SCOPE = "tbtest"
RSE = "LAKE-SAFE"
SIZES = (2048, 4096, 8192)


def make(client: Client, name: str) -> None:
    files = []
    for i, size in enumerate(SIZES):
        data = os.urandom(size)
        file_name = f"{name}.f{i}"
        # lfn2pfn `identity`: the file of scope:x on an RSE is storage/<RSE>/<scope>/x.
        path = TB / "storage" / RSE / SCOPE / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(
            {
                "scope": SCOPE,
                "name": file_name,
                "bytes": size,
                "adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
                "md5": hashlib.md5(data).hexdigest(),
            }
        )
    client.add_replicas(RSE, files)
    client.add_dataset(SCOPE, name)
    client.attach_dids(SCOPE, name, [{"scope": SCOPE, "name": f["name"]} for f in files])
    client.close(SCOPE, name)
    print(f"{SCOPE}:{name}", flush=True)


def main() -> None:
    client = Client()
    with contextlib.suppress(Duplicate):
        client.add_scope("root", SCOPE)
    if len(sys.argv) > 3:
        for i in range(int(sys.argv[3])):
            make(client, f"{sys.argv[2]}-{i}")
    else:
        make(client, sys.argv[2])


if __name__ == "__main__":
    main()
