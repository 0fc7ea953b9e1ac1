"""The user's access token as JupyterHub keeps it: ``auth_state`` from the hub's REST API.

A single-user server started by JupyterHub gets ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_USER`` and its
own ``JUPYTERHUB_API_TOKEN``. With the scope ``admin:auth_state!user`` on both the ``user`` and the
``server`` roles, ``GET {api_url}/users/{user}`` answers the owner's ``auth_state``, and the hub
runs its authenticator's ``refresh_user`` on that request, so the token is the current one.

The hub is treated like any upstream: every answer may be slow, cut short or malformed, and each
becomes one sentence that says what to do. The API token and the access token are never part of
a message, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from ..errors import DatalakeError

API_URL_ENV = "JUPYTERHUB_API_URL"
USER_ENV = "JUPYTERHUB_USER"
API_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
# JupyterHub still sets this deprecated copy of the API token (spawner.get_env).
LEGACY_API_TOKEN_ENV = "JPY_API_TOKEN"
HUB_TOKEN_ENVS = (API_TOKEN_ENV, LEGACY_API_TOKEN_ENV)
# Internal SSL (JupyterHub's internal_ssl): the hub API then needs the server's certificate.
SSL_ENVS = ("JUPYTERHUB_SSL_KEYFILE", "JUPYTERHUB_SSL_CERTFILE", "JUPYTERHUB_SSL_CLIENT_CA")
# A user model with its auth_state is a few kB; anything much larger is not the hub's answer.
MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class HubAccess:
    """Where the hub is, whose server this is, and the server's API token (hidden by repr)."""

    api_url: str
    user: str
    api_token: str
    ssl_files: tuple[str | None, str | None, str | None] = (None, None, None)

    def __repr__(self) -> str:
        return f"HubAccess(api_url={self.api_url!r}, user={self.user!r})"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], api_token: str | None
    ) -> tuple[HubAccess | None, str | None]:
        """The access this server has, or None and the sentence that says what is missing."""
        missing = [name for name in (API_URL_ENV, USER_ENV) if not environ.get(name)]
        if not api_token:
            missing.append(API_TOKEN_ENV)
        if missing:
            return None, (
                f"this process was not started by JupyterHub ({', '.join(missing)} not set)"
            )
        keyfile, certfile, client_ca = (environ.get(name) or None for name in SSL_ENVS)
        access = cls(
            environ[API_URL_ENV].rstrip("/"),
            environ[USER_ENV],
            api_token or "",
            (keyfile, certfile, client_ca),
        )
        return access, None


class HubAuthState:
    """Reads one key of the server owner's ``auth_state``, within a deadline."""

    def __init__(
        self,
        access: HubAccess,
        key: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.access = access
        self.key = key
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def user_url(self) -> str:
        return f"{self.access.api_url}/users/{quote(self.access.user, safe='')}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            keyfile, certfile, client_ca = self.access.ssl_files
            verify: ssl.SSLContext | bool = True
            if client_ca:
                verify = ssl.create_default_context(cafile=client_ca)
                if certfile:
                    verify.load_cert_chain(certfile, keyfile)
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                verify=verify,
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": "jupyterlab-datalake"},
            )
        return self._client

    def _problem(self, what: str, todo: str) -> DatalakeError:
        return DatalakeError(
            502,
            f"JupyterHub at {self.access.api_url} {what}; {todo}",
            "HUB_TOKEN_UNAVAILABLE",
        )

    async def read(self) -> str:
        """The current value of ``auth_state[key]``; a DatalakeError (502) that says why not."""
        try:
            response = await asyncio.wait_for(
                self._http().get(
                    self.user_url, headers={"Authorization": f"token {self.access.api_token}"}
                ),
                self.timeout,
            )
        except (asyncio.TimeoutError, httpx.TimeoutException) as e:
            raise self._problem(
                f"did not answer within {self.timeout:g} s",
                "try again in a moment; if it persists, tell the hub's operators.",
            ) from e
        except (httpx.HTTPError, OSError, ssl.SSLError) as e:
            raise self._problem(
                f"is unreachable ({type(e).__name__})",
                "check that the hub is running; if it persists, tell the hub's operators.",
            ) from e
        return self._token_from(response)

    def _token_from(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (401, 403):
            raise self._problem(
                f"refused this server's API token for user {self.access.user} (HTTP {status})",
                "restart your server from the hub's home page.",
            )
        if status == 404:
            raise self._problem(
                f"does not let this server read user {self.access.user} (HTTP 404)",
                "the operators must grant admin:auth_state!user to the 'user' and 'server' "
                "roles (docs/deploy).",
            )
        if status != 200:
            raise self._problem(
                f"answered HTTP {status} for user {self.access.user}",
                "try again in a moment; if it persists, tell the hub's operators.",
            )
        if len(response.content) > MAX_ANSWER_BYTES:
            raise self._problem(
                "sent an answer too large to be a user model", "tell the hub's operators."
            )
        try:
            model = json.loads(response.content)
        except (ValueError, RecursionError) as e:  # RecursionError: nested too deep to read
            raise self._problem(
                "sent an answer that is not JSON", "tell the hub's operators."
            ) from e
        if not isinstance(model, dict):
            raise self._problem("sent an answer that is not a user model", "tell the operators.")
        auth_state = model.get("auth_state")
        if auth_state is None:
            raise self._problem(
                f"gave no auth_state for user {self.access.user}",
                "the operators must set enable_auth_state and grant admin:auth_state!user to "
                "the 'user' and 'server' roles (docs/deploy); then log in to the hub again.",
            )
        value = auth_state.get(self.key) if isinstance(auth_state, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise self._problem(
                f"holds no '{self.key}' in the auth_state of user {self.access.user}",
                "log in to the hub again; operators: check the authenticator and "
                "auth_state_key (DATALAKE_AUTH_STATE_KEY).",
            )
        return value.strip()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def __repr__(self) -> str:
        return f"HubAuthState({self.access!r}, key={self.key!r})"
