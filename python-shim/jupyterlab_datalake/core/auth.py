"""Rucio token sources: userpass, OIDC (file or environment) and X.509 proxy.

Tokens and passwords stay inside these objects: no ``repr()``, log line, exception message or
response ever contains one. Issued tokens (userpass, x509) are renewed in the background before
they expire; a 401 from Rucio triggers exactly one re-authentication (``renew``).
"""

from __future__ import annotations

import asyncio
import base64
import configparser
import contextlib
import json
import logging
import os
import ssl
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from ..errors import DatalakeError
from .config import AuthConfig, InstanceConfig

log = logging.getLogger(__name__)

# Renew issued tokens after this share of their lifetime, and never later than 5 min before expiry.
RENEW_FRACTION = 0.8
RENEW_MARGIN = 300.0
RETRY_AFTER_FAILURE = 30.0


class Secret:
    """A string that never shows itself in repr(), str() or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def parse_rucio_date(value: str | None) -> datetime | None:
    """Rucio's RFC 1123 dates ('Sat, 22 Nov 2025 04:00:00 UTC') as aware UTC datetimes."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.replace(" UTC", " GMT"))
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verification (Rucio verifies it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(float(payload["exp"]), tz=timezone.utc)
    except (ValueError, KeyError, TypeError):
        return None


class TokenProvider:
    """Base class: hands out a valid Rucio token for one instance."""

    auth_type = "none"

    def __init__(self, instance: InstanceConfig, account: str | None) -> None:
        self.instance_name = instance.name
        self.rucio_url = instance.rucio_url
        self.auth_url = instance.auth_url
        self.vo = instance.vo
        self.account = account
        self.expires_at: datetime | None = None

    async def token(self) -> str:
        raise NotImplementedError

    async def renew(self, rejected: str) -> str:
        """Called after Rucio answered 401 to ``rejected``: return a different, fresh token."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Values that must be scrubbed from anything shown to users."""
        return []

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(instance={self.instance_name!r}, account={self.account!r})"


class IssuedTokenProvider(TokenProvider):
    """A token Rucio issues from credentials, renewed in the background before expiry."""

    def __init__(self, instance: InstanceConfig, account: str | None) -> None:
        super().__init__(instance, account)
        self._token: Secret | None = None
        self._renew_at = 0.0
        self._lifetime = 3600.0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def _request_token(self) -> tuple[str, datetime | None]:
        raise NotImplementedError

    def _valid(self) -> bool:
        if self._token is None:
            return False
        if self.expires_at is None:
            return True
        # Keep a safety margin so a token does not expire on its way to Rucio.
        margin = min(10.0, self._lifetime / 10)
        return datetime.now(timezone.utc).timestamp() < self.expires_at.timestamp() - margin

    async def _authenticate(self) -> str:
        token, expires_at = await self._request_token()
        now = time.time()
        lifetime = (expires_at.timestamp() - now) if expires_at else 3600.0
        self._token = Secret(token)
        self.expires_at = expires_at
        self._lifetime = lifetime
        self._renew_at = now + max(
            min(lifetime * RENEW_FRACTION, lifetime - RENEW_MARGIN), lifetime / 2
        )
        log.info(
            "datalake[%s]: Rucio token for account %s valid until %s",
            self.instance_name,
            self.account,
            iso(expires_at),
        )
        return token

    def _ensure_renewal(self) -> None:
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._renew_loop())
            except RuntimeError:
                self._task = None

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, self._renew_at - time.time()))
            async with self._lock:
                if time.time() < self._renew_at:
                    continue
                try:
                    await self._authenticate()
                except DatalakeError as e:
                    log.warning("datalake[%s]: token renewal failed: %s", self.instance_name, e)
                    self._renew_at = time.time() + RETRY_AFTER_FAILURE

    async def token(self) -> str:
        if self._valid():
            assert self._token is not None
            return self._token.reveal()
        async with self._lock:
            if self._valid():
                assert self._token is not None
                return self._token.reveal()
            token = await self._authenticate()
        self._ensure_renewal()
        return token

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            if self._token is not None and self._token.reveal() != rejected and self._valid():
                return self._token.reveal()
            self._token = None
            token = await self._authenticate()
        self._ensure_renewal()
        return token

    def secrets(self) -> list[str]:
        return [self._token.reveal()] if self._token else []

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _headers(self) -> dict[str, str]:
        headers = {"X-Rucio-AppID": "jupyterlab-datalake"}
        if self.account:
            headers["X-Rucio-Account"] = self.account
        if self.vo:
            headers["X-Rucio-VO"] = self.vo
        return headers

    async def _get_token(
        self, client: httpx.AsyncClient, path: str, headers: dict[str, str]
    ) -> tuple[str, datetime | None]:
        url = f"{self.auth_url}/{path}"
        try:
            response = await client.get(url, headers=headers)
        except httpx.TimeoutException as e:
            raise DatalakeError(
                504,
                f"Rucio authentication at {self.auth_url} did not answer in time; try again later.",
                "RUCIO_TIMEOUT",
            ) from e
        except httpx.HTTPError as e:
            raise DatalakeError(
                502,
                f"Rucio authentication at {self.auth_url} is unreachable ({type(e).__name__}); "
                "check auth_url and that the server is up.",
                "RUCIO_UNREACHABLE",
            ) from e
        if response.status_code in (401, 403):
            raise DatalakeError(
                502,
                f"Rucio at {self.auth_url} refused the {self.auth_type} credentials for account "
                f"{self.account or '(default)'}: check the credentials configured for instance "
                f"{self.instance_name!r}.",
                "RUCIO_AUTH_FAILED",
            )
        if response.status_code == 206:
            raise DatalakeError(
                502,
                "These credentials map to several Rucio accounts: set 'account' for instance "
                f"{self.instance_name!r}.",
                "RUCIO_AUTH_FAILED",
            )
        token = response.headers.get("X-Rucio-Auth-Token")
        if response.status_code != 200 or not token:
            raise DatalakeError(
                502,
                f"Rucio authentication at {self.auth_url} failed with HTTP "
                f"{response.status_code}; check auth_url and the server logs.",
                "RUCIO_AUTH_FAILED",
            )
        if not self.account:
            self.account = response.headers.get("X-Rucio-Auth-Account") or self.account
        return token, parse_rucio_date(response.headers.get("X-Rucio-Auth-Token-Expires"))


class UserpassTokenProvider(IssuedTokenProvider):
    auth_type = "userpass"

    def __init__(
        self,
        instance: InstanceConfig,
        client: httpx.AsyncClient,
        username: str,
        password: Secret,
        account: str | None,
    ) -> None:
        super().__init__(instance, account)
        self._client = client
        self._username = username
        self._password = password

    async def _request_token(self) -> tuple[str, datetime | None]:
        headers = self._headers()
        headers["X-Rucio-Username"] = self._username
        headers["X-Rucio-Password"] = self._password.reveal()
        return await self._get_token(self._client, "auth/userpass", headers)

    def secrets(self) -> list[str]:
        return [*super().secrets(), self._password.reveal()]


class X509ProxyTokenProvider(IssuedTokenProvider):
    auth_type = "x509_proxy"

    def __init__(self, instance: InstanceConfig, proxy: str, account: str | None) -> None:
        super().__init__(instance, account)
        self._proxy = proxy
        self._client: httpx.AsyncClient | None = None
        self._ca_cert = instance.ca_cert

    def _cert_client(self) -> httpx.AsyncClient:
        if self._client is None:
            if not os.path.exists(self._proxy):
                raise DatalakeError(
                    502,
                    f"The X.509 proxy {self._proxy} does not exist: create it (voms-proxy-init) "
                    "or fix 'proxy' in the configuration.",
                    "RUCIO_AUTH_FAILED",
                )
            context = ssl.create_default_context(cafile=self._ca_cert)
            context.load_cert_chain(self._proxy)
            self._client = httpx.AsyncClient(verify=context, timeout=30.0)
        return self._client

    async def _request_token(self) -> tuple[str, datetime | None]:
        return await self._get_token(self._cert_client(), "auth/x509_proxy", self._headers())

    async def close(self) -> None:
        await super().close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class OidcTokenProvider(TokenProvider):
    """An IdP access token Rucio accepts as-is, re-read whenever its file changes."""

    auth_type = "oidc"

    def __init__(
        self,
        instance: InstanceConfig,
        account: str | None,
        token_file: str | None,
        token_env: str | None,
    ) -> None:
        super().__init__(instance, account)
        self._file = token_file
        self._env = token_env
        self._token: Secret | None = None
        self._mtime: float | None = None

    def _read(self, force: bool = False) -> str:
        if self._file:
            path = Path(self._file).expanduser()
            try:
                mtime = path.stat().st_mtime
                if force or self._token is None or mtime != self._mtime:
                    self._token = Secret(path.read_text().strip())
                    self._mtime = mtime
            except OSError as e:
                raise DatalakeError(
                    502,
                    f"The OIDC token file {path} cannot be read ({e.strerror}); "
                    "check that the hub writes it and 'token_file' is right.",
                    "RUCIO_AUTH_FAILED",
                ) from e
        elif self._env:
            self._token = Secret((secret_env(self._env) or "").strip())
        if not self._token:
            source = self._file or f"${self._env}"
            raise DatalakeError(
                502,
                f"No OIDC access token in {source}: log in to the hub again or configure a token.",
                "RUCIO_AUTH_FAILED",
            )
        token = self._token.reveal()
        self.expires_at = jwt_expiry(token)
        return token

    async def token(self) -> str:
        return self._read()

    async def renew(self, rejected: str) -> str:
        token = self._read(force=True)
        if token == rejected:
            raise DatalakeError(
                502,
                "Rucio rejected the OIDC access token (expired or wrong audience): "
                "refresh it (log in to the hub again) and retry.",
                "RUCIO_TOKEN_EXPIRED",
            )
        return token

    def secrets(self) -> list[str]:
        return [self._token.reveal()] if self._token else []


def read_rucio_cfg(path: str) -> dict[str, str]:
    """The ``[client]`` section of a rucio.cfg (username, password, account, vo ...)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(Path(path).expanduser()) as handle:
            parser.read_file(handle)
    except OSError as e:
        raise DatalakeError(
            502,
            f"Cannot read the Rucio client configuration {path} ({e.strerror}); "
            "fix 'auth.rucio_cfg'.",
            "CONFIG",
        ) from e
    if not parser.has_section("client"):
        raise DatalakeError(502, f"{path} has no [client] section; fix 'auth.rucio_cfg'.", "CONFIG")
    return dict(parser.items("client"))


# Secrets the configuration names by environment variable (token_env, password_env). The server
# takes them out of its environment at start, because kernels inherit that environment; the shim
# reads them from here.
_withheld: dict[str, str] = {}


def withhold_env(names: Iterable[str]) -> None:
    """Move these variables from the process environment into the shim's private store."""
    for name in names:
        if name in os.environ:
            _withheld[name] = os.environ.pop(name)


def secret_env(name: str) -> str | None:
    return _withheld.get(name, os.environ.get(name))


def make_token_provider(instance: InstanceConfig, client: httpx.AsyncClient) -> TokenProvider:
    auth: AuthConfig = instance.auth
    if auth.type == "userpass":
        username, password, account = auth.username, None, auth.account
        if auth.rucio_cfg:
            section = read_rucio_cfg(auth.rucio_cfg)
            username = username or section.get("username")
            password = section.get("password")
            account = account or section.get("account")
        if auth.password_env:
            password = secret_env(auth.password_env) or password
        if not username or not password:
            raise DatalakeError(
                502,
                f"Instance {instance.name!r}: userpass needs a username and a password "
                "(rucio.cfg [client] username/password, or 'password_env').",
                "CONFIG",
            )
        return UserpassTokenProvider(instance, client, username, Secret(password), account)
    if auth.type == "oidc":
        return OidcTokenProvider(instance, auth.account, auth.token_file, auth.token_env)
    assert auth.proxy is not None
    return X509ProxyTokenProvider(instance, auth.proxy, auth.account)
