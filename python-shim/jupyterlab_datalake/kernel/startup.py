"""PYTHONSTARTUP of kernels started by a Jupyter server with jupyterlab-datalake.

Loads the ``%datalake`` magics in IPython kernels without touching the user's IPython profile,
then runs the user's own PYTHONSTARTUP (saved by the server in DATALAKE_USER_PYTHONSTARTUP).
"""


def _datalake_startup() -> None:
    import os
    import traceback
    import warnings

    shell = globals().get("get_ipython", lambda: None)()
    if shell is not None:
        try:
            shell.extension_manager.load_extension("jupyterlab_datalake")
        except Exception as e:  # never break a kernel over the magics
            warnings.warn(f"jupyterlab-datalake: %datalake magics not loaded ({e})", stacklevel=1)
    user_startup = os.environ.get("DATALAKE_USER_PYTHONSTARTUP")
    if user_startup and os.path.isfile(user_startup):
        namespace = shell.user_ns if shell is not None else globals()
        try:
            with open(user_startup) as handle:
                exec(compile(handle.read(), user_startup, "exec"), namespace)
        except Exception:
            traceback.print_exc()


_datalake_startup()
del _datalake_startup
