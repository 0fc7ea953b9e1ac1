"""Verify against the in-memory Rucio: copies on a mount in a temporary directory, checked against
the adler32 Rucio keeps; what the user is told and what is declared suspicious to Rucio."""

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError

DATASET = ("demo", "checked")
SUSPICIOUS = ("POST", "/rucio/replicas/suspicious")


@pytest.fixture
async def mounted(fake_rucio, tmp_path):
    """A service whose HUB-FAST is mounted at ``tmp_path``, and an empty dataset to fill."""
    fake_rucio.add_collection(*DATASET, "DATASET")
    instance = stub_instance(mounts={"HUB-FAST": str(tmp_path)})
    svc = DatalakeService(parse_config([instance], "stub"), transport=fake_rucio.transport())
    yield svc
    await svc.close()


def local_copy(fake_rucio, mount, name, content=None):
    """A file of the dataset with its one copy on HUB-FAST, written on the mount: the bytes
    Rucio's adler32 is of (the fake's is of the name), unless ``content`` says otherwise."""
    fake_rucio.add_file("demo", name, DATASET, {"HUB-FAST": "AVAILABLE"})
    (mount / "demo").mkdir(exist_ok=True)
    (mount / "demo" / name).write_bytes(name.encode() if content is None else content)
    return ("demo", name)


async def verify(service, report=True):
    return [line async for line in service.verify("demo:checked", report=report)]


@pytest.mark.parametrize("adler32", [305419896, ["0badc0de"], {"value": "0badc0de"}])
async def test_a_checksum_that_is_not_a_string_is_a_502_sentence(
    mounted, fake_rucio, tmp_path, adler32
):
    # Given: Rucio's replica line carries an adler32 that is no checksum at all
    key = local_copy(fake_rucio, tmp_path, "a.dat")
    fake_rucio.dids[key]["adler32"] = adler32
    # When
    with pytest.raises(DatalakeError) as info:
        await verify(mounted)
    # Then: Rucio's answer is said to be unreadable, and nothing is declared suspicious
    assert info.value.status == 502 and info.value.reason == "RUCIO_BAD_ANSWER"
    assert info.value.message.startswith("Rucio at http://rucio.test/rucio sent a line of an")
    assert SUSPICIOUS not in fake_rucio.calls


async def test_a_copy_rucio_keeps_no_checksum_for_is_unchecked_never_reported(
    mounted, fake_rucio, tmp_path
):
    # Given: three copies on the mount, one of a file Rucio keeps no adler32 for
    no_sum = local_copy(fake_rucio, tmp_path, "no-sum.dat")
    fake_rucio.dids[no_sum]["adler32"] = None
    local_copy(fake_rucio, tmp_path, "corrupted.dat", content=b"not what Rucio has")
    local_copy(fake_rucio, tmp_path, "good.dat")
    # When: verified with report
    lines = await verify(mounted, report=True)
    # Then: that copy is said to be unchecked, and only the corrupted one goes to Rucio
    copies = {line["did"]: line for line in lines if line["state"] not in ("PLANNED", "DONE")}
    assert copies["demo:no-sum.dat"]["state"] == "NO_CHECKSUM"
    assert copies["demo:no-sum.dat"]["expected"] is None
    assert copies["demo:corrupted.dat"]["state"] == "REPORTED"  # after its MISMATCH line
    assert copies["demo:good.dat"]["state"] == "OK"
    pfns = [pfns for pfns, _ in fake_rucio.suspicious]
    assert pfns == [["file://localhost/storage/HUB-FAST/demo/corrupted.dat"]]
    done = lines[-1]
    assert done["state"] == "DONE" and done["unchecked"] == 1
    assert (done["checked"], done["mismatches"], done["reported"]) == (2, 1, 1)
