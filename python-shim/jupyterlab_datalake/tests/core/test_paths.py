"""Local paths through the service facade, Rucio in memory."""

from conftest import stub_instance
from fake_rucio import FakeRucio

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService


async def test_paths_stream_in_chunks_and_never_invent_paths():
    fake = FakeRucio(big_files=1200)
    svc = DatalakeService(parse_config([stub_instance()], None), transport=fake.transport())
    files = fake.files_of(("demo", "big"))
    for key in files[:700]:
        fake.replicas[key]["HUB-FAST"] = "AVAILABLE"  # mounted
    for key in files[700:900]:
        fake.replicas[key]["HUB-CHEAP"] = "AVAILABLE"  # near the hub, not mounted
    for key in files[900:1000]:
        fake.replicas[key]["HUB-FAST"] = "COPYING"  # not yet there
    for key in files[1000:]:
        fake.replicas[key]["FAR-FAST"] = "AVAILABLE"  # far away
    entries = [e async for e in svc.paths("demo:big")]
    assert len(entries) == 1200
    assert entries[0] == {
        "did": "demo:big.f000000",
        "state": "AVAILABLE",
        "path": "/mnt/hub-fast/demo/big.f000000",
        "url": None,
        "rse": "HUB-FAST",
    }
    assert entries[800]["path"] is None
    assert entries[800]["url"] == "file://localhost/storage/HUB-CHEAP/demo/big.f000800"
    assert {e["state"] for e in entries[900:]} == {"MISSING"}
    assert all(e["path"] is None and e["url"] is None for e in entries[900:])
    posts = [c for c in fake.calls if c == ("POST", "/rucio/replicas/list")]
    assert len(posts) == 3  # 500-file chunks
    fast = [e async for e in svc.paths("demo:big", qos="FAST")]
    assert fast[800]["state"] == "MISSING"  # HUB-CHEAP does not count for FAST
    await svc.close()
