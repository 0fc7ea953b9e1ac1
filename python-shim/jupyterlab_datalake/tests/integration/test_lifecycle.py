"""The other half of the lifecycle against the local Rucio testbed: upload with a QoS, verify and
report, move to another QoS. Skipped without the testbed (see test_testbed.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from test_testbed import CONFIG, _testbed_section

from jupyterlab_datalake.core.did import DID
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel.channels import InProcessChannel
from jupyterlab_datalake.kernel.client import Datalake

pytestmark = pytest.mark.integration

SCOPE = "user.alice"
MiB = 2**20


@pytest.fixture
async def lake():
    svc = DatalakeService.from_settings(_testbed_section())
    yield svc
    await svc.close()


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def random_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return f"{zlib.adler32(data):08x}"


async def upload(svc: DatalakeService, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return [line async for line in svc.upload(*args, **kwargs)]


def storage(svc: DatalakeService, rse: str) -> Path:
    return Path(svc.config.instances["testbed"].mounts[rse])


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def rules_of(svc: DatalakeService, did: str) -> list[dict[str, Any]]:
    return (await svc.did_rules(did))["rules"]


async def test_upload_3mib_safe_registers_an_available_replica_and_a_qos_rule(lake, tmp_path):
    name = unique("result") + ".h5"
    did = f"{SCOPE}:{name}"
    adler = random_file(tmp_path / name, 3 * MiB)

    lines = await upload(lake, [str(tmp_path / name)], SCOPE, qos="SAFE")

    assert lines[0]["state"] == "PLANNED" and lines[0]["bytes"] == 3 * MiB
    (done,) = [line for line in lines if line["state"] == "UPLOADED"]
    assert done["did"] == did and done["adler32"] == adler and done["rse"] == "HUB-FAST"
    assert lines[-1] == {"state": "DONE", "uploaded": 1, "existing": 0, "failed": 0}
    client = lake.instance().client
    info = await client.did(DID(SCOPE, name))
    assert (info["type"], info["bytes"], info["adler32"]) == ("FILE", 3 * MiB, adler)
    replicas = [r async for r in client.list_replicas([{"scope": SCOPE, "name": name}])]
    assert replicas[0]["states"]["HUB-FAST"] == "AVAILABLE"
    rules = await rules_of(lake, did)
    assert [r["rse_expression"] for r in rules].count("QOS=SAFE") == 1
    (path,) = [e["path"] async for e in lake.paths(did)]
    assert Path(path).parent.is_relative_to(storage(lake, "HUB-FAST"))
    assert f"{zlib.adler32(Path(path).read_bytes()):08x}" == adler

    again = await upload(lake, [str(tmp_path / name)], SCOPE, qos="SAFE")

    (same,) = [line for line in again if line["state"] == "EXISTS"]
    assert same["rule_created"] is False
    assert len(await rules_of(lake, did)) == len(rules)


async def test_other_content_under_a_taken_name_is_refused(lake, tmp_path):
    name = unique("taken")
    random_file(tmp_path / name, 1024)
    await upload(lake, [str(tmp_path / name)], SCOPE, qos="FAST")
    before = files_under(storage(lake, "HUB-FAST"))
    random_file(tmp_path / name, 1024)

    lines = await upload(lake, [str(tmp_path / name)], SCOPE, qos="FAST")

    (failed,) = [line for line in lines if line["state"] == "FAILED"]
    assert failed["error"]["reason"] == "NAME_TAKEN"
    assert "already exists in Rucio with other content" in failed["error"]["message"]
    assert files_under(storage(lake, "HUB-FAST")) == before


@pytest.mark.parametrize(
    ("to", "qos", "reason"),
    [("demo", "SAFE", "SCOPE_NOT_YOURS"), (SCOPE, "GOLD", "UNKNOWN_QOS")],
)
async def test_refusals_say_why_and_leave_nothing(lake, tmp_path, to, qos, reason):
    name = unique("refused")
    random_file(tmp_path / name, 1024)
    before = files_under(storage(lake, "HUB-FAST"))

    with pytest.raises(DatalakeError) as refused:
        await upload(lake, [str(tmp_path / name)], to, qos=qos)

    assert refused.value.reason == reason and 400 <= refused.value.status < 500
    assert files_under(storage(lake, "HUB-FAST")) == before
    with pytest.raises(DatalakeError, match="does not exist"):
        await lake.instance().client.did(DID(SCOPE, name))


def _writing_into(pid: int, directory: Path) -> bool:
    """True once the process holds an open file in ``directory`` (the upload's temporary)."""
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)):
            return True
    return False


async def test_upload_killed_midway_registers_nothing_and_leaves_no_file(lake, tmp_path):
    name = unique("killed")
    random_file(tmp_path / name, 400 * MiB)
    hub = storage(lake, "HUB-FAST")
    before = files_under(hub)
    script = (
        "from jupyterlab_datalake import datalake\n"
        f"datalake.upload({str(tmp_path / name)!r}, {SCOPE!r}, qos='SAFE')\n"
    )
    env = {**os.environ, "DATALAKE_CONFIG": str(CONFIG)}
    for key in ("DATALAKE_SHIM_URL", "DATALAKE_SHIM_SECRET"):
        env.pop(key, None)
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not _writing_into(process.pid, hub):
            assert process.poll() is None, "the upload ended before it was killed"
            assert time.monotonic() < deadline, "the upload never started writing"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    assert process.returncode == -signal.SIGKILL
    assert files_under(hub) == before
    with pytest.raises(DatalakeError, match="does not exist"):
        await lake.instance().client.did(DID(SCOPE, name))


async def test_a_corrupted_byte_is_named_by_verify_and_reported_suspicious(lake, tmp_path):
    dataset = f"{SCOPE}:{unique('verify')}"
    names = [unique("copy") for _ in range(3)]
    for name in names:
        random_file(tmp_path / name, 256 * 1024)
    await upload(lake, [str(tmp_path)], SCOPE, qos="FAST", dataset=dataset)
    paths = {e["did"]: e["path"] async for e in lake.paths(dataset, qos="FAST")}
    assert len(paths) == 3
    corrupted = f"{SCOPE}:{names[1]}"
    with open(paths[corrupted], "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))

    checked = [line async for line in lake.verify(dataset)]

    copies = [line for line in checked if line["state"] in ("OK", "MISMATCH")]
    assert len(copies) == 3
    (bad,) = [line for line in copies if line["state"] == "MISMATCH"]
    assert (bad["did"], bad["rse"], bad["path"]) == (corrupted, "HUB-FAST", paths[corrupted])
    assert bad["found"] != bad["expected"] and len(bad["found"]) == 8
    assert checked[-1]["mismatches"] == 1 and checked[-1]["reported"] == 0
    suspicious = await lake.instance().client.suspicious("HUB-FAST")
    assert (SCOPE, names[1]) not in {(s["scope"], s["name"]) for s in suspicious}

    reported = [line async for line in lake.verify(dataset, report=True)]

    assert [line["did"] for line in reported if line["state"] == "REPORTED"] == [corrupted]
    suspicious = await lake.instance().client.suspicious("HUB-FAST")
    listed = {(s["scope"], s["name"]) for s in suspicious if s.get("rse") == "HUB-FAST"}
    assert (SCOPE, names[1]) in listed
    assert not {(SCOPE, names[0]), (SCOPE, names[2])} & listed


@pytest.fixture
def api(monkeypatch):
    _testbed_section()
    monkeypatch.setenv("DATALAKE_CONFIG", str(CONFIG))
    client = Datalake(InProcessChannel.from_environment())
    client.poll_interval = (0.5, 2.0)
    yield client
    client.channel.close()


def test_move_fast_to_cheap_switches_a_bound_variable_and_drops_the_fast_rule(api, tmp_path):
    dataset = f"{SCOPE}:{unique('move')}"
    for _ in range(2):
        random_file(tmp_path / unique("part"), 128 * 1024)
    api.upload(tmp_path, SCOPE, qos="SAFE", dataset=dataset)
    fast = api.stage(dataset, qos="FAST", lifetime="1h", wait=True, timeout=120)
    bound = api.paths(dataset, qos="FAST")
    mounts = json.loads(CONFIG.read_text())["DatalakeApp"]["instances"][0]["mounts"]
    hub_fast, hub_cheap = Path(mounts["HUB-FAST"]), Path(mounts["HUB-CHEAP"])
    assert len(bound) == 2 and all(Path(p).is_relative_to(hub_fast) for p in bound)

    moved = api.move(dataset, "CHEAP-ANALYSIS", wait=True, timeout=120)

    assert moved.expression == "QOS=CHEAP-ANALYSIS&site=HUB" and moved.state == "OK"
    assert moved.rule_ids != fast.rule_ids
    assert len(bound) == 2 and all(Path(p).is_relative_to(hub_cheap) for p in bound)
    assert all(Path(p).is_file() for p in bound)
    assert bound.qos == "CHEAP-ANALYSIS"
    deadline = time.monotonic() + 60
    while fast.rule_ids[0] in {r["id"] for r in api.channel.call("did_rules", dataset)["rules"]}:
        assert time.monotonic() < deadline, "the FAST rule outlived its moved child"
        time.sleep(1)
