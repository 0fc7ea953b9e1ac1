"""Thin tornado handlers over DatalakeService, under ``<base_url>datalake/``.

Every verb is ``@tornado.web.authenticated``. Besides Jupyter's own auth, a request carrying
``X-Datalake-Secret`` equal to this server's per-process secret (given only to kernels this
server starts) is authenticated, for these routes only. Errors are ``{"message", "reason"}``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth import User
from jupyter_server.base.call_context import CallContext
from jupyter_server.base.handlers import APIHandler
from tornado.iostream import StreamClosedError

from ..core.service import DatalakeService
from ..errors import DatalakeError

NAMESPACE = "datalake"
SECRET_HEADER = "X-Datalake-Secret"
SECRET_SETTING = "datalake_kernel_secret"
SERVICE_SETTING = "datalake_service"
KERNEL_USER = "datalake-kernel"
PATHS_FLUSH_LINES = 200

T = TypeVar("T")


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

    def instance(self, body: dict[str, Any] | None = None) -> str | None:
        if body and body.get("instance"):
            return str(body["instance"])
        return self.get_query_argument("instance", None) or None

    def body(self) -> dict[str, Any]:
        try:
            body = self.get_json_body() if self.request.body else {}
        except tornado.web.HTTPError as e:
            raise tornado.web.HTTPError(
                400, "The request body is not valid JSON.", reason="BAD_JSON"
            ) from e
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(
                400, "The request body must be a JSON object.", reason="BAD_JSON"
            )
        return body

    def required(self, name: str) -> str:
        value = self.get_query_argument(name, None)
        if not value:
            raise tornado.web.HTTPError(
                400, f"The query argument '{name}' is required.", reason="MISSING_ARGUMENT"
            )
        return value

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except DatalakeError as e:
            raise tornado.web.HTTPError(e.status, e.message, reason=e.reason) from e

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


class InstancesHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.service.instances()))


class WhoamiHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.service.whoami(instance=self.instance())))


class ScopesHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.service.scopes(instance=self.instance())))


class SearchHandler(DatalakeHandler):
    """Query: did=scope:pattern, type, filters (JSON object), limit, cursor."""

    @tornado.web.authenticated
    async def get(self) -> None:
        arg = self.get_query_argument
        result = self.service.search(
            self.required("did"),
            type=arg("type", "all"),
            filters=arg("filters", None),
            limit=arg("limit", None),
            cursor=arg("cursor", None),
            instance=self.instance(),
        )
        self.send(await self.call(result))


class DidHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(
            await self.call(self.service.did_info(self.required("did"), instance=self.instance()))
        )


class DidChildrenHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        arg = self.get_query_argument
        result = self.service.children(
            self.required("did"), arg("limit", None), arg("cursor", None), instance=self.instance()
        )
        self.send(await self.call(result))


class DidFilesHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        arg = self.get_query_argument
        result = self.service.files(
            self.required("did"), arg("limit", None), arg("cursor", None), instance=self.instance()
        )
        self.send(await self.call(result))


class DidReplicasHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(
            await self.call(self.service.replicas(self.required("did"), instance=self.instance()))
        )


class DidRulesHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(
            await self.call(self.service.did_rules(self.required("did"), instance=self.instance()))
        )


class QosHandler(DatalakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.service.qos(instance=self.instance())))


class StagingsHandler(DatalakeHandler):
    """GET: this account's stagings. POST: dids, qos, lifetime, source_qos, start_in, comment."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.service.list_stagings(instance=self.instance())))

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        result = await self.call(
            self.service.stage(
                body.get("dids"),
                qos=body.get("qos"),
                lifetime=body.get("lifetime"),
                source_qos=body.get("source_qos"),
                start_in=body.get("start_in"),
                comment=body.get("comment"),
                instance=self.instance(body),
            )
        )
        self.send(result, 201 if result["created"] else 200)


class StagingHandler(DatalakeHandler):
    """One staging: GET, PATCH {"lifetime"}, DELETE (release)."""

    @tornado.web.authenticated
    async def get(self, rule_id: str) -> None:
        self.send(await self.call(self.service.get_staging(rule_id, instance=self.instance())))

    @tornado.web.authenticated
    async def patch(self, rule_id: str) -> None:
        body = self.body()
        if "lifetime" not in body:
            raise tornado.web.HTTPError(
                400, "Give the new 'lifetime' in seconds.", reason="BAD_LIFETIME"
            )
        result = self.service.extend(rule_id, body["lifetime"], instance=self.instance(body))
        self.send(await self.call(result))

    @tornado.web.authenticated
    async def delete(self, rule_id: str) -> None:
        await self.call(self.service.release(rule_id, instance=self.instance()))
        self.set_status(204)
        self.finish()


class PathsHandler(DatalakeHandler):
    """NDJSON, one line per file, flushed in chunks; a late error becomes a final ``error`` line."""

    @tornado.web.authenticated
    async def get(self) -> None:
        entries = self.service.paths(
            self.required("did"), self.get_query_argument("qos", None), instance=self.instance()
        )
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
            try:
                async for entry in entries:
                    lines.append(json.dumps(entry))
                    if len(lines) >= PATHS_FLUSH_LINES:
                        self.write("\n".join(lines) + "\n")
                        lines = []
                        await self.flush()
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


def handlers() -> list[tuple[str, type[DatalakeHandler]]]:
    """Route table relative to base_url (ExtensionApp prepends it)."""
    routes: list[tuple[str, type[DatalakeHandler]]] = [
        ("instances", InstancesHandler),
        ("whoami", WhoamiHandler),
        ("scopes", ScopesHandler),
        ("search", SearchHandler),
        ("did", DidHandler),
        ("did/children", DidChildrenHandler),
        ("did/files", DidFilesHandler),
        ("did/replicas", DidReplicasHandler),
        ("did/rules", DidRulesHandler),
        ("qos", QosHandler),
        ("stagings", StagingsHandler),
        ("stagings/(?P<rule_id>[^/]+)", StagingHandler),
        ("paths", PathsHandler),
    ]
    return [(f"{NAMESPACE}/{path}/?", handler) for path, handler in routes]
