"""Drive the testbed hub from Python tests: start it on a port, log in, spawn, stop everything.

    with HubProcess(port=8000, log_path=tmp / "hub.log") as hub:
        session = hub.login("alice")            # the hub's login form, over HTTP
        hub.spawn(session, "alice")             # waits until the server is ready
        env = hub.server_environ("alice")       # the single-user server's environment
        hub.open_server(session, "alice")       # the server's OAuth, as a browser goes through it
        with Kernel(hub, session, "alice") as kernel:
            kernel.run("%datalake status")      # a kernel of that server, over its websocket

Needs the testbed up (make testbed-up) and the packages of scripts/setup.sh. Browser tests can run
`bash testbed/hub/run.sh` instead (e.g. as Playwright's webServer, with HUB_PORT set; it stops on
SIGTERM). stop() leaves no process behind: the hub stops its proxy and single-user servers itself,
and whatever survives (a hub killed hard) is found by pid and stopped. With `external=True` the
object drives a hub started elsewhere (scripts/test.sh starts one for all hub tests) and leaves it
running. Servers are found through /proc/<pid>/environ; the extension makes its server
non-dumpable under hub auth, so that takes root (as the hub runs them here) from then on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import websocket

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
        *,
        external: bool = False,
    ) -> None:
        self.port = port
        self.external = external
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
        if self.external:
            if not self._answers():
                raise HubError(f"no hub answers on {self.url} (it should have been started)")
            return
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
        if self.external:
            return
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
        """Start the user's server (the hub's spawn API, as the spawn page calls it) and wait;
        a server that is already running is fine."""
        response = session.post(
            f"/hub/api/users/{user}/server",
            headers={"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/")},
        )
        if response.status_code not in (201, 202, 400):
            raise HubError(f"spawn for {user} answered HTTP {response.status_code}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = session.get(f"/hub/api/users/{user}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        raise HubError(f"{user}'s server was not ready within {timeout:.0f} s")

    def open_server(self, session: httpx.Client, user: str) -> None:
        """Go through the server's OAuth with the hub, as a browser opening JupyterLab does;
        the session then holds the server's own cookies (and its `_xsrf`)."""
        lab = session.get(f"/user/{user}/lab", follow_redirects=True)
        if lab.status_code != 200:
            raise HubError(f"{user}'s JupyterLab answered HTTP {lab.status_code}")

    def stop_server(self, session: httpx.Client, user: str, timeout: float = 60.0) -> None:
        """Stop the user's server (the hub's API, as the home page's Stop button calls it)."""
        response = session.delete(
            f"/hub/api/users/{user}/server",
            headers={"X-XSRFToken": session.cookies.get("_xsrf", path="/hub/")},
        )
        if response.status_code not in (202, 204, 400):  # 400: it was not running
            raise HubError(f"stopping {user}'s server answered HTTP {response.status_code}")
        deadline = time.monotonic() + timeout
        while any(_environ(pid).get("JUPYTERHUB_USER") == user for pid in self.server_pids()):
            if time.monotonic() > deadline:
                raise HubError(f"{user}'s server did not stop within {timeout:.0f} s")
            time.sleep(0.2)

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


@dataclass
class Execution:
    """What a cell printed and returned, and its error (``ename: evalue``) if it failed."""

    stdout: str = ""
    stderr: str = ""
    result: str = ""
    error: str | None = None
    outputs: list[dict[str, object]] = field(default_factory=list)


class Kernel:
    """A Python kernel of a user's server, driven through the hub's proxy as JupyterLab drives it:
    the REST API starts it, its websocket runs code (Jupyter messaging, JSON over the socket)."""

    def __init__(
        self, hub: HubProcess, session: httpx.Client, user: str, timeout: float = 60.0
    ) -> None:
        self.session = session
        self.base = f"/user/{user}"
        self.headers = {"X-XSRFToken": session.cookies.get("_xsrf", path=f"{self.base}/") or ""}
        response = session.post(
            f"{self.base}/api/kernels", json={"name": "python3"}, headers=self.headers
        )
        if response.status_code != 201:
            raise HubError(f"starting a kernel answered HTTP {response.status_code}")
        self.id = response.json()["id"]
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies.jar)
        self.client_session = uuid.uuid4().hex
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}{self.base}/api/kernels/{self.id}/channels"
            f"?session_id={self.client_session}",
            header=[f"Cookie: {cookies}"],
            origin=hub.url,
            timeout=timeout,
        )

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, code: str, timeout: float = 120.0) -> Execution:
        msg_id = uuid.uuid4().hex
        self.socket.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "test",
                        "session": self.client_session,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        result, idle, replied = Execution(), False, False
        deadline = time.monotonic() + timeout
        while not (idle and replied):
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(self.socket.recv())
            except websocket.WebSocketTimeoutException as e:
                raise HubError(f"the kernel did not finish within {timeout:.0f} s") from e
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind in ("execute_result", "display_data"):
                result.outputs.append(content["data"])
                if kind == "execute_result":
                    result.result = content["data"].get("text/plain", "")
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        return result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()
        self.session.delete(f"{self.base}/api/kernels/{self.id}", headers=self.headers)
