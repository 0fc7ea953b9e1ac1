"""Paths never lie: not a path out of the mount, not a released copy as if it were kept, not a
short list when Rucio's answer was cut."""

import os

import httpx
import pytest
from conftest import stub_instance
from fake_rucio import stream

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError

SB = "demo:lofar-obs-sb000"


@pytest.fixture
def mount(tmp_path):
    return tmp_path / "hub-fast"


@pytest.fixture
async def lake(fake_rucio, mount):
    svc = DatalakeService(
        parse_config([stub_instance(mounts={"HUB-FAST": str(mount)})], None),
        transport=fake_rucio.transport(),
    )
    yield svc
    await svc.close()


def on_hub_fast(fake_rucio, did=("demo", "lofar-obs-sb000")):
    files = fake_rucio.files_of(did)
    for key in files:
        fake_rucio.replicas[key]["HUB-FAST"] = "AVAILABLE"
    return files


async def entries(lake, did=SB):
    return [e async for e in lake.paths(did)]


async def test_a_symbolic_link_out_of_the_mount_is_refused(lake, fake_rucio, mount, tmp_path):
    files = on_hub_fast(fake_rucio)
    (mount / "demo").mkdir(parents=True)
    for _, name in files[1:]:
        (mount / "demo" / name).write_text("data")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0")
    os.symlink(secret, mount / "demo" / files[0][1])
    # When
    found = await entries(lake)
    # Then: the link gives no path and no URL; the others are inside the mount
    assert found[0]["state"] == "REFUSED" and found[0]["path"] is None and found[0]["url"] is None
    assert [e["state"] for e in found[1:]] == ["AVAILABLE"] * 3
    assert all(e["path"].startswith(str(mount) + os.sep) for e in found[1:])


async def test_a_mount_that_is_itself_a_link_is_fine(fake_rucio, tmp_path):
    real = tmp_path / "eos" / "lake"
    (real / "demo").mkdir(parents=True)
    os.symlink(real, tmp_path / "lake")
    svc = DatalakeService(
        parse_config([stub_instance(mounts={"HUB-FAST": str(tmp_path / "lake")})], None),
        transport=fake_rucio.transport(),
    )
    on_hub_fast(fake_rucio)
    found = await entries(svc)
    assert {e["state"] for e in found} == {"AVAILABLE"}
    assert found[0]["path"] == str(tmp_path / "lake" / "demo" / "lofar-obs-sb000.f0")
    await svc.close()


async def test_a_released_staging_is_no_longer_near_the_hub(lake, fake_rucio):
    (staging,) = (await lake.stage([SB], qos="FAST"))["stagings"]
    on_hub_fast(fake_rucio)
    fake_rucio.advance(staging["id"])
    assert {e["state"] for e in await entries(lake)} == {"AVAILABLE"}
    # When
    await lake.release(staging["id"])
    # Then: Rucio still has the rule (soft delete) and the files, but neither is shown as kept
    assert staging["id"] in fake_rucio.rules
    assert {e["state"] for e in await entries(lake)} == {"RELEASED"}
    assert (await lake.did_rules(SB))["rules"] == []
    # Another rule near the hub keeps the copy: then the files are available again
    await lake.stage([SB], qos="CHEAP-ANALYSIS")
    assert {e["state"] for e in await entries(lake)} == {"AVAILABLE"}


async def test_a_file_list_cut_at_a_line_end_ends_with_an_error(lake, fake_rucio):
    on_hub_fast(fake_rucio)
    files = [fake_rucio.dids[f] for f in fake_rucio.files_of(("demo", "lofar-obs-sb000"))]
    fake_rucio.fail_next.append(
        ("GET", "/dids/demo/lofar-obs-sb000/files", lambda: stream(files[:2]))
    )
    got = []
    with pytest.raises(DatalakeError) as info:
        async for entry in lake.paths(SB):
            got.append(entry)
    assert len(got) == 2
    assert (info.value.status, info.value.reason) == (502, "RUCIO_CUT_SHORT")
    assert "ended after 2 of its 4 files" in info.value.message


async def test_a_replica_list_cut_short_is_asked_again(lake, fake_rucio):
    on_hub_fast(fake_rucio)
    handle = fake_rucio.handle

    def cut_once(request):
        response = handle(request)
        if request.url.path.endswith("/replicas/list") and not cut:
            cut.append(True)
            lines = response.content.decode().splitlines(keepends=True)
            return httpx.Response(200, content="".join(lines[:2]).encode())
        return response

    cut: list[bool] = []
    svc = DatalakeService(lake.config, transport=httpx.MockTransport(cut_once))
    found = [e async for e in svc.paths(SB)]
    assert cut and {e["state"] for e in found} == {"AVAILABLE"}
    await svc.close()
