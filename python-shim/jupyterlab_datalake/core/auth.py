"""Rucio token sources: userpass, OIDC (file, environment or JupyterHub's auth_state) and X.509.

Tokens and passwords stay inside these objects: no ``repr()``, log line, exception message or
response ever contains one. Issued tokens (userpass, x509) are renewed in the background before
they expire; a token from the hub is asked for again once half its lifetime has passed; a 401
from Rucio triggers exactly one re-authentication (``renew``).
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
from .hub import HUB_TOKEN_ENVS, HubAccess, HubAuthState

log = logging.getLogger(__name__)

# Renew issued tokens after this share of their lifetime, and never later than 5 min before expiry.
RENEW_FRACTION = 0.8
RENEW_MARGIN = 300.0
RETRY_AFTER_FAILURE = 30.0
# A token from the hub: ask again once this share of its lifetime has passed (authenticators
# renew around half-life), then at most every HUB_RETRY s while the hub still hands out the
# same one; ask every HUB_RETRY s when the token does not say when it expires.
HUB_RENEW_FRACTION = 0.5
HUB_RETRY = 15.0
# The hub's answer must come well within the deadline of the Rucio call that waits for it.
HUB_TIMEOUT = 10.0
# Where an X.509 proxy is when neither the configuration nor X509_USER_PROXY names one.
X509_DEFAULT_PROXY = "/tmp/x509up_u{uid}"


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


def jwt_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, read without verification (Rucio verifies them); {} if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, RecursionError):  # RecursionError: a payload nested too deep to read
        return {}
    return claims if isinstance(claims, dict) else {}


def _claim_time(claims: dict[str, object], name: str) -> datetime | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verification (Rucio verifies it)."""
    return _claim_time(jwt_claims(token), "exp")


def trust_context(instance: InstanceConfig) -> ssl.SSLContext:
    """TLS that trusts the instance's ``ca_cert`` (else the system's CAs)."""
    try:
        return ssl.create_default_context(cafile=instance.ca_cert)
    except (OSError, ssl.SSLError) as e:
        raise DatalakeError(
            502,
            f"The CA certificate {instance.ca_cert} of instance {instance.name!r} cannot be "
            "read: fix 'ca_cert'.",
            "CONFIG",
        ) from e


def tls_failure(error: BaseException) -> bool:
    """Whether an HTTP error was caused by a failed TLS handshake."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class TokenProvider:
    """Base class: hands out a valid Rucio token for one instance."""

    auth_type = "none"
    #: the shim gets a new token before this one expires (nothing for the user to do)
    renews = False

    def __init__(self, instance: InstanceConfig, account: str | None) -> None:
        self.instance_name = instance.name
        self.rucio_url = instance.rucio_url
        self.auth_url = instance.auth_url
        self.vo = instance.vo
        self.account = account
        self.expires_at: datetime | None = None
        #: where the current token came from: "hub", "file", "env", or None (issued by Rucio)
        self.token_source: str | None = None
        self._retried: Secret | None = None

    async def token(self) -> str:
        raise NotImplementedError

    async def renew(self, rejected: str) -> str:
        """Called after Rucio answered 401 to ``rejected``: return a different, fresh token."""
        raise NotImplementedError

    def refusal(self, url: str) -> DatalakeError:
        """What to tell the user when Rucio refuses the token this source just renewed."""
        return DatalakeError(
            502,
            f"Rucio at {url} did not accept the shim's credentials: check the credentials "
            f"configured for instance {self.instance_name!r}.",
            "RUCIO_AUTH_FAILED",
        )

    def _second_try(self, token: str) -> bool:
        """Whether a token Rucio refused may be sent once more. Rucio refuses a new OIDC token
        when its first uses arrive together (they race to record it; the loser gets 401), so
        the same token gets one more try before it counts as refused."""
        if self._retried is not None and self._retried.reveal() == token:
            return False
        self._retried = Secret(token)
        return True

    def secrets(self) -> list[str]:
        """Values that must be scrubbed from anything shown to users."""
        return []

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(instance={self.instance_name!r}, account={self.account!r})"


class IssuedTokenProvider(TokenProvider):
    """A token Rucio issues from credentials, renewed in the background before expiry."""

    renews = True

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
        except (httpx.HTTPError, OSError) as e:
            # A refused client certificate may surface as a bare SSLError (TLS 1.3: on read).
            if tls_failure(e):
                raise DatalakeError(
                    502,
                    f"The TLS handshake with Rucio at {self.auth_url} failed: check that the "
                    "credentials are valid (for a proxy: voms-proxy-info) and that 'ca_cert' "
                    "names the CA of the Rucio server.",
                    "RUCIO_AUTH_FAILED",
                ) from e
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
    """Rucio tokens for an RFC 3820 proxy, presented as the TLS client certificate of
    ``GET /auth/x509_proxy``; a renewed proxy file (voms-proxy-init) is picked up."""

    auth_type = "x509_proxy"

    def __init__(
        self, instance: InstanceConfig, proxy: str, account: str | None, timeout: float = 30.0
    ) -> None:
        super().__init__(instance, account)
        self._proxy = proxy
        self._client: httpx.AsyncClient | None = None
        self._loaded_mtime: float | None = None
        self._instance = instance
        self._timeout = timeout

    def _problem(self, what: str) -> DatalakeError:
        return DatalakeError(
            502,
            f"The X.509 proxy {self._proxy} {what}: renew it (voms-proxy-init) or fix 'proxy' "
            "(or X509_USER_PROXY) in the configuration.",
            "RUCIO_AUTH_FAILED",
        )

    async def _cert_client(self) -> httpx.AsyncClient:
        try:
            mtime = os.stat(self._proxy).st_mtime
        except OSError as e:
            raise self._problem(
                "does not exist" if isinstance(e, FileNotFoundError) else "cannot be read"
            ) from e
        if self._client is not None and mtime != self._loaded_mtime:
            await self._client.aclose()  # the proxy was renewed: present the new one
            self._client = None
        if self._client is None:
            context = trust_context(self._instance)
            try:
                context.load_cert_chain(self._proxy)
            except (OSError, ssl.SSLError) as e:
                raise self._problem("holds no certificate with its key") from e
            self._client = httpx.AsyncClient(verify=context, timeout=self._timeout)
            self._loaded_mtime = mtime
        return self._client

    async def _request_token(self) -> tuple[str, datetime | None]:
        client = await self._cert_client()
        return await self._get_token(client, "auth/x509_proxy", self._headers())

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
        self.token_source = "file" if token_file else "env"

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
        if token == rejected and not self._second_try(token):
            raise self.refusal(self.rucio_url)
        return token

    def refusal(self, url: str) -> DatalakeError:
        source = self._file or f"${self._env}"
        return DatalakeError(
            502,
            f"Rucio at {url} rejected the OIDC access token in {source} (expired or wrong "
            "audience): refresh it (log in to the hub again) and retry.",
            "RUCIO_TOKEN_EXPIRED",
        )

    def secrets(self) -> list[str]:
        return [self._token.reveal()] if self._token else []


class HubTokenProvider(TokenProvider):
    """The OIDC access token JupyterHub keeps in the owner's ``auth_state`` (core/hub.py).

    Asked for when first needed, again in the background once half of its lifetime has passed
    (the call in hand still uses the current token), at once when it is about to expire, and
    after Rucio refused it. When the hub cannot say, a token that is still valid is kept; then
    the token file or variable configured as fallback is used; else the hub's sentence.
    """

    auth_type = "oidc"
    renews = True

    def __init__(
        self,
        instance: InstanceConfig,
        account: str | None,
        hub: HubAuthState | None,
        unavailable: str | None,
        fallback: OidcTokenProvider | None,
    ) -> None:
        super().__init__(instance, account)
        self._hub = hub
        self._unavailable = unavailable
        self._fallback = fallback
        self._token: Secret | None = None
        self._renew_at = 0.0
        self._margin = 0.0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    def _usable(self, now: float) -> bool:
        if self._token is None:
            return False
        return self.expires_at is None or now < self.expires_at.timestamp() - self._margin

    def _take(self, token: str, source: str | None, now: float) -> None:
        """Keep ``token``; the next ask is at half its lifetime, or soon if that has passed."""
        claims = jwt_claims(token)
        expires, issued = _claim_time(claims, "exp"), _claim_time(claims, "iat")
        same = self._token is not None and self._token.reveal() == token
        self._token, self.expires_at, self.token_source = Secret(token), expires, source
        if expires is None:
            self._renew_at, self._margin = now + HUB_RETRY, 0.0
            return
        start = issued.timestamp() if issued else now
        lifetime = max(expires.timestamp() - start, 1.0)
        # Never sent with less than this left: it might expire on its way to Rucio.
        self._margin = min(10.0, lifetime / 10)
        half_life = start + lifetime * HUB_RENEW_FRACTION
        left = expires.timestamp() - now
        # Past half-life already (the hub has not renewed yet): ask again in a little while.
        retry = now + min(HUB_RETRY, max(1.0, left / 4))
        self._renew_at = retry if same or now >= half_life else half_life
        if not same:
            log.info(
                "datalake[%s]: OIDC token (%s) for %s valid until %s",
                self.instance_name,
                source,
                self.account or "the token's account",
                iso(expires),
            )

    def _hub_problem(self) -> DatalakeError:
        return DatalakeError(
            502,
            f"Instance {self.instance_name!r} takes the OIDC token from JupyterHub, but "
            f"{self._unavailable}: run it under the hub, or configure a token file.",
            "CONFIG",
        )

    async def _fetch(self, rejected: str | None) -> str:
        """A valid token other than ``rejected``: the hub's, else the fallback's; else
        ``rejected`` once more (``_second_try``); raise otherwise."""
        error: DatalakeError
        found: list[tuple[str, datetime | None, str | None]] = []
        if self._hub is None:
            error = self._hub_problem()
        else:
            try:
                token = await self._hub.read()
            except DatalakeError as e:
                error = e
            else:
                found.append((token, jwt_expiry(token), "hub"))
                error = self.refusal(self.rucio_url)
        if self._fallback is not None:
            with contextlib.suppress(DatalakeError):
                token = await self._fallback.token()
                found.append((token, self._fallback.expires_at, self._fallback.token_source))
        now = time.time()
        valid = [(t, src) for t, exp, src in found if exp is None or exp.timestamp() > now]
        chosen = next(((t, src) for t, src in valid if t != rejected), None)
        same = next(((t, src) for t, src in valid if t == rejected), None)
        if chosen is None and same is not None and self._second_try(same[0]):
            chosen = same
        if chosen is None:
            raise error
        token, source = chosen
        self._take(token, source, now)
        return token

    def refusal(self, url: str) -> DatalakeError:
        return DatalakeError(
            502,
            f"Rucio at {url} rejected the access token JupyterHub holds for you, or it has "
            "expired: log in to the hub again (operators: check that the hub renews it and "
            "that its audience is Rucio's).",
            "RUCIO_TOKEN_EXPIRED",
        )

    def _refresh_soon(self) -> None:
        """Ask the hub in the background; the token in hand serves meanwhile."""
        if self._refresh is not None and not self._refresh.done():
            return
        # However the ask ends, the next one waits: a hub that is down is not hammered.
        self._renew_at = time.time() + HUB_RETRY
        try:
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_quietly())
        except RuntimeError:
            self._refresh = None

    async def _refresh_quietly(self) -> None:
        """The hub's current token; while it cannot say, the valid token in hand stays."""
        async with self._lock:
            try:
                if self._hub is not None:
                    token, source = await self._hub.read(), "hub"
                elif self._fallback is not None:
                    token, source = await self._fallback.token(), self._fallback.token_source
                else:
                    return
                expires = jwt_expiry(token)
                if expires is None or expires.timestamp() > time.time():
                    self._take(token, source, time.time())
            except DatalakeError as e:
                log.warning(
                    "datalake[%s]: could not renew the OIDC token: %s", self.instance_name, e
                )

    async def token(self) -> str:
        if self._usable(time.time()):
            assert self._token is not None
            if time.time() >= self._renew_at:
                self._refresh_soon()
            return self._token.reveal()
        async with self._lock:
            if self._usable(time.time()):
                assert self._token is not None
                return self._token.reveal()
            return await self._fetch(None)

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            current = self._token.reveal() if self._token else None
            if current is not None and current != rejected and self._usable(time.time()):
                return current  # renewed meanwhile by another call
            return await self._fetch(rejected)

    def secrets(self) -> list[str]:
        found = [self._token.reveal()] if self._token else []
        if self._hub is not None:
            found.append(self._hub.access.api_token)
        if self._fallback is not None:
            found += self._fallback.secrets()
        return found

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresh
            self._refresh = None
        if self._hub is not None:
            await self._hub.close()


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


def hub_api_token() -> str | None:
    """The server's own JupyterHub API token (withheld from kernels by the server)."""
    for name in HUB_TOKEN_ENVS:
        value = secret_env(name)
        if value:
            return value
    return None


def make_token_provider(
    instance: InstanceConfig,
    client: httpx.AsyncClient,
    *,
    timeout: float = 30.0,
    hub_transport: httpx.AsyncBaseTransport | None = None,
) -> TokenProvider:
    """The token source an instance's ``auth`` names; ``timeout`` is the Rucio call deadline."""
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
    if auth.type == "hub":
        access, unavailable = HubAccess.from_env(os.environ, hub_api_token())
        hub = None
        if access is not None:
            hub_timeout = min(HUB_TIMEOUT, timeout / 3)
            hub = HubAuthState(
                access, auth.auth_state_key, timeout=hub_timeout, transport=hub_transport
            )
        fallback = None
        if auth.token_file or auth.token_env:
            fallback = OidcTokenProvider(instance, auth.account, auth.token_file, auth.token_env)
        return HubTokenProvider(instance, auth.account, hub, unavailable, fallback)
    proxy = (
        auth.proxy
        or os.environ.get("X509_USER_PROXY")
        or X509_DEFAULT_PROXY.format(uid=os.getuid())
    )
    return X509ProxyTokenProvider(instance, proxy, auth.account, timeout)
