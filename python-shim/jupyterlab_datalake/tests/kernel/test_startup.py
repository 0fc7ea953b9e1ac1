"""The PYTHONSTARTUP file the server gives kernels: loads the magics, then the user's own file."""

from pathlib import Path

from jupyterlab_datalake.core.config import USER_STARTUP_ENV
from jupyterlab_datalake.server.kernel_env import KERNEL_STARTUP


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
    monkeypatch.setenv(USER_STARTUP_ENV, str(user))
    shell = FakeShell()
    namespace = run_startup(shell)
    assert shell.extension_manager.loaded == ["jupyterlab_datalake"]
    assert shell.user_ns["FROM_USER"] == 42
    assert set(namespace) <= {"get_ipython", "__builtins__", "__doc__"}  # nothing left behind


def test_kernel_startup_survives_missing_magics(monkeypatch, recwarn):
    monkeypatch.delenv(USER_STARTUP_ENV, raising=False)
    run_startup(FakeShell(fail=True))
    assert any("magics not loaded" in str(w.message) for w in recwarn)


def test_the_startup_file_reads_the_variable_the_server_sets():
    # The file runs before the package is imported, so it names the variable itself.
    assert f'os.environ.get("{USER_STARTUP_ENV}")' in Path(KERNEL_STARTUP).read_text()
