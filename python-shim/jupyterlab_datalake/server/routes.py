"""Thin tornado handlers over DatalakeService, under ``<base_url>datalake/``, one per route of
``core/verbs.py``: each takes the verb's arguments from the path, query or body, calls the service
method of the same name and sends its answer.

Every verb is ``@tornado.web.authenticated``. Besides Jupyter's own auth, a request carrying
``X-Datalake-Secret`` equal to this server's per-process secret (given only to kernels this
server starts) is authenticated, for these routes only. Errors are ``{"message", "reason"}``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth import User
from jupyter_server.base.call_context import CallContext
from jupyter_server.base.handlers import APIHandler
from tornado.iostream import StreamClosedError

from ..core.service import DatalakeService
from ..core.staging import bad_rule_id
from ..core.verbs import VERBS, Verb
from ..errors import DatalakeError

NAMESPACE = "datalake"
SECRET_HEADER = "X-Datalake-Secret"
SECRET_SETTING = "datalake_kernel_secret"
SERVICE_SETTING = "datalake_service"
KERNEL_USER = "datalake-kernel"
PATHS_FLUSH_LINES = 200
# A stream's lines are sent at least this often, so progress lines arrive as they happen.
FLUSH_EVERY = 0.5

T = TypeVar("T")


def http_error(error: DatalakeError) -> tornado.web.HTTPError:
    return tornado.web.HTTPError(error.status, error.message, reason=error.reason)


class DatalakeHandler(APIHandler):
    """Base: the service, the kernel-secret authentication and error mapping."""

    @property
    def service(self) -> DatalakeService:
        return self.settings[SERVICE_SETTING]

    async def prepare(self) -> None:  # type: ignore[override]
        secret = self.request.headers.get(SECRET_HEADER)
        if secret is None:
            await super().prepare()
            return
        CallContext.set(CallContext.JUPYTER_HANDLER, self)
        expected = self.settings.get(SECRET_SETTING) or ""
        if (
            not self.check_host()
            or not expected
            or not hmac.compare_digest(secret.encode(), expected.encode())
        ):
            self.current_user = self._jupyter_current_user = None
            raise tornado.web.HTTPError(
                403,
                "The kernel's datalake secret is not valid here: restart the kernel.",
                reason="BAD_SECRET",
            )
        # A kernel of this server: no cookie, so no XSRF token; the secret header is the proof.
        self.current_user = self._jupyter_current_user = User(username=KERNEL_USER)

    @property
    def token_authenticated(self) -> bool:
        return self.request.headers.get(SECRET_HEADER) is not None or super().token_authenticated

    def body(self) -> dict[str, Any]:
        try:
            body = self.get_json_body() if self.request.body else {}
        except (tornado.web.HTTPError, ValueError) as e:  # ValueError: not UTF-8
            raise tornado.web.HTTPError(
                400, "The request body is not valid JSON in UTF-8.", reason="BAD_JSON"
            ) from e
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(
                400, "The request body must be a JSON object.", reason="BAD_JSON"
            )
        return body

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except DatalakeError as e:
            raise http_error(e) from e

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


class VerbHandler(DatalakeHandler):
    """The verbs of one route, by HTTP method (``verbs`` comes from the route table)."""

    def initialize(self, verbs: dict[str, Verb]) -> None:
        self.verbs = verbs

    def _arguments(self, verb: Verb, path_args: dict[str, str]) -> dict[str, Any]:
        source: dict[str, Any]
        if verb.in_body:
            source = self.body()
        else:
            source = {
                name: self.get_query_argument(name, None) for name in (*verb.params, "instance")
            }
        for name in verb.required:
            if not source.get(name):
                raise tornado.web.HTTPError(
                    400, f"The query argument '{name}' is required.", reason="MISSING_ARGUMENT"
                )
        # Absent arguments are None: the service gives each its default.
        arguments = {name: source.get(name) for name in verb.data_params}
        arguments.update(path_args)
        if verb.per_instance:
            instance = source.get("instance")
            if instance is None:
                instance = self.get_query_argument("instance", None)
            if instance is not None and not isinstance(instance, str):
                raise tornado.web.HTTPError(
                    400, "instance must be the name of an instance.", reason="UNKNOWN_INSTANCE"
                )
            arguments["instance"] = instance or None
        return arguments

    async def _answer(self, path_args: dict[str, str]) -> None:
        verb = self.verbs.get(self.request.method or "")
        if verb is None:
            methods = ", ".join(sorted(self.verbs)) or "none"
            raise tornado.web.HTTPError(
                405, f"This route answers {methods}.", reason="METHOD_NOT_ALLOWED"
            )
        call = self.service.call(verb.name, self._arguments(verb, path_args))
        if verb.stream:
            await self._stream(call)
            return
        result = await self.call(call)
        if result is None:
            self.set_status(204)
            self.finish()
        else:
            created = isinstance(result, dict) and result.get("created") is True
            self.send(result, 201 if created else 200)

    async def _stream(self, entries: AsyncIterator[Any]) -> None:
        """NDJSON, flushed in chunks; a late error becomes a final ``{"error"}`` line."""
        try:
            # The first line decides the status: a bad DID is still a proper 4xx.
            try:
                first = await self.call(entries.__anext__())
            except StopAsyncIteration:
                first = None
            self.set_header("Content-Type", "application/x-ndjson")
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Accel-Buffering", "no")
            lines = [json.dumps(first)] if first is not None else []
            flushed = time.monotonic()
            try:
                async for entry in entries:
                    lines.append(json.dumps(entry))
                    if len(lines) >= PATHS_FLUSH_LINES or time.monotonic() - flushed >= FLUSH_EVERY:
                        self.write("\n".join(lines) + "\n")
                        lines = []
                        await self.flush()
                        flushed = time.monotonic()
            except DatalakeError as e:
                lines.append(json.dumps({"error": e.to_json()}))
            if lines:
                self.write("\n".join(lines) + "\n")
            # Send the headers now: APIHandler.finish() would relabel the body as JSON.
            await self.flush()
            await self.finish()
        except StreamClosedError:
            pass  # the reader went away; stop asking Rucio
        finally:
            await entries.aclose()

    @tornado.web.authenticated
    async def get(self, **path_args: str) -> None:
        await self._answer(path_args)

    post = patch = delete = get  # the verb is chosen by the request's method


class BadRuleIdHandler(VerbHandler):
    """``stagings/<anything but a rule id>``: a 400 that says what a rule id is."""

    async def _answer(self, path_args: dict[str, str]) -> None:
        raise http_error(bad_rule_id(path_args["rule_id"]))


class UnknownRouteHandler(VerbHandler):
    """Any other path under the namespace: a JSON 404 that names the routes."""

    async def _answer(self, path_args: dict[str, str]) -> None:
        routes = ", ".join(sorted({v.route for v in VERBS.values()}))
        raise tornado.web.HTTPError(
            404, f"No such data lake route; the routes are: {routes}.", reason="NO_SUCH_ROUTE"
        )


def handlers() -> list[tuple[str, type[DatalakeHandler], dict[str, Any]]]:
    """Route table relative to base_url (ExtensionApp prepends it), built from ``VERBS``."""
    routes: dict[str, dict[str, Verb]] = {}
    for verb in VERBS.values():
        routes.setdefault(verb.pattern(), {})[verb.method] = verb
    table: list[tuple[str, type[DatalakeHandler], dict[str, Any]]] = [
        (f"{NAMESPACE}/{pattern}/?", VerbHandler, {"verbs": verbs})
        for pattern, verbs in routes.items()
    ]
    table.append((f"{NAMESPACE}/stagings/(?P<rule_id>[^/]+)/?", BadRuleIdHandler, {"verbs": {}}))
    table.append((f"{NAMESPACE}/.*", UnknownRouteHandler, {"verbs": {}}))
    return table
