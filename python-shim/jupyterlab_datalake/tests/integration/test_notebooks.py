"""One notebook, two channels, the real testbed: through a Jupyter server's shim, and headless.

Skipped when the testbed is not up (``bash testbed/up.sh``) unless DATALAKE_REQUIRE_TESTBED=1.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from jupyterlab_datalake.kernel.channels import InProcessChannel
from jupyterlab_datalake.kernel.client import Datalake

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
CONFIG = ROOT / ".testbed" / "jupyter_server_config.json"
NOTEBOOK = Path(__file__).parent / "notebooks" / "stage_and_read.ipynb"
RUCIO = os.environ.get("TESTBED_URL", f"http://127.0.0.1:{os.environ.get('TESTBED_PORT', '8480')}")
CELL_TIMEOUT = 600
OWN = {("demo:lofar-obs-sb000", "FAST"), ("demo:lofar-obs-sb002", "CHEAP-ANALYSIS")}


def _testbed_problem() -> str | None:
    if not CONFIG.is_file():
        return f"no {CONFIG} (run bash testbed/up.sh)"
    try:
        httpx.get(f"{RUCIO}/ping", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        return f"Rucio testbed at {RUCIO} not answering ({exc})"
    return None


@pytest.fixture(scope="module")
def testbed() -> Path:
    problem = _testbed_problem()
    if problem:
        if os.environ.get("DATALAKE_REQUIRE_TESTBED") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return CONFIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``jupyter server --config .testbed/jupyter_server_config.json`` on a free local port."""

    def __init__(self, config: Path, workdir: Path) -> None:
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime = workdir / "runtime"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATALAKE_")}
        env["JUPYTER_RUNTIME_DIR"] = str(self.runtime)
        self.log = (workdir / "server.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--config={config}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                "--ServerApp.open_browser=False",
                "--ServerApp.allow_root=True",
                f"--ServerApp.root_dir={workdir}",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"token {self.token}"}, timeout=30
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (workdir / "server.log").read_text()
            try:
                if self.http.get("/api/status").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError("jupyter server did not start")

    def start_kernel(self) -> tuple[str, Path]:
        """A kernel started by the server (so it has the shim's env); its connection file."""
        # As JupyterLab does for a notebook at the top: the kernel works in the server's files.
        kernel_id = self.http.post("/api/kernels", json={"name": "python3", "path": ""}).json()[
            "id"
        ]
        path = self.runtime / f"kernel-{kernel_id}.json"
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return kernel_id, path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.http.close()
        self.log.close()


class AttachedKernelManager(AsyncKernelManager):
    """A kernel someone else (the Jupyter server) started and owns: nbclient only connects."""

    @property
    def has_kernel(self) -> bool:
        return True


@pytest.fixture(scope="module")
def server(testbed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(testbed, tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture
def own_rules(testbed: Path) -> Iterator[Datalake]:
    """Releases the notebook's stagings even when it fails half way (never older rules)."""
    from jupyterlab_datalake.core.service import DatalakeService

    lake = Datalake(InProcessChannel(lambda: DatalakeService.from_config_file(testbed), "testbed"))
    before = set(lake.status().rule_ids)
    yield lake
    left = [
        r["id"]
        for r in lake.status().rules
        if r["id"] not in before and (r["did"], r["qos"]) in OWN
    ]
    if left:
        lake.release(left)
    lake.channel.close()


def _result(nb: Any) -> dict[str, Any]:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("name") == "stdout" and "RESULT " in out.get("text", ""):
                line = next(t for t in out["text"].splitlines() if t.startswith("RESULT "))
                return json.loads(line.removeprefix("RESULT "))
    raise AssertionError("the notebook printed no RESULT line")


def _stderr(nb: Any) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr"
    )


def _check(result: dict[str, Any]) -> None:
    assert len(result["sb000"]) == 4 and all(result["sb000"].values()), result
    assert len(result["sb002"]) == 4 and all(result["sb002"].values()), result
    assert result["rses"] == ["HUB-CHEAP", "HUB-FAST"]


def test_notebook_through_the_server(server: Server, own_rules: Datalake, tmp_path: Path) -> None:
    kernel_id, connection_file = server.start_kernel()
    try:
        km = AttachedKernelManager(connection_file=str(connection_file), owns_kernel=False)
        km.load_connection_file()
        nb = nbformat.read(NOTEBOOK, as_version=4)
        started = time.monotonic()
        try:
            NotebookClient(nb, km=km, timeout=CELL_TIMEOUT).execute()
        finally:
            nbformat.write(nb, tmp_path / "server-run.ipynb")
        elapsed = time.monotonic() - started
        # The kernel reached the data lake over the shim, not in-process.
        probe = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(
                    "from jupyterlab_datalake import datalake\n"
                    "print('CHANNEL', type(datalake.channel).__name__)"
                )
            ]
        )
        km2 = AttachedKernelManager(connection_file=str(connection_file), owns_kernel=False)
        km2.load_connection_file()
        NotebookClient(probe, km=km2, timeout=60).execute()
        assert "CHANNEL HttpChannel" in probe.cells[0].outputs[0]["text"]
    finally:
        server.http.delete(f"/api/kernels/{kernel_id}")
    _check(_result(nb))
    assert "Traceback" not in _stderr(nb)
    print(f"server run: {elapsed:.1f} s")


def test_same_notebook_headless(
    testbed: Path, own_rules: Datalake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("DATALAKE_SHIM_URL", "DATALAKE_SHIM_SECRET", "PYTHONSTARTUP"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATALAKE_CONFIG", str(testbed))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('CHANNEL', type(datalake.channel).__name__)"))
    started = time.monotonic()
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    elapsed = time.monotonic() - started
    assert "CHANNEL InProcessChannel" in nb.cells[-1].outputs[0]["text"]
    _check(_result(nb))
    assert "Traceback" not in _stderr(nb)
    print(f"headless run: {elapsed:.1f} s")


def test_a_notebook_made_by_dragging_a_did_runs_headless_unchanged(
    testbed: Path, own_rules: Datalake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given: data near the hub, and the cell the panel inserts when a DID is dropped on a
    # notebook (src/notebook/drop.ts pathsCode): no %load_ext, no import
    own_rules.stage("demo:lofar-obs-sb000", qos="FAST", lifetime="1h").wait(timeout=120)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("lofar_obs_sb000 = %datalake paths demo:lofar-obs-sb000"),
            nbformat.v4.new_code_cell(
                "import os\nprint('FILES', sum(os.path.isfile(p) for p in lofar_obs_sb000))"
            ),
        ]
    )
    # When: run as a batch job would: only DATALAKE_CONFIG, no Jupyter server, no startup file
    for key in ("DATALAKE_SHIM_URL", "DATALAKE_SHIM_SECRET", "PYTHONSTARTUP"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATALAKE_CONFIG", str(testbed))
    NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    # Then: the magics were there (the kernel configuration the package installs), paths too
    assert nb.cells[1].outputs[0]["text"] == "FILES 4\n"


def test_shim_errors_reach_the_kernel_as_sentences(server: Server) -> None:
    kernel_id, connection_file = server.start_kernel()
    try:
        km = AttachedKernelManager(connection_file=str(connection_file), owns_kernel=False)
        km.load_connection_file()
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell("%datalake stage demo:lofar-obs-sb000 --qos GOLD"),
                nbformat.v4.new_code_cell("%datalake info demo:no-such-dataset"),
                nbformat.v4.new_code_cell(
                    "%datalake paths demo:lofar-obs-sb001 --qos OPPORTUNISTIC"
                ),
                nbformat.v4.new_code_cell(
                    "import os\nfrom jupyterlab_datalake import datalake\n"
                    "_s = datalake.channel._http.headers['X-Datalake-Secret']\n"
                    "print('SECRET IN ENV' if 'DATALAKE_SHIM_SECRET' in os.environ "
                    "else 'SECRET NOT IN ENV')\n"
                    "print('SECRET VISIBLE' if any(_s in repr(v) for k, v in "
                    "list(globals().items()) if k != '_s') else 'SECRET HIDDEN')"
                ),
            ]
        )
        NotebookClient(nb, km=km, timeout=120, allow_errors=True).execute()
    finally:
        server.http.delete(f"/api/kernels/{kernel_id}")
    # Each failing magic fails its cell with the sentence alone as the "traceback".
    assert all(cell.outputs[0]["output_type"] == "error" for cell in nb.cells[:3])
    assert all(cell.outputs[0]["ename"] == "DatalakeError" for cell in nb.cells[:3])
    errs = ["\n".join(cell.outputs[0]["traceback"]) for cell in nb.cells[:3]]
    assert "GOLD" in errs[0] and "Traceback" not in errs[0]
    assert "no-such-dataset" in errs[1]
    assert "%datalake stage demo:lofar-obs-sb001 --qos OPPORTUNISTIC --wait" in errs[2]
    # The channel holds the secret; the environment and the user's variables do not.
    lines = nb.cells[3].outputs[0]["text"].splitlines()
    assert lines == ["SECRET NOT IN ENV", "SECRET HIDDEN"]


UPLOAD_NOTEBOOK = Path(__file__).parent / "notebooks" / "produce_upload_find.ipynb"


def _check_upload(result: dict[str, Any]) -> None:
    did = result["did"]
    assert result["uploaded"] == [[did, "UPLOADED"]], result
    assert result["again"] == ["EXISTS"], result
    assert result["found"] == [did], result
    assert result["adler32_matches"] is True


def test_upload_notebook_through_the_server(server: Server) -> None:
    kernel_id, connection_file = server.start_kernel()
    try:
        km = AttachedKernelManager(connection_file=str(connection_file), owns_kernel=False)
        km.load_connection_file()
        nb = nbformat.read(UPLOAD_NOTEBOOK, as_version=4)
        nb.cells.append(
            nbformat.v4.new_code_cell("print('CHANNEL', type(datalake.channel).__name__)")
        )
        NotebookClient(nb, km=km, timeout=CELL_TIMEOUT).execute()
    finally:
        server.http.delete(f"/api/kernels/{kernel_id}")
    assert "CHANNEL HttpChannel" in nb.cells[-1].outputs[0]["text"]
    _check_upload(_result(nb))
    assert "Traceback" not in _stderr(nb)


def test_upload_notebook_headless(
    testbed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in ("DATALAKE_SHIM_URL", "DATALAKE_SHIM_SECRET", "PYTHONSTARTUP"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATALAKE_CONFIG", str(testbed))
    nb = nbformat.read(UPLOAD_NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('CHANNEL', type(datalake.channel).__name__)"))
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert "CHANNEL InProcessChannel" in nb.cells[-1].outputs[0]["text"]
    _check_upload(_result(nb))
    assert "Traceback" not in _stderr(nb)
