"""The ``datalake`` comm target in a real ipykernel: bind round trips, awkward DIDs."""

from __future__ import annotations

import ast
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

TESTS = Path(__file__).parents[1]
SHIM = TESTS.parent.parent
AWKWARD = [
    "demo:quote\"d'name",
    "demo:back\\slash",
    "demo:new\nline",
    "demo:données-é✓",
    "demo:x'); import os; os._exit(1) #",
]


class Kernel:
    """A kernel with the extension loaded and the stub data lake as its channel."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATALAKE_")}
        env["PYTHONPATH"] = os.pathsep.join([str(SHIM), str(TESTS), env.get("PYTHONPATH", "")])
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        names = ", ".join(repr(d) for d in AWKWARD)
        setup = self.execute(
            "%load_ext jupyterlab_datalake\n"
            "from datalake_stub import StubChannel, demo_files\n"
            "from jupyterlab_datalake.kernel.client import datalake\n"
            "stub = StubChannel()\n"
            f"for did in [{names}]:\n"
            "    stub.datasets[did] = demo_files('awk', 2)\n"
            "datalake.channel = stub\n"
            "datalake.poll_interval = (0.05, 0.2)\n"
        )
        assert setup["status"] == "ok", setup
        self.comm_id = uuid.uuid4().hex
        self.kc.shell_channel.send(
            self.kc.session.msg(
                "comm_open", {"comm_id": self.comm_id, "target_name": "datalake", "data": {}}
            )
        )

    def execute(self, code: str, expressions: dict[str, str] | None = None) -> dict[str, Any]:
        # stop_on_error=False: each check stands alone; otherwise ipykernel aborts the requests
        # that reach it shortly after one that raised (seen on a loaded 2-core machine).
        msg_id = self.kc.execute(code, user_expressions=expressions or {}, stop_on_error=False)
        while True:
            reply = self.kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def value(self, expression: str) -> Any:
        """``expression`` evaluated in the kernel, travelling as JSON."""
        content = self.execute("", {"v": f"__import__('json').dumps({expression})"})
        result = content["user_expressions"]["v"]
        assert result["status"] == "ok", result
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def send(self, data: dict[str, Any]) -> dict[str, Any]:
        """Send one comm message and return the kernel's reply on the same comm."""
        self.kc.shell_channel.send(
            self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data})
        )
        return self.next_comm_message()

    def next_comm_message(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.kc.get_iopub_msg(timeout=deadline - time.monotonic())
            if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == self.comm_id:
                return msg["content"]["data"]
        raise TimeoutError("no comm message")

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    yield k
    k.stop()


@pytest.mark.parametrize("did", AWKWARD)
def test_awkward_did_reaches_kernel_unchanged(kernel, did):
    kernel.execute(f"datalake.stage({did!r}).wait(show=False)")
    reply = kernel.send({"action": "bind", "name": "awk", "did": did, "instance": None, "id": 7})
    assert reply == {
        "id": 7,
        "name": "awk",
        "did": did,
        "status": "ok",
        "state": "AVAILABLE",
        "files": 2,
    }
    assert kernel.value("awk.did") == did
    paths = kernel.value("list(awk)")
    assert len(paths) == 2 and all(isinstance(p, str) for p in paths)
    assert kernel.value("type(awk).__name__") == "DidPaths"
    assert kernel.value("isinstance(awk, list)") is True


BAD_NAMES = ["class", "1abc", "a b", "x=1;import os", "", None, 3, "None", "__builtins__"]
BAD_NAMES += ["print", "_1", "_i", "In", "Out", "get_ipython", "exit", "display", "données"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused(kernel, name):
    reply = kernel.send({"action": "bind", "name": name, "did": "demo:lofar-obs-sb000"})
    assert reply["status"] == "error"
    assert "not a valid Python variable name" in reply["message"]


def test_unknown_action_and_missing_did(kernel):
    assert kernel.send({"action": "exec", "code": "1"})["status"] == "error"
    assert "scope:name" in kernel.send({"action": "bind", "name": "x"})["message"]


def test_unknown_did_is_an_error_reply(kernel):
    reply = kernel.send({"action": "bind", "name": "nope", "did": "demo:nope"})
    assert reply["status"] == "error" and "does not exist" in reply["message"]


def test_a_bind_that_breaks_in_the_kernel_is_still_answered(kernel):
    # The frontend waits for an answer per variable: an unexpected failure is one too.
    kernel.execute(
        "def _boom(*args, **kwargs):\n    raise ValueError('not JSON')\n"
        "_paths, stub.paths = stub.paths, _boom"
    )
    try:
        reply = kernel.send({"action": "bind", "name": "broken", "did": "demo:lofar-obs-sb000"})
    finally:
        kernel.execute("stub.paths = _paths")
    assert (reply["status"], reply["reason"], reply["name"]) == ("error", "KERNEL_ERROR", "broken")
    assert reply["message"] == "Binding broken failed in the kernel (ValueError); try again."


def test_not_staged_binds_placeholder(kernel):
    reply = kernel.send({"action": "bind", "name": "later", "did": "demo:lofar-obs-sb001"})
    assert reply["status"] == "ok" and reply["state"] == "NOT_STAGED"
    content = kernel.execute("len(later)")
    assert content["status"] == "error"
    assert "demo:lofar-obs-sb001 is not yet available" in content["evalue"]


def test_placeholder_turns_into_paths(kernel):
    kernel.execute("datalake.stage('demo:lofar-obs-sb000', qos='FAST')")
    reply = kernel.send({"action": "bind", "name": "obs", "did": "demo:lofar-obs-sb000"})
    assert (reply["status"], reply["state"], reply["percent"]) == ("ok", "STAGING", 0)
    for code in ("str(obs)", "list(obs)", "obs[0]", "len(obs)"):
        content = kernel.execute(code)
        assert content["status"] == "error", code
        assert content["evalue"] == (
            "demo:lofar-obs-sb000 is not yet available: staging 0% done — "
            "run %datalake wait demo:lofar-obs-sb000"
        )
    assert "not yet available" in kernel.value("repr(obs)")
    kernel.execute("stub.complete('demo:lofar-obs-sb000')")
    event = kernel.next_comm_message()
    assert event["event"] == "rebound" and event["state"] == "AVAILABLE" and event["name"] == "obs"
    assert kernel.value("obs.did") == "demo:lofar-obs-sb000"
    assert kernel.value("len(obs)") == 4


def test_a_binding_asks_the_instance_it_was_attached_from(kernel):
    # An attachment records its instance (notebook metadata); binding, and binding again when
    # its staging completes, ask that instance, not the server's default.
    kernel.execute("datalake.stage('demo:lofar-obs-sb001', instance='other')")
    kernel.execute("stub.asked.clear()")
    reply = kernel.send(
        {"action": "bind", "name": "far", "did": "demo:lofar-obs-sb001", "instance": "other"}
    )
    assert reply["status"] == "ok" and reply["state"] == "STAGING"
    kernel.execute("stub.complete('demo:lofar-obs-sb001')")
    event = kernel.next_comm_message()
    assert event["event"] == "rebound" and event["name"] == "far"
    asked = kernel.value("stub.asked")
    assert ["paths", "other"] in asked and ["list_stagings", "other"] in asked
    assert not [verb for verb, instance in asked if instance is None]


def test_bind_in_open_message(kernel):
    comm_id = uuid.uuid4().hex
    data = {"action": "bind", "name": "opened", "did": AWKWARD[0]}
    kernel.kc.shell_channel.send(
        kernel.kc.session.msg(
            "comm_open", {"comm_id": comm_id, "target_name": "datalake", "data": data}
        )
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = kernel.kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            assert msg["content"]["data"]["status"] == "ok"
            break
    assert kernel.value("opened.did") == AWKWARD[0]
