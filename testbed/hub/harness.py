"""Drive the testbed hub from Python tests: start it on a port, log in, spawn, stop everything.

    with HubProcess(port=8000, log_path=tmp / "hub.log") as hub:
        session = hub.login("alice")            # the hub's login form, over HTTP
        hub.spawn(session, "alice")             # waits until the server is ready
        env = hub.server_environ("alice")       # the single-user server's environment

Needs the testbed up (make testbed-up) and the packages of scripts/setup.sh. Browser tests can run
`bash testbed/hub/run.sh` instead (e.g. as Playwright's webServer, with HUB_PORT set; it stops on
SIGTERM). stop() leaves no process behind: the hub stops its proxy and single-user servers itself,
and whatever survives (a hub killed hard) is found by pid and stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

HERE = Path(__file__).resolve().parent
RUN_SH = HERE / "run.sh"


class HubError(RuntimeError):
    pass


class HubProcess:
    def __init__(
        self,
        port: int,
        log_path: Path,
        testbed_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # The hub's own API (JUPYTERHUB_API_URL of the single-user servers).
        self.api_url = f"http://127.0.0.1:{port + 2}/hub/api"
        self.testbed_dir = testbed_dir or HERE.parents[1] / ".testbed"
        self.log_path = log_path
        self.env = {**os.environ, **(env or {}), "HUB_PORT": str(port)}
        self.env["TESTBED_DIR"] = str(self.testbed_dir)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> HubProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        if self._answers():
            raise HubError(f"something already answers on {self.url}: stop it or pick another port")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["bash", str(RUN_SH)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None:
                raise HubError(
                    f"the hub exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise HubError(
                    f"the hub did not answer within {timeout:.0f} s; see {self.log_path}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is not None and self.process.poll() is None:
            # JupyterHub stops its single-user servers and its proxy on SIGTERM.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in [*self.server_pids(), *self._proxy_pid()]:
            _terminate(pid)

    def passwords(self) -> dict[str, str]:
        return json.loads((self.testbed_dir / "hub-users.json").read_text())

    def login(self, user: str, password: str | None = None) -> httpx.Client:
        """A client holding the hub's login cookies, as a browser would after the login form."""
        session = httpx.Client(base_url=self.url, timeout=30.0)
        session.get("/hub/login").raise_for_status()
        response = session.post(
            "/hub/login",
            data={
                "username": user,
                "password": self.passwords()[user] if password is None else password,
                "_xsrf": session.cookies["_xsrf"],
            },
        )
        if response.status_code != 302:
            session.close()
            raise HubError(f"login as {user} answered HTTP {response.status_code}")
        return session

    def spawn(self, session: httpx.Client, user: str, timeout: float = 120.0) -> None:
        """Start the user's server (the hub's spawn API, as the spawn page calls it) and wait."""
        response = session.post(
            f"/hub/api/users/{user}/server", headers={"X-XSRFToken": session.cookies["_xsrf"]}
        )
        if response.status_code not in (201, 202):
            raise HubError(f"spawn for {user} answered HTTP {response.status_code}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = session.get(f"/hub/api/users/{user}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise HubError(f"{user}'s server was not ready within {timeout:.0f} s")

    def server_environ(self, user: str) -> dict[str, str]:
        """The environment of `user`'s single-user server process."""
        for pid in self.server_pids():
            environ = _environ(pid)
            if environ.get("JUPYTERHUB_USER") == user:
                return environ
        raise HubError(f"no single-user server of {user} runs under {self.url}")

    def server_pids(self) -> list[int]:
        """Single-user servers started by this hub (their API URL names its port)."""
        return [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _environ(int(pid)).get("JUPYTERHUB_API_URL") == self.api_url
        ]

    def _proxy_pid(self) -> list[int]:
        try:
            pid = int((self.testbed_dir / "hub" / "proxy.pid").read_text())
        except (OSError, ValueError):
            return []
        return [pid] if b"configurable-http-proxy" in _cmdline(pid) else []

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/hub/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _terminate(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
