"""An in-memory JupyterHub user API behind ``httpx.MockTransport``, for the hub token source.

It answers ``GET /hub/api/users/<name>`` with the user's ``auth_state`` to the server's API token
only, mints access tokens (unsigned JWTs with ``iat``/``exp``) that a FakeRucio accepts, and can
be told to misbehave: be down, slow, or answer something malformed. Its error bodies echo the
tokens, so tests can prove the shim never passes them on.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from typing import Any

import httpx

API_URL = "http://hub.test:8081/hub/api"
API_TOKEN = "hub-api-token-of-alices-server-1234"
USER = "alice"


def jwt(lifetime: float, *, issued: float | None = None, serial: int = 0) -> str:
    """An access token shaped like the IdP's (the shim reads its claims, Rucio checks them)."""
    now = time.time() if issued is None else issued
    claims = {"sub": USER, "iat": now, "exp": now + lifetime, "jti": f"token-{serial}"}

    def encode(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")

    return f"{encode({'alg': 'RS256'})}.{encode(claims)}.c2lnbmF0dXJl"


def hub_environ() -> dict[str, str]:
    """What JupyterHub gives a single-user server."""
    return {
        "JUPYTERHUB_API_URL": API_URL,
        "JUPYTERHUB_USER": USER,
        "JUPYTERHUB_API_TOKEN": API_TOKEN,
    }


class FakeHub:
    def __init__(self, rucio_tokens: set[str] | None = None, *, lifetime: float = 600.0):
        self.rucio_tokens = rucio_tokens if rucio_tokens is not None else set()
        self.lifetime = lifetime
        self.serial = itertools.count(1)
        self.requests: list[httpx.Request] = []
        self.auth_state: dict[str, Any] | None = {}
        self.key = "access_token"
        #: "down", "slow", or a response to answer instead of the user model
        self.mode: str | httpx.Response | None = None
        self.rotate()

    @property
    def token(self) -> str:
        assert self.auth_state is not None
        return self.auth_state[self.key]

    def rotate(self, lifetime: float | None = None, *, issued: float | None = None) -> str:
        """What the authenticator's refresh_user does: a new access token in auth_state."""
        token = jwt(
            self.lifetime if lifetime is None else lifetime, issued=issued, serial=next(self.serial)
        )
        self.auth_state = {self.key: token, "token_type": "Bearer"}
        self.rucio_tokens.add(token)
        return token

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "down":
            raise httpx.ConnectError("Connection refused", request=request)
        if self.mode == "slow":
            await asyncio.sleep(30)
        if isinstance(self.mode, httpx.Response):
            return self.mode
        if request.headers.get("Authorization") != f"token {API_TOKEN}":
            return httpx.Response(403, json={"message": f"Forbidden {self.token}"})
        if request.url.path != f"/hub/api/users/{USER}":
            return httpx.Response(404, json={"message": "Not found"})
        return httpx.Response(
            200, json={"name": USER, "admin": False, "auth_state": self.auth_state}
        )
