"""What upload, move and verify return: per-file outcomes as tables, and the errors they raise.

Each is a plain ``list`` of the shim's lines (dicts), so it indexes and serialises like one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import DatalakeError
from .display import TableResult, format_bytes

Json = dict[str, Any]
# The lines that end one file's upload or check.
UPLOAD_ENDS = ("UPLOADED", "EXISTS", "FAILED")
COPY_STATES = ("OK", "MISMATCH", "UNREADABLE", "NO_CHECKSUM")
# A copy Rucio keeps no checksum for is not known to be bad: it is said, not counted as bad.
BAD_STATES = ("MISMATCH", "UNREADABLE")


class Uploaded(TableResult, list):
    """One line per file: ``did``, ``state`` (UPLOADED, EXISTS), ``adler32``, ``rule_ids``."""

    def __init__(self, lines: Iterable[Json], qos: str) -> None:
        super().__init__(line for line in lines if line.get("state") in UPLOAD_ENDS)
        self.qos = qos

    @property
    def dids(self) -> list[str]:
        return [line["did"] for line in self]

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        rows = [
            [
                line.get("did"),
                "uploaded" if line["state"] == "UPLOADED" else "already there",
                format_bytes(line.get("bytes")),
                line.get("adler32"),
                line.get("rse") or "",
            ]
            for line in self
        ]
        caption = f"{len(self)} files into the data lake with QoS {self.qos}"
        return caption, ["did", "", "size", "adler32", "written to"], rows


class Verified(TableResult, list):
    """One line per local copy checked: ``did``, ``rse``, ``path``, ``state`` (OK, MISMATCH,
    UNREADABLE, NO_CHECKSUM), ``expected`` and ``found`` adler32; ``mismatches`` lists the bad
    ones, ``unchecked`` those Rucio keeps no checksum for."""

    def __init__(self, lines: Iterable[Json], did: str) -> None:
        lines = list(lines)
        reported = {line.get("pfn") for line in lines if line.get("state") == "REPORTED"}
        super().__init__(
            {**line, "reported": line.get("pfn") in reported}
            for line in lines
            if line.get("state") in COPY_STATES
        )
        self.did = did

    @property
    def mismatches(self) -> list[Json]:
        return [line for line in self if line["state"] in BAD_STATES]

    @property
    def unchecked(self) -> list[Json]:
        return [line for line in self if line["state"] == "NO_CHECKSUM"]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        rows = [
            [
                line.get("did"),
                line.get("rse"),
                line["state"] + (" (reported suspicious)" if line.get("reported") else ""),
                line.get("expected"),
                line.get("found") or "",
            ]
            for line in sorted(self, key=lambda line: line["state"] == "OK")
        ]
        bad = len(self.mismatches)
        unchecked = len(self.unchecked)
        caption = f"{len(self) - unchecked} local copies of {self.did} checked: " + (
            f"{bad} do not match Rucio's checksum" if bad else "all match Rucio's checksums"
        )
        if unchecked:
            caption += f"; {unchecked} could not be checked: Rucio keeps no adler32 for them"
        return caption, ["file", "RSE", "", "expected adler32", "found"], rows


def raise_failures(lines: list[Json], what: str) -> None:
    """A failed file fails the call: its sentence (and how many others failed)."""
    failed = [line for line in lines if line.get("state") == "FAILED"]
    if not failed:
        return
    error = failed[0]["error"]
    others = f" ({len(failed) - 1} other files failed too)" if len(failed) > 1 else ""
    done = sum(1 for line in lines if line.get("state") in ("UPLOADED", "EXISTS"))
    kept = f" The {done} other files are in the data lake." if done else ""
    raise DatalakeError(
        int(error.get("status") or 500),
        f"{what} {failed[0].get('did')}: {error['message']}{others}{kept}",
        error.get("reason", "ERROR"),
    )
