"""The Jupyter server extension: configuration, the shared service, routes, kernel channel."""

from __future__ import annotations

import logging
import secrets
import socket
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, List, Unicode

from ..core.auth import withhold_env
from ..core.config import DatalakeConfig, resolve_config
from ..core.hub import HUB_TOKEN_ENVS
from ..core.service import DatalakeService
from ..errors import ConfigError
from .kernel_env import KernelEnvironment, seal_process, shim_url
from .push import push_handlers
from .routes import SECRET_SETTING, SERVICE_SETTING, handlers


class DatalakeApp(ExtensionApp):
    """jupyterlab-datalake: a Rucio data lake in JupyterLab."""

    name = "jupyterlab_datalake"
    load_other_extensions = True

    instances = List(
        Dict(),
        help=(
            "Rucio instances: objects with name, display_name, rucio_url, auth_url, ca_cert, vo, "
            "webui_url, auth ({type: userpass|oidc|x509_proxy, ...}), site_expression, mounts, "
            "qos_classes, default_qos, default_lifetime, max_lifetime. Empty: read "
            "$DATALAKE_CONFIG, else DATALAKE_RUCIO_URL/DATALAKE_SITE/DATALAKE_ACCOUNT/... ."
        ),
    ).tag(config=True)
    default_instance = Unicode(
        None, allow_none=True, help="Name of the instance used when a request names none."
    ).tag(config=True)
    request_timeout = Float(
        30.0,
        help=(
            "Deadline in seconds of every request to the shim, whatever Rucio does (then HTTP "
            "504); a paths stream may take this long between two lines."
        ),
    ).tag(config=True)
    kernel_channel = Bool(
        True,
        help="Give kernels started by this server DATALAKE_SHIM_URL and DATALAKE_SHIM_SECRET.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        # The shim's own messages (the broker connection, token renewals) go to the server's log.
        package_log = logging.getLogger("jupyterlab_datalake")
        package_log.handlers = list(self.log.handlers)
        package_log.setLevel(self.log.level)
        package_log.propagate = False
        try:
            config = resolve_config(
                list(self.instances), self.default_instance, self.request_timeout
            )
            service = DatalakeService(config)
            withhold_env(self._secret_envs(config))
            self.log.info(
                "jupyterlab-datalake: instances %s (default %s)",
                ", ".join(config.instances),
                config.default_instance,
            )
        except ConfigError as e:
            self.log.error("jupyterlab-datalake is not configured: %s", e)
            service = DatalakeService.unconfigured(e)
        if self.serverapp is not None:
            service.files_root = self.serverapp.root_dir
        self.service = service
        self.kernel_secret = secrets.token_urlsafe(32)
        self.kernel_env = KernelEnvironment()
        self.settings.update({SERVICE_SETTING: service, SECRET_SETTING: self.kernel_secret})
        if self.kernel_channel:
            self.kernel_env.install(self.kernel_secret)
            if self.serverapp is not None and self.serverapp.port:
                self._set_shim_url()

    def _secret_envs(self, config: DatalakeConfig) -> list[str]:
        """Variables kernels and terminals must not inherit: the secrets the configuration
        names (Rucio's and the broker's), and, when the token comes from the hub, the server's
        hub API token (it can read the owner's auth_state)."""
        names = [
            name
            for instance in config.instances.values()
            for name in (
                instance.auth.token_env,
                instance.auth.password_env,
                instance.events.password_env if instance.events else None,
            )
            if name
        ]
        if any(instance.auth.type == "hub" for instance in config.instances.values()):
            self._keep_hub_auth_token()
            names += HUB_TOKEN_ENVS
            if not seal_process():
                self.log.warning(
                    "jupyterlab-datalake: kernels of this user can read the hub's API token "
                    "in /proc/<server pid>/environ (the server could not be made non-dumpable)"
                )
        return names

    def _keep_hub_auth_token(self) -> None:
        # jupyterhub-singleuser (its identity provider, its activity reports) reads
        # $JUPYTERHUB_API_TOKEN when it first needs it: have it read now, before the variable
        # leaves the environment.
        server = self.serverapp
        if server is None:
            return
        holders = [server.identity_provider]
        for apps in server.extension_manager.extension_apps.values():
            holders += apps
        for holder in holders:
            hub_auth = getattr(holder, "hub_auth", None)
            getattr(hub_auth, "api_token", None)

    def initialize_handlers(self) -> None:
        # The socket first: `stagings/<not a rule id>` would otherwise answer it with a 400.
        self.handlers.extend(push_handlers())
        self.handlers.extend(handlers())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # The port is bound by now (it may have been 0 or busy at initialize time).
        if self.kernel_channel:
            self._set_shim_url()
        if serverapp is not None and serverapp.port:
            # Host and port name this server's durable broker subscription: the same after a
            # restart (the broker hands over what it kept), different for two servers side by side.
            self.service.events_identity = f"{socket.gethostname()}-{serverapp.port}"

    def _set_shim_url(self) -> None:
        server = self.serverapp
        if server is None or server.sock:
            self.log.warning("jupyterlab-datalake: kernels get no shim URL on a UNIX socket server")
            return
        scheme = "https" if server.certfile else "http"
        self.kernel_env.set_url(shim_url(scheme, server.ip, server.port, server.base_url))

    async def stop_extension(self) -> None:
        await self.service.close()
        if hasattr(self, "kernel_env"):
            self.kernel_env.restore()
