import json

import pytest
from conftest import stub_instance

from jupyterlab_datalake.core.config import instance_from_env, parse_config, resolve_config
from jupyterlab_datalake.core.staging import qos_expression
from jupyterlab_datalake.errors import ConfigError


def test_expressions_default_and_override():
    config = parse_config([stub_instance()], None)
    instance = config.instances["stub"]
    assert config.default_instance == "stub"
    assert qos_expression(instance, "FAST") == "QOS=FAST&site=HUB"
    assert qos_expression(instance, "SAFE") == "QOS=SAFE"
    assert qos_expression(instance, None) == "QOS=FAST&site=HUB"  # first class is the default


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"rucio_url": "ftp://x"}, "rucio_url"),
        ({"site_expression": None}, "site_expression"),
        ({"auth": {"type": "kerberos"}}, "userpass, oidc, hub, x509_proxy"),
        ({"auth": {"type": "userpass", "password": "x"}}, "do not put 'password'"),
        ({"auth": {"type": "oidc", "account": "a"}}, "token_file"),
        ({"auth": {"type": "x509_proxy", "proxy": "/tmp/p"}}, "account"),
        ({"default_lifetime": 10}, "default_lifetime"),
        ({"default_qos": "GOLD"}, "default_qos"),
        ({"qos_classes": {"bad name": {}}}, "QoS class name"),
        ({"mounts": {"HUB-FAST": 3}}, "mounts"),
    ],
)
def test_invalid_config_says_which_key(change, words):
    with pytest.raises(ConfigError) as info:
        parse_config([stub_instance(**change)], None)
    assert words in str(info.value)


def test_duplicate_and_unknown_default():
    with pytest.raises(ConfigError, match="used twice"):
        parse_config([stub_instance(), stub_instance()], None)
    with pytest.raises(ConfigError, match="default_instance 'x'"):
        parse_config([stub_instance()], "x")
    with pytest.raises(ConfigError, match="DATALAKE_RUCIO_URL"):
        parse_config([], None)


def test_zero_config_from_environment():
    env = {
        "DATALAKE_RUCIO_URL": "https://rucio.example.org/api",
        "DATALAKE_SITE": "CERN",
        "DATALAKE_ACCOUNT": "alice",
        "RUCIO_ACCESS_TOKEN": "eyJ.x.y",
        "DATALAKE_MOUNTS": json.dumps({"CERN-EOS": "/eos/lake"}),
    }
    config = resolve_config([], None, 30.0, env)
    instance = config.instances["default"]
    assert instance.rucio_url == "https://rucio.example.org/api"
    assert instance.auth_url == instance.rucio_url
    assert instance.site_expression == "site=CERN"
    assert instance.auth.type == "oidc" and instance.auth.token_env == "RUCIO_ACCESS_TOKEN"
    assert instance.mounts == {"CERN-EOS": "/eos/lake"}
    assert list(instance.qos_classes) == ["FAST", "CHEAP-ANALYSIS", "SAFE", "OPPORTUNISTIC"]
    assert instance.qos_classes["FAST"].expression == "QOS=FAST&site=CERN"
    assert instance_from_env({}) is None


def test_config_file_fallback(tmp_path):
    path = tmp_path / "datalake.json"
    path.write_text(json.dumps({"DatalakeApp": {"instances": [stub_instance()]}}))
    config = resolve_config([], None, 12.0, {"DATALAKE_CONFIG": str(path)})
    assert config.default_instance == "stub" and config.request_timeout == 12.0
    path.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        resolve_config([], None, 12.0, {"DATALAKE_CONFIG": str(path)})


async def test_unconfigured_server_answers_503(jp_fetch, jp_serverapp):
    from conftest import body
    from tornado.httpclient import HTTPClientError

    from jupyterlab_datalake.core.service import DatalakeService

    settings = jp_serverapp.web_app.settings
    original = settings["datalake_service"]
    settings["datalake_service"] = DatalakeService.unconfigured(ConfigError("DatalakeApp.x: y."))
    try:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("datalake", "instances")
    finally:
        settings["datalake_service"] = original
    assert info.value.code == 503
    assert body(info.value.response)["reason"] == "NOT_CONFIGURED"


def test_hub_auth_from_environment():
    env = {
        "DATALAKE_RUCIO_URL": "https://rucio.example.org",
        "DATALAKE_SITE": "CERN",
        "DATALAKE_AUTH": "hub",
        "DATALAKE_AUTH_STATE_KEY": "rucio_token",
        "DATALAKE_TOKEN_FILE": "/var/run/rucio/token",
        "RUCIO_ACCESS_TOKEN": "eyJ.x.y",
    }
    auth = resolve_config([], None, 30.0, env).instances["default"].auth
    assert auth.type == "hub" and auth.auth_state_key == "rucio_token"
    # The hub first; the token file and the variable only when the hub cannot say.
    assert auth.token_file == "/var/run/rucio/token" and auth.token_env == "RUCIO_ACCESS_TOKEN"
    assert auth.account is None  # the token says whose it is
    plain = {
        "DATALAKE_RUCIO_URL": "https://r.example.org",
        "DATALAKE_SITE": "X",
        "DATALAKE_AUTH": "hub",
    }
    auth = resolve_config([], None, 30.0, plain).instances["default"].auth
    assert (auth.auth_state_key, auth.token_file, auth.token_env) == ("access_token", None, None)
    with pytest.raises(ConfigError, match="set it to 'hub'"):
        resolve_config([], None, 30.0, {**plain, "DATALAKE_AUTH": "kerberos"})


def test_an_x509_proxy_may_come_from_the_environment():
    config = parse_config([stub_instance(auth={"type": "x509_proxy", "account": "alice"})], None)
    assert config.instances["stub"].auth.proxy is None
    env = {
        "DATALAKE_RUCIO_URL": "https://r.example.org",
        "DATALAKE_SITE": "X",
        "DATALAKE_ACCOUNT": "a",
    }
    env["X509_USER_PROXY"] = "/tmp/x509up_u1"
    assert resolve_config([], None, 30.0, env).instances["default"].auth.proxy == "/tmp/x509up_u1"
