"""jupyterlab-datalake: a Rucio data lake in JupyterLab.

One package holds the Jupyter server extension (the shim that keeps the user's Rucio tokens),
the IPython extension (``%datalake`` magics) and the Python API (``from jupyterlab_datalake import
datalake``). Imports are lazy so that a kernel loading the magics does not import the server.
"""

from typing import Any

from .version import __version__ as __version__


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-datalake"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import DatalakeApp

    return [{"module": "jupyterlab_datalake", "app": DatalakeApp}]


def load_ipython_extension(ipython: Any) -> None:
    from .kernel.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .kernel.magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    # `from jupyterlab_datalake import datalake` without importing the client at package import.
    if name == "datalake":
        from .kernel.client import datalake

        return datalake
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
