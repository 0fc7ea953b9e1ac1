"""Async Rucio REST client: one pooled ``httpx.AsyncClient`` per instance, one method per call.

The named calls (``did()``, ``rules()``, ``add_rule()`` ...) are the only place that knows Rucio's
paths; every path is built from percent-encoded segments, so a scope ``..`` or a name with ``/``
never reaches another endpoint. ``request()`` and ``stream()`` share one send loop: a deadline per
attempt, one token renewal on 401, and for idempotent calls retries with backoff on connection
errors and 502/503. ``application/x-json-stream`` answers are read line by line so that a 100k-file
listing never sits whole in memory; Rucio's ``ExceptionClass`` becomes a DatalakeError whose
sentence says what to do. Every answer is checked before it is used: a body or a line that is
not JSON (an HTML error page, a cut line) or not of the shape the call expects is a 502
``RUCIO_BAD_ANSWER``, never a guess. Upstream bodies are never echoed beyond a redacted, bounded
message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..errors import DatalakeError
from .auth import TokenProvider, make_token_provider, tls_failure, trust_context
from .config import InstanceConfig
from .did import DID

log = logging.getLogger(__name__)

JSON = "application/json"
STREAM = "application/x-json-stream"
RETRY_STATUS = (502, 503)
RETRY_DELAYS = (0.25, 1.0)
# Connection trouble worth another try, e.g. a pooled connection the server had just closed.
RETRY_ERRORS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)
# Rucio refusals that say "the same request may succeed in a moment", e.g. a rule asked while
# the reaper is still deleting the copies of a rule just released (Rucio 41 answers 409
# ReplicationRuleCreationTemporaryFailed until the replica rows are gone).
TRANSIENT_DELAYS = (0.5, 1.0, 2.0, 4.0)
MESSAGE_MAX = 200

# What an answer must look like before anything reads it: field -> allowed types (a field that
# may be None may also be absent) or a test of the value.
Shape = Mapping[str, "tuple[type, ...] | Callable[[Any], bool]"]
STR = (str,)
OPT_STR = (str, type(None))
OPT_INT = (int, type(None))


def _str_map(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(k, str) for k in value))


def _pfn_map(value: Any) -> bool:
    return _str_map(value) and all(
        isinstance(pfns, list) and all(isinstance(p, str) for p in pfns)
        for pfns in (value or {}).values()
    )


NAMED: Shape = {"scope": STR, "name": STR}
DID_INFO: Shape = {**NAMED, "type": STR, "bytes": OPT_INT, "length": OPT_INT}
RULE: Shape = {
    "id": STR,
    **NAMED,
    "account": OPT_STR,
    "state": OPT_STR,
    "rse_expression": OPT_STR,
    "comments": OPT_STR,
    "error": OPT_STR,
    "expires_at": OPT_STR,
    "created_at": OPT_STR,
    "updated_at": OPT_STR,
    "locks_ok_cnt": OPT_INT,
    "locks_replicating_cnt": OPT_INT,
    "locks_stuck_cnt": OPT_INT,
}
CHILD: Shape = {**NAMED, "bytes": OPT_INT, "length": OPT_INT}
# verify compares ``adler32`` with a local copy's: a number or a list there is no checksum.
REPLICA: Shape = {
    **NAMED,
    "bytes": OPT_INT,
    "adler32": OPT_STR,
    "states": _str_map,
    "rses": _pfn_map,
}
DATASET_REPLICA: Shape = {
    "rse": STR,
    "length": OPT_INT,
    "available_length": OPT_INT,
    "available_bytes": OPT_INT,
}
BULK_DATASET_REPLICA: Shape = {**DATASET_REPLICA, "scope": STR, "name": STR}
RSE: Shape = {"rse": STR}
# What paths.py reads of an RSE's protocol: a prefix that is not a string is no path to map.
PROTOCOL: Shape = {"scheme": OPT_STR, "prefix": OPT_STR}
# Rucio writes an unlimited account (-1) as Infinity: a float.
OPT_NUMBER = (int, float, type(None))
ACCOUNT_USAGE: Shape = {
    "rse": STR,
    "bytes": OPT_NUMBER,
    "bytes_limit": OPT_NUMBER,
    "bytes_remaining": OPT_NUMBER,
}


def fits(document: Any, shape: Shape) -> bool:
    """True when ``document`` is an object whose fields match ``shape``."""
    if not isinstance(document, dict):
        return False
    for key, test in shape.items():
        value = document.get(key)
        if not (isinstance(value, test) if isinstance(test, tuple) else test(value)):
            return False
    return True


def hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def path_segment(value: str) -> str:
    """``value`` as one path segment that no server reads as a separator or a dot segment."""
    if not value:
        raise ValueError("an empty path segment would change the endpoint")
    encoded = quote(value, safe="")
    # quote() keeps the unreserved '.', but a segment '.' or '..' would walk the path up.
    return encoded.replace(".", "%2E") if not value.strip(".") else encoded


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
    if cls == "ReplicationRuleCreationTemporaryFailed":
        target = f" for {did}" if did else ""
        return DatalakeError(
            502,
            f"Rucio could not create the rule{target} for several seconds (copies of a rule "
            "released moments ago may still be being deleted); nothing was created: try again "
            "in a minute.",
            "RUCIO_ERROR",
        )
    if cls == "DuplicateRule":
        return DatalakeError(409, "This staging already exists.", "DUPLICATE_RULE")
    if cls in ("Duplicate", "DataIdentifierAlreadyExists", "FileAlreadyExists"):
        return DatalakeError(409, f"This already exists in Rucio{detail}.", "ALREADY_EXISTS")
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
        #: the token Rucio has answered (hashed: no secret kept beside the token source's)
        self._used: str | None = None
        self._first_use = asyncio.Lock()
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=trust_context(instance) if instance.ca_cert else True,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": "jupyterlab-datalake"},
        )
        self.auth = auth or make_token_provider(instance, self.http, timeout=timeout)

    def url(self, *segments: str, collection: bool = False) -> str:
        """The base URL (its path prefix kept) and the encoded segments; ``collection`` adds the
        trailing '/' of Rucio's list endpoints (``/rules/``, ``/rses/``)."""
        path = "/".join(path_segment(segment) for segment in segments)
        return f"{self.base_url}/{path}{'/' if collection else ''}"

    # ---- the send loop ------------------------------------------------------------------------

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    @staticmethod
    def _exception(response: httpx.Response) -> tuple[str | None, str]:
        """Rucio's ExceptionClass and ExceptionMessage of an error answer (body, else headers)."""
        exc_class = response.headers.get("ExceptionClass")
        exc_message = response.headers.get("ExceptionMessage", "")
        try:
            body = response.json()
            if isinstance(body, dict):
                exc_class = body.get("ExceptionClass") or exc_class
                exc_message = str(body.get("ExceptionMessage") or exc_message)
        except (ValueError, RecursionError, httpx.ResponseNotRead):
            pass  # RecursionError: nested too deep to read; the headers still say it
        return exc_class, exc_message

    def _error(self, response: httpx.Response, context: dict[str, str] | None) -> DatalakeError:
        exc_class, exc_message = self._exception(response)
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

    def _bad_answer(self, response: httpx.Response, what: str) -> DatalakeError:
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        if kind == "text/html":
            what = "an HTML page (a proxy or login page?)"
        log.warning(
            "datalake[%s]: Rucio %s %s -> %s: %s",
            self.instance.name,
            response.request.method,
            response.request.url.path,
            response.status_code,
            what,
        )
        return DatalakeError(
            502,
            f"Rucio at {self._host()} sent {what} where the shim expected its JSON answer: try "
            "again later; if it persists, tell the operators.",
            "RUCIO_BAD_ANSWER",
        )

    def _timeout_error(self) -> DatalakeError:
        return DatalakeError(
            504,
            f"Rucio at {self._host()} did not answer within {self.timeout:g} s; try again later.",
            "RUCIO_TIMEOUT",
        )

    def _unreachable(self, e: Exception) -> DatalakeError:
        if tls_failure(e):
            return DatalakeError(
                502,
                f"The TLS connection to Rucio at {self._host()} failed ({type(e).__name__}): "
                "check that 'ca_cert' names the CA of the Rucio server.",
                "RUCIO_UNREACHABLE",
            )
        return DatalakeError(
            502,
            f"Rucio at {self._host()} is unreachable ({type(e).__name__}); check the network or "
            "try again later.",
            "RUCIO_UNREACHABLE",
        )

    async def _attempt(
        self, request: dict[str, Any], accept: str, authenticated: bool, stream: bool
    ) -> tuple[str | None, httpx.Response]:
        """One try: the current token (fetched within the deadline too), then the request."""
        token = await self.auth.token() if authenticated else None
        headers = {"Accept": accept}
        if token:
            headers["X-Rucio-Auth-Token"] = token
        if self.instance.vo:
            headers["X-Rucio-VO"] = self.instance.vo
        built = self.http.build_request(**request, headers=headers)
        if token is None or hashed(token) == self._used:
            return token, await self.http.send(built, stream=stream)
        # Rucio records a new OIDC token at its first use, and first uses arriving together
        # race: the loser is answered 401 though the token is good. So a new token's first
        # use goes alone; calls made meanwhile (details ask three at once) wait for it.
        async with self._first_use:
            if hashed(token) == self._used:
                return token, await self.http.send(built, stream=stream)
            response = await self.http.send(built, stream=stream)
            if response.status_code != 401:
                self._used = hashed(token)
            return token, response

    async def _send(
        self,
        method: str,
        segments: tuple[str, ...],
        *,
        collection: bool = False,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        accept: str = JSON,
        idempotent: bool | None = None,
        authenticated: bool = True,
        context: dict[str, str] | None = None,
        ok: Sequence[int] = (200, 201, 204),
        stream: bool = False,
        transient: Collection[str] = (),
    ) -> httpx.Response:
        """Send until Rucio answers ``ok`` or the call fails; GETs count as idempotent.

        ``transient`` names Rucio exception classes after which the same request is sent again
        (``TRANSIENT_DELAYS`` apart) before their sentence is the answer.
        With ``stream`` the body is left unread: the caller reads it and closes the response.
        """
        retry = method == "GET" if idempotent is None else idempotent
        delays = list(RETRY_DELAYS) if retry else []
        transient_delays = list(TRANSIENT_DELAYS)
        renewed = False
        request: dict[str, Any] = {
            "method": method,
            "url": self.url(*segments, collection=collection),
            "params": params,
        }
        if json_body is not None:
            request["json"] = json_body
        while True:
            try:
                token, response = await asyncio.wait_for(
                    self._attempt(request, accept, authenticated, stream), self.timeout
                )
            except (asyncio.TimeoutError, httpx.TimeoutException) as e:
                raise self._timeout_error() from e
            except RETRY_ERRORS as e:
                if delays:
                    await asyncio.sleep(delays.pop(0))
                    continue
                raise self._unreachable(e) from e
            except (httpx.HTTPError, OSError) as e:
                raise self._unreachable(e) from e
            if response.status_code == 401 and token:
                await response.aclose()
                if renewed:  # refused again: the token source says what to do
                    raise self.auth.refusal(self._host())
                renewed = True
                await self.auth.renew(token)
                continue
            if response.status_code in RETRY_STATUS and delays:
                await response.aclose()
                await asyncio.sleep(delays.pop(0))
                continue
            if response.status_code not in ok:
                await response.aread()
                await response.aclose()
                exc_class = self._exception(response)[0]
                if transient_delays and exc_class in transient:
                    log.info(
                        "datalake[%s]: Rucio %s %s -> %s %s; sent again",
                        self.instance.name,
                        method,
                        response.request.url.path,
                        response.status_code,
                        exc_class,
                    )
                    await asyncio.sleep(transient_delays.pop(0))
                    continue
                raise self._error(response, context)
            return response

    async def request(self, method: str, *segments: str, **options: Any) -> httpx.Response:
        """One call answered as a whole; ``options`` as ``_send`` takes them."""
        return await self._send(method, segments, **options)

    async def stream(
        self, method: str, *segments: str, shape: Shape, **options: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield one JSON object per line of an x-json-stream answer; a line that is not JSON
        or does not fit ``shape`` ends the stream with a 502 ``RUCIO_BAD_ANSWER``.

        Retries happen only before the first line; the read timeout applies between chunks.
        Use with ``contextlib.aclosing`` when stopping early.
        """
        response = await self._send(
            method, segments, accept=STREAM, ok=(200,), stream=True, **options
        )
        try:
            # Rucio sends each line as an HTTP chunk: at a million lines httpx's text decoding
            # and line splitting cost more than the JSON parse, and its content decoding a
            # sixth of the read, so lines are split from the bytes (json reads UTF-8 itself),
            # raw when the answer has no content coding.
            coding = response.headers.get("content-encoding", "identity").strip().lower()
            raw = coding in ("", "identity") and not response.is_stream_consumed
            chunks = response.aiter_raw() if raw else response.aiter_bytes()
            rest = b""
            async for chunk in chunks:
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    if line.strip():
                        yield self._line(response, line, shape)
            if rest.strip():
                yield self._line(response, rest, shape)
        except httpx.TimeoutException as e:
            raise self._timeout_error() from e
        except (httpx.HTTPError, OSError) as e:
            raise self._unreachable(e) from e
        finally:
            await response.aclose()

    def _line(self, response: httpx.Response, line: bytes, shape: Shape) -> dict[str, Any]:
        try:
            # Decoded here: json.loads would first guess the encoding of bytes, on every line.
            document = json.loads(line.decode())
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            raise self._bad_answer(response, "a line that is not JSON (cut short?)") from e
        if not fits(document, shape):
            raise self._bad_answer(response, "a line of an unexpected shape")
        return document

    def _json(self, response: httpx.Response, shape: Shape | type | tuple[type, ...] = dict) -> Any:
        """The body: an object that fits ``shape``, or a value of the type(s) ``shape``; a 502
        otherwise."""
        try:
            document = json.loads(response.content)
        except (ValueError, RecursionError) as e:
            raise self._bad_answer(response, "an answer that is not JSON") from e
        if not (
            fits(document, shape) if isinstance(shape, Mapping) else isinstance(document, shape)
        ):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return document

    async def _get(self, *segments: str, shape: Shape | type = dict, **options: Any) -> Any:
        return self._json(await self.request("GET", *segments, **options), shape)

    # ---- named calls --------------------------------------------------------------------------

    async def ping(self) -> dict[str, Any]:
        """Rucio's version. Needs no token; asked once per instance, so it is not retried."""
        response = await self._send(
            "GET", ("ping",), authenticated=False, idempotent=False, ok=(200,)
        )
        return self._json(response)

    async def whoami(self) -> str | None:
        """The account the token acts as: Rucio redirects to it (303) or names it (200)."""
        response = await self.request("GET", "accounts", "whoami", ok=(200, 303))
        if response.status_code == 303:
            return response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1] or None
        account = self._json(response).get("account")
        return account if isinstance(account, str) and account else None

    async def scopes(self) -> list[str]:
        response = await self.request("GET", "scopes", collection=True)
        scopes = self._json(response, list)
        if not all(isinstance(scope, str) for scope in scopes):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return scopes

    async def did(self, did: DID) -> dict[str, Any]:
        """A DID's type, bytes and length. A closed collection's are the ones Rucio stored
        when it was closed; an open one's are summed over its files by Rucio (a third of a
        second per million files on the testbed, so only when they may have changed)."""
        context = {"did": str(did)}
        info = await self._get("dids", *did, shape=DID_INFO, context=context)
        stored = info.get("length") is not None and info.get("bytes") is not None
        if info["type"].upper() == "FILE" or (info.get("open") is False and stored):
            return info
        return await self._get(
            "dids", *did, params={"dynamic_depth": "FILE"}, shape=DID_INFO, context=context
        )

    async def did_meta(self, did: DID) -> dict[str, Any]:
        return await self._get("dids", *did, "meta", context={"did": str(did)})

    def did_rules(self, did: DID) -> AsyncIterator[dict[str, Any]]:
        return self.stream("GET", "dids", *did, "rules", shape=RULE, context={"did": str(did)})

    def did_children(self, did: DID) -> AsyncIterator[dict[str, Any]]:
        return self.stream("GET", "dids", *did, "dids", shape=CHILD, context={"did": str(did)})

    def did_files(self, did: DID) -> AsyncIterator[dict[str, Any]]:
        return self.stream("GET", "dids", *did, "files", shape=CHILD, context={"did": str(did)})

    def search(
        self, pattern: DID, *, did_type: str, filters: str, limit: int
    ) -> AsyncIterator[dict[str, Any]]:
        """DIDs of ``pattern.scope``; ``filters`` is Rucio's filter list (it holds the name)."""
        params = {
            "type": did_type,
            "long": "true",
            "recursive": "false",
            "limit": limit,
            "filters": filters,
        }
        return self.stream(
            "GET",
            "dids",
            pattern.scope,
            "dids",
            "search",
            params=params,
            shape=CHILD,
            context={"did": str(pattern)},
        )

    def rules(self, account: str) -> AsyncIterator[dict[str, Any]]:
        return self.stream("GET", "rules", collection=True, params={"account": account}, shape=RULE)

    async def rule(self, rule_id: str) -> dict[str, Any]:
        return await self._get("rules", rule_id, shape=RULE, context={"rule_id": rule_id})

    async def add_rule(self, body: dict[str, Any]) -> str:
        """Create a rule. Sent again after a connection error (a pooled connection Rucio had
        just closed): a second rule cannot come of it, Rucio answers DuplicateRule, which
        ``StagingManager.stage`` reads as the existing rule. Sent again too while Rucio answers
        ReplicationRuleCreationTemporaryFailed: it rolled that attempt back, nothing was made."""
        dids = body.get("dids") or [{}]
        context = {
            "did": f"{dids[0].get('scope')}:{dids[0].get('name')}",
            "expression": str(body.get("rse_expression")),
        }
        response = await self.request(
            "POST",
            "rules",
            collection=True,
            json_body=body,
            idempotent=True,
            context=context,
            transient=("ReplicationRuleCreationTemporaryFailed",),
        )
        ids = self._json(response, list)
        if len(ids) != 1 or not isinstance(ids[0], str):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return ids[0]

    async def update_rule(self, rule_id: str, options: dict[str, Any]) -> None:
        await self.request(
            "PUT", "rules", rule_id, json_body={"options": options}, context={"rule_id": rule_id}
        )

    async def delete_rule(self, rule_id: str, *, purge_replicas: bool = False) -> None:
        await self.request(
            "DELETE",
            "rules",
            rule_id,
            json_body={"purge_replicas": purge_replicas},
            context={"rule_id": rule_id},
        )

    async def move_rule(self, rule_id: str, rse_expression: str) -> str:
        """Rucio's rule move: a child rule on ``rse_expression``; the old rule stays until the
        child is OK, then the cleaner removes it. Returns the child's id. Sent again while
        Rucio answers ReplicationRuleCreationTemporaryFailed (that attempt was rolled back)."""
        response = await self.request(
            "POST",
            "rules",
            rule_id,
            "move",
            json_body={"rse_expression": rse_expression},
            context={"rule_id": rule_id, "expression": rse_expression},
            transient=("ReplicationRuleCreationTemporaryFailed",),
        )
        # Rucio 41 answers the id as a JSON string (labelled text/html); older ones a list.
        ids = self._json(response, (str, list))
        ids = [ids] if isinstance(ids, str) else ids
        if len(ids) != 1 or not isinstance(ids[0], str):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return ids[0]

    async def account_scopes(self, account: str) -> list[str]:
        response = await self.request("GET", "accounts", account, "scopes", collection=True)
        scopes = self._json(response, list)
        if not all(isinstance(scope, str) for scope in scopes):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return scopes

    async def write_pfn(self, rse: str, did: DID, scheme: str) -> str:
        """Where a new file ``did`` goes on ``rse`` (Rucio's lfn2pfn for writing)."""
        response = await self.request(
            "GET",
            "rses",
            rse,
            "lfns2pfns",
            params={"lfn": str(did), "scheme": scheme, "operation": "write"},
        )
        pfn = self._json(response).get(str(did))
        if not isinstance(pfn, str):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return pfn

    async def add_replicas(self, rse: str, files: list[dict[str, Any]]) -> None:
        """Register files written on ``rse``. Sent again after a connection error: a second
        registration cannot come of it, Rucio answers Duplicate (``ALREADY_EXISTS``)."""
        await self.request(
            "POST",
            "replicas",
            collection=True,
            json_body={"rse": rse, "files": files},
            idempotent=True,
            context={"did": f"{files[0]['scope']}:{files[0]['name']}"} if files else None,
        )

    async def add_dataset(self, did: DID) -> None:
        await self.request(
            "POST", "dids", *did, json_body={"type": "DATASET"}, context={"did": str(did)}
        )

    async def attach(self, dataset: DID, files: list[DID]) -> None:
        body = {"dids": [{"scope": f.scope, "name": f.name} for f in files]}
        await self.request("POST", "dids", *dataset, "dids", json_body=body)

    async def declare_suspicious(self, pfns: list[str], reason: str) -> Any:
        """Report replicas as suspicious (any account may); returns what Rucio did not declare."""
        response = await self.request(
            "POST",
            "replicas",
            "suspicious",
            json_body={"pfns": pfns, "reason": reason},
        )
        return self._json(response, (list, dict))

    async def suspicious(self, rse_expression: str) -> list[dict[str, Any]]:
        """Replicas declared suspicious on the RSEs of ``rse_expression`` (recent ones)."""
        response = await self.request(
            "GET",
            "replicas",
            "suspicious",
            params={"rse_expression": rse_expression},
        )
        return [r for r in self._json(response, list) if isinstance(r, dict)]

    async def rses(self, expression: str) -> list[str]:
        """The names of the RSEs an RSE expression selects."""
        lines = self.stream(
            "GET",
            "rses",
            collection=True,
            params={"expression": expression},
            shape=RSE,
            context={"expression": expression},
        )
        async with contextlib.aclosing(lines):
            return [line["rse"] async for line in lines]

    async def account_usage(self, account: str, rse: str) -> dict[str, Any] | None:
        """The account's bytes, limit and room on one RSE (None when Rucio has no line)."""
        lines = self.stream("GET", "accounts", account, "usage", "local", rse, shape=ACCOUNT_USAGE)
        async with contextlib.aclosing(lines):
            async for usage in lines:
                return usage
        return None

    async def rse_attributes(self, rse: str) -> dict[str, Any]:
        return await self._get("rses", rse, "attr", collection=True)

    async def rse_protocols(self, rse: str) -> list[dict[str, Any]]:
        response = await self.request("GET", "rses", rse, "protocols")
        # Rucio 41 answers a list; older servers wrapped it in {"protocols": [...]}.
        info = self._json(response, (list, dict))
        protocols = info.get("protocols") if isinstance(info, dict) else info
        if not isinstance(protocols, list) or not all(fits(p, PROTOCOL) for p in protocols):
            raise self._bad_answer(response, "JSON of an unexpected shape")
        return protocols

    def list_replicas(
        self,
        dids: list[dict[str, str]],
        *,
        rse_expression: str | None = None,
        schemes: list[str] | None = None,
        sort: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Replicas of files in every state (``states`` per RSE, ``rses`` their PFNs)."""
        body: dict[str, Any] = {"dids": dids, "all_states": True}
        if rse_expression:
            body["rse_expression"] = rse_expression
        if schemes:
            body["schemes"] = schemes
        if sort:
            body["sort"] = sort
        context = {"did": f"{dids[0]['scope']}:{dids[0]['name']}"} if len(dids) == 1 else None
        # A POST that only reads: safe to send again.
        return self.stream(
            "POST",
            "replicas",
            "list",
            json_body=body,
            idempotent=True,
            shape=REPLICA,
            context=context,
        )

    def dataset_replicas(self, dataset: DID, *, deep: bool) -> AsyncIterator[dict[str, Any]]:
        """Per RSE: the dataset's ``length``, ``available_length`` and ``available_bytes``."""
        return self.stream(
            "GET",
            "replicas",
            *dataset,
            "datasets",
            params={"deep": "True"} if deep else None,
            shape=DATASET_REPLICA,
            context={"did": str(dataset)},
        )

    def dataset_replicas_bulk(self, datasets: list[DID]) -> AsyncIterator[dict[str, Any]]:
        """Rucio's stored counts (the collection replicas abacus keeps) of many datasets in one
        call: per dataset and RSE, ``scope``, ``name``, ``length``, ``available_length``,
        ``available_bytes``."""
        return self.stream(
            "POST",
            "replicas",
            "datasets_bulk",
            json_body={"dids": [{"scope": d.scope, "name": d.name} for d in datasets]},
            idempotent=True,  # a POST that only reads
            shape=BULK_DATASET_REPLICA,
        )

    async def close(self) -> None:
        await self.auth.close()
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"RucioClient({self.instance.name!r}, {self.base_url!r})"
