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
        ({"auth": {"type": "kerberos"}}, "userpass, oidc, x509_proxy"),
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
