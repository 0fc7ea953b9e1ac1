"""Upload throughput: 1 GiB in 100 files through the product vs Rucio's own `rucio upload`.

The same 100 files of 10 MiB (hard links under two sets of names, since a DID's name is used once)
go into the testbed, side by side in one run: once through a Jupyter server's upload route
(`POST /datalake/uploads`, QoS class FAST, whose expression covers the upload RSE HUB-FAST, so
both end with one rule per file), once with `rucio upload --rse HUB-FAST --register-after-upload`
(Rucio's client of the testbed's virtualenv, alice's rucio.cfg). The shim's resident memory is
sampled during its upload. Afterwards the rules of both sets are deleted, so the reaper frees the
space.
"""

import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from jupyterlab_datalake.core.staging import RELEASED
from shim_bench import ROOT, TESTBED, rss_kib, rucio_token, start_server, wait_for

FILES = 100
SIZE = 10 * 2**20


def make_files(root: Path, tag: str) -> tuple[Path, Path]:
    """100 files of random bytes, linked into two directories under two sets of names."""
    data, product, rucio = root / "data", root / "product", root / "rucio"
    for directory in (data, product, rucio):
        directory.mkdir()
    for i in range(FILES):
        source = data / f"{i:03d}"
        with open(source, "wb") as f:
            f.write(os.urandom(SIZE))
        os.link(source, product / f"up-{tag}-p{i:03d}.bin")
        os.link(source, rucio / f"up-{tag}-r{i:03d}.bin")
    return product, rucio


def upload_through_the_shim(base: str, headers: dict[str, str], pid: int) -> dict[str, float]:
    peak = before = rss_kib(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.1):
            peak = max(peak, rss_kib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    last: dict = {}
    try:
        with httpx.stream(
            "POST",
            f"{base}/datalake/uploads",
            headers=headers,
            json={"paths": ["product"], "to": "user.alice", "qos": "FAST"},
            timeout=600,
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.strip():
                    last = json.loads(line)
    finally:
        done.set()
        sampler.join()
    seconds = time.monotonic() - started
    if last.get("state") != "DONE" or last.get("uploaded") != FILES:
        raise RuntimeError(f"the shim's upload did not end well: {last}")
    return {
        "upload_shim_s": seconds,
        "upload_shim_mib_s": FILES * SIZE / 2**20 / seconds,
        "upload_shim_rss_growth_mib": (peak - before) / 1024,
    }


def upload_with_rucio(directory: Path) -> dict[str, float]:
    venv = Path(os.environ.get("TESTBED_VENV") or TESTBED / "venv")
    files = sorted(str(p) for p in directory.iterdir())
    command = [str(venv / "bin" / "rucio"), "upload", "--rse", "HUB-FAST", "--scope", "user.alice"]
    started = time.monotonic()
    subprocess.run(
        [*command, "--register-after-upload", *files],
        env={**os.environ, "RUCIO_CONFIG": str(TESTBED / "rucio.cfg")},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    return {"upload_rucio_s": seconds, "upload_rucio_mib_s": FILES * SIZE / 2**20 / seconds}


def delete_rules(rucio_url: str, tag: str) -> None:
    """The rules of the uploaded files go; the reaper then frees the space."""
    headers = {"X-Rucio-Auth-Token": rucio_token(rucio_url)}
    with httpx.Client(base_url=rucio_url, headers=headers, timeout=60) as client:
        response = client.get("/rules/", params={"account": "alice"})
        for line in response.text.splitlines():
            rule = json.loads(line)
            if rule["name"].startswith(f"up-{tag}-"):
                client.request("DELETE", f"/rules/{rule['id']}", json={"purge_replicas": False})
                # Rucio keeps a deleted rule for a while: marked released, it is no staging.
                client.put(
                    f"/rules/{rule['id']}",
                    json={"options": {"comment": f"{RELEASED} FAST"}},
                )


def measure() -> dict[str, float]:
    config = json.loads((TESTBED / "jupyter_server_config.json").read_text())
    rucio_url = config["DatalakeApp"]["instances"][0]["rucio_url"]
    tag = secrets.token_hex(3)
    token = secrets.token_hex(16)
    headers = {"Authorization": f"token {token}"}
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=ROOT / ".testbed") as tmp:
        root = Path(tmp)
        # The shim reads "product" under its root directory; rucio upload the other set.
        _, rucio = make_files(root, tag)
        base, server = start_server(config, token, root, "upload")
        try:
            wait_for(f"{base}/api/status", headers)
            results.update(upload_through_the_shim(base, headers, server.pid))
            results.update(upload_with_rucio(rucio))
        finally:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
            delete_rules(rucio_url, tag)
    results["upload_ratio"] = results["upload_shim_mib_s"] / results["upload_rucio_mib_s"]
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
