"""Putting bytes onto a mounted RSE: verified, atomic, and nothing left by a stop or a failure."""

from __future__ import annotations

import os
import threading
import zlib
from pathlib import Path

import pytest

from jupyterlab_datalake.core.upload import list_files
from jupyterlab_datalake.core.writers import (
    CHUNK,
    ChangedWhileRead,
    PosixWriter,
    Stopped,
    adler32_of,
)
from jupyterlab_datalake.errors import DatalakeError


def names(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(os.urandom(2 * CHUNK + 123))
    return path


def test_a_copy_gets_its_final_name_with_the_checksums_of_what_was_read(tmp_path, source):
    rse = tmp_path / "rse"
    rse.mkdir()
    seen: list[int] = []

    sums = PosixWriter(str(rse)).write(
        str(source), str(rse / "user/alice/f"), seen.append, threading.Event()
    )

    data = source.read_bytes()
    assert (rse / "user/alice/f").read_bytes() == data
    assert sums.bytes == len(data) and sum(seen) == len(data)
    assert sums.adler32 == f"{zlib.adler32(data):08x}" == adler32_of(str(rse / "user/alice/f"))
    assert names(rse) == {"user", "user/alice", "user/alice/f"}


def test_a_stopped_copy_leaves_nothing(tmp_path, source):
    rse = tmp_path / "rse"
    rse.mkdir()
    stop = threading.Event()

    def progress(_: int) -> None:
        stop.set()  # stopped after the first chunk

    with pytest.raises(Stopped):
        PosixWriter(str(rse)).write(str(source), str(rse / "f"), progress, stop)

    assert names(rse) == set()


def test_an_existing_name_is_never_overwritten(tmp_path, source):
    rse = tmp_path / "rse"
    rse.mkdir()
    (rse / "f").write_bytes(b"someone else's")

    with pytest.raises(FileExistsError):
        PosixWriter(str(rse)).write(str(source), str(rse / "f"), lambda _: None, threading.Event())

    assert (rse / "f").read_bytes() == b"someone else's" and names(rse) == {"f"}


def test_a_copy_that_reads_back_different_is_not_named(tmp_path, source, monkeypatch):
    rse = tmp_path / "rse"
    rse.mkdir()
    monkeypatch.setattr("jupyterlab_datalake.core.writers._read_back", lambda f: (0, "00000001"))

    with pytest.raises(ChangedWhileRead):
        PosixWriter(str(rse)).write(str(source), str(rse / "f"), lambda _: None, threading.Event())

    assert names(rse) == set()


def test_an_unwritable_mount_is_said_so(tmp_path):
    assert PosixWriter(str(tmp_path)).writable()
    assert not PosixWriter(str(tmp_path / "absent")).writable()


def test_files_of_directories_skip_hidden_ones_and_keep_their_names(tmp_path):
    (tmp_path / "out/.ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "out/.ipynb_checkpoints/a-checkpoint.h5").write_text("x")
    (tmp_path / "out/sub").mkdir()
    (tmp_path / "out/a.h5").write_text("a")
    (tmp_path / "out/sub/b.h5").write_text("b")
    (tmp_path / "out/.hidden").write_text("h")

    found = list_files(["out"], str(tmp_path), confined=True)

    assert [name for _, name in found] == ["a.h5", "b.h5"]


@pytest.mark.parametrize("given", ["../x", "/etc/passwd", "link/secret"])
def test_a_server_reads_only_its_own_files(tmp_path, given):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "x").write_text("outside")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret").write_text("outside")
    (root / "link").symlink_to(tmp_path / "elsewhere")

    with pytest.raises(DatalakeError) as refused:
        list_files([given], str(root), confined=True)

    assert refused.value.status == 403 and refused.value.reason == "PATH_OUTSIDE"


def test_a_path_that_is_nothing_is_a_404(tmp_path):
    with pytest.raises(DatalakeError) as missing:
        list_files(["nothing.h5"], str(tmp_path), confined=False)
    assert missing.value.status == 404 and "check the path" in missing.value.message
