"""The Python API behind ``%datalake``: ``from jupyterlab_datalake import datalake``.

``Datalake`` turns the service's verbs into what a scientist works with (pages gathered, sizes
filled in, handles that wait and show progress); the channel (``channels.py``) carries the calls.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from ..core.config import SHIM_SECRET_ENV, SHIM_URL_ENV
from ..errors import DatalakeError
from .channels import Channel, HttpChannel, connect
from .lifecycle import Uploaded, Verified, raise_failures
from .lifetime import parse_duration
from .results import DidInfo, DidList, DidPaths, QosClasses, Staging

__all__ = ["Datalake", "DatalakeError", "datalake"]

Duration = str | float | timedelta
Json = dict[str, Any]
PAGE = 1000
# What ``paths`` raises when staging (again) brings the files near the hub.
STAGE_AGAIN = ("NOT_STAGED", "RELEASED")
# The states of files without a path, the first one present being the one ``paths`` raises for.
REFUSAL_ORDER = ("MISSING", "RELEASED", "REFUSED", "REMOTE")


def _usable(line: Json, urls: bool) -> str | None:
    """None when the ``paths`` line gives something to open, else why not (``REMOTE``: near
    the hub on storage this server does not mount, and no URLs asked for)."""
    if line.get("state") != "AVAILABLE":
        return str(line.get("state", ""))
    return None if line.get("path") or urls else "REMOTE"


def _refusal(
    state: str, did: str, qos: str | None, files: str, rses: set[str], count: int | None = None
) -> DatalakeError:
    """The error for files of ``did`` in ``state``; ``files`` says which ("3 of 12", "File x"),
    ``count`` how many when known."""
    where = f" in QoS class {qos}" if qos else ""
    stage = f"%datalake stage {did} --qos {qos or 'CLASS'} --wait"
    if state == "MISSING":
        return DatalakeError(
            409,
            f"{files} files of {did} are not near the hub{where}: stage them with {stage} "
            "(%datalake qos lists the classes).",
            "NOT_STAGED",
        )
    if state == "RELEASED":
        return DatalakeError(
            409,
            f"Your staging of {did} was released: its {f'{count} ' if count else ''}files stay "
            f"near the hub only until Rucio deletes them. To keep using them, {stage}.",
            "RELEASED",
        )
    if state == "REMOTE":
        names = ", ".join(sorted(rses))
        return DatalakeError(
            409,
            f"{files} files of {did} are near the hub on {names}, which this server does not "
            f"mount: read them over the network with datalake.paths({did!r}, urls=True), or ask "
            f"the operators to mount {names}.",
            "NOT_LOCAL",
        )
    return DatalakeError(
        409,
        f"{files} files of {did} lead out of the mounted storage (a symbolic link on it?), so "
        "they are not given: tell the operators.",
        "PATH_REFUSED",
    )


class Datalake:
    """Find, stage and use Rucio data near the hub. ``datalake`` is the ready-made instance.

    Every verb takes ``instance=`` (a configured Rucio instance name; default: the server's).
    Results display as tables; failures raise ``DatalakeError``, a sentence that says what to do.
    """

    def __init__(self, channel: Channel | None = None) -> None:
        self._channel = channel
        self._lock = threading.Lock()
        #: first and longest pause (seconds) between two looks of an attachment's watcher
        #: (``comm.py``); waits (``Staging.wait``) are answered by the shim as changes happen
        self.poll_interval: tuple[float, float] = (1.0, 10.0)
        # The path lists handed out: a move switches those of its DID to the new copies.
        self._handed_out: list[weakref.ref[DidPaths]] = []

    @property
    def channel(self) -> Channel:
        """The shim over HTTP in a Jupyter server's kernel, else the in-process service."""
        with self._lock:
            if self._channel is None:
                self._channel = connect()
            return self._channel

    @channel.setter
    def channel(self, channel: Channel) -> None:
        with self._lock:
            self._channel = channel

    def __repr__(self) -> str:
        return (
            f"<Datalake via {self._channel!r}>" if self._channel else "<Datalake (not connected)>"
        )

    def ls(
        self,
        pattern: str,
        *,
        type: str = "all",
        filters: Json | None = None,
        limit: int = 100,
        instance: str | None = None,
    ) -> DidList:
        """DIDs matching ``scope:pattern`` (``*`` wildcards), at most ``limit`` of them.

        ``type`` is ``all``, ``container``, ``dataset`` or ``file``; ``filters`` are Rucio metadata
        filters such as ``{"datatype": "RAW", "run_number.gt": 3}``.
        """
        items: list[Json] = []
        cursor = None
        while len(items) < limit:
            page = self.channel.call(
                "search",
                pattern,
                type=type,
                filters=filters,
                cursor=cursor,
                limit=min(PAGE, limit - len(items)),
                instance=instance,
            )
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return DidList(items[:limit], caption=pattern)

    def info(self, did: str, *, instance: str | None = None) -> DidInfo:
        """Type, size, file count, metadata of ``did``, its replicas, and what is near the hub."""
        return DidInfo.read(self.channel, did, instance)

    def files(self, did: str, *, instance: str | None = None) -> DidList:
        """Every file of ``did`` with its size and checksums (``adler32``, ``md5``)."""
        items: list[Json] = []
        cursor = None
        while True:
            page = self.channel.call("files", did, limit=PAGE, cursor=cursor, instance=instance)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return DidList(items, caption=f"files of {did}")

    def qos(self, *, instance: str | None = None) -> QosClasses:
        """The QoS classes you can stage to, and the near-hub RSEs that serve each."""
        return QosClasses(self.channel.call("qos", instance=instance)["classes"])

    def stage(
        self,
        *dids: str | Iterable[str],
        qos: str | None = None,
        lifetime: Duration | None = None,
        source_qos: str | None = None,
        start_in: Duration | None = None,
        wait: bool = False,
        timeout: Duration | None = None,
        comment: str | None = None,
        instance: str | None = None,
    ) -> Staging:
        """Ask for a copy of each DID near the hub in QoS class ``qos`` for ``lifetime``.

        ``lifetime`` and ``start_in`` take seconds or ``"7d"``, ``"2h"``...; ``source_qos`` picks
        where to copy from; ``start_in`` delays the transfers. Staging what is already staged
        returns the existing rule. With ``wait=True``, blocks (showing progress) until it is there.
        Returns a ``Staging`` handle (``.rule_ids``, ``.expression``, ``.wait()``, ``.progress()``).
        """
        names = _flatten(dids)
        if not names:
            raise DatalakeError(
                400, "Name at least one DID to stage, e.g. demo:lofar-obs.", "BAD_DID"
            )
        answer = self.channel.call(
            "stage",
            names,
            qos=qos,
            lifetime=None if lifetime is None else parse_duration(lifetime),
            source_qos=source_qos,
            start_in=None if start_in is None else parse_duration(start_in, "start delay"),
            comment=comment,
            instance=instance,
        )
        staging = self._staging(answer["stagings"], instance)
        return staging.wait(timeout) if wait else staging

    def status(
        self, target: str | Iterable[str] | None = None, *, instance: str | None = None
    ) -> Staging:
        """Your stagings: all of them, those of a DID, or one rule id. Refreshes the numbers."""
        if target is None:
            answer = self.channel.call("list_stagings", instance=instance)
            staging = self._staging(answer["stagings"], instance)
            if answer.get("error"):
                # Rucio did not answer in time: the shim's last list, said to be that.
                staging.note = f" — {answer['error']['message']}"
            return staging
        return self._resolve(target, instance)

    def wait(
        self,
        target: str | Iterable[str] | Staging,
        *,
        timeout: Duration | None = None,
        instance: str | None = None,
    ) -> Staging:
        """Block until the stagings of a DID (or a rule id, or a handle) are complete.

        Shows live progress (files and bytes). Raises ``DatalakeError`` when a rule is stuck or
        after ``timeout`` (seconds or "3h"; default one hour); the staging goes on either way.
        """
        return self._resolve(target, instance).wait(timeout)

    def paths(
        self,
        did: str,
        *,
        qos: str | None = None,
        urls: bool = False,
        verify: bool = False,
        instance: str | None = None,
    ) -> DidPaths:
        """Local paths of the files of ``did`` near the hub (in QoS class ``qos`` if given).

        With ``verify=True`` every local copy is first checked against Rucio's adler32, and a
        copy that does not match raises ``DatalakeError`` (``CORRUPTED``) naming the files.

        Raises ``DatalakeError`` with the command to run when a file is not near the hub
        (``NOT_STAGED``) or its staging was released (``RELEASED``), and when a file is near the
        hub only on storage this server does not mount (``NOT_LOCAL``); with ``urls=True`` such
        files give their URL instead. A path is always a local path.
        """
        if verify:
            checked = self.verify(did, instance=instance)
            if checked.mismatches:
                names = ", ".join(sorted({c["did"] for c in checked.mismatches})[:5])
                raise DatalakeError(
                    409,
                    f"{len(checked.mismatches)} local copies of {did} do not match Rucio's "
                    f"checksum ({names}): report them with %datalake verify {did} --report "
                    "and read them from another copy.",
                    "CORRUPTED",
                )
        lines = self.channel.call("paths", did, qos=qos, instance=instance)
        # Read as the lines arrive: only the paths are kept, the rest is counted.
        paths: list[str] = []
        dids: list[str] = []
        rses: list[str | None] = []
        names: dict[str | None, str | None] = {}  # one string per RSE, shared by its files
        refused: dict[str, int] = {}
        remote_rses: set[str] = set()
        for line in lines:
            state = _usable(line, urls)
            if state is None:
                paths.append(line.get("path") or line["url"])
                dids.append(line["did"])
                rses.append(names.setdefault(line.get("rse"), line.get("rse")))
                continue
            refused[state] = refused.get(state, 0) + 1
            if state == "REMOTE":
                remote_rses.add(line.get("rse") or "?")
        total = len(paths) + sum(refused.values())
        for state in REFUSAL_ORDER:
            if state in refused:
                files = f"{refused[state]} of {total}"
                raise _refusal(state, did, qos, files, remote_rses, refused[state])
        found = DidPaths(paths, did, qos, dids, rses)
        self._handed_out = [r for r in self._handed_out if r() is not None]
        self._handed_out.append(weakref.ref(found))
        return found

    def iter_paths(
        self,
        did: str,
        *,
        qos: str | None = None,
        urls: bool = False,
        instance: str | None = None,
    ) -> Iterator[str]:
        """The paths of ``paths()`` one at a time, as Rucio lists them, holding none: for DIDs
        of a million files. Raises, as ``paths`` does, at the first file that has no path."""
        for line in self.channel.call("paths", did, qos=qos, instance=instance):
            state = _usable(line, urls)
            if state is not None:
                raise _refusal(state, did, qos, f"File {line.get('did')}", {line.get("rse") or "?"})
            yield line.get("path") or line["url"]

    def extend(
        self,
        target: str | Iterable[str] | Staging,
        lifetime: Duration,
        *,
        instance: str | None = None,
    ) -> Staging:
        """Keep the copies of a DID (or rule ids) near the hub for ``lifetime`` from now."""
        parse_duration(lifetime)  # a mistake fails before any call
        return self._resolve(target, instance).extend(lifetime)

    def release(
        self, target: str | Iterable[str] | Staging, *, instance: str | None = None
    ) -> list[str]:
        """Give back the near-hub copies of a DID (or rule ids); returns the released rule ids."""
        return self._resolve(target, instance).release()

    def need(
        self,
        *dids: str | Iterable[str],
        qos: str | None = None,
        lifetime: Duration | None = None,
        timeout: Duration | None = None,
        instance: str | None = None,
    ) -> dict[str, DidPaths]:
        """Paths of each DID, staging (and waiting for) those not yet near the hub.

        The batch-job friendly form of ``%%datalake need``: returns ``{did: DidPaths}``.
        """
        found: dict[str, DidPaths] = {}
        missing = []
        for did in _flatten(dids):
            try:
                found[did] = self.paths(did, qos=qos, instance=instance)
            except DatalakeError as exc:
                if exc.reason not in STAGE_AGAIN:
                    raise
                missing.append(did)
        if missing:
            self.stage(missing, qos=qos, lifetime=lifetime, instance=instance).wait(timeout)
            for did in missing:
                found[did] = self.paths(did, qos=qos, instance=instance)
        return {did: found[did] for did in _flatten(dids)}

    def upload(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        did_or_scope: str,
        qos: str = "SAFE",
        dataset: str | None = None,
        lifetime: Duration | None = None,
        *,
        instance: str | None = None,
    ) -> Uploaded:
        """Put local files (or every file under directories) into the data lake with a QoS.

        ``did_or_scope`` is a scope (each file keeps its name) or ``scope:name`` for one file.
        Each file is written near the hub, checked (size, adler32), registered, and gets a rule
        with the QoS class's expression (kept for ``lifetime``, default: no end); ``dataset``
        (``scope:name``, made if missing) collects them. The same file again is a no-op; other
        content under a taken name is an error. Returns one line per file.
        """
        given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        names = [os.path.abspath(os.path.expanduser(os.fspath(p))) for p in given]
        if not names:
            raise DatalakeError(400, "Name at least one file or directory to upload.", "BAD_PATHS")
        # One short line per file, kept: the failures are raised after the whole answer.
        lines = list(
            self.channel.call(
                "upload",
                names,
                did_or_scope,
                qos=qos,
                dataset=dataset,
                lifetime=None if lifetime is None else parse_duration(lifetime),
                instance=instance,
            )
        )
        raise_failures(lines, "Could not upload")
        return Uploaded(lines, qos)

    def move(
        self,
        target: str | Iterable[str] | Staging,
        qos: str,
        *,
        wait: bool = False,
        timeout: Duration | None = None,
        instance: str | None = None,
    ) -> Staging:
        """Move your stagings of a DID (or rule ids) to QoS class ``qos`` (Rucio's rule move).

        The old copies stay, and paths keep resolving to them, until the new ones are complete;
        Rucio then removes the old rule. With ``wait=True``, blocks until the new copies are
        there and switches every path list this kernel got for the DID (``p = %datalake paths
        DID``) to the new copies. Returns the handle of the new stagings.
        """
        old = self._resolve(target, instance)
        moved = [
            self.channel.call("move", rule_id, qos=qos, instance=instance)["stagings"][0]
            for rule_id in old.rule_ids
        ]
        staging = self._staging(moved, instance)
        if wait:
            staging.wait(timeout)
            self._switch(staging.dids, qos, instance)
        return staging

    def _switch(self, dids: list[str], qos: str, instance: str | None) -> None:
        """Point the path lists handed out for ``dids`` at the copies in ``qos``, in place."""
        for ref in list(self._handed_out):
            handed = ref()
            if handed is not None and handed.did in dids:
                fresh = self.paths(handed.did, qos=qos, instance=instance)
                handed.take(fresh)

    def verify(self, did: str, report: bool = False, *, instance: str | None = None) -> Verified:
        """Check the adler32 of every local copy of the files of ``did`` against Rucio's.

        Returns one line per copy (``.mismatches`` lists file, RSE, expected and found). With
        ``report=True`` each mismatching copy is declared suspicious to Rucio with the reason.
        """
        lines = list(self.channel.call("verify", did, report=report, instance=instance))
        return Verified(lines, did)

    def _resolve(self, target: str | Iterable[str] | Staging, instance: str | None) -> Staging:
        """A handle on the rules named by DIDs (``scope:name``) and/or rule ids."""
        if isinstance(target, Staging):
            return target.refresh()
        names = _flatten([target])
        dids = [n for n in names if ":" in n]
        rules = [
            self.channel.call("get_staging", n, instance=instance) for n in names if ":" not in n
        ]
        if dids:
            mine = self._mine(instance)
            for did in dids:
                of_did = [rule for rule in mine if rule["did"] == did]
                if not of_did:
                    raise DatalakeError(
                        404,
                        f"You have no staging of {did}: start one with %datalake stage {did} "
                        "--qos CLASS (see %datalake status for yours).",
                        "NO_STAGING",
                    )
                rules += of_did
        return self._staging(rules, instance)

    def _mine(self, instance: str | None) -> list[Json]:
        return self.channel.call("list_stagings", instance=instance)["stagings"]

    def _staging(self, rules: list[Json], instance: str | None) -> Staging:
        return Staging(self.channel, rules, instance)


def _flatten(values: Iterable[str | Iterable[str]]) -> list[str]:
    names: list[str] = []
    for value in values:
        names += [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


#: The ready-made API object: ``from jupyterlab_datalake import datalake``.
datalake = Datalake()


def adopt_shim_channel() -> None:
    """In a kernel of a Jupyter server: give ``datalake`` its HTTP channel now and take the shim
    secret out of the environment, where printed ``os.environ``, ``!env`` and subprocesses would
    show it. Called when the IPython extension loads (at kernel start)."""
    url, secret = os.environ.get(SHIM_URL_ENV), os.environ.pop(SHIM_SECRET_ENV, None)
    if url and secret:
        datalake.channel = HttpChannel(url, secret)
