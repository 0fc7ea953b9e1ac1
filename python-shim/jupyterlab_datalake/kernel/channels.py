"""How a kernel reaches the data lake: two channels that answer the same verbs with the same dicts,
so a notebook runs unchanged in both places.

- ``HttpChannel``: in a kernel started by a Jupyter server with the extension, the shim's routes at
  ``$DATALAKE_SHIM_URL``, authenticated by ``$DATALAKE_SHIM_SECRET`` (the user's Rucio tokens stay
  in the server);
- ``InProcessChannel``: headless (nbclient, papermill, batch jobs), the shim's own
  ``DatalakeService`` run in this process on a private event loop thread (``$DATALAKE_CONFIG``).

Both read the verbs from ``core/verbs.py``: ``channel.call("files", did, limit=1000)``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ..core.config import CONFIG_ENV, SHIM_SECRET_ENV, SHIM_URL_ENV
from ..core.verbs import VERBS, Verb
from ..errors import ConfigError, DatalakeError

if TYPE_CHECKING:
    from ..core.service import DatalakeService

T = TypeVar("T")
Json = dict[str, Any]


#: lines an in-process stream hands over from the private loop at once
STREAM_BATCH = 1000


class Channel(ABC):
    """Runs the service's verbs; each answers the route's JSON as dicts (an iterator of lines,
    read as they arrive, when the verb streams)."""

    def call(self, verb: str, *args: Any, instance: str | None = None, **kwargs: Any) -> Any:
        spec = VERBS[verb]
        return self._call(spec, spec.bind(args, kwargs), instance)

    @abstractmethod
    def _call(self, verb: Verb, arguments: dict[str, Any], instance: str | None) -> Any: ...

    def close(self) -> None:
        return None


class HttpChannel(Channel):
    """The shim's REST routes, as seen from a kernel of the same Jupyter server."""

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        # The secret lives only in this client's default headers: never in an attribute of ours,
        # a repr or an error message. trust_env=False: the shim is local, never behind a proxy.
        self._http = httpx.Client(
            base_url=self.url,
            headers={"X-Datalake-Secret": secret},
            timeout=httpx.Timeout(timeout, connect=10.0),
            trust_env=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<HttpChannel {self.url}>"

    def _call(self, verb: Verb, arguments: dict[str, Any], instance: str | None) -> Any:
        path = verb.path(arguments)  # a path parameter is checked before it is sent
        data = {name: arguments[name] for name in verb.data_params if name in arguments}
        if verb.per_instance and instance is not None:
            data["instance"] = instance
        if verb.in_body:
            request: dict[str, Any] = {"json": data}
        else:
            request = {"params": {k: _query_value(v) for k, v in data.items() if v is not None}}
        if verb.stream:
            return self._lines(verb.method, path, request)
        try:
            response = self._http.request(verb.method, path, **request)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        _raise_for_status(response, path)
        return response.json() if response.content else None

    def _lines(self, method: str, path: str, request: dict[str, Any]) -> Iterator[Json]:
        try:
            with self._http.stream(method, path, **request) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response, path)
                for text in response.iter_lines():
                    if not text.strip():
                        continue
                    line = json.loads(text)
                    # The service failed after the stream began: the shim ends it with one
                    # error line.
                    if "error" in line:
                        error = line["error"]
                        raise DatalakeError(
                            502, error["message"], error.get("reason", "RUCIO_ERROR")
                        )
                    yield line
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> DatalakeError:
        return DatalakeError(
            503,
            f"The datalake service at {self.url} is not reachable ({type(exc).__name__}): check "
            "that the Jupyter server is running, and restart this kernel if the server restarted.",
            "SHIM_UNREACHABLE",
        )

    def close(self) -> None:
        self._http.close()


class InProcessChannel(Channel):
    """The shim's ``DatalakeService`` in this process, for kernels without a Jupyter server.

    The service is async; a kernel's own thread already runs an event loop, so the service gets a
    private loop in a daemon thread and each call waits for its result there.
    """

    def __init__(self, factory: Callable[[], DatalakeService], description: str) -> None:
        self._factory = factory
        self.description = description
        self._service: DatalakeService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> InProcessChannel:
        """From ``$DATALAKE_CONFIG`` (``{"DatalakeApp": {...}}`` JSON) or the env fallback."""
        path = os.environ.get(CONFIG_ENV)
        path = os.path.abspath(path) if path else None  # the kernel may chdir later

        def build() -> DatalakeService:
            # Imported on first use: a kernel that only loads the magics stays light.
            from ..core.service import DatalakeService

            if path:
                return DatalakeService.from_config_file(path)
            return DatalakeService.from_settings({})

        return cls(build, f"{CONFIG_ENV}={path}" if path else "environment (DATALAKE_RUCIO_URL...)")

    def __repr__(self) -> str:
        return f"<InProcessChannel {self.description}>"

    def _call(self, verb: Verb, arguments: dict[str, Any], instance: str | None) -> Any:
        if verb.per_instance:
            arguments = {**arguments, "instance": instance}
        if verb.stream:
            return self._lines(verb.name, arguments)

        async def run(service: DatalakeService) -> Any:
            return await service.call(verb.name, arguments)

        return self._run(run)

    def _lines(self, verb: str, arguments: dict[str, Any]) -> Iterator[Json]:
        """The stream's lines, handed over from the private loop a batch at a time."""
        lines: AsyncIterator[Json] | None = None

        async def batch(service: DatalakeService) -> list[Json]:
            nonlocal lines
            if lines is None:
                lines = service.call(verb, arguments)
            out: list[Json] = []
            async for line in lines:
                out.append(line)
                if len(out) == STREAM_BATCH:
                    break
            return out

        async def close(_: DatalakeService) -> None:
            if lines is not None:
                await lines.aclose()  # type: ignore[attr-defined]

        try:
            while chunk := self._run(batch):
                yield from chunk
        finally:
            if lines is not None and self._loop is not None:
                self._run(close)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="datalake-client", daemon=True
                ).start()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    def _run(self, call: Callable[[DatalakeService], Awaitable[T]]) -> T:
        future = asyncio.run_coroutine_threadsafe(self._with_service(call), self._ensure_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # interrupted (Ctrl-C): do not leave the call running
            raise

    async def _with_service(self, call: Callable[[DatalakeService], Awaitable[T]]) -> T:
        # Built on the private loop: the service's HTTP client belongs to it.
        if self._service is None:
            try:
                self._service = self._factory()
            except ConfigError as exc:
                raise DatalakeError(
                    503,
                    f"{exc} Set {CONFIG_ENV} to a file with a DatalakeApp section (as given to "
                    "jupyter server --config), or run in JupyterLab with jupyterlab-datalake.",
                    "NOT_CONFIGURED",
                ) from None
        return await call(self._service)

    def close(self) -> None:
        """Close the service and stop the private loop (also run at interpreter exit)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._service is not None:
            service, self._service = self._service, None
            # Closing at exit must not raise.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(service.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)


def connect() -> Channel:
    """The shim over HTTP in a kernel of a Jupyter server, else the service in-process."""
    url, secret = os.environ.get(SHIM_URL_ENV), os.environ.get(SHIM_SECRET_ENV)
    if url and secret:
        return HttpChannel(url, secret)
    return InProcessChannel.from_environment()


def _query_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _raise_for_status(response: httpx.Response, path: str) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
        message, reason = body["message"], body.get("reason", "ERROR")
    except (ValueError, KeyError, TypeError):
        if response.status_code in (401, 403):
            message = (
                "The datalake service refused this kernel's credentials: restart the kernel so it "
                "gets the current server's."
            )
        else:
            message = (
                f"The datalake service answered {response.status_code} for {path}: see the "
                "Jupyter server log."
            )
        reason = "SHIM_ERROR"
    raise DatalakeError(response.status_code, message, reason)
