"""Instance configuration: parsing, validation and the zero-config environment fallback.

The shape is the ``DatalakeApp`` section of ``docs/contract.md``. Secrets are never part of it:
passwords come from a rucio.cfg or an environment variable, tokens from a file or the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .events import EventsConfig, parse_events

AUTH_TYPES = ("userpass", "oidc", "hub", "x509_proxy")
# Where JupyterHub keeps the OIDC access token in a user's auth_state (OAuthenticator's key).
DEFAULT_AUTH_STATE_KEY = "access_token"
QOS_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
INSTANCE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
DEFAULT_QOS_CLASSES = ("FAST", "CHEAP-ANALYSIS", "SAFE", "OPPORTUNISTIC")
MIN_LIFETIME = 60
# A configuration file for kernels and jobs without a Jupyter server ({"DatalakeApp": {...}}).
CONFIG_ENV = "DATALAKE_CONFIG"
# What a Jupyter server with the extension gives the kernels it starts (server/kernel_env.py).
SHIM_URL_ENV = "DATALAKE_SHIM_URL"
SHIM_SECRET_ENV = "DATALAKE_SHIM_SECRET"


@dataclass(frozen=True)
class AuthConfig:
    type: str
    account: str | None = None
    rucio_cfg: str | None = None
    username: str | None = None
    password_env: str | None = None
    token_file: str | None = None
    token_env: str | None = None
    proxy: str | None = None
    auth_state_key: str = DEFAULT_AUTH_STATE_KEY


@dataclass(frozen=True)
class QosClass:
    name: str
    description: str
    expression: str


@dataclass(frozen=True)
class InstanceConfig:
    name: str
    display_name: str
    rucio_url: str
    auth_url: str
    auth: AuthConfig
    site_expression: str
    qos_classes: dict[str, QosClass]
    default_qos: str
    mounts: dict[str, str] = field(default_factory=dict)
    #: RSEs near the hub that uploads are written to, in order of preference (default: mounts)
    upload_rses: tuple[str, ...] = ()
    ca_cert: str | None = None
    vo: str | None = None
    webui_url: str | None = None
    default_lifetime: int = 86400
    max_lifetime: int = 2592000
    #: the broker hermes publishes Rucio's messages to; None: the shim polls Rucio
    events: EventsConfig | None = None

    def public(self) -> dict[str, Any]:
        """What the browser may see about this instance."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "site_expression": self.site_expression,
            "webui_url": self.webui_url,
        }


@dataclass(frozen=True)
class DatalakeConfig:
    instances: dict[str, InstanceConfig]
    default_instance: str
    request_timeout: float = 30.0


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise ConfigError(f"{where}: '{key}' is required.")
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string, not {type(value).__name__}.")
    return value


def _url(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = _str(raw, key, where, required=required)
    if value is not None and not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"{where}: '{key}' must be an http(s) URL, got {value!r}.")
    return value.rstrip("/") if value else value


def _int(raw: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_LIFETIME:
        raise ConfigError(f"{where}: '{key}' must be an integer number of seconds >= 60.")
    return value


def parse_auth(raw: object, where: str) -> AuthConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'auth' must be an object such as {{'type': 'userpass', ...}}.")
    where = f"{where}.auth"
    kind = raw.get("type")
    if kind not in AUTH_TYPES:
        raise ConfigError(f"{where}: 'type' must be one of {', '.join(AUTH_TYPES)}, got {kind!r}.")
    for secret in ("password", "token"):
        if secret in raw:
            raise ConfigError(
                f"{where}: do not put '{secret}' in the configuration; use 'rucio_cfg', "
                "'password_env', 'token_file' or 'token_env'."
            )
    values = {
        key: _str(raw, key, where)
        for key in (
            "account",
            "rucio_cfg",
            "username",
            "password_env",
            "token_file",
            "token_env",
            "proxy",
        )
    }
    auth_state_key = _str(raw, "auth_state_key", where) or DEFAULT_AUTH_STATE_KEY
    auth = AuthConfig(type=kind, auth_state_key=auth_state_key, **values)
    if kind == "userpass" and not auth.rucio_cfg and not (auth.username and auth.password_env):
        raise ConfigError(
            f"{where}: userpass needs 'rucio_cfg' (a rucio.cfg with [client] username, password, "
            "account) or 'username', 'account' and 'password_env'."
        )
    if kind == "oidc" and not (auth.token_file or auth.token_env):
        raise ConfigError(f"{where}: oidc needs 'token_file' or 'token_env'.")
    # The token names its account (hub); a proxy is found at $X509_USER_PROXY when not named.
    if kind in ("oidc", "x509_proxy") and not auth.account:
        raise ConfigError(f"{where}: '{kind}' needs 'account' (the Rucio account to act as).")
    return auth


def _qos_classes(raw: object, site_expression: str, where: str) -> dict[str, QosClass]:
    if raw is None:
        raw = {name: {} for name in DEFAULT_QOS_CLASSES}
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: 'qos_classes' must be a non-empty object {{name: {{...}}}}.")
    classes: dict[str, QosClass] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not QOS_NAME_RE.match(name):
            raise ConfigError(f"{where}: QoS class name {name!r} may only use A-Z a-z 0-9 _ -.")
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}.qos_classes.{name}: must be an object.")
        inner = f"{where}.qos_classes.{name}"
        expression = _str(spec, "expression", inner) or f"QOS={name}&{site_expression}"
        description = _str(spec, "description", inner) or name
        classes[name] = QosClass(name, description, expression)
    return classes


def parse_instance(raw: object, index: int, *, base_dir: Path | None = None) -> InstanceConfig:
    where = f"DatalakeApp.instances[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: each instance must be an object.")
    name = _str(raw, "name", where, required=True)
    assert name is not None
    if not INSTANCE_NAME_RE.match(name):
        raise ConfigError(f"{where}: 'name' may only use A-Z a-z 0-9 _ . -, got {name!r}.")
    where = f"DatalakeApp.instances[{name}]"
    rucio_url = _url(raw, "rucio_url", where, required=True)
    assert rucio_url is not None
    auth_url = _url(raw, "auth_url", where) or rucio_url
    site_expression = _str(raw, "site_expression", where, required=True)
    assert site_expression is not None
    qos_classes = _qos_classes(raw.get("qos_classes"), site_expression, where)
    default_qos = _str(raw, "default_qos", where) or next(iter(qos_classes))
    if default_qos not in qos_classes:
        raise ConfigError(f"{where}: 'default_qos' {default_qos!r} is not in 'qos_classes'.")
    mounts = raw.get("mounts") or {}
    if not isinstance(mounts, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in mounts.items()
    ):
        raise ConfigError(f"{where}: 'mounts' must map RSE names to local directories.")
    mounts = {rse: str(Path(path).expanduser()) for rse, path in mounts.items()}
    upload_rses = raw.get("upload_rses")
    if upload_rses is None:
        upload_rses = list(mounts)
    if not isinstance(upload_rses, list) or not all(isinstance(r, str) and r for r in upload_rses):
        raise ConfigError(f"{where}: 'upload_rses' must be a list of RSE names.")
    default_lifetime = _int(raw, "default_lifetime", where, 86400)
    max_lifetime = _int(raw, "max_lifetime", where, 30 * 86400)
    if default_lifetime > max_lifetime:
        raise ConfigError(f"{where}: 'default_lifetime' is larger than 'max_lifetime'.")
    return InstanceConfig(
        name=name,
        display_name=_str(raw, "display_name", where) or name,
        rucio_url=rucio_url,
        auth_url=auth_url,
        auth=parse_auth(raw.get("auth"), where),
        site_expression=site_expression,
        qos_classes=qos_classes,
        default_qos=default_qos,
        mounts=mounts,
        upload_rses=tuple(upload_rses),
        ca_cert=_str(raw, "ca_cert", where),
        vo=_str(raw, "vo", where),
        webui_url=_url(raw, "webui_url", where),
        default_lifetime=default_lifetime,
        max_lifetime=max_lifetime,
        events=parse_events(raw.get("events"), where),
    )


def parse_config(
    instances: list[Any], default_instance: str | None, request_timeout: float = 30.0
) -> DatalakeConfig:
    """Validate the ``DatalakeApp`` traits; raise ConfigError with a message naming the key."""
    if not isinstance(instances, list) or not instances:
        raise ConfigError(
            "DatalakeApp.instances is empty: configure at least one Rucio instance "
            "(or set DATALAKE_RUCIO_URL, DATALAKE_SITE and DATALAKE_ACCOUNT, or DATALAKE_CONFIG)."
        )
    parsed: dict[str, InstanceConfig] = {}
    for index, raw in enumerate(instances):
        instance = parse_instance(raw, index)
        if instance.name in parsed:
            raise ConfigError(f"DatalakeApp.instances: the name {instance.name!r} is used twice.")
        parsed[instance.name] = instance
    default = default_instance or next(iter(parsed))
    if default not in parsed:
        raise ConfigError(
            f"DatalakeApp.default_instance {default!r} is not one of: {', '.join(parsed)}."
        )
    if not isinstance(request_timeout, (int, float)) or request_timeout <= 0:
        raise ConfigError("DatalakeApp.request_timeout must be a positive number of seconds.")
    return DatalakeConfig(parsed, default, float(request_timeout))


def instance_from_env(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """Zero-config on a hub: one instance from ``DATALAKE_*`` variables, or None if unset."""
    rucio_url = environ.get("DATALAKE_RUCIO_URL")
    if not rucio_url:
        return None
    site = environ.get("DATALAKE_SITE", "")
    # A bare site name becomes `site=<name>`; anything with an operator is an RSE expression.
    site_expression = site if re.search(r"[=&|\\()<>]", site) else (f"site={site}" if site else "")
    account = environ.get("DATALAKE_ACCOUNT")
    auth = _auth_from_env(environ)
    if account:
        auth["account"] = account
    instance: dict[str, Any] = {
        "name": environ.get("DATALAKE_INSTANCE", "default"),
        "display_name": environ.get("DATALAKE_DISPLAY_NAME") or None,
        "rucio_url": rucio_url,
        "auth_url": environ.get("DATALAKE_AUTH_URL") or rucio_url,
        "site_expression": site_expression,
        "auth": auth,
    }
    if environ.get("DATALAKE_MOUNTS"):
        try:
            instance["mounts"] = json.loads(environ["DATALAKE_MOUNTS"])
        except ValueError as e:
            raise ConfigError('DATALAKE_MOUNTS must be JSON such as {"RSE": "/mnt/rse"}.') from e
    if environ.get("DATALAKE_QOS_CLASSES"):
        names = [n.strip() for n in environ["DATALAKE_QOS_CLASSES"].split(",") if n.strip()]
        instance["qos_classes"] = {name: {} for name in names}
    return instance


def _auth_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """``DATALAKE_AUTH=hub``: the token from the hub's auth_state, the token file or variable as
    fallbacks. Unset: the first credential that is there."""
    kind = environ.get("DATALAKE_AUTH", "").strip().lower()
    if kind == "hub":
        auth: dict[str, Any] = {"type": "hub"}
        if environ.get("DATALAKE_AUTH_STATE_KEY"):
            auth["auth_state_key"] = environ["DATALAKE_AUTH_STATE_KEY"]
        if environ.get("DATALAKE_TOKEN_FILE"):
            auth["token_file"] = environ["DATALAKE_TOKEN_FILE"]
        if "RUCIO_ACCESS_TOKEN" in environ:
            auth["token_env"] = "RUCIO_ACCESS_TOKEN"
        return auth
    if kind:
        raise ConfigError(
            f"DATALAKE_AUTH={environ['DATALAKE_AUTH']!r} is not known: set it to 'hub' (the token "
            "from JupyterHub's auth_state) or leave it unset."
        )
    if "RUCIO_ACCESS_TOKEN" in environ:
        return {"type": "oidc", "token_env": "RUCIO_ACCESS_TOKEN"}
    if environ.get("DATALAKE_TOKEN_FILE"):
        return {"type": "oidc", "token_file": environ["DATALAKE_TOKEN_FILE"]}
    if environ.get("DATALAKE_RUCIO_CFG"):
        return {"type": "userpass", "rucio_cfg": environ["DATALAKE_RUCIO_CFG"]}
    if environ.get("X509_USER_PROXY"):
        return {"type": "x509_proxy", "proxy": environ["X509_USER_PROXY"]}
    return {"type": "oidc", "token_env": "RUCIO_ACCESS_TOKEN"}


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``DatalakeApp`` section of a ``{"DatalakeApp": {...}}`` JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise ConfigError(
            f"Cannot read the datalake configuration file {path}: {e.strerror}."
        ) from e
    except ValueError as e:
        raise ConfigError(f"The datalake configuration file {path} is not valid JSON: {e}.") from e
    section = data.get("DatalakeApp") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f'{path} must hold {{"DatalakeApp": {{"instances": [...]}}}}.')
    return section


def config_from_section(section: Mapping[str, Any]) -> DatalakeConfig:
    return parse_config(
        list(section.get("instances") or []),
        section.get("default_instance"),
        section.get("request_timeout", 30.0),
    )


def resolve_config(
    instances: list[Any],
    default_instance: str | None,
    request_timeout: float,
    environ: Mapping[str, str] | None = None,
) -> DatalakeConfig:
    """Traits first; then ``$DATALAKE_CONFIG``; then the ``DATALAKE_*`` variables."""
    environ = os.environ if environ is None else environ
    if instances:
        return parse_config(instances, default_instance, request_timeout)
    if environ.get(CONFIG_ENV):
        section = dict(read_config_file(environ[CONFIG_ENV]))
        section.setdefault("request_timeout", request_timeout)
        return config_from_section(section)
    env_instance = instance_from_env(environ)
    return parse_config([env_instance] if env_instance else [], default_instance, request_timeout)
