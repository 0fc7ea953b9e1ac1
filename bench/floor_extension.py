"""The floor under the small-request ratio (benchmarks only): the least a Jupyter Server
extension route can do to answer a search, loaded beside the shim in the benchmark's server.

Each route takes the same authenticated request through Jupyter Server's `APIHandler`, sends the
one Rucio search the shim sends (the caller's Rucio token forwarded, one kept-alive client per
route) and answers the lines as a JSON list: no configuration, no checks, no shaping.
`/bench-floor/httpx` uses the shim's own HTTP client, `/bench-floor/aiohttp` the fastest asyncio
client at hand (installed with JupyterHub). What the shim costs above the first is its own code;
what the second costs above a direct call is what any extension pays before it does anything.
"""

import json
import os
from typing import Any

import aiohttp
import httpx
from jupyter_server.base.handlers import APIHandler
from tornado import web

RUCIO_URL = os.environ.get("BENCH_FLOOR_RUCIO_URL", "")
CLIENTS: dict[str, Any] = {}


def search_url(scope: str, query: str) -> str:
    """Rucio's search with the caller's query string as it came."""
    return f"{RUCIO_URL}/dids/{scope}/dids/search?{query}"


class HttpxFloor(APIHandler):
    @web.authenticated
    async def get(self, scope: str) -> None:
        if "httpx" not in CLIENTS:
            CLIENTS["httpx"] = httpx.AsyncClient()
        response = await CLIENTS["httpx"].get(
            search_url(scope, self.request.query),
            headers={"X-Rucio-Auth-Token": self.request.headers["X-Rucio-Auth-Token"]},
        )
        self.finish(json.dumps([json.loads(line) for line in response.text.splitlines()]))


class AiohttpFloor(APIHandler):
    @web.authenticated
    async def get(self, scope: str) -> None:
        if "aiohttp" not in CLIENTS:
            CLIENTS["aiohttp"] = aiohttp.ClientSession()
        async with CLIENTS["aiohttp"].get(
            search_url(scope, self.request.query),
            headers={"X-Rucio-Auth-Token": self.request.headers["X-Rucio-Auth-Token"]},
        ) as response:
            text = await response.text()
        self.finish(json.dumps([json.loads(line) for line in text.splitlines()]))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "floor_extension"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    server_app.web_app.add_handlers(
        ".*$",
        [
            (r"/bench-floor/httpx/([^/]+)", HttpxFloor),
            (r"/bench-floor/aiohttp/([^/]+)", AiohttpFloor),
        ],
    )
