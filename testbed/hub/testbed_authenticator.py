"""The hub's authenticator: passwords from hub-users.json, access tokens from the testbed issuer.

What an OAuthenticator does against a real IdP, reduced to the testbed: on login it checks the
password, then asks the issuer (oidc_issuer.py, client credentials of the `jupyterhub` client) for
the user's access token and keeps it in the encrypted `auth_state`:
`{"access_token", "token_type", "scope", "issued_at", "expires_at"}` (epoch seconds).
`refresh_user` replaces the token once half its lifetime has passed; the hub calls it at most every
`auth_refresh_age` seconds on the user's requests (including the single-user server's
`GET /hub/api/users/<name>`), and before each spawn (`refresh_pre_spawn`). Tokens and passwords
never appear in a log line.
"""

from __future__ import annotations

import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jupyterhub.auth import Authenticator
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.web import HTTPError
from traitlets import Float, Unicode


class IssuerError(Exception):
    """The issuer did not hand out a token."""


def needs_refresh(auth_state: dict[str, Any] | None, now: float) -> bool:
    """True once half of the token's lifetime has passed (or there is no token)."""
    if not auth_state or "access_token" not in auth_state:
        return True
    issued, expires = auth_state["issued_at"], auth_state["expires_at"]
    return now >= issued + (expires - issued) / 2


class TestbedAuthenticator(Authenticator):
    users_file = Unicode(help="JSON file {user: password} (hub-users.json, mode 0600).").tag(
        config=True
    )
    token_url = Unicode(help="The issuer's token endpoint.").tag(config=True)
    client_id = Unicode("jupyterhub", help="The hub's client id at the issuer.").tag(config=True)
    clients_file = Unicode(help="JSON file {client_id: secret} holding the hub's secret.").tag(
        config=True
    )
    ca_cert = Unicode(help="CA certificate the issuer's TLS certificate is checked against.").tag(
        config=True
    )
    issuer_timeout = Float(10.0, help="Seconds a token request may take.").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        name, password = data.get("username", ""), data.get("password", "")
        expected = self._passwords().get(name)
        if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
            return None
        try:
            auth_state = await self.fetch_token(name)
        except IssuerError as error:
            self.log.error("No access token for %s: %s", name, error)
            raise HTTPError(
                502,
                "The testbed's OIDC issuer gave no access token; start the testbed "
                "(make testbed-up) and log in again.",
            ) from error
        return {"name": name, "auth_state": auth_state}

    async def refresh_user(self, user: Any, handler: Any = None) -> bool | dict[str, Any]:
        auth_state = await user.get_auth_state()
        now = time.time()
        if not needs_refresh(auth_state, now):
            return True
        try:
            return {"auth_state": await self.fetch_token(user.name)}
        except IssuerError as error:
            self.log.warning("Could not refresh the access token of %s: %s", user.name, error)
            # The current token still serves until it expires; after that, log in again.
            return bool(auth_state) and now < auth_state.get("expires_at", 0)

    # Both files are a few hundred bytes on local disk, read when used so that they may change.
    def _passwords(self) -> dict[str, str]:
        return json.loads(Path(self.users_file).read_text())

    def _client_secret(self) -> str:
        return json.loads(Path(self.clients_file).read_text())[self.client_id]

    async def fetch_token(self, name: str) -> dict[str, Any]:
        secret = self._client_secret()
        request = HTTPRequest(
            self.token_url,
            method="POST",
            body=urlencode({"grant_type": "client_credentials", "username": name}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth_username=self.client_id,
            auth_password=secret,
            ca_certs=self.ca_cert,
            request_timeout=self.issuer_timeout,
        )
        issued_at = time.time()
        try:
            response = await AsyncHTTPClient().fetch(request)
            body = json.loads(response.body)
            token, lifetime = body["access_token"], body["expires_in"]
        except HTTPClientError as error:
            raise IssuerError(f"{self.token_url} answered HTTP {error.code}") from error
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IssuerError(f"{self.token_url}: {type(error).__name__}") from error
        if not isinstance(token, str) or not isinstance(lifetime, int) or lifetime < 1:
            raise IssuerError(f"{self.token_url} answered a malformed token response")
        return {
            "access_token": token,
            "token_type": body.get("token_type", "Bearer"),
            "scope": body.get("scope", ""),
            "issued_at": issued_at,
            "expires_at": issued_at + lifetime,
        }
