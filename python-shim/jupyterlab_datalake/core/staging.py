"""Stagings: Rucio replication rules near the hub, tagged so they are found again after restarts.

QoS class + the hub's site expression → ``QOS=<class>&<site_expression>`` (per-class override).
Rucio is the source of truth: the list comes from ``GET /rules/?account=`` filtered by the
comment tag; a short-lived cache and one RuleWatcher loop per rule keep Rucio's load independent
of the number of open tabs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any

from ..errors import DatalakeError
from .auth import iso, parse_rucio_date
from .config import MIN_LIFETIME, InstanceConfig, QosClass
from .did import DID, parse_did
from .events import DEFAULT_RECONCILE
from .rucio import RucioClient
from .watcher import RuleWatcher

TAG = "jupyterlab-datalake"
# Rucio only soft-deletes a rule (it lingers up to an hour): a released staging is re-commented
# with this prefix, which ``tagged_qos`` does not accept, so it leaves the stagings list at once.
RELEASED = TAG + "-released"
# A Rucio rule id: 32 hex digits, in any case (the same rule as src/staging.ts).
RULE_ID_PATTERN = "[0-9a-fA-F]{32}"
SOURCE_QOS_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
COMMENT_MAX = 255
# The longest a wait for a change is held open (below proxies' and the kernel's read timeouts).
MAX_WAIT = 25.0


def resolve_qos(instance: InstanceConfig, qos: str | None) -> QosClass:
    name = instance.default_qos if qos in (None, "") else qos
    if not isinstance(name, str) or name not in instance.qos_classes:
        known = ", ".join(instance.qos_classes)
        raise DatalakeError(
            400, f"Unknown QoS class {qos!r}: choose one of {known}.", "UNKNOWN_QOS"
        )
    return instance.qos_classes[name]


def qos_expression(instance: InstanceConfig, qos: str | None) -> str:
    return resolve_qos(instance, qos).expression


def validate_lifetime(instance: InstanceConfig, lifetime: object) -> int:
    if lifetime is None:
        return instance.default_lifetime
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, (int, float))
        or (not MIN_LIFETIME <= lifetime <= instance.max_lifetime)
    ):
        raise DatalakeError(
            400,
            f"The lifetime must be a number of seconds between {MIN_LIFETIME} and "
            f"{instance.max_lifetime} ({instance.max_lifetime // 86400} days), got {lifetime!r}.",
            "BAD_LIFETIME",
        )
    return int(lifetime)


def bad_rule_id(rule_id: object) -> DatalakeError:
    return DatalakeError(
        400, f"{rule_id!r} is not a Rucio rule id (32 hexadecimal digits).", "BAD_RULE_ID"
    )


def parse_rule_id(rule_id: object) -> str:
    """The rule id in lower case; 400 ``BAD_RULE_ID`` for anything but 32 hex digits."""
    if not isinstance(rule_id, str) or not re.fullmatch(RULE_ID_PATTERN, rule_id):
        raise bad_rule_id(rule_id)
    return rule_id.lower()


def make_comment(qos: str, comment: object) -> str:
    if comment is not None and not isinstance(comment, str):
        raise DatalakeError(400, "The comment must be a string.", "BAD_COMMENT")
    text = f"{TAG} {qos}" + (f" {comment.strip()}" if comment and comment.strip() else "")
    if len(text) > COMMENT_MAX:
        raise DatalakeError(
            400,
            f"The comment is too long: keep it under {COMMENT_MAX - 40} characters.",
            "BAD_COMMENT",
        )
    return text


def tagged_qos(comment: object) -> str | None:
    """The QoS class recorded in a rule comment made by this product, else None."""
    if not isinstance(comment, str) or not (comment == TAG or comment.startswith(TAG + " ")):
        return None
    parts = comment.split(" ", 2)
    return parts[1] if len(parts) > 1 else ""


def staging_from_rule(
    rule: dict[str, Any], instance: InstanceConfig, size: tuple[int | None, int | None]
) -> dict[str, Any]:
    """The Staging document of the contract; ``size`` is the DID's (bytes, file count)."""
    bytes_total, length = size
    ok = int(rule.get("locks_ok_cnt") or 0)
    replicating = int(rule.get("locks_replicating_cnt") or 0)
    stuck = int(rule.get("locks_stuck_cnt") or 0)
    comment = rule.get("comments", rule.get("comment"))
    state = str(rule.get("state") or "")
    state = state.split(".")[-1].upper()  # old servers said "RuleState.OK"
    rule_id = str(rule.get("id"))
    return {
        "id": rule_id,
        "did": f"{rule.get('scope')}:{rule.get('name')}",
        "instance": instance.name,
        "qos": tagged_qos(comment),
        "rse_expression": rule.get("rse_expression"),
        "state": state,
        "files_ok": ok,
        "files_replicating": replicating,
        "files_stuck": stuck,
        # Before injection (delayed start) a rule has no locks yet: the DID says how many files.
        "files_total": max(ok + replicating + stuck, length or 0),
        "bytes_total": bytes_total,
        "expires_at": iso(parse_rucio_date(rule.get("expires_at"))),
        "created_at": iso(parse_rucio_date(rule.get("created_at"))),
        "error": rule.get("error") or None,
        "webui_url": f"{instance.webui_url}/rule?rule_id={rule_id}" if instance.webui_url else None,
    }


def _rule_id_list(rule_ids: object) -> list[object]:
    """A list, a JSON list (the kernel's query string) or comma-separated ids; 1 to 100."""
    if isinstance(rule_ids, str):
        text = rule_ids.strip()
        if text.startswith("["):
            try:
                rule_ids = json.loads(text)
            except ValueError:
                rule_ids = None
        else:
            rule_ids = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(rule_ids, list) or not 1 <= len(rule_ids) <= 100:
        raise DatalakeError(
            400,
            "Give 'rule_ids' as 1 to 100 rule ids (a list, or separated by commas).",
            "BAD_RULE_ID",
        )
    return rule_ids


def _wait_seconds(timeout: object) -> float:
    if timeout in (None, ""):
        return MAX_WAIT
    try:
        seconds = float(timeout)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(timeout, bool) or not 0 <= seconds <= MAX_WAIT:
        raise DatalakeError(
            400, f"timeout must be a number of seconds from 0 to {MAX_WAIT:.0f}.", "BAD_TIMEOUT"
        )
    return seconds


def _cursor(after: object) -> int | None:
    if after in (None, ""):
        return None
    try:
        cursor = int(after)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        cursor = -1
    if isinstance(after, bool) or cursor < 0:
        raise DatalakeError(
            400, "after must be the cursor of a previous answer (a whole number).", "BAD_CURSOR"
        )
    return cursor


class StagingManager:
    """Create, list, watch, extend and release the stagings of one instance."""

    def __init__(
        self,
        instance: InstanceConfig,
        client: RucioClient,
        *,
        list_ttl: float = 30.0,
        watcher: RuleWatcher | None = None,
    ) -> None:
        self.instance = instance
        self.client = client
        self.list_ttl = list_ttl
        events = instance.events
        self.watcher = watcher or RuleWatcher(
            self.fetch,
            reconcile_interval=events.reconcile_interval if events else DEFAULT_RECONCILE,
        )
        self._sizes: dict[str, tuple[int | None, int | None]] = {}
        self._account: str | None = None
        self._list_ids: list[str] | None = None
        self._listed_at = 0.0
        self._list_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()

    async def account(self) -> str:
        if self._account is None:
            await self.client.auth.token()  # an issued token tells us the account
            account = self.client.auth.account or await self.client.whoami()
            if not account:
                raise DatalakeError(
                    502,
                    "Rucio did not tell which account the shim acts as; set 'account'.",
                    "CONFIG",
                )
            self._account = account
        return self._account

    async def did_size(self, did: DID) -> tuple[int | None, int | None]:
        """(bytes, number of files) of a DID, asked once per DID."""
        if did not in self._sizes:
            try:
                info = await self.client.did(did)
                files = 1 if info.get("type") == "FILE" else info.get("length")
                self._sizes[did] = (info.get("bytes"), files)
            except DatalakeError as e:
                if e.status != 404:
                    raise
                self._sizes[did] = (None, None)
        return self._sizes[did]

    async def _staging(self, rule: dict[str, Any]) -> dict[str, Any]:
        size = await self.did_size(DID(str(rule.get("scope")), str(rule.get("name"))))
        return staging_from_rule(rule, self.instance, size)

    async def fetch(self, rule_id: str) -> dict[str, Any]:
        """One ``GET /rules/{id}``; the watcher's poll."""
        return await self._staging(await self.client.rule(rule_id))

    async def _own_rule(self, rule_id: str) -> dict[str, Any]:
        rule_id = parse_rule_id(rule_id)
        rule = await self.client.rule(rule_id)
        if (
            tagged_qos(rule.get("comments", rule.get("comment"))) is None
            or rule.get("account") != await self.account()
        ):
            raise DatalakeError(
                404,
                f"Rule {rule_id} is not a staging of your account made by jupyterlab-datalake; "
                "manage it with the Rucio client or WebUI.",
                "NOT_A_STAGING",
            )
        return rule

    async def get(self, rule_id: str) -> dict[str, Any]:
        rule_id = parse_rule_id(rule_id)
        cached = self.watcher.get(rule_id)
        age = self.watcher.age(rule_id)
        if cached is not None and (
            self.watcher.is_polling(rule_id) or (age is not None and age < self.list_ttl)
        ):
            return cached
        return self.watcher.put(rule_id, await self._staging(await self._own_rule(rule_id)))

    async def list(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        # With broker events the cached stagings are kept current by them: listing again is
        # only the slow reconcile (and how stagings made elsewhere show up).
        ttl = self.watcher.reconcile_interval if self.watcher.events_live else self.list_ttl
        async with self._list_lock:
            if refresh or self._list_ids is None or time.monotonic() - self._listed_at > ttl:
                account = await self.account()
                ids: list[str] = []
                lines = self.client.rules(account)
                async with contextlib.aclosing(lines):
                    async for rule in lines:
                        if tagged_qos(rule.get("comments", rule.get("comment"))) is None:
                            continue
                        # As fresh as a GET of the rule: a watch loop's next look waits again,
                        # so one listing stands for all its stagings' polls.
                        self.watcher.put(rule["id"], await self._staging(rule))
                        ids.append(rule["id"])
                for gone in set(self._list_ids or ()) - set(ids):
                    self.watcher.forget(gone)
                self._list_ids, self._listed_at = ids, time.monotonic()
        stagings = (self.watcher.get(rule_id) for rule_id in self._list_ids)
        return sorted(
            (s for s in stagings if s is not None),
            key=lambda s: s.get("created_at") or "",
            reverse=True,
        )

    def _rule_body(
        self,
        did: DID,
        account: str,
        qos: QosClass,
        lifetime: int,
        source_qos: object,
        start_in: object,
        comment: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "dids": [{"scope": did.scope, "name": did.name}],
            "account": account,
            "copies": 1,
            "rse_expression": qos.expression,
            "grouping": "DATASET",
            "lifetime": lifetime,
            "comment": comment,
            # hermes then sends rule_progress (10 % steps) and rule_ok for it (core/events.py).
            "notify": "P",
        }
        if source_qos not in (None, ""):
            if not isinstance(source_qos, str) or not SOURCE_QOS_RE.fullmatch(source_qos):
                raise DatalakeError(
                    400,
                    f"source_qos {source_qos!r} is not a QoS name (A-Z a-z 0-9 _ -).",
                    "BAD_SOURCE_QOS",
                )
            body["source_replica_expression"] = f"QOS={source_qos}"
        if start_in not in (None, 0):
            if (
                isinstance(start_in, bool)
                or not isinstance(start_in, int)
                or not (0 < start_in <= self.instance.max_lifetime)
            ):
                raise DatalakeError(
                    400, "start_in must be a whole number of seconds in the future.", "BAD_START_IN"
                )
            body["delay_injection"] = start_in
        return body

    async def wait_change(
        self, rule_ids: object, after: object = None, timeout: object = None
    ) -> dict[str, Any]:
        """These stagings once one of them changed after cursor ``after``, or after ``timeout``
        seconds (at most ``MAX_WAIT``): ``{"stagings": [...], "cursor": N}``. Without ``after``
        they are answered at once; pass the answer's cursor to the next call. Answered from the
        cache, which broker events or the watch loops keep current: it costs Rucio nothing."""
        ids = [parse_rule_id(r) for r in _rule_id_list(rule_ids)]
        seconds = _wait_seconds(timeout)
        cursor = _cursor(after)
        stagings = [await self.get(rule_id) for rule_id in ids]
        if cursor is not None and await self.watcher.wait_change(ids, cursor, seconds):
            stagings = [await self.get(rule_id) for rule_id in ids]
        return {"stagings": stagings, "cursor": self.watcher.seq}

    async def _existing(self, did: DID, account: str, expression: str) -> dict[str, Any] | None:
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                if rule.get("account") == account and rule.get("rse_expression") == expression:
                    return rule
        return None

    async def stage(
        self,
        dids: object,
        qos: str | None = None,
        lifetime: object = None,
        source_qos: object = None,
        start_in: object = None,
        comment: object = None,
    ) -> dict[str, Any]:
        """One rule per DID, or the existing one: ``{"stagings": [...], "created": bool}``,
        ``created`` when any rule is new."""
        if isinstance(dids, str):
            dids = [dids]
        if not isinstance(dids, list) or not dids or len(dids) > 100:
            raise DatalakeError(
                400, "Give 'dids' as a list of 1 to 100 scope:name strings.", "BAD_DID"
            )
        parsed = [parse_did(d) for d in dids]
        qos_class = resolve_qos(self.instance, qos)
        lifetime = validate_lifetime(self.instance, lifetime)
        tag = make_comment(qos_class.name, comment)
        account = await self.account()
        stagings: list[dict[str, Any]] = []
        created = False
        # One rule at a time: Rucio (SQLite in the testbed) dislikes concurrent writers.
        async with self._write_lock:
            for did in dict.fromkeys(parsed):
                body = self._rule_body(did, account, qos_class, lifetime, source_qos, start_in, tag)
                try:
                    rule_id = await self.client.add_rule(body)
                    created = True
                except DatalakeError as e:
                    if e.reason != "DUPLICATE_RULE":
                        raise
                    rule_id = await self._take_existing(did, account, qos_class, lifetime, tag, e)
                stagings.append(self.watcher.put(rule_id, await self.fetch(rule_id)))
        # The new stagings join the cached list (after a listing in flight): no relisting.
        async with self._list_lock:
            if self._list_ids is not None:
                self._list_ids += [s["id"] for s in stagings if s["id"] not in self._list_ids]
        return {"stagings": stagings, "created": created}

    async def _take_existing(
        self,
        did: DID,
        account: str,
        qos: QosClass,
        lifetime: int,
        tag: str,
        duplicate: DatalakeError,
    ) -> str:
        """The id of this account's rule Rucio called a duplicate; a released one is taken back."""
        existing = await self._existing(did, account, qos.expression)
        if existing is None:
            raise DatalakeError(
                409,
                f"Rucio says a rule like this already exists for {did}, but it is not "
                "visible to your account; check the DID's rules.",
                "DUPLICATE_RULE",
            ) from duplicate
        rule_id = str(existing["id"])
        if str(existing.get("comments", existing.get("comment")) or "").startswith(RELEASED):
            # A released staging still lingering in Rucio: take it back, with the lifetime
            # asked for now (not the hour left by the release).
            await self.client.update_rule(rule_id, {"comment": tag, "lifetime": lifetime})
        return rule_id

    async def extend(self, rule_id: str, lifetime: object) -> dict[str, Any]:
        if lifetime is None:
            raise DatalakeError(400, "Give the new 'lifetime' in seconds.", "BAD_LIFETIME")
        rule = await self._own_rule(rule_id)
        seconds = validate_lifetime(self.instance, lifetime)
        await self.client.update_rule(rule["id"], {"lifetime": seconds})
        return self.watcher.put(rule["id"], await self.fetch(rule["id"]))

    async def release(self, rule_id: str) -> None:
        rule = await self._own_rule(rule_id)
        await self.client.delete_rule(rule["id"])
        qos = tagged_qos(rule.get("comments", rule.get("comment"))) or ""
        # Best effort: a Rucio that deleted the rule outright leaves nothing to re-comment.
        with contextlib.suppress(DatalakeError):
            await self.client.update_rule(rule["id"], {"comment": f"{RELEASED} {qos}".strip()})
        self.watcher.forget(rule["id"])
        if self._list_ids is not None and rule["id"] in self._list_ids:
            self._list_ids.remove(rule["id"])

    async def close(self) -> None:
        await self.watcher.close()
