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
    assert len(posts) == 1 + 3  # is any file near the hub? then 500-file chunks
    fast = [e async for e in svc.paths("demo:big", qos="FAST")]
    assert fast[800]["state"] == "MISSING"  # HUB-CHEAP does not count for FAST
    await svc.close()


async def test_a_dataset_with_nothing_near_the_hub_costs_one_lookup(service, fake_rucio):
    """demo:lofar-obs: sb000 near the hub, sb001 and sb002 not. Their files are MISSING
    without a lookup per chunk; the container is resolved dataset by dataset."""
    for key in fake_rucio.files_of(("demo", "lofar-obs-sb000")):
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    fake_rucio.calls.clear()
    entries = [e async for e in service.paths("demo:lofar-obs")]
    assert [e["state"] for e in entries] == ["AVAILABLE"] * 4 + ["MISSING"] * 8
    assert [e["did"] for e in entries][4] == "demo:lofar-obs-sb001.f0"
    posts = [c for c in fake_rucio.calls if c == ("POST", "/rucio/replicas/list")]
    assert len(posts) == 3 + 1  # one dataset-wide look each, one chunk for sb000
