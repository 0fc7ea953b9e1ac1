"""Async Rucio REST client: one pooled ``httpx.AsyncClient`` per instance.

Every call has a deadline; idempotent reads are retried with backoff on connection errors and
502/503; ``application/x-json-stream`` answers are read line by line so that a 100k-file listing
never sits whole in memory; Rucio's ``ExceptionClass`` becomes a DatalakeError whose sentence says
what to do. Upstream bodies are never echoed beyond a redacted, bounded ExceptionMessage.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..errors import DatalakeError
from .auth import TokenProvider, make_token_provider
from .config import InstanceConfig

log = logging.getLogger(__name__)

STREAM = "application/x-json-stream"
RETRY_STATUS = (502, 503)
RETRY_DELAYS = (0.25, 1.0)
MESSAGE_MAX = 200


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def rucio_error(
    status: int,
    exc_class: str | None,
    exc_message: str,
    *,
    url: str,
    context: dict[str, str] | None = None,
) -> DatalakeError:
    """Map a Rucio error answer to a DatalakeError with an actionable sentence."""
    ctx = context or {}
    did = ctx.get("did")
    expression = ctx.get("expression")
    detail = f" (Rucio: {exc_message})" if exc_message else ""
    cls = exc_class or ""
    if cls in ("DataIdentifierNotFound", "ScopeNotFound") or (status == 404 and did and not cls):
        what = f"The DID {did}" if did else "This DID"
        return DatalakeError(
            404,
            f"{what} does not exist in Rucio at {url}: check the DID (scope:name).",
            "DID_NOT_FOUND",
        )
    if cls == "RuleNotFound":
        rule = ctx.get("rule_id", "")
        return DatalakeError(
            404,
            f"No Rucio rule {rule} exists (any more): refresh the staging list.",
            "RULE_NOT_FOUND",
        )
    if cls == "RSENotFound":
        return DatalakeError(
            404,
            f"An RSE named here does not exist in Rucio{detail}: check the RSE name.",
            "RSE_NOT_FOUND",
        )
    if cls in (
        "InvalidRSEExpression",
        "RSEExpressionError",
        "InsufficientTargetRSEs",
        "RSEWriteBlocked",
    ):
        target = f" {expression!r}" if expression else ""
        return DatalakeError(
            409,
            f"No eligible storage matches the RSE expression{target}: no RSE with that QoS is "
            "writable near the hub. Choose another QoS class or ask the operators.",
            "NO_ELIGIBLE_RSE",
        )
    if cls in ("InsufficientAccountLimit", "RSEOverQuota"):
        return DatalakeError(
            409,
            "Your Rucio quota on the target storage is too small for this data: release other "
            f"stagings, choose another QoS class, or ask for more quota{detail}.",
            "QUOTA_EXCEEDED",
        )
    if cls == "DuplicateRule":
        return DatalakeError(409, "This staging already exists.", "DUPLICATE_RULE")
    if cls == "AccessDenied" or status == 403:
        return DatalakeError(
            403,
            f"Rucio denied this operation to your account{detail}; ask the operators for the "
            "permission or use your own scope.",
            "ACCESS_DENIED",
        )
    if cls == "CannotAuthenticate" or status == 401:
        return DatalakeError(
            502,
            f"Rucio at {url} did not accept the shim's credentials: check the credentials "
            "configured for this instance.",
            "RUCIO_AUTH_FAILED",
        )
    if cls in (
        "InvalidReplicationRule",
        "InvalidObject",
        "InputValidationError",
        "InvalidValueForKey",
        "UnsupportedOperation",
        "InvalidSourceReplicaExpression",
        "StagingAreaRuleRequiresLifetime",
        "InvalidType",
        "KeyNotFound",
        "InvalidMetadata",
        "RuleReplaceFailed",
    ):
        return DatalakeError(
            400, f"Rucio refused the request{detail}: fix it and retry.", "RUCIO_REFUSED"
        )
    if status == 404:
        return DatalakeError(404, f"Rucio at {url} has no such object{detail}.", "NOT_FOUND")
    return DatalakeError(
        502,
        f"Rucio at {url} failed with HTTP {status}{' ' + cls if cls else ''}: try again later; "
        "if it persists, tell the operators.",
        "RUCIO_ERROR",
    )


class RucioClient:
    """Rucio REST calls for one instance, authenticated by a TokenProvider."""

    def __init__(
        self,
        instance: InstanceConfig,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: TokenProvider | None = None,
    ) -> None:
        self.instance = instance
        self.timeout = timeout
        self.base_url = instance.rucio_url.rstrip("/")
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=instance.ca_cert or True,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": "jupyterlab-datalake"},
        )
        self.auth = auth or make_token_provider(instance, self.http)

    def url(self, *segments: str) -> str:
        """Base URL (its path prefix kept) + quoted segments; a trailing '' gives a trailing '/'."""
        return "/".join([self.base_url, *(quote(s, safe="") for s in segments)])

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    async def _headers(self, accept: str | None) -> dict[str, str]:
        headers = {"X-Rucio-Auth-Token": await self.auth.token()}
        if self.instance.vo:
            headers["X-Rucio-VO"] = self.instance.vo
        if accept:
            headers["Accept"] = accept
        return headers

    def _error(self, response: httpx.Response, context: dict[str, str] | None) -> DatalakeError:
        exc_class = response.headers.get("ExceptionClass")
        exc_message = response.headers.get("ExceptionMessage", "")
        try:
            body = response.json()
            if isinstance(body, dict):
                exc_class = body.get("ExceptionClass") or exc_class
                exc_message = str(body.get("ExceptionMessage") or exc_message)
        except (ValueError, httpx.ResponseNotRead):
            pass
        exc_message = redact(exc_message, self.auth.secrets())
        error = rucio_error(
            response.status_code, exc_class, exc_message, url=self._host(), context=context
        )
        log.info(
            "datalake[%s]: Rucio %s %s -> %s %s",
            self.instance.name,
            response.request.method,
            response.request.url.path,
            response.status_code,
            exc_class,
        )
        return error

    def _timeout_error(self) -> DatalakeError:
        return DatalakeError(
            504,
            f"Rucio at {self._host()} did not answer within {self.timeout:g} s; try again later.",
            "RUCIO_TIMEOUT",
        )

    def _unreachable(self, e: Exception) -> DatalakeError:
        return DatalakeError(
            502,
            f"Rucio at {self._host()} is unreachable ({type(e).__name__}); check the network or "
            "try again later.",
            "RUCIO_UNREACHABLE",
        )

    async def _send_once(
        self, method: str, url: str, accept: str | None, kwargs: dict[str, Any]
    ) -> httpx.Response:
        headers = await self._headers(accept)
        response = await self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code == 401:
            token = headers["X-Rucio-Auth-Token"]
            headers["X-Rucio-Auth-Token"] = await self.auth.renew(token)
            response = await self.http.request(method, url, headers=headers, **kwargs)
        return response

    async def request(
        self,
        method: str,
        *segments: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        context: dict[str, str] | None = None,
        ok: Sequence[int] = (200, 201, 204),
    ) -> httpx.Response:
        """One call with a deadline; 401 renews the token once; GETs retry on 502/503."""
        url = self.url(*segments)
        retry = method == "GET" if idempotent is None else idempotent
        kwargs: dict[str, Any] = {"params": params}
        if json_body is not None:
            kwargs["json"] = json_body
        delays = list(RETRY_DELAYS) if retry else []
        while True:
            try:
                response = await asyncio.wait_for(
                    self._send_once(method, url, "application/json", kwargs), self.timeout
                )
            except (asyncio.TimeoutError, httpx.TimeoutException) as e:
                raise self._timeout_error() from e
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as e:
                if delays:
                    await asyncio.sleep(delays.pop(0))
                    continue
                raise self._unreachable(e) from e
            except httpx.HTTPError as e:
                raise self._unreachable(e) from e
            if response.status_code in RETRY_STATUS and delays:
                await asyncio.sleep(delays.pop(0))
                continue
            if response.status_code not in ok:
                raise self._error(response, context)
            return response

    async def get_json(
        self,
        *segments: str,
        params: dict[str, Any] | None = None,
        context: dict[str, str] | None = None,
    ) -> Any:
        response = await self.request("GET", *segments, params=params, context=context)
        return response.json() if response.content else None

    async def stream(
        self,
        method: str,
        *segments: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        context: dict[str, str] | None = None,
    ) -> AsyncIterator[Any]:
        """Yield one JSON document per line of an x-json-stream answer.

        Retries happen only before the first line; the read timeout applies between chunks.
        Use with ``contextlib.aclosing`` when stopping early.
        """
        url = self.url(*segments)
        kwargs: dict[str, Any] = {"params": params}
        if json_body is not None:
            kwargs["json"] = json_body
        delays = list(RETRY_DELAYS)
        renewed = False
        while True:
            try:
                headers = await self._headers(STREAM)
                async with self.http.stream(method, url, headers=headers, **kwargs) as response:
                    if response.status_code == 401 and not renewed:
                        renewed = True
                        await self.auth.renew(headers["X-Rucio-Auth-Token"])
                        continue
                    if response.status_code in RETRY_STATUS and delays:
                        await asyncio.sleep(delays.pop(0))
                        continue
                    if response.status_code != 200:
                        await response.aread()
                        raise self._error(response, context)
                    delays = []
                    async for line in response.aiter_lines():
                        if line.strip():
                            yield json.loads(line)
                    return
            except httpx.TimeoutException as e:
                raise self._timeout_error() from e
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as e:
                if delays:
                    await asyncio.sleep(delays.pop(0))
                    continue
                raise self._unreachable(e) from e
            except httpx.HTTPError as e:
                raise self._unreachable(e) from e

    async def ping(self) -> dict[str, Any]:
        """``GET /ping`` needs no token."""
        try:
            response = await asyncio.wait_for(self.http.get(self.url("ping")), self.timeout)
        except (asyncio.TimeoutError, httpx.TimeoutException) as e:
            raise self._timeout_error() from e
        except httpx.HTTPError as e:
            raise self._unreachable(e) from e
        if response.status_code != 200:
            raise self._error(response, None)
        return response.json()

    async def close(self) -> None:
        await self.auth.close()
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"RucioClient({self.instance.name!r}, {self.base_url!r})"
