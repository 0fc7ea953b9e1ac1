"""Rucio's side of the testbed issuer: the server's `[oidc]` section and its `idpsecrets.json`.

With these, Rucio's stock `validate_jwt` accepts the issuer's tokens: it loads the issuer from
`idpsecrets` (pyoidc fetches discovery and JWKS over https, trusting the testbed CA through
`REQUESTS_CA_BUNDLE`, see identity.sh), and requires `aud` to hold `expected_audience` and
`scope` to hold `expected_scope`. `idpsecrets` holds Rucio's own client registration at the
issuer (id and secret, as a production IdP would give it), so it is written 0600 next to
server.cfg.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from oidc_issuer import DEFAULT_AUDIENCE, DEFAULT_SCOPE, RUCIO_CLIENT, ensure_clients, issuer_url

# The name Rucio knows the issuer by (`admin_issuer` and the key in idpsecrets.json).
ISSUER_NICKNAME = "testbed"
DEFAULT_OIDC_PORT = 8484


@dataclass(frozen=True)
class RucioOidc:
    section: str
    idpsecrets_path: Path
    idpsecrets: str


def oidc_port() -> int:
    return int(os.environ.get("TESTBED_OIDC_PORT", DEFAULT_OIDC_PORT))


def rucio_oidc(tb: Path) -> RucioOidc:
    secret = ensure_clients(tb)[RUCIO_CLIENT]
    idpsecrets_path = tb / "etc" / "idpsecrets.json"
    client = {"client_id": RUCIO_CLIENT, "client_secret": secret}
    registration = {
        "issuer": issuer_url(oidc_port()),
        **client,
        # Rucio's admin client (SCIM account sync, token exchange), unused here; Rucio loads no
        # issuer at all when it lacks a client_id (`SCIM: {}` fails), so it is the same client.
        "SCIM": client,
    }
    section = f"""
[oidc]
idpsecrets = {idpsecrets_path}
admin_issuer = {ISSUER_NICKNAME}
expected_audience = {DEFAULT_AUDIENCE}
expected_scope = {DEFAULT_SCOPE}
"""
    return RucioOidc(
        section=section,
        idpsecrets_path=idpsecrets_path,
        idpsecrets=json.dumps({ISSUER_NICKNAME: registration}, indent=2) + "\n",
    )
