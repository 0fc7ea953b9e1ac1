"""The operator's documentation holds: the Zero to JupyterHub values give a hub set-up the shim
accepts, and every environment variable the package reads is explained in docs/deploy/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyterlab_datalake.core.config import config_from_section, resolve_config

yaml = pytest.importorskip("yaml")

PACKAGE = Path(__file__).resolve().parents[1]
DEPLOY = PACKAGE.parents[1] / "docs" / "deploy"
# Environment variables, as the package's sources name them.
VARIABLE = re.compile(r'"((?:DATALAKE|JUPYTERHUB|JPY|X509)_[A-Z_]+|RUCIO_ACCESS_TOKEN)"')


def values(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_the_hub_grants_the_server_its_owners_auth_state():
    hub = values("values.yaml")["hub"]
    assert hub["config"]["Authenticator"]["enable_auth_state"] is True
    roles = hub["loadRoles"]
    assert "admin:auth_state!user" in roles["user"]["scopes"]
    assert "admin:auth_state!user" in roles["server"]["scopes"]


def test_the_single_user_environment_is_an_instance_with_the_token_from_the_hub():
    env = {
        key: value.replace("{username}", "alice")
        for key, value in values("values.yaml")["singleuser"]["extraEnv"].items()
    }
    instance = resolve_config([], None, 30.0, env).instances["escape"]
    assert instance.auth.type == "hub" and instance.auth.auth_state_key == "access_token"
    assert instance.auth.account == "alice"
    assert instance.site_expression == "site=CERN"
    assert instance.qos_classes["FAST"].expression == "QOS=FAST&site=CERN"
    assert instance.mounts["CERN-EOS-FAST"] == "/eos/lake/fast"


def test_the_several_instances_example_is_a_valid_configuration():
    files = values("values-several-instances.yaml")["singleuser"]["extraFiles"]
    section = files["datalake-config"]["data"]["DatalakeApp"]
    config = config_from_section(section)
    assert list(config.instances) == ["escape", "ska"] and config.default_instance == "escape"
    assert config.instances["ska"].auth.auth_state_key == "ska_token"


def test_every_environment_variable_the_package_reads_is_explained():
    sources = [p for p in PACKAGE.rglob("*.py") if "tests" not in p.parts]
    names = {name for path in sources for name in VARIABLE.findall(path.read_text())}
    assert {"DATALAKE_AUTH", "JUPYTERHUB_API_TOKEN", "X509_USER_PROXY"} <= names
    explained = (DEPLOY / "README.md").read_text()
    assert sorted(n for n in names if f"`{n}`" not in explained) == []
