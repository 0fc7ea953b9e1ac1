"""A server whose token comes from the hub keeps the hub's API token from kernels and terminals:
it could read the owner's auth_state. (Through a real hub: testbed/tests/test_hub_shim.py.)"""

import ctypes
import os
import signal
import sys
import time
from typing import Any

import pytest
from conftest import stub_instance
from fake_hub import API_TOKEN, hub_environ

from jupyterlab_datalake.core import auth
from jupyterlab_datalake.server import app
from jupyterlab_datalake.server.kernel_env import PR_SET_DUMPABLE, seal_process


@pytest.fixture
def sealed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records the server sealing itself (the test process itself stays as it is)."""
    calls: list[bool] = []
    monkeypatch.setattr(app, "seal_process", lambda: calls.append(True) or True)
    return calls


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch, sealed: list[bool]) -> None:
    for name, value in hub_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JPY_API_TOKEN", API_TOKEN)  # JupyterHub still sets this old name too
    monkeypatch.setattr(auth, "_withheld", {})


@pytest.fixture
def jp_server_config(jp_server_config: Any, hub_env: None) -> dict[str, Any]:
    config = dict(jp_server_config)
    config["DatalakeApp"] = {
        "instances": [stub_instance(auth={"type": "hub"})],
        "default_instance": "stub",
    }
    return config


def test_the_hub_api_token_leaves_the_environment_kernels_inherit(
    jp_serverapp: Any, sealed: list[bool]
) -> None:
    assert sealed == [True]  # and out of /proc/<server pid>/environ (below)
    assert "JUPYTERHUB_API_TOKEN" not in os.environ
    assert "JPY_API_TOKEN" not in os.environ
    assert API_TOKEN not in "\0".join(os.environ.values())
    # The shim still has it, and the rest of the hub's variables stay.
    assert auth.hub_api_token() == API_TOKEN
    assert os.environ["JUPYTERHUB_USER"] == "alice"


def _as_peer_user() -> None:
    """In a forked child: become an ordinary user (nobody when the tests run as root, since root
    reads every process anyway), dumpable again as any program the user runs."""
    if os.getuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


def _fork(child) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover (runs in the child)
        try:
            child()
        finally:
            os._exit(0)
    return pid


def _environ_readable_by_peer(sealed: bool) -> bool:
    """Whether a process of the same user can read a (sealed or plain) process's environ."""
    ready, answer = os.pipe(), os.pipe()

    def server() -> None:
        _as_peer_user()
        if sealed:
            seal_process()
        os.write(ready[1], b"x")
        time.sleep(10)

    server_pid = _fork(server)
    try:
        os.read(ready[0], 1)

        def kernel() -> None:
            _as_peer_user()
            try:
                with open(f"/proc/{server_pid}/environ", "rb") as handle:
                    handle.read()
                os.write(answer[1], b"1")
            except PermissionError:
                os.write(answer[1], b"0")

        reader = _fork(kernel)
        readable = os.read(answer[0], 1) == b"1"
        os.waitpid(reader, 0)
        return readable
    finally:
        os.kill(server_pid, signal.SIGKILL)
        os.waitpid(server_pid, 0)
        for fd in (*ready, *answer):
            os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_kernel_of_the_same_user_cannot_read_the_servers_first_environment() -> None:
    # /proc/<pid>/environ keeps what the process started with, even after os.environ.pop.
    assert _environ_readable_by_peer(sealed=False)
    assert not _environ_readable_by_peer(sealed=True)
