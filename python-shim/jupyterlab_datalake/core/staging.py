"""Stagings: Rucio replication rules near the hub, tagged so they are found again after restarts.

QoS class + the hub's site expression → ``QOS=<class>&<site_expression>`` (per-class override).
Rucio is the source of truth: the list comes from ``GET /rules/?account=``: this account's rules
tagged in their comment by this product, ``jupyterlab-datalake@<instance> <QoS> [comment]``, with
this instance's name (it keeps the stagings of two instances apart even when both reach the same
Rucio as the same account), and its rules made outside JupyterLab (the Rucio client, the WebUI) on
exactly a QoS class's expression, which are shown read-only (``outside``: extend and release
answer 409). One shared listing at a time and one RuleWatcher loop per rule keep Rucio's
load independent of the number of open tabs; when Rucio does not answer, the last list is served
with its age.

A stage request checks everything it can before it creates anything (every DID exists, the
source QoS matches storage), and removes the rules it created if Rucio fails midway: a refused
request leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import DatalakeError, shown
from .auth import iso, parse_rucio_date
from .browse import did_type
from .config import MIN_LIFETIME, InstanceConfig, QosClass
from .did import DID, parse_did
from .events import DEFAULT_RECONCILE
from .quota import Quota
from .replica_counts import DEEP_REPLICA_LIMIT, replica_rows
from .rucio import RucioClient
from .watcher import RuleWatcher

log = logging.getLogger(__name__)

TAG = "jupyterlab-datalake"
# Rucio only soft-deletes a rule (it lingers up to an hour): a released staging is re-commented
# with this prefix, which ``staging_tag`` does not accept, so it leaves the stagings list at once.
RELEASED = TAG + "-released"
# A Rucio rule id: 32 hex digits, in any case (the same rule as src/staging.ts).
RULE_ID_PATTERN = "[0-9a-fA-F]{32}"
SOURCE_QOS_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
COMMENT_MAX = 255
# The longest a wait for a change is held open (below proxies' and the kernel's read timeouts).
MAX_WAIT = 25.0
# A staging not done whose rule Rucio has not updated for this long shows ``stalled_since``.
STALL_AFTER = 600.0
# With a listing of the stagings older than the cache's lifetime, callers wait this long (at
# most a quarter of the deadline) for the shared refresh before they get the older list (with
# its age) instead.
STALE_WAIT = 2.0
# A list asked for fresh (the user's Refresh) is read again from Rucio if older than this: a
# Refresh pressed again and again costs Rucio one listing per this many seconds at most.
FRESH_AFTER = 2.0
# Existence checks of the DIDs of one request run this many at a time.
CHECKS_AT_ONCE = 8


def resolve_qos(instance: InstanceConfig, qos: str | None) -> QosClass:
    name = instance.default_qos if qos in (None, "") else qos
    if not isinstance(name, str) or name not in instance.qos_classes:
        known = ", ".join(instance.qos_classes)
        raise DatalakeError(
            400, f"Unknown QoS class {shown(qos)}: choose one of {known}.", "UNKNOWN_QOS"
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
            f"{instance.max_lifetime} ({instance.max_lifetime // 86400} days), got "
            f"{shown(lifetime)}.",
            "BAD_LIFETIME",
        )
    return int(lifetime)


def bad_rule_id(rule_id: object) -> DatalakeError:
    return DatalakeError(
        400, f"{shown(rule_id)} is not a Rucio rule id (32 hexadecimal digits).", "BAD_RULE_ID"
    )


def parse_rule_id(rule_id: object) -> str:
    """The rule id in lower case; 400 ``BAD_RULE_ID`` for anything but 32 hex digits."""
    if not isinstance(rule_id, str) or not re.fullmatch(RULE_ID_PATTERN, rule_id):
        raise bad_rule_id(rule_id)
    return rule_id.lower()


def make_comment(instance: str, qos: str, comment: object) -> str:
    if comment is not None and not isinstance(comment, str):
        raise DatalakeError(400, "The comment must be a string.", "BAD_COMMENT")
    text = f"{TAG}@{instance} {qos}" + (
        f" {comment.strip()}" if comment and comment.strip() else ""
    )
    if len(text) > COMMENT_MAX:
        raise DatalakeError(
            400,
            f"The comment is too long: keep it under {COMMENT_MAX - 40 - len(instance)} "
            "characters.",
            "BAD_COMMENT",
        )
    if not text.isprintable():
        raise DatalakeError(
            400, "The comment must be one line of text (no control characters).", "BAD_COMMENT"
        )
    return text


def staging_tag(comment: object) -> tuple[str | None, str] | None:
    """(instance, QoS class) of a rule comment made by this product, else None. Stagings made
    before the instance was recorded (``jupyterlab-datalake <QoS>``) have instance None."""
    if not isinstance(comment, str):
        return None
    head, _, rest = comment.partition(" ")
    if head == TAG:
        instance = None
    elif head.startswith(TAG + "@") and len(head) > len(TAG) + 1:
        instance = head[len(TAG) + 1 :]
    else:
        return None
    return instance, rest.split(" ", 1)[0]


def tagged_qos(comment: object) -> str | None:
    """The QoS class recorded in a rule comment made by this product, else None."""
    tag = staging_tag(comment)
    return tag[1] if tag else None


def rule_comment(rule: dict[str, Any]) -> str | None:
    comment = rule.get("comments", rule.get("comment"))
    return comment if isinstance(comment, str) else None


def is_released(rule: dict[str, Any]) -> bool:
    """A staging released here: Rucio keeps it up to an hour, it is no staging any more."""
    return (rule_comment(rule) or "").startswith(RELEASED)


def class_of_expression(instance: InstanceConfig, expression: object) -> str | None:
    """The QoS class whose RSE expression is exactly ``expression``."""
    return next((c.name for c in instance.qos_classes.values() if c.expression == expression), None)


def staging_from_rule(
    rule: dict[str, Any], instance: InstanceConfig, size: tuple[int | None, int | None]
) -> dict[str, Any]:
    """The Staging document of the contract; ``size`` is the DID's (bytes, file count)."""
    bytes_total, length = size
    ok = int(rule.get("locks_ok_cnt") or 0)
    replicating = int(rule.get("locks_replicating_cnt") or 0)
    stuck = int(rule.get("locks_stuck_cnt") or 0)
    tagged = tagged_qos(rule_comment(rule))
    state = str(rule.get("state") or "")
    state = state.split(".")[-1].upper()  # old servers said "RuleState.OK"
    rule_id = str(rule.get("id"))
    # Rucio updates a rule when a lock changes: an old update means no file arrived since.
    updated = parse_rucio_date(rule.get("updated_at"))
    stalled = (
        state not in ("OK", "SUSPENDED")
        and updated is not None
        and datetime.now(timezone.utc) - updated > timedelta(seconds=STALL_AFTER)
    )
    return {
        "id": rule_id,
        "did": f"{rule.get('scope')}:{rule.get('name')}",
        "instance": instance.name,
        "qos": tagged
        if tagged is not None
        else class_of_expression(instance, rule.get("rse_expression")),
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
        # Made with the Rucio client or WebUI, not here: shown, never extended or released here.
        "outside": tagged is None,
        "stalled_since": iso(updated) if stalled else None,
        # Rucio sends events for it (made with notify): with a broker it is watched through
        # them; without (made elsewhere, or before notify), it is polled as without a broker.
        "notified": str(rule.get("notification") or "").split(".")[-1].upper()
        in ("PROGRESS", "YES"),
        "webui_url": f"{instance.webui_url}/rule?rule_id={rule_id}" if instance.webui_url else None,
    }


def _rule_id_list(rule_ids: object) -> list[object]:
    """A list, a JSON list (the kernel's query string) or comma-separated ids; 1 to 100."""
    if isinstance(rule_ids, str):
        text = rule_ids.strip()
        if text.startswith("["):
            try:
                rule_ids = json.loads(text)
            except (ValueError, RecursionError):  # RecursionError: nested too deep to read
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


def _flag(value: object, name: str) -> bool:
    """A yes/no argument: true/false, 1/0 (a query string's), or absent (no)."""
    if value in (None, "", False, 0, "0", "false"):
        return False
    if value in (True, 1, "1", "true"):
        return True
    raise DatalakeError(400, f"'{name}' must be true or false.", f"BAD_{name.upper()}")


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
        quota: Quota | None = None,
        keeps_untagged: bool = True,
    ) -> None:
        self.instance = instance
        self.client = client
        self.quota = quota or Quota(client)
        # Stagings from before the instance was recorded in the tag belong to the default one.
        self.keeps_untagged = keeps_untagged
        self.list_ttl = list_ttl
        events = instance.events
        self.watcher = watcher or RuleWatcher(
            self.fetch,
            reconcile_interval=events.reconcile_interval if events else DEFAULT_RECONCILE,
        )
        self._sizes: dict[DID, tuple[int | None, int | None]] = {}
        self._kinds: dict[DID, str] = {}
        # Why Rucio suspended a rule without saying so, worked out once per rule.
        self._reasons: dict[str, str | None] = {}
        # Bytes arrived per rule, with the files_ok they were counted at: only an arriving file
        # changes them, so a poll or event that finds no new file asks Rucio nothing more.
        self._arrived: dict[str, tuple[int, int | None]] = {}
        self._account: str | None = None
        self._list_ids: list[str] | None = None
        self._listed_at = 0.0
        self._listed_when: datetime | None = None
        self._listing: asyncio.Task[None] | None = None
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

    def owns(self, rule: dict[str, Any]) -> bool:
        """Whether a rule was made by this product for this instance (by its comment tag)."""
        tag = staging_tag(rule_comment(rule))
        return tag is not None and (
            tag[0] == self.instance.name or (tag[0] is None and self.keeps_untagged)
        )

    def is_staging(self, rule: dict[str, Any], account: str) -> bool:
        """This account's rule made here for this instance, or made outside (untagged) on
        exactly a QoS class's expression; never another instance's staging."""
        if rule.get("account") != account or is_released(rule):
            return False
        if staging_tag(rule_comment(rule)) is not None:
            return self.owns(rule)
        return class_of_expression(self.instance, rule.get("rse_expression")) is not None

    def near_hub(self, expression: object) -> bool:
        """True for an RSE expression that puts copies near the hub."""
        return isinstance(expression, str) and (
            class_of_expression(self.instance, expression) is not None
            or self.instance.site_expression in expression
        )

    async def released(self, did: DID) -> bool:
        """True when this account released its staging of ``did`` and no other rule on it keeps
        a copy near the hub: its copies stay only until Rucio deletes them."""
        account = await self.account()
        released = kept = False
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                if is_released(rule):
                    released = released or rule.get("account") == account
                elif self.near_hub(rule.get("rse_expression")):
                    kept = True
        return released and not kept

    async def did_size(self, did: DID) -> tuple[int | None, int | None]:
        """(bytes, number of files) of a DID, asked once per DID."""
        if did not in self._sizes:
            try:
                await self._read_size(did)
            except DatalakeError as e:
                if e.status != 404:
                    raise
                self._sizes[did] = (None, None)
        return self._sizes[did]

    async def _read_size(self, did: DID) -> None:
        info = await self.client.did(did)
        files = 1 if info.get("type") == "FILE" else info.get("length")
        self._sizes[did] = (info.get("bytes"), files)
        self._kinds[did] = did_type(info.get("type"))

    async def _staging(self, rule: dict[str, Any]) -> dict[str, Any]:
        size = await self.did_size(DID(str(rule.get("scope")), str(rule.get("name"))))
        staging = staging_from_rule(rule, self.instance, size)
        if staging["state"] == "SUSPENDED" and not staging["error"]:
            staging["error"] = await self._why_suspended(rule, size[0])
        staging["bytes_ok"] = await self._bytes_arrived(staging, size)
        return staging

    async def _bytes_arrived(
        self, staging: dict[str, Any], size: tuple[int | None, int | None]
    ) -> int | None:
        """Bytes of the DID on the staging's storage so far, from Rucio's dataset replica
        counts there (one line per dataset and RSE, whatever the number of files); None when
        not known."""
        if staging["state"] == "OK":
            return size[0]
        files_ok = staging["files_ok"]
        if files_ok == 0:
            return 0  # a file already there would have its lock OK at once
        known = self._arrived.get(staging["id"])
        if known is not None and known[0] == files_ok:
            return known[1]
        did = parse_did(staging["did"])
        kind = self._kinds.get(did)
        expression = staging["rse_expression"]
        if kind is None or not isinstance(expression, str):
            return None
        deep = size[1] is None or size[1] <= DEEP_REPLICA_LIMIT
        try:
            rses = set(await self.quota.rses(expression))
            rows, _ = await replica_rows(self.client, did, kind, deep)
        except DatalakeError:
            return None  # the next poll asks again; the staging is shown meanwhile
        arrived = sum(int(r["available_bytes"] or 0) for r in rows if r["rse"] in rses)
        if size[0] is not None:
            arrived = min(arrived, size[0])
        self._arrived[staging["id"]] = (files_ok, arrived)
        return arrived

    async def _why_suspended(self, rule: dict[str, Any], size: int | None) -> str | None:
        """Rucio suspends a rule it cannot place within the account's quota (a DID of 10,000
        files or more, injected later) and leaves its ``error`` empty: say so."""
        rule_id = str(rule.get("id"))
        expression, account = rule.get("rse_expression"), rule.get("account")
        if rule_id in self._reasons or not (
            isinstance(expression, str) and isinstance(account, str) and size
        ):
            return self._reasons.get(rule_id)
        try:
            self._reasons[rule_id] = await self.quota.shortfall(account, expression, size)
        except DatalakeError:
            return None  # asked again at the next poll
        return self._reasons[rule_id]

    async def fetch(self, rule_id: str) -> dict[str, Any]:
        """One ``GET /rules/{id}``; the watcher's poll."""
        return await self._staging(await self.client.rule(rule_id))

    async def _rule_of_account(self, rule_id: str) -> dict[str, Any]:
        """A staging of this account (made here or outside); 404 for anything else."""
        rule_id = parse_rule_id(rule_id)
        rule = await self.client.rule(rule_id)
        if is_released(rule) and rule.get("account") == await self.account():
            raise DatalakeError(
                404,
                f"Staging {rule_id} was released: stage the DID again to keep a copy near the hub.",
                "RULE_NOT_FOUND",
            )
        tag = staging_tag(rule_comment(rule))
        if tag is not None and not self.owns(rule) and rule.get("account") == await self.account():
            raise DatalakeError(
                404,
                f"Rule {rule_id} is a staging of instance {tag[0] or '(unnamed)'!r}, not of "
                f"{self.instance.name!r}: switch to that instance to manage it.",
                "NOT_A_STAGING",
            )
        if not self.is_staging(rule, await self.account()):
            raise DatalakeError(
                404,
                f"Rule {rule_id} is not a staging of your account near the hub; see it in the "
                "DID's rules, or manage it with the Rucio client or WebUI.",
                "NOT_A_STAGING",
            )
        return rule

    async def _own_rule(self, rule_id: str) -> dict[str, Any]:
        """A staging made here: the only kind this product extends or releases."""
        rule = await self._rule_of_account(rule_id)
        if tagged_qos(rule_comment(rule)) is None:
            raise DatalakeError(
                409,
                f"Rule {rule['id']} was made outside JupyterLab (with the Rucio client or WebUI), "
                "so it is shown here but not changed: extend or release it where it was made "
                "(rucio rule update / rucio rule delete).",
                "OUTSIDE_RULE",
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
        return self.watcher.put(rule_id, await self._staging(await self._rule_of_account(rule_id)))

    # ---- the list -----------------------------------------------------------------------------

    async def list(self, fresh: object = None) -> dict[str, Any]:
        """``{"stagings", "listed_at", "error"}``: the list as Rucio gave it at ``listed_at``.

        Every caller shares one listing in flight and its failure. A list older than
        ``list_ttl`` (``FRESH_AFTER`` when the user asks for a ``fresh`` one) is read again;
        if Rucio takes longer than ``STALE_WAIT`` (or fails), the older list is answered with
        its ``listed_at`` and the ``error`` that kept it old.
        """
        error: DatalakeError | None = None
        # With broker events the cached stagings are kept current by them: listing again is
        # only the slow reconcile (and how stagings made elsewhere show up), or a Refresh.
        ttl = self.watcher.reconcile_interval if self.watcher.events_live else self.list_ttl
        if _flag(fresh, "fresh"):
            ttl = min(ttl, FRESH_AFTER)
        if self._list_ids is None or time.monotonic() - self._listed_at > ttl:
            if self._listing is None or self._listing.done():
                self._listing = asyncio.get_running_loop().create_task(self._relist())
                self._listing.add_done_callback(_retrieved)
            listing = self._listing
            if self._list_ids is None:
                await asyncio.shield(listing)  # nothing older to show: its result or its error
            else:
                patience = min(STALE_WAIT, self.client.timeout / 4)
                done, _ = await asyncio.wait({listing}, timeout=patience)
                if not done:
                    error = DatalakeError(
                        504, f"Rucio has not answered for {patience:g} s.", "RUCIO_TIMEOUT"
                    )
                elif listing.exception() is not None:
                    failure = listing.exception()
                    if not isinstance(failure, DatalakeError):
                        raise failure  # type: ignore[misc]
                    error = failure
        stagings = (self.watcher.get(rule_id) for rule_id in self._list_ids or ())
        return {
            "stagings": sorted(
                (s for s in stagings if s is not None),
                key=lambda s: s.get("created_at") or "",
                reverse=True,
            ),
            "listed_at": iso(self._listed_when),
            "error": self._late_list(error) if error else None,
        }

    def _late_list(self, error: DatalakeError) -> dict[str, Any]:
        """The error that kept the list old, saying how old the list is."""
        when = self._listed_when.strftime("%H:%M:%S UTC") if self._listed_when else "?"
        return {
            "message": f"{error.message} This is the list as Rucio gave it at {when}.",
            "reason": error.reason,
            "status": error.status,
        }

    async def _relist(self) -> None:
        account = await self.account()
        ids: list[str] = []
        lines = self.client.rules(account)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                if not self.is_staging(rule, account):
                    continue
                # As fresh as a GET of the rule: a watch loop's next look waits again, so one
                # listing stands for all its stagings' polls.
                self.watcher.put(rule["id"], await self._staging(rule))
                ids.append(rule["id"])
        # Stagings made or released while this listing ran are kept as they are now.
        for gone in set(self._list_ids or ()) - set(ids):
            self.watcher.forget(gone)
        self._list_ids, self._listed_at = ids, time.monotonic()
        self._listed_when = datetime.now(timezone.utc)

    async def joined(self, rule_ids: list[str]) -> None:
        """Rules made elsewhere in the shim (an upload's QoS rules) join the cached list and
        the watcher, whose news reach the tabs at once (with broker events the list itself is
        read again only every few minutes)."""
        stagings = []
        for rule_id in rule_ids:
            try:
                stagings.append(self.watcher.put(rule_id, await self.fetch(rule_id)))
            except DatalakeError as e:
                # The upload is done; the next listing shows the staging.
                log.info("datalake: reading new staging %s failed: %s", rule_id, e.message)
        self._joined(stagings)

    def _joined(self, stagings: list[dict[str, Any]]) -> None:
        """New stagings join the cached list (no relisting right after a stage)."""
        if self._list_ids is not None:
            self._list_ids += [s["id"] for s in stagings if s["id"] not in self._list_ids]

    # ---- stage ----------------------------------------------------------------------------------

    def _rule_body(
        self,
        did: DID,
        account: str,
        qos: QosClass,
        lifetime: int,
        source: str | None,
        delay: int | None,
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
        }
        # hermes then sends rule_progress (10 % steps) and rule_ok for it (core/events.py).
        # Not for a file: Rucio 41 fails such a rule with a 500 (its notification code reads
        # the DID's 'open', which files lack); a file's staging is polled instead.
        if self._kinds.get(did) != "FILE":
            body["notify"] = "P"
        if source:
            body["source_replica_expression"] = source
        if delay:
            body["delay_injection"] = delay
        return body

    async def wait_change(
        self,
        rule_ids: object,
        after: object = None,
        timeout: object = None,
        longest: float = MAX_WAIT,
    ) -> dict[str, Any]:
        """These stagings once one of them changed after cursor ``after``, or after ``timeout``
        seconds (at most ``MAX_WAIT`` and ``longest``): ``{"stagings": [...], "cursor": N}``.
        Without ``after`` they are answered at once; pass the answer's cursor to the next call.
        Answered from the cache, which broker events or the watch loops keep current: it costs
        Rucio nothing."""
        ids = [parse_rule_id(r) for r in _rule_id_list(rule_ids)]
        seconds = min(_wait_seconds(timeout), longest)
        cursor = _cursor(after)
        stagings = [await self.get(rule_id) for rule_id in ids]
        if cursor is not None and await self.watcher.wait_change(ids, cursor, seconds):
            stagings = [await self.get(rule_id) for rule_id in ids]
        return {"stagings": stagings, "cursor": self.watcher.seq}

    def _source_expression(self, source_qos: object) -> str | None:
        if source_qos in (None, ""):
            return None
        if not isinstance(source_qos, str) or not SOURCE_QOS_RE.fullmatch(source_qos):
            raise DatalakeError(
                400,
                f"source_qos {shown(source_qos)} is not a QoS name (A-Z a-z 0-9 _ -).",
                "BAD_SOURCE_QOS",
            )
        return f"QOS={source_qos}"

    def _delay(self, start_in: object) -> int | None:
        if start_in in (None, 0):
            return None
        if (
            isinstance(start_in, bool)
            or not isinstance(start_in, int)
            or not (0 < start_in <= self.instance.max_lifetime)
        ):
            raise DatalakeError(
                400,
                "start_in must be a whole number of seconds in the future, at most "
                f"{self.instance.max_lifetime}.",
                "BAD_START_IN",
            )
        return start_in

    async def _check_dids(self, dids: list[DID]) -> None:
        """Every DID exists (their sizes are kept for the answer), or a 404 naming the missing."""
        missing: list[DID] = []
        slots = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def check(did: DID) -> None:
            async with slots:
                try:
                    await self._read_size(did)
                except DatalakeError as e:
                    if e.reason != "DID_NOT_FOUND":
                        raise
                    missing.append(did)

        await asyncio.gather(*(check(did) for did in dids))
        if missing:
            names = ", ".join(str(d) for d in sorted(missing)[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DatalakeError(
                404,
                f"{names}{more} {'does' if len(missing) == 1 else 'do'} not exist in Rucio at "
                f"{self.client.base_url}: check the DIDs (scope:name). Nothing was staged.",
                "DID_NOT_FOUND",
            )

    async def _check_quota(self, dids: list[DID], account: str, qos: QosClass) -> None:
        """The DIDs fit in the account's quota on the class's storage (``Quota.check``); a DID
        this account has already staged there is paid for, so it is not counted again."""
        sizes = {str(did): self._sizes[did][0] or 0 for did in dids}
        try:
            await self.quota.check(account, qos.expression, sizes, qos.name)
        except DatalakeError as e:
            if e.reason != "QUOTA_EXCEEDED":
                raise
            for did in dids:
                rule = await self._existing(did, account, qos.expression)
                if rule is not None and not is_released(rule):
                    del sizes[str(did)]
            await self.quota.check(account, qos.expression, sizes, qos.name)

    async def _check_source(self, source: str) -> None:
        try:
            rses = await self.client.rses(source)
        except DatalakeError as e:
            if e.reason not in ("NO_ELIGIBLE_RSE", "RUCIO_REFUSED"):
                raise
            rses = []
        if not rses:
            raise DatalakeError(
                400,
                f"No storage has the source QoS {source.removeprefix('QOS=')}: choose the QoS "
                "class of a replica shown in the DID's details. Nothing was staged.",
                "BAD_SOURCE_QOS",
            )

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
        ``created`` when any rule is new. Nothing is created unless every DID can be staged."""
        if isinstance(dids, str):
            dids = [dids]
        if not isinstance(dids, list) or not dids or len(dids) > 100:
            raise DatalakeError(
                400, "Give 'dids' as a list of 1 to 100 scope:name strings.", "BAD_DID"
            )
        parsed = list(dict.fromkeys(parse_did(d) for d in dids))
        qos_class = resolve_qos(self.instance, qos)
        lifetime = validate_lifetime(self.instance, lifetime)
        tag = make_comment(self.instance.name, qos_class.name, comment)
        source = self._source_expression(source_qos)
        delay = self._delay(start_in)
        account = await self.account()
        await self._check_dids(parsed)
        if source:
            await self._check_source(source)
        await self._check_quota(parsed, account, qos_class)
        stagings: list[dict[str, Any]] = []
        # What this request changed: (rule id, None) for a new rule, (rule id, its comment)
        # for a released rule taken back.
        made: list[tuple[str, str | None]] = []
        # One rule at a time: Rucio (SQLite in the testbed) dislikes concurrent writers.
        async with self._write_lock:
            try:
                for did in parsed:
                    body = self._rule_body(did, account, qos_class, lifetime, source, delay, tag)
                    rule_id = await self._create(did, body, account, qos_class, lifetime, made)
                    stagings.append(self.watcher.put(rule_id, await self.fetch(rule_id)))
            except BaseException as failure:
                # Interrupted too (a deadline): this request leaves nothing behind.
                await asyncio.shield(self._undo(made, qos_class.name, failure))
                raise
        self._joined(stagings)
        if made:
            self.quota.forget(account)
        return {"stagings": stagings, "created": any(c is None for _, c in made)}

    async def _create(
        self,
        did: DID,
        body: dict[str, Any],
        account: str,
        qos: QosClass,
        lifetime: int,
        made: list[tuple[str, str | None]],
    ) -> str:
        """The new rule's id, or the existing one Rucio calls a duplicate; ``made`` records
        what this request changed (a new rule, or a released one taken back)."""
        try:
            rule_id = await self.client.add_rule(body)
        except DatalakeError as e:
            if e.reason != "DUPLICATE_RULE":
                raise
        else:
            made.append((rule_id, None))
            return rule_id
        existing = await self._existing(did, account, qos.expression)
        if existing is None:
            raise DatalakeError(
                409,
                f"Rucio says a rule like this already exists for {did}, but it is not "
                "visible to your account; check the DID's rules.",
                "DUPLICATE_RULE",
            )
        rule_id = str(existing["id"])
        other = staging_tag(rule_comment(existing))
        if other is not None and not is_released(existing) and not self.owns(existing):
            raise DatalakeError(
                409,
                f"{did} is already staged in QoS class {qos.name} by instance "
                f"{other[0] or '(unnamed)'!r} of the same Rucio account: use it there, or "
                "release it there first.",
                "DUPLICATE_RULE",
            )
        if is_released(existing):
            # A released staging still lingering in Rucio: take it back, with the lifetime
            # asked for now (not the hour left by the release).
            await self.client.update_rule(
                rule_id, {"comment": body["comment"], "lifetime": lifetime}
            )
            made.append((rule_id, rule_comment(existing)))
        elif tagged_qos(rule_comment(existing)) is not None:
            await self._lengthen(existing, lifetime)
        return rule_id

    async def _lengthen(self, rule: dict[str, Any], lifetime: int) -> None:
        """The same staging asked again for longer than it has left is kept as long as the
        longest request (never shortened): concurrent requests all get what they asked."""
        expires = parse_rucio_date(rule.get("expires_at"))
        wanted = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
        if expires is not None and expires < wanted - timedelta(seconds=MIN_LIFETIME):
            await self.client.update_rule(str(rule["id"]), {"lifetime": lifetime})

    async def _existing(self, did: DID, account: str, expression: str) -> dict[str, Any] | None:
        lines = self.client.did_rules(did)
        async with contextlib.aclosing(lines):
            async for rule in lines:
                if rule.get("account") == account and rule.get("rse_expression") == expression:
                    return rule
        return None

    async def _undo(
        self, made: list[tuple[str, str | None]], qos: str, failure: BaseException
    ) -> None:
        """Remove the rules this request created (release those it took back); a rule that
        cannot be removed is named in the error, never left silently."""
        left: list[str] = []
        for rule_id, comment in made:
            try:
                if comment is None:
                    await self._remove(rule_id, qos)
                else:
                    await self.client.update_rule(rule_id, {"comment": comment, "lifetime": 3600})
            except DatalakeError:
                left.append(rule_id)
            self.watcher.forget(rule_id)
        if left and isinstance(failure, DatalakeError):
            failure.message += (
                f" Rule{'s' if len(left) > 1 else ''} {', '.join(left)} made by this request "
                "could not be removed: release them from your stagings."
            )
        elif left:
            log.error("datalake: rules %s made by an interrupted stage were left", left)

    async def _remove(self, rule_id: str, qos: str) -> None:
        """Delete a rule; Rucio keeps it up to an hour, so it is also marked released."""
        await self.client.delete_rule(rule_id)
        # Best effort: a Rucio that deleted the rule outright leaves nothing to re-comment.
        with contextlib.suppress(DatalakeError):
            await self.client.update_rule(rule_id, {"comment": f"{RELEASED} {qos}".strip()})
        self.watcher.forget(rule_id)
        if self._list_ids is not None and rule_id in self._list_ids:
            self._list_ids.remove(rule_id)

    # ---- extend, release ------------------------------------------------------------------------

    async def extend(self, rule_id: str, lifetime: object) -> dict[str, Any]:
        if lifetime is None:
            raise DatalakeError(400, "Give the new 'lifetime' in seconds.", "BAD_LIFETIME")
        seconds = validate_lifetime(self.instance, lifetime)
        rule = await self._own_rule(rule_id)
        await self.client.update_rule(rule["id"], {"lifetime": seconds})
        return self.watcher.put(rule["id"], await self.fetch(rule["id"]))

    async def move(self, rule_id: str, qos: str | None) -> dict[str, Any]:
        """Move a staging to another QoS class with Rucio's rule move: a child rule on the new
        class's expression; Rucio keeps the old rule (and its copies) until the child is OK,
        then removes it. ``{"stagings": [child], "created", "moved_from"}``; a staging already
        in that class is returned as it is."""
        rule = await self._own_rule(rule_id)
        target = resolve_qos(self.instance, qos)
        if rule.get("rse_expression") == target.expression:
            return {"stagings": [await self.get(rule["id"])], "created": False, "moved_from": None}
        # "<tag> <class> [note]": the user's note stays, the class changes.
        parts = (rule_comment(rule) or "").split(" ", 2)
        note = parts[2].strip() if len(parts) > 2 else ""
        async with self._write_lock:
            child = await self.client.move_rule(rule["id"], target.expression)
            # The child inherits the comment: it now names the new class.
            await self.client.update_rule(
                child, {"comment": make_comment(self.instance.name, target.name, note)}
            )
        staging = self.watcher.put(child, await self.fetch(child))
        self._joined([staging])
        return {"stagings": [staging], "created": True, "moved_from": rule["id"]}

    async def release(self, rule_id: str) -> None:
        rule = await self._own_rule(rule_id)
        await self._remove(rule["id"], tagged_qos(rule_comment(rule)) or "")

    async def close(self) -> None:
        if self._listing is not None:
            self._listing.cancel()
            with contextlib.suppress(BaseException):
                await self._listing
        await self.watcher.close()


def _retrieved(task: asyncio.Task[None]) -> None:
    """Mark a shared listing's failure as seen: its callers each got it (or an older list)."""
    if not task.cancelled():
        task.exception()
