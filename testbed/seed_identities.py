"""Who may log in how: account bob, and the OIDC and X.509 identities of the testbed's people.

Idempotent, run by identity.sh after seeding whenever the issuer URL or alice's DN changed:
- account `bob` (USER, scope `user.bob`, the same RSE quotas as alice), created if missing;
- for each user, the OIDC identity `SUB=<user>, ISS=<issuer URL>` (what Rucio's `validate_jwt`
  builds from a token's claims) mapped to the account of the same name;
- alice's certificate DN as an X509 identity of alice (the X.509 endpoint strips proxy CNs).

In-process through rucio.gateway as root, like seed.py. Needs RUCIO_CONFIG (server config).
Usage: `seed_identities.py ISSUER_URL ALICE_DN`.
"""

from __future__ import annotations

import sys

from rucio.common.exception import Duplicate
from rucio.core.oidc import oidc_identity_string
from rucio.gateway import account, account_limit, identity, scope

from users import USERS

ISSUER = "root"
# The account whose quotas new accounts copy (seed.py gives it a quota on every RSE).
TEMPLATE_ACCOUNT = "alice"


def log(msg: str) -> None:
    print(f"identities: {msg}", flush=True)


def ensure_account(name: str) -> None:
    if account.account_exists(name):
        return
    account.add_account(name, "USER", f"{name}@localhost", issuer=ISSUER)
    scope.add_scope(f"user.{name}", name, issuer=ISSUER)
    for rse, limit in account_limit.get_local_account_limit(TEMPLATE_ACCOUNT).items():
        if limit is not None:
            account_limit.set_local_account_limit(name, rse, limit, issuer=ISSUER)
    log(f"account {name} (scope user.{name}, quotas as {TEMPLATE_ACCOUNT})")


def ensure_identity(key: str, id_type: str, name: str) -> None:
    if name in identity.list_accounts_for_identity(key, id_type):
        return
    try:
        identity.add_account_identity(
            identity_key=key,
            id_type=id_type,
            account=name,
            email=f"{name}@localhost",
            issuer=ISSUER,
            default=True,
        )
    except Duplicate:
        return
    log(f"{id_type} identity {key!r} -> {name}")


def main() -> None:
    issuer_url, alice_dn = sys.argv[1], sys.argv[2]
    for name in USERS:
        ensure_account(name)
        ensure_identity(oidc_identity_string(name, issuer_url), "OIDC", name)
    ensure_identity(alice_dn, "X509", "alice")
    log("done")


if __name__ == "__main__":
    main()
