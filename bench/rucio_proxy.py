"""A counting, optionally slow HTTP proxy in front of the testbed's Rucio server (benchmarks only).

Lets a benchmark count exactly which Rucio calls the shim makes (calls per poll) and slow
Rucio down (the event-loop benchmark) without touching Rucio or the shim.
Control: `GET /_proxy/stats`, `POST /_proxy/reset`, `POST /_proxy/delay?seconds=5`.
"""

import asyncio
import collections
import json

import httpx
import tornado.iostream
import tornado.web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class ProxyState:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = 0.0
        self.calls: collections.Counter[str] = collections.Counter()
        self.client = httpx.AsyncClient(timeout=None)


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
        elif action == "delay":
            self.state.delay = float(self.get_argument("seconds"))
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
            async for chunk in response.aiter_raw():
                self.write(chunk)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            pass  # the shim stopped reading early (a page of a longer listing): nothing to forward
        finally:
            await response.aclose()

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
