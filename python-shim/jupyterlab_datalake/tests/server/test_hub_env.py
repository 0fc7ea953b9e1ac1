"""A server whose token comes from the hub keeps the hub's API token from kernels and terminals:
it could read the owner's auth_state. (Through a real hub: testbed/tests/test_hub_shim.py.)"""

import os
from typing import Any

import pytest
from conftest import stub_instance
from fake_hub import API_TOKEN, hub_environ

from jupyterlab_datalake.core import auth


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in hub_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JPY_API_TOKEN", API_TOKEN)  # JupyterHub still sets this old name too
    monkeypatch.setattr(auth, "_withheld", {})


@pytest.fixture
def jp_server_config(jp_server_config: Any, hub_env: None) -> dict[str, Any]:
    config = dict(jp_server_config)
    config["DatalakeApp"] = {
        "instances": [stub_instance(auth={"type": "hub"})],
        "default_instance": "stub",
    }
    return config


def test_the_hub_api_token_leaves_the_environment_kernels_inherit(jp_serverapp: Any) -> None:
    assert "JUPYTERHUB_API_TOKEN" not in os.environ
    assert "JPY_API_TOKEN" not in os.environ
    assert API_TOKEN not in "\0".join(os.environ.values())
    # The shim still has it, and the rest of the hub's variables stay.
    assert auth.hub_api_token() == API_TOKEN
    assert os.environ["JUPYTERHUB_USER"] == "alice"
