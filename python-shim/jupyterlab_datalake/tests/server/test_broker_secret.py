"""The broker's password named by the configuration stays in the shim: out of the server's
environment (which kernels inherit), out of every answer."""

import os

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.auth import secret_env

SECRET = "broker-s3cret-never-shown"
EVENTS = {
    "brokers": ["127.0.0.1:9"],
    "destination": "/topic/rucio.events",
    "username": "datalake",
    "password_env": "DATALAKE_TEST_BROKER_PASSWORD",
}


@pytest.fixture
def jp_server_config(jp_server_config, monkeypatch):
    monkeypatch.setenv("DATALAKE_TEST_BROKER_PASSWORD", SECRET)
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_datalake": True},
            "allow_unauthenticated_access": False,
            "terminals_enabled": False,
        },
        "DatalakeApp": {"instances": [stub_instance(events=EVENTS)], "default_instance": "stub"},
    }


async def test_the_broker_password_is_withheld_and_never_answered(jp_fetch, jp_serverapp):
    assert "DATALAKE_TEST_BROKER_PASSWORD" not in os.environ  # kernels inherit os.environ
    assert secret_env("DATALAKE_TEST_BROKER_PASSWORD") == SECRET  # the shim still has it
    answer = (await jp_fetch("datalake", "instances")).body.decode()
    assert SECRET not in answer and "datalake.password" not in answer and "broker" not in answer
