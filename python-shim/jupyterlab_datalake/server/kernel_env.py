"""The environment kernels started by this server inherit: the shim's URL and the per-server
secret that opens only the shim's routes. (The magics load by the IPython kernel configuration the
package installs in its environment, ``etc/ipython/ipython_kernel_config.py``.)

Kernels inherit the server's environment, so the variables are set in it, and restored at stop.
What kernels must not see (the hub's API token) is taken out of it (core/auth.py withhold_env),
and ``seal_process`` keeps a kernel of the same user from reading it where the server started
with it: ``/proc/<server pid>/environ``.
"""

from __future__ import annotations

import ctypes
import os
import sys

from jupyter_server.utils import url_path_join

from ..core.config import SHIM_SECRET_ENV, SHIM_URL_ENV
from .routes import NAMESPACE

PR_SET_DUMPABLE = 4  # <linux/prctl.h>
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*", "localhost")


def shim_url(scheme: str, ip: str, port: int, base_url: str) -> str:
    """The shim's base URL as a kernel on this machine reaches it."""
    host = "127.0.0.1" if ip in WILDCARD_HOSTS else ip
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{url_path_join(base_url, NAMESPACE)}/"


class KernelEnvironment:
    """Sets the variables kernels inherit and remembers what to restore."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def install(self, secret: str) -> None:
        self._set(SHIM_SECRET_ENV, secret)

    def set_url(self, url: str) -> None:
        self._set(SHIM_URL_ENV, url)

    def _set(self, key: str, value: str) -> None:
        self._saved.setdefault(key, os.environ.get(key))
        os.environ[key] = value

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved.clear()


def seal_process() -> bool:
    """Make this process non-dumpable (Linux): its ``/proc/<pid>/environ`` and ``mem`` become
    readable by root only, so a kernel running as the same user cannot read the environment
    the server was started with, nor its memory. Kernels are new programs: they are dumpable
    again. The price: no debugger or core dump of the server itself. False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
