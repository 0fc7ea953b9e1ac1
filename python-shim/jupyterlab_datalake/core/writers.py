"""Putting the bytes of a local file onto an RSE, verified, under its final name.

Blocking code, run in a worker thread. The one writer today is ``PosixWriter``: an RSE this
server mounts (``mounts`` in the configuration) is a local directory. A WebDAV/HTTP writer would
be a second class with the same ``write`` (PUT to a temporary URL with a bearer token, check the
size and checksum the server reports, MOVE to the final URL) chosen from the RSE's protocols.

The file is first written as an anonymous inode in the target directory (``O_TMPFILE``): if the
process dies midway, the kernel frees it and nothing is left on the storage. Only once its
size and adler32 are read back and match the source's does it get its final name. Where the
file system has no ``O_TMPFILE``, a hidden temporary name in the same directory is used and
removed on any failure.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 4 * 2**20
TEMP_PREFIX = ".datalake-upload-"
Progress = Callable[[int], None]


class Stopped(Exception):
    """The upload was cancelled while the bytes were being written."""


class ChangedWhileRead(Exception):
    """The copy read back differs from what was read from the source."""


@dataclass(frozen=True)
class Checksums:
    bytes: int
    adler32: str
    md5: str


class _Sums:
    def __init__(self) -> None:
        self.size = 0
        self.adler = 1
        self.md5 = hashlib.md5(usedforsecurity=False)

    def update(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        self.adler = zlib.adler32(chunk, self.adler)
        self.md5.update(chunk)

    def result(self) -> Checksums:
        return Checksums(self.size, f"{self.adler & 0xFFFFFFFF:08x}", self.md5.hexdigest())


def adler32_of(
    path: str, progress: Progress | None = None, stop: threading.Event | None = None
) -> str:
    """The adler32 of a file as Rucio writes it (8 hex digits), read in chunks."""
    value = 1
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if stop is not None and stop.is_set():
                raise Stopped()
            value = zlib.adler32(chunk, value)
            if progress:
                progress(len(chunk))
    return f"{value & 0xFFFFFFFF:08x}"


def checksums_of(path: str, progress: Progress | None = None) -> Checksums:
    sums = _Sums()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            sums.update(chunk)
            if progress:
                progress(len(chunk))
    return sums.result()


def _read_back(f: BinaryIO) -> tuple[int, str]:
    f.seek(0)
    size, value = 0, 1
    while chunk := f.read(CHUNK):
        size += len(chunk)
        value = zlib.adler32(chunk, value)
    return size, f"{value & 0xFFFFFFFF:08x}"


class PosixWriter:
    """Writes into a directory tree this process can write (an RSE's mount)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def writable(self) -> bool:
        return os.path.isdir(self.root) and os.access(self.root, os.W_OK | os.X_OK)

    def write(
        self, source: str, target: str, progress: Progress, stop: threading.Event
    ) -> Checksums:
        """Copy ``source`` to ``target`` (a path under the root); returns the checksums of what
        was read. Raises ``FileExistsError`` if ``target`` exists, ``Stopped`` when ``stop``
        is set, ``ChangedWhileRead`` when the copy read back is not what was read."""
        directory = os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o644)
            temp = None
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            fd, temp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "w+b") as f:
                sums = _Sums()
                with open(source, "rb") as src:
                    while chunk := src.read(CHUNK):
                        if stop.is_set():
                            raise Stopped()
                        sums.update(chunk)
                        f.write(chunk)
                        progress(len(chunk))
                f.flush()
                os.fsync(f.fileno())
                read = sums.result()
                if _read_back(f) != (read.bytes, read.adler32):
                    raise ChangedWhileRead()
                if stop.is_set():
                    raise Stopped()
                if temp is None:
                    _link_anonymous(f.fileno(), target)
                else:
                    os.link(temp, target)
            _sync_directory(directory)
            return read
        finally:
            if temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)

    @staticmethod
    def remove(target: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)


def _link_anonymous(fd: int, target: str) -> None:
    """Give the anonymous inode ``fd`` the name ``target``: ``linkat`` of its /proc entry with
    AT_SYMLINK_FOLLOW (a dir fd makes ``os.link`` use linkat; plain link() would not follow)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def _sync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
