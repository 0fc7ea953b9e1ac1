"""An in-memory Rucio REST server behind ``httpx.MockTransport``, for unit tests of the shim.

It speaks the parts of the Rucio 41 API the shim uses (path prefix ``/rucio`` to catch clients
that drop it), with tokens that expire, x-json-stream answers, ExceptionClass errors and rules
whose progress tests advance by hand. Its error messages deliberately echo the token, so tests
can prove the shim never passes them on.
"""

from __future__ import annotations

import ast
import fnmatch
import itertools
import json
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import httpx

PREFIX = "/rucio"
BASE_URL = f"http://rucio.test{PREFIX}"
PASSWORD = "s3cret-pass-word"
RSES: dict[str, dict[str, str]] = {
    "HUB-FAST": {"site": "HUB", "QOS": "FAST"},
    "HUB-CHEAP": {"site": "HUB", "QOS": "CHEAP-ANALYSIS"},
    "LAKE-SAFE": {"site": "LAKE", "QOS": "SAFE"},
    "FAR-FAST": {"site": "FAR", "QOS": "FAST"},
}


def rfc1123(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S UTC")


def error(status: int, cls: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"ExceptionClass": cls, "ExceptionMessage": message},
        headers={"ExceptionClass": cls, "ExceptionMessage": message[:125]},
    )


def stream(items: Any) -> httpx.Response:
    body = "".join(json.dumps(item) + "\n" for item in items)
    return httpx.Response(
        200, content=body.encode(), headers={"Content-Type": "application/x-json-stream"}
    )


class FakeRucio:
    def __init__(self, *, token_lifetime: float = 3600.0, big_files: int = 0) -> None:
        self.token_lifetime = token_lifetime
        self.tokens: set[str] = set()
        self.token_counter = itertools.count(1)
        self.calls: list[tuple[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.fail_next: list[tuple[str, str, Callable[[], httpx.Response]]] = []
        self.dids: dict[tuple[str, str], dict[str, Any]] = {}
        self.children: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.replicas: dict[tuple[str, str], dict[str, str]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.rule_counter = itertools.count(1)
        #: what was declared suspicious: (PFNs, reason) per call
        self.suspicious: list[tuple[list[str], str]] = []
        #: datasets whose files are made up as they are streamed: (scope, name) -> file count
        self.generated: dict[tuple[str, str], int] = {}
        # Local account limits per RSE (bytes); usage is what live rules charge there.
        self.limits: dict[str, float] = dict.fromkeys(RSES, 10**13)
        self._seed(big_files)

    # ---- data -----------------------------------------------------------------------------

    def add_file(
        self, scope: str, name: str, parent: tuple[str, str], rses: dict[str, str]
    ) -> None:
        data = name.encode()
        self.dids[(scope, name)] = {
            "scope": scope,
            "name": name,
            "type": "FILE",
            "bytes": 1000 + len(name),
            "adler32": f"{zlib.adler32(data):08x}",
            "md5": "d41d8cd98f00b204e9800998ecf8427e",
        }
        self.children.setdefault(parent, []).append((scope, name))
        self.replicas[(scope, name)] = dict(rses)

    def add_collection(
        self,
        scope: str,
        name: str,
        kind: str,
        parent: tuple[str, str] | None = None,
        *,
        open: bool = True,
    ) -> None:
        self.dids[(scope, name)] = {
            "scope": scope,
            "name": name,
            "type": kind,
            "open": open,
            "bytes": None,
            "length": None,
        }
        self.children.setdefault((scope, name), [])
        if parent:
            self.children[parent].append((scope, name))

    def _seed(self, big_files: int) -> None:
        self.add_collection("demo", "lofar-obs", "CONTAINER")
        for sb in range(3):
            ds = f"lofar-obs-sb{sb:03d}"
            self.add_collection("demo", ds, "DATASET", ("demo", "lofar-obs"))
            for f in range(4):
                self.add_file("demo", f"{ds}.f{f}", ("demo", ds), {"LAKE-SAFE": "AVAILABLE"})
        self.add_collection("demo", "raw-2024", "DATASET")
        self.dids[("demo", "raw-2024")]["datatype"] = "RAW"
        if big_files:
            self.add_collection("demo", "big", "DATASET")
            for i in range(big_files):
                self.add_file("demo", f"big.f{i:06d}", ("demo", "big"), {"LAKE-SAFE": "AVAILABLE"})

    def add_generated_dataset(self, scope: str, name: str, files: int) -> None:
        """A dataset of ``files`` files that exist only while its file list streams, so a
        million rows cost the test nothing to hold (no replicas, no rules)."""
        self.add_collection(scope, name, "DATASET")
        self.generated[(scope, name)] = files

    def generated_files(self, key: tuple[str, str]) -> httpx.Response:
        scope, name = key

        async def lines() -> AsyncIterator[bytes]:
            chunk = []
            for i in range(self.generated[key]):
                file = {"scope": scope, "name": f"{name}.f{i:07d}", "bytes": 1000 + i % 977}
                chunk.append(json.dumps({**file, "adler32": "0badc0de", "md5": None}) + "\n")
                if len(chunk) == 1000:
                    yield "".join(chunk).encode()
                    chunk = []
            yield "".join(chunk).encode()

        return httpx.Response(
            200, content=lines(), headers={"Content-Type": "application/x-json-stream"}
        )

    def files_of(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        if self.dids[key]["type"] == "FILE":
            return [key]
        return [f for child in self.children.get(key, []) for f in self.files_of(child)]

    def did_view(self, key: tuple[str, str]) -> dict[str, Any]:
        did = dict(self.dids[key])
        if did["type"] != "FILE":
            files = self.files_of(key)
            did["bytes"] = sum(self.dids[f]["bytes"] for f in files)
            did["length"] = len(self.children.get(key, []))
        return did

    def expression(self, expr: str) -> list[str]:
        selected = set(RSES)
        for term in expr.split("&"):
            if "=" in term:
                key, value = term.split("=", 1)
                selected &= {r for r, attrs in RSES.items() if attrs.get(key) == value}
            elif term in RSES:
                selected &= {term}
            else:
                raise ValueError(term)
        return sorted(selected)

    def advance(self, rule_id: str, files: int | None = None) -> None:
        """Complete ``files`` more locks of a rule (all if None), making replicas AVAILABLE."""
        rule = self.rules[rule_id]
        pending = [
            f
            for f in self.files_of((rule["scope"], rule["name"]))
            if self.replicas[f].get(rule["_rse"]) != "AVAILABLE"
        ]
        for key in pending[: len(pending) if files is None else files]:
            self.replicas[key][rule["_rse"]] = "AVAILABLE"
        done = (
            len(self.files_of((rule["scope"], rule["name"])))
            - len(pending)
            + len(pending[: len(pending) if files is None else files])
        )
        total = len(self.files_of((rule["scope"], rule["name"])))
        rule["locks_ok_cnt"], rule["locks_replicating_cnt"] = done, total - done
        rule["state"] = "OK" if done == total else "REPLICATING"
        rule["updated_at"] = rfc1123(datetime.now(timezone.utc))

    def usage(self, account: str, rse: str) -> dict[str, Any]:
        """As Rucio's ``/accounts/{account}/usage/local/{rse}``: every live rule of the account
        on the RSE charges the DID's whole size."""
        used = sum(
            self.did_view((r["scope"], r["name"]))["bytes"]
            for r in self.live_rules().values()
            if r["account"] == account and r["_rse"] == rse
        )
        limit = self.limits.get(rse, 0)
        return {
            "rse": rse,
            "bytes": used,
            "files": 0,
            "bytes_limit": limit,
            "bytes_remaining": limit - used,
        }

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # ---- transport ------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.raw_path.decode().split("?")[0])
        self.calls.append((request.method, path))
        self.requests.append(request)
        for index, (method, prefix, make) in enumerate(self.fail_next):
            if request.method == method and path.startswith(PREFIX + prefix):
                del self.fail_next[index]
                return make()
        if not path.startswith(PREFIX + "/"):
            return httpx.Response(404, text="no such path (prefix dropped?)")
        parts = path[len(PREFIX) + 1 :].split("/")
        if parts == ["ping"]:
            return httpx.Response(200, json={"version": "41.5.1"})
        if parts[:2] == ["auth", "userpass"]:
            return self.auth(request)
        token = request.headers.get("X-Rucio-Auth-Token", "")
        if token not in self.tokens:
            return error(
                401, "CannotAuthenticate", f"Cannot authenticate with given credentials: {token}"
            )
        return self.route(request, parts)

    def auth(self, request: httpx.Request) -> httpx.Response:
        h = request.headers
        if h.get("X-Rucio-Username") != "alice" or h.get("X-Rucio-Password") != PASSWORD:
            return error(401, "CannotAuthenticate", "Cannot authenticate with given credentials")
        token = f"alice-alice-unknown-token{next(self.token_counter):04d}"
        self.tokens.add(token)
        expires = datetime.now(timezone.utc) + timedelta(seconds=self.token_lifetime)
        return httpx.Response(
            200,
            headers={
                "X-Rucio-Auth-Token": token,
                "X-Rucio-Auth-Token-Expires": rfc1123(expires),
                "X-Rucio-Auth-Account": "alice",
            },
        )

    def route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        method = request.method
        q = request.url.params
        if parts == ["accounts", "whoami"]:
            return httpx.Response(303, headers={"Location": f"{BASE_URL}/accounts/alice"})
        if parts[0] == "accounts" and parts[2:4] == ["usage", "local"] and len(parts) == 5:
            return stream([self.usage(parts[1], parts[4])])
        if parts == ["scopes", ""]:
            return httpx.Response(200, json=["demo", "user.alice"])
        if parts[0] == "rses":
            if parts[1] == "":
                try:
                    return stream({"rse": r} for r in self.expression(q.get("expression", "")))
                except ValueError:
                    return error(400, "InvalidRSEExpression", "bad expression")
            if parts[1] not in RSES:
                return error(404, "RSENotFound", parts[1])
            if parts[2] == "attr":
                return httpx.Response(200, json={parts[1]: True, **RSES[parts[1]]})
            if parts[2] == "protocols":
                return httpx.Response(
                    200,
                    json=[  # Rucio 41: a bare list
                        {
                            "scheme": "file",
                            "hostname": "localhost",
                            "port": 0,
                            "prefix": f"/storage/{parts[1]}/",
                        },
                        {
                            "scheme": "root",
                            "hostname": "xrd.test",
                            "port": 1094,
                            "prefix": "//data",
                        },
                    ],
                )
        if parts[0] == "dids":
            return self.dids_route(request, parts)
        if parts[0] == "replicas":
            return self.replicas_route(request, parts)
        if parts[0] == "rules":
            return self.rules_route(method, parts, request)
        return httpx.Response(404, text="fake rucio: unknown route")

    def dids_route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        q = request.url.params
        scope = parts[1]
        if parts[2:4] == ["dids", "search"]:
            (clause,) = ast.literal_eval(q["filters"])
            kind = q.get("type", "collection")
            found = []
            for (s, n), did in sorted(self.dids.items()):
                if s != scope or not fnmatch.fnmatch(n, clause["name"].replace("%", "*")):
                    continue
                if kind in ("dataset", "container", "file") and did["type"] != kind.upper():
                    continue
                if kind == "collection" and did["type"] == "FILE":
                    continue
                extra = {k: v for k, v in clause.items() if k != "name"}
                if any(did.get(k) != v for k, v in extra.items()):
                    continue
                view = self.did_view((s, n))
                found.append(
                    {
                        "scope": s,
                        "name": n,
                        "did_type": f"DIDType.{did['type']}",
                        "bytes": view["bytes"],
                        "length": view.get("length"),
                    }
                )
            return stream(found[: int(q.get("limit", 10**9))])
        name = "/".join(parts[2:])
        suffix = None
        for candidate in ("meta", "dids", "files", "rules"):
            if name.endswith("/" + candidate):
                name, suffix = name[: -len(candidate) - 1], candidate
                break
        key = (scope, name)
        if key not in self.dids:
            return error(
                404, "DataIdentifierNotFound", f"Data identifier '{scope}:{name}' not found"
            )
        if suffix is None:
            view = self.did_view(key)
            # As Rucio: an open collection's counts are summed only when asked (dynamic_depth);
            # a closed one's were stored when it was closed.
            if view.get("open") and "dynamic_depth" not in request.url.params:
                view.update(bytes=None, length=None)
            return httpx.Response(200, json=view)
        if suffix == "meta":
            did = self.dids[key]
            return httpx.Response(
                200,
                json={
                    "scope": scope,
                    "name": name,
                    "datatype": did.get("datatype"),
                    "run_number": 7,
                    "project": None,
                },
            )
        if suffix == "dids":
            return stream(
                {
                    "scope": s,
                    "name": n,
                    "type": self.dids[(s, n)]["type"],
                    "bytes": self.did_view((s, n))["bytes"],
                }
                for s, n in self.children.get(key, [])
            )
        if suffix == "files" and key in self.generated:
            return self.generated_files(key)
        if suffix == "files":
            return stream(
                {k: self.dids[f][k] for k in ("scope", "name", "bytes", "adler32", "md5")}
                for f in self.files_of(key)
            )
        return stream(
            self.rule_view(r) for r in self.rules.values() if (r["scope"], r["name"]) == key
        )

    def replicas_route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts[1] == "list":
            body = json.loads(request.content)
            allowed = set(RSES)
            if body.get("rse_expression"):
                try:
                    allowed = set(self.expression(body["rse_expression"]))
                except ValueError:
                    return error(400, "InvalidRSEExpression", "bad")
            out = []
            for did in body["dids"]:
                for f in self.files_of((did["scope"], did["name"])):
                    states = {r: s for r, s in self.replicas[f].items() if r in allowed}
                    if not body.get("all_states"):
                        states = {r: s for r, s in states.items() if s == "AVAILABLE"}
                    if not states:
                        continue
                    rses = {r: [f"file://localhost/storage/{r}/{f[0]}/{f[1]}"] for r in states}
                    out.append(
                        {
                            **{
                                k: self.dids[f][k]
                                for k in ("scope", "name", "bytes", "adler32", "md5")
                            },
                            "states": states,
                            "rses": rses,
                            "pfns": {p[0]: {"rse": r} for r, p in rses.items()},
                        }
                    )
            return stream(out)
        if parts[1] == "suspicious" and request.method == "POST":
            body = json.loads(request.content)
            self.suspicious.append((body["pfns"], body["reason"]))
            return httpx.Response(201, json=[])  # what Rucio did not declare: nothing
        if parts[1] == "datasets_bulk":
            body = json.loads(request.content)
            keys = [(d["scope"], d["name"]) for d in body["dids"]]
            return stream(row for key in keys if key in self.dids for row in self.counts(key))
        scope, name = parts[1], "/".join(parts[2:-1])
        key = (scope, name)
        if key not in self.dids:
            return error(404, "DataIdentifierNotFound", "not found")
        return stream(self.counts(key))

    def counts(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        """A dataset's replica counts per RSE, as abacus keeps them."""
        files = self.files_of(key)
        rows = []
        for rse in RSES:
            available = [f for f in files if self.replicas[f].get(rse) == "AVAILABLE"]
            if any(rse in self.replicas[f] for f in files):
                rows.append(
                    {
                        "scope": key[0],
                        "name": key[1],
                        "rse": rse,
                        "length": len(files),
                        "available_length": len(available),
                        "available_bytes": sum(self.dids[f]["bytes"] for f in available),
                    }
                )
        return rows

    @staticmethod
    def expiry(rule: dict[str, Any]) -> datetime:
        return datetime.strptime(rule["expires_at"], "%a, %d %b %Y %H:%M:%S UTC").replace(
            tzinfo=timezone.utc
        )

    def live_rules(self) -> dict[str, dict[str, Any]]:
        """The rules not deleted (Rucio still lists deleted ones until its cleaner runs)."""
        return {i: r for i, r in self.rules.items() if not r.get("_deleted")}

    def rule_view(self, rule: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rule.items() if not k.startswith("_")}

    def rules_route(self, method: str, parts: list[str], request: httpx.Request) -> httpx.Response:
        if parts[1] == "" and method == "GET":
            account = request.url.params.get("account")
            return stream(self.rule_view(r) for r in self.rules.values() if r["account"] == account)
        if parts[1] == "" and method == "POST":
            body = json.loads(request.content)
            (did,) = body["dids"]
            key = (did["scope"], did["name"])
            if key not in self.dids:
                return error(404, "DataIdentifierNotFound", "not found")
            try:
                rses = self.expression(body["rse_expression"])
            except ValueError:
                rses = []
            if not rses:
                return error(
                    409, "InvalidRSEExpression", "RSE Expression resulted in an empty set."
                )
            for rule in self.rules.values():
                if (
                    (rule["scope"], rule["name"]) == key
                    and rule["account"] == body["account"]
                    and rule["rse_expression"] == body["rse_expression"]
                ):
                    return error(
                        409,
                        "DuplicateRule",
                        "A duplicate rule for this account, did, rse_expression, copies exists",
                    )
            rule_id = f"{next(self.rule_counter):032x}"
            total = len(self.files_of(key))
            now = datetime.now(timezone.utc)
            self.rules[rule_id] = {
                "id": rule_id,
                "scope": key[0],
                "name": key[1],
                "account": body["account"],
                "rse_expression": body["rse_expression"],
                "state": "REPLICATING",
                "locks_ok_cnt": 0,
                "locks_replicating_cnt": total,
                "locks_stuck_cnt": 0,
                "comments": body.get("comment"),
                "notification": {"P": "PROGRESS", "Y": "YES", "C": "CLOSE"}.get(
                    body.get("notify"), "NO"
                ),
                "error": None,
                "copies": body["copies"],
                "grouping": body["grouping"],
                "source_replica_expression": body.get("source_replica_expression"),
                "created_at": rfc1123(now),
                "updated_at": rfc1123(now),
                "expires_at": rfc1123(now + timedelta(seconds=body["lifetime"])),
                "_rse": rses[0],
                "_body": body,
            }
            return httpx.Response(201, json=[rule_id])
        rule = self.rules.get(parts[1])
        if rule is None:
            return error(404, "RuleNotFound", "No replication rule found.")
        if method == "GET":
            return httpx.Response(200, json=self.rule_view(rule))
        now = datetime.now(timezone.utc)
        if method == "PUT":
            options = json.loads(request.content)["options"]
            if "lifetime" in options:
                expires = now + timedelta(seconds=options["lifetime"])
                rule["expires_at"] = rfc1123(expires)
                rule.pop("_deleted", None)  # a new lifetime keeps a soft-deleted rule
            if "comment" in options:
                rule["comments"] = options["comment"]
            rule["updated_at"] = rfc1123(now)
            return httpx.Response(200, text="")
        if method == "DELETE":
            # As Rucio: a soft delete, the rule stays (up to an hour) until the cleaner runs.
            expires = min(now + timedelta(hours=1), self.expiry(rule))
            rule["expires_at"], rule["_deleted"] = rfc1123(expires), True
            return httpx.Response(200, text="")
        return httpx.Response(405)
