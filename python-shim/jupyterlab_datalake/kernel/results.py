"""What the verbs return: DID lists, DID details, QoS classes, staging handles and local paths.

Each is a plain ``list``/``dict`` underneath (easy to index, serialise, compare), with a readable
table as its display.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from ..errors import DatalakeError
from .channels import Channel
from .display import Progress, ProgressView, TableResult, format_bytes
from .lifetime import format_duration, parse_duration, parse_timeout

# Rule states that end a wait with an error (Rucio will not finish them without someone acting).
FAILED_STATES = ("STUCK", "SUSPENDED")
# Seconds one look may wait for a change in the shim (its limit is 25 s).
LONG_POLL = 20.0
# How long ``wait`` waits unless told: a batch job never hangs on a staging that stopped.
DEFAULT_WAIT = 3600
_STATE_ORDER = ("SUSPENDED", "STUCK", "WAITING_APPROVAL", "INJECT", "REPLICATING", "OK")


class DidList(TableResult, list):
    """DIDs (dicts with ``did``, ``type``, ``bytes``, ``length``) as a table."""

    def __init__(self, items: Iterable[dict[str, Any]] = (), caption: str = "") -> None:
        super().__init__(items)
        self.caption = caption

    @property
    def dids(self) -> list[str]:
        """Just the ``scope:name`` strings."""
        return [item["did"] for item in self]

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        with_sums = any("adler32" in item for item in self)
        headers = ["did", "type", "size", "files"] + (["adler32"] if with_sums else [])
        rows = []
        for item in self:
            row = [item.get("did"), item.get("type"), format_bytes(item.get("bytes"))]
            row.append(item.get("length"))
            if with_sums:
                row.append(item.get("adler32"))
            rows.append(row)
        return f"{self.caption} ({len(self)})" if self.caption else "", headers, rows


class DidInfo(TableResult, dict):
    """One DID: its ``did`` route fields plus ``replicas`` (where it is) as a two-column table."""

    @classmethod
    def read(cls, channel: Channel, did: str, instance: str | None) -> DidInfo:
        info = cls(channel.call("did_info", did, instance=instance))
        info["replicas"] = channel.call("replicas", did, instance=instance)["rses"]
        # Rucio keeps no size for open datasets; the fullest replica is the whole DID.
        for key, column in (("length", "files"), ("bytes", "bytes")):
            if info.get(key) is None and info["replicas"]:
                info[key] = max(rep.get(column) or 0 for rep in info["replicas"])
        return info

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        near = self.get("near_hub") or {}
        rows: list[list[Any]] = [
            ["type", self.get("type")],
            ["size", format_bytes(self.get("bytes"))],
            ["files", self.get("length")],
            ["near the hub", f"{near.get('state', '?')} {cell_list(near.get('rses'))}".strip()],
        ]
        for rep in self.get("replicas") or []:
            where = f"{rep.get('files')} files, {format_bytes(rep.get('bytes'))}"
            tags = [f"QoS {rep['qos']}" if rep.get("qos") else "", rep.get("site") or ""]
            tags.append("near hub" if rep.get("near_hub") else "")
            rows.append(
                [f"replica {rep.get('rse')}", f"{where} ({', '.join(t for t in tags if t)})"]
            )
        for key, value in sorted((self.get("metadata") or {}).items()):
            if value is not None:
                rows.append([f"meta {key}", value])
        return str(self.get("did", "")), ["field", "value"], rows


class QosClasses(TableResult, list):
    """The QoS classes of an instance and the near-hub RSEs that serve each."""

    @property
    def names(self) -> list[str]:
        return [item["name"] for item in self]

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        rows = [
            [c.get("name"), c.get("rses"), c.get("expression"), c.get("description")] for c in self
        ]
        return "QoS classes", ["class", "near-hub RSEs", "expression", "description"], rows


class DidPaths(list):
    """Local paths (``str``) of the files of ``did`` near the hub, in the order Rucio lists them.

    ``entries`` gives each file's line from the shim (``did``, ``state``, ``path``, ``url``,
    ``rse``), made on demand from what is kept per file: its DID and RSE names (the RSE names
    shared), not a dict each; ``datalake.iter_paths`` keeps nothing.
    """

    def __init__(
        self,
        paths: Iterable[str],
        did: str,
        qos: str | None = None,
        dids: list[str] | None = None,
        rses: list[str | None] | None = None,
    ) -> None:
        super().__init__(paths)
        self.did = did
        self.qos = qos
        self._dids = dids or []
        self._rses = rses or []

    @property
    def entries(self) -> list[dict[str, Any]]:
        # A URL (``urls=True``, storage not mounted) has a scheme; a local path never does.
        return [
            {
                "did": did,
                "state": "AVAILABLE",
                "path": None if "://" in value else value,
                "url": value if "://" in value else None,
                "rse": rse,
            }
            for did, value, rse in zip(self._dids, self, self._rses, strict=True)
        ]

    def take(self, fresh: DidPaths) -> None:
        """Become ``fresh`` in place (a move switches the lists a kernel holds to new copies)."""
        self[:] = fresh
        self.qos, self._dids, self._rses = fresh.qos, fresh._dids, fresh._rses


class Staging(TableResult):
    """A request to keep a copy near the hub: one Rucio rule per DID.

    ``rule_ids``, ``dids``, ``expression`` and ``state`` describe it; ``progress()`` re-reads it,
    ``wait()`` blocks (showing progress) until every file is there; ``extend()``, ``release()``.
    """

    def __init__(
        self,
        channel: Channel,
        rules: list[dict[str, Any]],
        instance: str | None = None,
        note: str = "",
    ) -> None:
        self._channel = channel
        self.rules = rules
        self.instance = instance
        #: said under the table, e.g. that Rucio did not answer and the list is older
        self.note = note
        self._sizes: dict[str, int] = {}

    @property
    def rule_ids(self) -> list[str]:
        return [rule["id"] for rule in self.rules]

    @property
    def dids(self) -> list[str]:
        return list(dict.fromkeys(rule["did"] for rule in self.rules))

    @property
    def expression(self) -> str:
        """The RSE expression of the rules (joined with `` | `` if they differ)."""
        return " | ".join(dict.fromkeys(rule.get("rse_expression") or "" for rule in self.rules))

    @property
    def state(self) -> str:
        """The least advanced state among the rules (``OK`` when all are)."""
        states = [rule.get("state") or "REPLICATING" for rule in self.rules] or ["OK"]
        known = [s for s in _STATE_ORDER if s in states]
        return known[0] if known else states[0]

    def refresh(self) -> Staging:
        """Re-read every rule from the data lake."""
        self.rules = [
            self._channel.call("get_staging", rid, instance=self.instance) for rid in self.rule_ids
        ]
        return self

    def progress(self, refresh: bool = True) -> Progress:
        """Files and bytes near the hub so far, summed over the rules."""
        if refresh:
            self.refresh()
        files_ok = sum(r.get("files_ok") or 0 for r in self.rules)
        files_total = sum(r.get("files_total") or 0 for r in self.rules)
        totals = [self._bytes_total(r) for r in self.rules]
        bytes_ok = sum(_bytes_ok(r, t) for r, t in zip(self.rules, totals, strict=True))
        bytes_total = sum(totals)
        label = ", ".join(self.dids)
        return Progress(
            files_ok, files_total, bytes_ok, bytes_total, self.state, label, self._stalled()
        )

    def _stalled(self) -> str:
        """Since when the first stalled rule has seen no file arrive, as a note."""
        since = [r["stalled_since"] for r in self.rules if r.get("stalled_since")]
        if not since or self.state == "OK":
            return ""
        start = datetime.fromisoformat(min(since).replace("Z", "+00:00"))
        seconds = (datetime.now(timezone.utc) - start).total_seconds()
        return f" — no file arrived for {format_duration(seconds)}"

    def _bytes_total(self, rule: dict[str, Any]) -> int:
        # Rucio keeps no size for open datasets: ask once per DID (info falls back to replicas).
        if rule.get("bytes_total") is not None:
            return int(rule["bytes_total"])
        did = rule["did"]
        if did not in self._sizes:
            info = DidInfo.read(self._channel, did, self.instance)
            self._sizes[did] = int(info.get("bytes") or 0)
        return self._sizes[did]

    def wait(self, timeout: float | str | timedelta | None = None, show: bool = True) -> Staging:
        """Block until every file is near the hub, showing progress; return ``self``.

        The shim answers as soon as a rule changes (a broker event, or its own poll): no look
        here costs Rucio anything, and the wait ends the moment the data is there.
        Raises ``DatalakeError`` if a rule gets stuck or ``timeout`` (seconds or ``"3h"``;
        default one hour) passes first. Interrupting (Ctrl-C, kernel interrupt) stops waiting,
        not the staging.
        """
        timeout = DEFAULT_WAIT if timeout is None else parse_timeout(timeout)
        view = ProgressView() if show else None
        deadline = time.monotonic() + timeout
        cursor: int | None = None
        progress = self.progress(refresh=False)
        try:
            while True:
                if view:
                    view.update(progress)
                if progress.done:
                    return self
                if progress.state in FAILED_STATES:
                    self._fail_stuck()
                left = deadline - time.monotonic()
                if left <= 0:
                    dids = " ".join(self.dids)
                    why = (
                        " Rucio's transfers seem stuck: check %datalake status "
                        f"{dids}, or ask the operators."
                        if progress.note
                        else ""
                    )
                    raise DatalakeError(
                        408,
                        f"Still staging after {format_duration(timeout)}: {progress}.{why} It "
                        f"goes on in the data lake; run %datalake wait {dids} --timeout "
                        f"{format_duration(2 * timeout)} to wait longer.",
                        "WAIT_TIMEOUT",
                    )
                answer = self._channel.call(
                    "wait_stagings",
                    self.rule_ids,
                    after=cursor,
                    timeout=min(LONG_POLL, left),
                    instance=self.instance,
                )
                self.rules, cursor = answer["stagings"], answer["cursor"]
                progress = self.progress(refresh=False)
        finally:
            if view:
                view.close()

    def _fail_stuck(self) -> NoReturn:
        bad = [r for r in self.rules if r.get("state") in FAILED_STATES]
        why = "; ".join(f"{r['did']}: {r.get('error') or r.get('state')}" for r in bad)
        raise DatalakeError(
            409,
            f"Staging is {bad[0].get('state')} ({why}). Rucio retries failed transfers; check "
            f"%datalake status {bad[0]['did']}, or release it and stage with another QoS class.",
            "STAGING_STUCK",
        )

    def extend(self, lifetime: str | float | timedelta) -> Staging:
        """Keep the copies ``lifetime`` (``"7d"``, seconds) from now."""
        seconds = parse_duration(lifetime)
        self.rules = [
            self._channel.call("extend", rid, seconds, instance=self.instance)
            for rid in self.rule_ids
        ]
        return self

    def release(self) -> list[str]:
        """Give the copies back to the data lake (the rules are removed); return the rule ids."""
        for rule_id in self.rule_ids:
            self._channel.call("release", rule_id, instance=self.instance)
        return self.rule_ids

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    _repr_pretty_ = TableResult._repr_pretty_  # the table, not __repr__, in terminals and logs

    def __repr__(self) -> str:
        return f"<Staging {self.state} {', '.join(self.dids) or '(none)'} rules={self.rule_ids}>"

    def _table(self) -> tuple[str, list[str], list[list[Any]]]:
        rows = []
        for r in self.rules:
            files = f"{r.get('files_ok', 0)}/{r.get('files_total', 0)}"
            size = format_bytes(r.get("bytes_total"))
            rows.append([r.get("did"), r.get("qos"), r.get("state"), files, size])
            rows[-1] += [r.get("expires_at"), r.get("id"), r.get("error")]
        headers = ["did", "qos", "state", "files", "size", "expires", "rule", "error"]
        return f"Stagings ({len(rows)}){self.note}", headers, rows


class DataNotAvailable(DatalakeError):
    """Raised when a variable bound to a DID is used before its files are near the hub."""


class NotYetAvailable:
    """Stands in for a DID's paths until they are near the hub; any use says so.

    ``str()``, iteration, ``len()``, indexing and ``os.fspath()`` raise ``DataNotAvailable`` with
    the staging progress and the command to wait. ``repr()`` describes the placeholder itself.
    """

    def __init__(self, did: str, percent: int | None = None, instance: str | None = None) -> None:
        self.did = did
        self.percent = percent
        self.instance = instance

    def _raise(self, *_: object) -> NoReturn:
        done = "not staged" if self.percent is None else f"staging {self.percent}% done"
        raise DataNotAvailable(
            409,
            f"{self.did} is not yet available: {done} — run %datalake wait {self.did}",
            "NOT_AVAILABLE",
        )

    __str__ = __iter__ = __len__ = __getitem__ = __fspath__ = __contains__ = _raise

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        done = "not staged" if self.percent is None else f"staging {self.percent}% done"
        return f"<{self.did}: not yet available, {done}>"


def cell_list(values: Iterable[Any] | None) -> str:
    return ", ".join(str(v) for v in values or ())


def _bytes_ok(rule: dict[str, Any], total: int) -> int:
    # The shim reports bytes_ok when it knows it; otherwise estimate from the file count.
    if rule.get("bytes_ok") is not None:
        return int(rule["bytes_ok"])
    ok, files = rule.get("files_ok") or 0, rule.get("files_total")
    return int(total * ok / files) if files else 0
