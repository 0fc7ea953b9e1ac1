"""Local paths through the service facade, Rucio in memory."""

import asyncio
import json
import time

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


def slow_dataset_looks(fake_rucio, seconds):
    """Rucio takes ``seconds[name]`` to answer the dataset-wide replica look of dataset
    ``name`` (as for 100k files); returns the looks begun and ended, in order."""
    route, looks = fake_rucio.route, []

    async def slow(request, parts):
        if parts[:2] == ["replicas", "list"]:
            (name,) = {d["name"] for d in json.loads(request.content)["dids"]} & set(seconds) or (
                None,
            )
            if name is not None:
                looks.append(("begun", name))
                await asyncio.sleep(seconds[name])
                looks.append(("ended", name))
        return route(request, parts)

    fake_rucio.route = slow
    return looks


async def test_the_next_datasets_look_runs_while_this_ones_files_are_read(service, fake_rucio):
    for key in fake_rucio.files_of(("demo", "lofar-obs-sb000")):
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    names = [f"lofar-obs-sb00{i}" for i in range(3)]
    looks = slow_dataset_looks(fake_rucio, dict.fromkeys(names, 0.4))
    started = time.monotonic()
    entries = [e async for e in service.paths("demo:lofar-obs")]
    elapsed = time.monotonic() - started
    # Rucio's order, whatever order the looks end in.
    assert [e["state"] for e in entries] == ["AVAILABLE"] * 4 + ["MISSING"] * 8
    assert [e["did"] for e in entries][::4] == [f"demo:{n}.f0" for n in names]
    # Three looks of 0.4 s one after the other would take 1.2 s: the next one is always out.
    assert sorted(looks) == sorted([("begun", n) for n in names] + [("ended", n) for n in names])
    assert looks.index(("begun", names[1])) < looks.index(("ended", names[0]))
    assert elapsed < 1.0


async def test_a_stream_closed_early_leaves_no_look_running(service, fake_rucio):
    for key in fake_rucio.files_of(("demo", "lofar-obs-sb000")):
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    # sb000's look answers at once, the look ahead at sb001 would take a minute.
    looks = slow_dataset_looks(fake_rucio, {"lofar-obs-sb000": 0, "lofar-obs-sb001": 60})
    lines = service.call("paths", {"did": "demo:lofar-obs"})
    first = await anext(lines)
    assert first["did"] == "demo:lofar-obs-sb000.f0" and first["state"] == "AVAILABLE"
    assert ("begun", "lofar-obs-sb001") in looks
    await lines.aclose()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "_any_near" in repr(t.get_coro())]
    assert ("ended", "lofar-obs-sb001") not in looks
