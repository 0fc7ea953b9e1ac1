"""LocalCopyTransfertool: the testbed's stand-in for FTS.

FTS cannot run on this machine, and Rucio's own `mock` transfertool reports every
transfer as done without moving a byte. This subclass of the mock keeps the mock's
bookkeeping (one job id per submission, no external service) but really copies each
file from the source RSE's POSIX path to the destination RSE's POSIX path, and its
poll reports a transfer DONE only when the destination file is there with the
expected size. Everything around it (submitter, poller, finisher, judge) is stock Rucio.

Registered under the name `localcopy` (`[conveyor] transfertool = localcopy`) by
`register()`, which the daemon loop calls before the conveyor daemons run.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rucio.core import transfer as transfer_core
from rucio.db.sqla.constants import RequestState
from rucio.transfertool.mock import MockTransferStatusReport, MockTransfertool
from rucio.transfertool.transfertool import TransferToolBuilder

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from rucio.common.types import LoggerFunction
    from rucio.core.request import DirectTransfer

NAME = "localcopy"


class LocalCopyError(Exception):
    """A copy failed; the submitter marks the request SUBMISSION_FAILED and Rucio retries."""


# When each transfer (by job id) may be reported done: copies are paced one after the other.
_READY_AT: dict[str, float] = {}
_last_ready = 0.0


def copy_pace() -> float:
    """Seconds between two files arriving: 0, unless `.testbed/run/copy-pace` says otherwise.

    `scripts/screenshots.sh` writes it for the picture of a staging in flight (copies here
    all finish within a second, too fast to see); nothing else does. It paces the testbed's
    transfers (reported done one file every `pace` seconds), never the product.
    """
    pace = Path(os.environ.get("RUCIO_CONFIG", "")).parent.parent / "run" / "copy-pace"
    try:
        return max(0.0, min(30.0, float(pace.read_text())))
    except (OSError, ValueError):
        return 0.0


def _url_path(url: str) -> Path:
    # PFNs look like file://localhost/abs/prefix/scope/name (posix protocol, port 0).
    return Path(urlparse(url).path)


def _adler32(path: Path) -> str:
    value = 1
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def copy_one(src: Path, dst: Path, size: int | None, adler32: str | None) -> None:
    """Copy src to dst atomically and verify it against the catalogue's size/adler32."""
    if not src.is_file():
        raise LocalCopyError(f"source file missing: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.part")
    try:
        shutil.copyfile(src, tmp)
        if size is not None and tmp.stat().st_size != size:
            raise LocalCopyError(f"size mismatch for {dst}: {tmp.stat().st_size} != {size}")
        if adler32 and _adler32(tmp) != adler32.lower().zfill(8):
            raise LocalCopyError(f"adler32 mismatch for {dst}")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


class LocalCopyTransfertool(MockTransfertool):
    """Copies files between POSIX RSEs on this machine; see the module docstring."""

    external_name = NAME
    supported_schemes = {"file"}

    @classmethod
    def submission_builder_for_path(
        cls,
        transfer_path: list[DirectTransfer],
        logger: LoggerFunction = logging.log,
    ) -> tuple[list[DirectTransfer], TransferToolBuilder]:
        return transfer_path, TransferToolBuilder(cls, external_host=NAME)

    def group_into_submit_jobs(
        self, transfers: Iterable[list[DirectTransfer]]
    ) -> list[dict[str, Any]]:
        # One job per file: Rucio only marks single-transfer jobs SUBMISSION_FAILED
        # (and retries them); a failed bulk job would be left SUBMITTING for hours.
        return [{"transfers": [t], "job_params": {}} for path in transfers for t in path]

    def submit(
        self,
        transfers: Iterable[DirectTransfer],
        job_params: dict[str, str],
        timeout: int | None = None,
    ) -> str:
        for t in transfers:
            src = _url_path(t.source_url(t.src))
            dst = _url_path(t.dest_url)
            rws = t.rws
            copy_one(src, dst, rws.byte_count, rws.adler32)
            self.logger(logging.INFO, "localcopy %s -> %s", src, dst)
        return _paced(str(uuid.uuid4()))

    def bulk_query(
        self,
        requests_by_eid: Mapping[str, Mapping[str, Any]],
        timeout: int | None = None,
    ) -> dict[str, dict[str, MockTransferStatusReport]]:
        # The copy happened at submission; "polling" checks that its result is still there.
        response: dict[str, dict[str, MockTransferStatusReport]] = {}
        for eid, requests in requests_by_eid.items():
            for request_id, request in requests.items():
                report = MockTransferStatusReport(request_id, eid)
                if time.monotonic() < _READY_AT.get(eid, 0.0):
                    report.state = RequestState.SUBMITTED  # paced: not yet
                elif not _dest_ok(request):
                    report.state = RequestState.FAILED
                response.setdefault(eid, {})[request_id] = report
        return response


def _paced(eid: str) -> str:
    """Give a job its turn to be reported done, `copy_pace()` after the previous one."""
    global _last_ready
    pace = copy_pace()
    if pace:
        _last_ready = max(time.monotonic(), _last_ready) + pace
        _READY_AT[eid] = _last_ready
    return eid


def _dest_ok(request: Mapping[str, Any]) -> bool:
    dest_url = request.get("dest_url")
    if not dest_url:
        return False
    path = _url_path(dest_url)
    size = request.get("bytes")
    return path.is_file() and (size is None or path.stat().st_size == size)


def register() -> None:
    """Make `localcopy` a transfertool name the submitter and poller can resolve."""
    transfer_core.TRANSFERTOOL_CLASSES_BY_NAME[NAME] = LocalCopyTransfertool
