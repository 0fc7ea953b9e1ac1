"""Server-side wiring: the shim URL kernels get, and the kernel startup file."""

from pathlib import Path

from jupyterlab_datalake.server.app import KERNEL_STARTUP, shim_url


def test_shim_url_is_reachable_from_local_kernels():
    assert shim_url("http", "", 8888, "/") == "http://127.0.0.1:8888/datalake/"
    assert shim_url("http", "0.0.0.0", 8888, "/user/alice/") == (
        "http://127.0.0.1:8888/user/alice/datalake/"
    )
    assert shim_url("https", "10.0.0.5", 443, "/a%40b/") == "https://10.0.0.5:443/a%40b/datalake/"
    assert shim_url("http", "::1", 9000, "/") == "http://[::1]:9000/datalake/"


class FakeExtensions:
    def __init__(self, fail: bool = False):
        self.loaded = []
        self.fail = fail

    def load_extension(self, name):
        if self.fail:
            raise ImportError("no magics here")
        self.loaded.append(name)


class FakeShell:
    def __init__(self, fail: bool = False):
        self.extension_manager = FakeExtensions(fail)
        self.user_ns = {}


def run_startup(shell):
    namespace = {"get_ipython": lambda: shell}
    exec(compile(Path(KERNEL_STARTUP).read_text(), KERNEL_STARTUP, "exec"), namespace)
    return namespace


def test_kernel_startup_loads_magics_then_user_startup(tmp_path, monkeypatch):
    user = tmp_path / "startup.py"
    user.write_text("FROM_USER = 42\n")
    monkeypatch.setenv("DATALAKE_USER_PYTHONSTARTUP", str(user))
    shell = FakeShell()
    namespace = run_startup(shell)
    assert shell.extension_manager.loaded == ["jupyterlab_datalake"]
    assert shell.user_ns["FROM_USER"] == 42
    assert set(namespace) <= {"get_ipython", "__builtins__", "__doc__"}  # nothing left behind


def test_kernel_startup_survives_missing_magics(monkeypatch, recwarn):
    monkeypatch.delenv("DATALAKE_USER_PYTHONSTARTUP", raising=False)
    run_startup(FakeShell(fail=True))
    assert any("magics not loaded" in str(w.message) for w in recwarn)
