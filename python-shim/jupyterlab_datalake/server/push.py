"""``datalake/stagings/events``: a WebSocket that pushes every change of the cached stagings.

A browser tab learns within a moment that a staging moved or is ready, without polling: the shim's
watcher tells this socket whenever a broker event (or, without a broker, a poll) changed a cached
staging. A WebSocket rather than a long-lived HTTP response because tabs share the browser's six
HTTP connections per host, and JupyterLab's own kernels and events use WebSockets too.

Authenticated like JupyterLab's own sockets (cookie or ``?token=``); Jupyter's origin check and
pings apply. Messages (JSON text): ``{"staging": Staging}`` and ``{"removed": rule_id}``. Nothing
is sent that the ``stagings`` route would not answer, and nothing is asked of Rucio here.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web, websocket

from ..core.service import DatalakeService
from ..core.watcher import RuleWatcher
from ..errors import DatalakeError
from .routes import NAMESPACE, SERVICE_SETTING


class StagingEventsSocket(WebSocketMixin, websocket.WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    watcher: RuleWatcher | None = None

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        service: DatalakeService = self.settings[SERVICE_SETTING]
        try:
            instance = service.instance(self.get_query_argument("instance", None) or None)
        except DatalakeError as e:
            raise web.HTTPError(e.status, e.message, reason=e.reason) from e
        self.watcher = instance.staging.watcher
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open(*args, **kwargs)
        if self.watcher is not None:
            self.watcher.add_listener(self._changed)

    def _changed(self, rule_id: str, staging: dict[str, Any] | None) -> None:
        message = {"staging": staging} if staging is not None else {"removed": rule_id}
        try:
            self.write_message(json.dumps(message))
        except websocket.WebSocketClosedError:
            self.on_close()

    def on_message(self, message: str | bytes) -> None:
        """The browser has nothing to say on this socket."""

    def on_close(self) -> None:
        if self.watcher is not None:
            self.watcher.remove_listener(self._changed)


def push_handlers() -> list[tuple[str, type[Any], dict[str, Any]]]:
    return [(f"{NAMESPACE}/stagings/events/?", StagingEventsSocket, {})]
