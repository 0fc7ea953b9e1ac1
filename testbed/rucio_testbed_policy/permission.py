"""Generic permissions, plus: an account may extend, comment on, move or delete its own rules,
and add replicas on the hub's upload RSEs.

Rucio's generic policy lets an account create rules for itself but only root/admin may
update, move or delete them. Data-lake deployments (ATLAS, ESCAPE) let owners manage their own
rules, and the extension's "extend", "release" and "move" actions need exactly that. The
generic policy lets accounts add replicas only on RSEs named *SCRATCHDISK, *USERDISK, *MOCK or
*LOCALGROUPDISK; the extension's upload registers the files it wrote on an RSE near the hub
(new file DIDs still need the account's own scope: Rucio checks ``add_dids`` as well).
Returning None hands the decision back to rucio.core.permission.generic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rucio.common.exception import RuleNotFound
from rucio.core.rule import get_rule

if TYPE_CHECKING:
    from rucio.common.types import InternalAccount
    from sqlalchemy.orm import Session

# Options an owner may change on its own rule; everything else stays root/admin.
OWNER_UPDATE_OPTIONS = frozenset({"lifetime", "comment"})
# RSEs near the hub that the shim writes uploads to (testbed/write_jupyter_config.py mounts them).
UPLOAD_RSES = frozenset({"HUB-FAST", "HUB-CHEAP"})


def _owns_rule(issuer: InternalAccount, rule_id: str, session: Session | None) -> bool:
    try:
        rule = get_rule(rule_id=rule_id, session=session)
    except RuleNotFound:
        return False
    return rule["account"] == issuer


def has_permission(
    issuer: InternalAccount,
    action: str,
    kwargs: dict[str, Any],
    *,
    session: Session | None = None,
) -> bool | None:
    if action == "del_rule" and not kwargs.get("purge_replicas"):
        return True if _owns_rule(issuer, kwargs["rule_id"], session) else None
    if action == "update_rule" and set(kwargs.get("options") or {}) <= OWNER_UPDATE_OPTIONS:
        return True if _owns_rule(issuer, kwargs["rule_id"], session) else None
    if action == "move_rule" and "account" not in (kwargs.get("override") or {}):
        return True if _owns_rule(issuer, kwargs["rule_id"], session) else None
    if action == "add_replicas" and kwargs.get("rse") in UPLOAD_RSES:
        return True
    return None
