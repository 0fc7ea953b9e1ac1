"""Shared fixtures: a Jupyter server with the extension (auth on) and an in-memory Rucio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tornado.httpserver
from fake_rucio import BASE_URL, PASSWORD, FakeRucio
from pytest_jupyter.pytest_tornasync import AsyncHTTPServerClient
from tornado.httpclient import HTTPClientError

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService

pytest_plugins = ("pytest_jupyter.jupyter_server",)

PASSWORD_ENV = "DATALAKE_TEST_PASSWORD"


def stub_instance(**overrides: Any) -> dict[str, Any]:
    instance: dict[str, Any] = {
        "name": "stub",
        "display_name": "Stub lake",
        "rucio_url": BASE_URL,
        "auth_url": BASE_URL,
        "auth": {
            "type": "userpass",
            "username": "alice",
            "account": "alice",
            "password_env": PASSWORD_ENV,
        },
        "site_expression": "site=HUB",
        "mounts": {"HUB-FAST": "/mnt/hub-fast"},
        "qos_classes": {
            "FAST": {"description": "Fast disk near the hub."},
            "CHEAP-ANALYSIS": {"description": "Cheaper disk near the hub."},
            "SAFE": {"description": "Custodial.", "expression": "QOS=SAFE"},
        },
        "default_lifetime": 3600,
        "max_lifetime": 7 * 86400,
    }
    instance.update(overrides)
    return instance


# pytest-asyncio runs each test in its own loop: serve and fetch in that loop too.
@pytest.fixture
async def http_server(http_server_port: Any, jp_web_app: Any) -> AsyncIterator[Any]:
    server = tornado.httpserver.HTTPServer(jp_web_app)
    server.add_socket(http_server_port[0])
    yield server
    server.stop()
    await server.close_all_connections()


@pytest.fixture
async def http_server_client(http_server: Any) -> AsyncIterator[Any]:
    client = AsyncHTTPServerClient(http_server=http_server)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def fake_rucio() -> FakeRucio:
    return FakeRucio()


@pytest.fixture
async def service(fake_rucio: FakeRucio) -> AsyncIterator[DatalakeService]:
    svc = DatalakeService(parse_config([stub_instance()], "stub"), transport=fake_rucio.transport())
    yield svc
    await svc.close()


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_datalake": True},
            "allow_unauthenticated_access": False,
            "terminals_enabled": False,
        },
        "DatalakeApp": {"instances": [stub_instance()], "default_instance": "stub"},
    }


@pytest.fixture
async def app_service(jp_serverapp: Any, fake_rucio: FakeRucio) -> AsyncIterator[DatalakeService]:
    """Swap the server's service for one that talks to the in-memory Rucio."""
    settings = jp_serverapp.web_app.settings
    original = settings["datalake_service"]
    svc = DatalakeService(original.config, transport=fake_rucio.transport())
    settings["datalake_service"] = svc
    yield svc
    await svc.close()
    settings["datalake_service"] = original


def body(response: Any) -> Any:
    return json.loads(response.body.decode())


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> HTTPClientError:
    """The error a route answers (the test fails if it answers with a success)."""
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    return info.value
