"""Bytes arrived per staging, from dataset replica counts at the staging's storage."""

from fake_rucio import error

SB0 = "demo:lofar-obs-sb000"


async def test_bytes_arrived_follow_the_files(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    assert made["bytes_ok"] == 0
    fake_rucio.advance(made["id"], 2)
    staging = await service.instance().staging.fetch(made["id"])
    first_two = sum(
        fake_rucio.dids[f]["bytes"] for f in fake_rucio.files_of(("demo", "lofar-obs-sb000"))[:2]
    )
    assert staging["state"] == "REPLICATING" and staging["bytes_ok"] == first_two
    assert 0 < staging["bytes_ok"] < staging["bytes_total"]
    fake_rucio.advance(made["id"])
    done = await service.instance().staging.fetch(made["id"])
    assert done["state"] == "OK" and done["bytes_ok"] == done["bytes_total"]


async def test_no_per_file_listing_for_the_bytes(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    fake_rucio.advance(made["id"], 1)
    fake_rucio.calls.clear()
    await service.instance().staging.fetch(made["id"])
    assert not [c for c in fake_rucio.calls if c[1].endswith("/files") or "list" in c[1]]
    assert [c for c in fake_rucio.calls if c[1].endswith("/datasets")]


async def test_a_container_counts_its_datasets(service, fake_rucio):
    made = (await service.stage(["demo:lofar-obs"], qos="FAST"))["stagings"][0]
    fake_rucio.advance(made["id"], 5)
    staging = await service.instance().staging.fetch(made["id"])
    five = sum(fake_rucio.dids[f]["bytes"] for f in fake_rucio.files_of(("demo", "lofar-obs"))[:5])
    assert staging["bytes_ok"] == five


async def test_bytes_unknown_when_rucio_fails_the_count(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    fake_rucio.advance(made["id"], 1)
    fake_rucio.fail_next.append(("GET", "/replicas/", lambda: error(500, "Database", "locked")))
    fake_rucio.fail_next.append(("GET", "/replicas/", lambda: error(500, "Database", "locked")))
    fake_rucio.fail_next.append(("GET", "/replicas/", lambda: error(500, "Database", "locked")))
    staging = await service.instance().staging.fetch(made["id"])
    assert staging["state"] == "REPLICATING" and staging["bytes_ok"] is None


async def test_a_look_that_finds_no_new_file_asks_rucio_nothing_more(service, fake_rucio):
    made = (await service.stage([SB0], qos="FAST"))["stagings"][0]
    manager = service.instance().staging
    counts = lambda: [c for c in fake_rucio.calls if c[1].endswith("/datasets")]  # noqa: E731
    # No file there yet: nothing to count
    await manager.fetch(made["id"])
    assert not counts()
    # One file: counted once, then the same answer while no other file arrives
    fake_rucio.advance(made["id"], 1)
    first = await manager.fetch(made["id"])
    again = await manager.fetch(made["id"])
    assert len(counts()) == 1 and again["bytes_ok"] == first["bytes_ok"] > 0
    fake_rucio.advance(made["id"], 1)
    later = await manager.fetch(made["id"])
    assert len(counts()) == 2 and later["bytes_ok"] > first["bytes_ok"]
