"""An in-memory data lake behind the kernel's Channel, for tests without Rucio.

Each verb of ``core/verbs.py`` is a method here taking the arguments it uses. Stagings advance
``step`` files each time they are read (``get_staging``), so a wait loop sees real progress.
Import it in a kernel too (its directory on ``PYTHONPATH``).
"""

from __future__ import annotations

import fnmatch
import itertools
import zlib
from typing import Any

from jupyterlab_datalake.core.verbs import Verb
from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel.channels import Channel

QOS = {"FAST": ["HUB-FAST"], "CHEAP-ANALYSIS": ["HUB-CHEAP"]}
DEFAULT_QOS = "FAST"


def demo_files(name: str, count: int = 4) -> list[dict[str, Any]]:
    files = []
    for i in range(count):
        data = f"{name}-{i}".encode()
        files.append(
            {
                "scope": "demo",
                "name": f"{name}.f{i}",
                "did": f"demo:{name}.f{i}",
                "type": "FILE",
                "bytes": 1000 * (i + 1),
                "length": None,
                "adler32": f"{zlib.adler32(data):08x}",
                "md5": None,
            }
        )
    return files


class StubChannel(Channel):
    def __init__(
        self, names: tuple[str, ...] = ("lofar-obs-sb000", "lofar-obs-sb001"), step: int = 1
    ) -> None:
        self.datasets = {f"demo:{n}": demo_files(n) for n in names}
        self.step = step
        self.rules: dict[str, dict[str, Any]] = {}
        self.released: dict[str, dict[str, Any]] = {}
        self.last_filters: dict[str, Any] | None = None
        self.calls: list[str] = []
        #: (verb, instance) of every call: which instance each verb was asked of
        self.asked: list[tuple[str, str | None]] = []
        self.down = False
        self.cursor = 0
        self._ids = itertools.count(1)
        #: files whose local copy does not match (verify), reported ones (verify --report)
        self.corrupted: set[str] = set()
        self.reported: set[str] = set()
        #: files Rucio keeps no adler32 for (verify cannot check their copies)
        self.unchecked: set[str] = set()
        #: DIDs uploaded so far, and the arguments of the last upload
        self.uploaded: set[str] = set()
        self.last_upload: dict[str, Any] = {}

    def _call(self, verb: Verb, arguments: dict[str, Any], instance: str | None) -> Any:
        self.calls.append(verb.name)
        self.asked.append((verb.name, instance))
        if self.down:
            raise DatalakeError(
                502,
                "Rucio at http://rucio.invalid is not reachable: try again later.",
                "RUCIO_UNREACHABLE",
            )
        return getattr(self, verb.name)(**arguments, instance=instance)

    def _dataset(self, did: str) -> list[dict[str, Any]]:
        if did not in self.datasets:
            raise DatalakeError(
                404, f"{did} does not exist in this data lake: check the name.", "DID_NOT_FOUND"
            )
        return self.datasets[did]

    def _qos(self, qos: str | None) -> str:
        qos = qos or DEFAULT_QOS
        if qos not in QOS:
            raise DatalakeError(
                400, f"Unknown QoS class {qos!r}: use one of {', '.join(QOS)}.", "UNKNOWN_QOS"
            )
        return qos

    def _did(self, did: str) -> dict[str, Any]:
        files = self._dataset(did)
        scope, name = did.split(":", 1)
        size = sum(f["bytes"] for f in files)
        return {
            "scope": scope,
            "name": name,
            "did": did,
            "type": "DATASET",
            "bytes": size,
            "length": len(files),
        }

    def search(
        self,
        did: str,
        limit: int = 100,
        cursor: str | None = None,
        filters: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self.last_filters = filters
        found = [self._did(d) for d in sorted(self.datasets) if fnmatch.fnmatchcase(d, did)]
        start = int(cursor or 0)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {"items": page, "next_cursor": str(start + limit) if more else None}

    def did_info(self, did: str, **_: Any) -> dict[str, Any]:
        ok = [r for r in self.rules.values() if r["did"] == did and r["state"] == "OK"]
        near = {"state": "AVAILABLE" if ok else "NONE", "rses": [QOS[r["qos"]][0] for r in ok]}
        return {
            **self._did(did),
            "metadata": {"datatype": "RAW", "run_number": 7},
            "near_hub": near,
        }

    def files(
        self, did: str, limit: int = 1000, cursor: str | None = None, **_: Any
    ) -> dict[str, Any]:
        files = self._dataset(did)
        start = int(cursor or 0)
        more = start + limit < len(files)
        return {
            "items": files[start : start + limit],
            "next_cursor": str(start + limit) if more else None,
        }

    def replicas(self, did: str, **_: Any) -> dict[str, Any]:
        size = self._did(did)["bytes"]
        lake = {
            "rse": "LAKE-SAFE",
            "qos": "SAFE",
            "site": "LAKE",
            "near_hub": False,
            "files": 4,
            "bytes": size,
        }
        return {"rses": [lake]}

    def qos(self, **_: Any) -> dict[str, Any]:
        return {
            "classes": [
                {
                    "name": n,
                    "description": f"{n} disk",
                    "expression": f"QOS={n}&site=HUB",
                    "rses": r,
                }
                for n, r in QOS.items()
            ]
        }

    def list_stagings(self, **_: Any) -> dict[str, Any]:
        return {"stagings": [dict(r) for r in self.rules.values()]}

    def stage(
        self,
        dids: list[str],
        qos: str | None = None,
        lifetime: int | None = None,
        start_in: int | None = None,
        instance: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        qos = self._qos(qos)
        out = []
        created = False
        for did in dids:
            files = self._dataset(did)
            rule = next(
                (r for r in self.rules.values() if r["did"] == did and r["qos"] == qos), None
            )
            if rule is None:
                created = True
                rule_id = f"{next(self._ids):032x}"
                rule = self.rules[rule_id] = {
                    "id": rule_id,
                    "did": did,
                    "instance": instance or "stub",
                    "qos": qos,
                    "rse_expression": f"QOS={qos}&site=HUB",
                    "state": "REPLICATING",
                    "files_ok": 0,
                    "files_replicating": len(files),
                    "files_stuck": 0,
                    "files_total": len(files),
                    "bytes_total": sum(f["bytes"] for f in files),
                    "expires_at": "2030-01-01T00:00:00Z",
                    "created_at": "2029-12-31T00:00:00Z",
                    "error": None,
                    "webui_url": None,
                    "lifetime": lifetime,
                    "start_in": start_in,
                }
            out.append(dict(rule))
        return {"stagings": out, "created": created}

    def _rule(self, rule_id: str) -> dict[str, Any]:
        if rule_id not in self.rules:
            raise DatalakeError(
                404, f"Staging {rule_id} does not exist (any more).", "NO_SUCH_STAGING"
            )
        return self.rules[rule_id]

    def get_staging(self, rule_id: str, **_: Any) -> dict[str, Any]:
        rule = self._rule(rule_id)
        if rule["state"] == "REPLICATING":
            rule["files_ok"] = min(rule["files_total"], rule["files_ok"] + self.step)
            rule["files_replicating"] = rule["files_total"] - rule["files_ok"]
            if rule["files_ok"] == rule["files_total"]:
                rule["state"] = "OK"
                # As Rucio's rule move: the old rule goes once its child is OK.
                self.rules.pop(rule.get("moved_from") or "", None)
        return dict(rule)

    def move(self, rule_id: str, qos: str | None = None, **_: Any) -> dict[str, Any]:
        old = self._rule(rule_id)
        qos = self._qos(qos)
        child_id = f"{next(self._ids):032x}"
        child = self.rules[child_id] = {
            **old,
            "id": child_id,
            "qos": qos,
            "rse_expression": f"QOS={qos}&site=HUB",
            "state": "REPLICATING",
            "files_ok": 0,
            "files_replicating": old["files_total"],
            "moved_from": rule_id,
        }
        return {"stagings": [dict(child)], "created": True, "moved_from": rule_id}

    def verify(self, did: str, report: bool = False, **_: Any) -> list[dict[str, Any]]:
        files = self._dataset(did)
        lines: list[dict[str, Any]] = [{"state": "PLANNED", "did": did, "files": len(files)}]
        for f in files:
            bad = f["did"] in self.corrupted
            no_sum = f["did"] in self.unchecked
            lines.append(
                {
                    "state": "NO_CHECKSUM" if no_sum else "MISMATCH" if bad else "OK",
                    "did": f["did"],
                    "rse": "HUB-FAST",
                    "path": f"/storage/HUB-FAST/demo/{f['name']}",
                    "pfn": f"file://localhost/storage/HUB-FAST/demo/{f['name']}",
                    "expected": None if no_sum else f["adler32"],
                    "found": None if no_sum else "deadbeef" if bad else f["adler32"],
                }
            )
        bad_lines = [line for line in lines if line["state"] == "MISMATCH"]
        unchecked = sum(1 for line in lines if line["state"] == "NO_CHECKSUM")
        if report:
            self.reported |= {line["did"] for line in bad_lines}
            lines += [{**line, "state": "REPORTED"} for line in bad_lines]
        lines.append(
            {
                "state": "DONE",
                "did": did,
                "checked": len(files) - unchecked,
                "mismatches": len(bad_lines),
                "unreadable": 0,
                "unchecked": unchecked,
                "reported": len(bad_lines) if report else 0,
            }
        )
        return lines

    def upload(
        self,
        paths: list[str],
        to: str,
        qos: str | None = None,
        dataset: str | None = None,
        lifetime: int | None = None,
        **_: Any,
    ) -> list[dict[str, Any]]:
        self.last_upload = {"paths": paths, "to": to, "qos": qos, "dataset": dataset}
        lines: list[dict[str, Any]] = [{"state": "PLANNED", "files": len(paths)}]
        for path in paths:
            did = f"{to}:{path.rsplit('/', 1)[-1]}" if ":" not in to else to
            state = "EXISTS" if did in self.uploaded else "UPLOADED"
            self.uploaded.add(did)
            lines.append(
                {"state": state, "path": path, "did": did, "bytes": 10, "adler32": "0000000b"}
            )
        lines.append({"state": "DONE", "uploaded": 1, "existing": 0, "failed": 0})
        return lines

    def wait_stagings(
        self, rule_ids: list[str], after: int | None = None, timeout: float | None = None, **_: Any
    ) -> dict[str, Any]:
        """Like the shim: at once without a cursor, else the next change (one more step)."""
        stagings = [dict(self._rule(r)) if after is None else self.get_staging(r) for r in rule_ids]
        self.cursor += 1
        return {"stagings": stagings, "cursor": self.cursor}

    def extend(self, rule_id: str, lifetime: int, **_: Any) -> dict[str, Any]:
        rule = self._rule(rule_id)
        rule["lifetime"] = lifetime
        return dict(rule)

    def release(self, rule_id: str, **_: Any) -> None:
        # As the shim: the copies stay until Rucio deletes them, and say they were released.
        self.released[rule_id] = self._rule(rule_id)
        del self.rules[rule_id]

    def paths(self, did: str, qos: str | None = None, **_: Any) -> list[dict[str, Any]]:
        files = self._dataset(did)
        ok = [
            r
            for r in self.rules.values()
            if r["did"] == did and r["state"] == "OK" and (qos is None or r["qos"] == qos)
        ]
        gone = [
            r
            for r in self.released.values()
            if r["did"] == did and r["state"] == "OK" and (qos is None or r["qos"] == qos)
        ]
        if not ok and not gone:
            return [
                {"did": f["did"], "state": "MISSING", "path": None, "url": None, "rse": None}
                for f in files
            ]
        rse = QOS[(ok or gone)[0]["qos"]][0]
        return [
            {
                "did": f["did"],
                "state": "AVAILABLE" if ok else "RELEASED",
                "path": f"/storage/{rse}/demo/{f['name']}",
                "url": None,
                "rse": rse,
            }
            for f in files
        ]

    def complete(self, did: str) -> None:
        """Finish every staging of ``did`` at once."""
        for rule in self.rules.values():
            if rule["did"] == did:
                rule.update(state="OK", files_ok=rule["files_total"], files_replicating=0)
