"""Generic permissions, plus: an account may extend, comment on or delete its own rules.

Rucio's generic policy lets an account create rules for itself but only root/admin may
update or delete them. Data-lake deployments (ATLAS, ESCAPE) let owners manage their own
rules, and the extension's "extend" and "release" actions need exactly that. Returning
None hands the decision back to rucio.core.permission.generic.
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
    return None
