"""An HTTP proxy in front of the testbed's Rucio server that counts, slows and breaks its answers.

Benchmarks use it to count exactly which Rucio calls the shim makes and to slow Rucio down; the
integration tests use it to make Rucio misbehave in the ways a real deployment can (an HTML page
from a gateway, a listing cut short, a frozen server, a closed connection) without touching Rucio
or the shim.

Control: `GET /_proxy/stats`, `POST /_proxy/reset` (counts and faults), `POST
/_proxy/delay?seconds=5`, and `POST /_proxy/fault` with a JSON body
`{"method": "GET", "path": "/dids/demo/x/files", "mode": ..., "times": 1, "lines": 2,
"status": 401, "seconds": 3600}`: the next `times` requests whose path starts with `path` get
  - `html`, `not-json`, `wrong-shape`: a 200 with an HTML page, text, or JSON of another shape;
  - `cut-clean`, `cut-line`: Rucio's answer cut after `lines` lines (then half a line for
    `cut-line`), sent as a complete HTTP answer, so only its content can tell;
  - `freeze`: no answer for `seconds`;
  - `close`: the connection closed before any answer (the request never reaches Rucio);
  - `status`: that status with Rucio's ExceptionClass header (`exception`), as Rucio sends errors.
"""

import asyncio
import collections
import json
from dataclasses import dataclass

import httpx
import tornado.iostream
import tornado.web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
MODES = ("html", "not-json", "wrong-shape", "cut-clean", "cut-line", "freeze", "close", "status")
HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Fault:
    method: str
    path: str
    mode: str
    times: int = 1
    lines: int = 0
    status: int = 500
    exception: str = ""
    seconds: float = 3600.0


class ProxyState:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = 0.0
        self.calls: collections.Counter[str] = collections.Counter()
        self.faults: list[Fault] = []
        self.client = httpx.AsyncClient(timeout=None)

    def fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and path.startswith(fault.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None


class ControlHandler(tornado.web.RequestHandler):
    def initialize(self, state: ProxyState) -> None:
        self.state = state

    def get(self, action: str) -> None:
        self.write(
            json.dumps({"calls": dict(self.state.calls), "total": sum(self.state.calls.values())})
        )

    def post(self, action: str) -> None:
        if action == "reset":
            self.state.calls.clear()
            self.state.faults.clear()
        elif action == "delay":
            self.state.delay = float(self.get_argument("seconds"))
        elif action == "fault":
            fault = Fault(**json.loads(self.request.body))
            if fault.mode not in MODES:
                raise tornado.web.HTTPError(400, f"mode must be one of {MODES}")
            self.state.faults.append(fault)
        self.write("{}")


class ForwardHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

    def initialize(self, state: ProxyState) -> None:
        self.state = state

    async def forward(self) -> None:
        path = self.request.path
        self.state.calls[f"{self.request.method} {route_of(path)}"] += 1
        if self.state.delay:
            await asyncio.sleep(self.state.delay)
        fault = self.state.fault_for(self.request.method, path)
        if fault is not None and await self.answer_instead(fault):
            return
        headers = {k: v for k, v in self.request.headers.items() if k.lower() != "host"}
        request = self.state.client.build_request(
            self.request.method,
            self.state.upstream + self.request.uri,
            headers=headers,
            content=self.request.body or None,
        )
        response = await self.state.client.send(request, stream=True)
        try:
            self.set_status(response.status_code)
            for key, value in response.headers.multi_items():
                if key.lower() not in HOP_BY_HOP:
                    self.add_header(key, value)
            if fault is not None and fault.mode.startswith("cut-"):
                await self.cut(response, fault)
                return
            async for chunk in response.aiter_raw():
                self.write(chunk)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            pass  # the shim stopped reading early (a page of a longer listing): nothing to forward
        finally:
            await response.aclose()

    async def answer_instead(self, fault: Fault) -> bool:
        """Answer for Rucio; False when Rucio's own answer is to be cut instead."""
        if fault.mode == "close":
            self.request.connection.close()  # type: ignore[union-attr]
            return True
        if fault.mode == "freeze":
            await asyncio.sleep(fault.seconds)
            return True
        if fault.mode == "status":
            self.set_status(fault.status)
            if fault.exception:
                self.set_header("ExceptionClass", fault.exception)
                self.set_header("ExceptionMessage", "made by rucio_proxy")
            self.finish(
                json.dumps({"ExceptionClass": fault.exception, "ExceptionMessage": "rucio_proxy"})
            )
            return True
        if fault.mode in ("html", "not-json", "wrong-shape"):
            body = {
                "html": HTML,
                "not-json": "this is not JSON\n",
                "wrong-shape": json.dumps([{"unexpected": True}]) + "\n",
            }[fault.mode]
            if fault.mode == "html":
                self.set_header("Content-Type", "text/html")
            self.finish(body)
            return True
        return False

    async def cut(self, response: httpx.Response, fault: Fault) -> None:
        """Rucio's first ``fault.lines`` lines (and half of the next for ``cut-line``)."""
        sent = 0
        async for line in response.aiter_lines():
            if sent == fault.lines:
                if fault.mode == "cut-line":
                    self.write(line[: len(line) // 2])
                break
            self.write(line + "\n")
            sent += 1
        self.finish()

    get = post = put = delete = patch = forward


def route_of(path: str) -> str:
    """Collapse identifiers so counts group by endpoint: /rules/<id>, /dids/<scope>/<name>/..."""
    parts = path.strip("/").split("/")
    if parts[:1] == ["rules"] and len(parts) > 1 and parts[1]:
        return "/rules/{id}" + ("/" + "/".join(parts[2:]) if len(parts) > 2 else "")
    if parts[:1] == ["dids"] and len(parts) > 2:
        return "/dids/{scope}/{name}"
    return "/" + "/".join(parts[:2])


def make_app(upstream: str) -> tornado.web.Application:
    state = ProxyState(upstream)
    return tornado.web.Application(
        [
            (r"/_proxy/(\w+)", ControlHandler, {"state": state}),
            (r"/.*", ForwardHandler, {"state": state}),
        ]
    )


async def serve(upstream: str, port: int) -> None:
    make_app(upstream).listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
