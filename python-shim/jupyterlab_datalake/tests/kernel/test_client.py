"""The Python API over a stub channel, the HTTP channel over a mock transport, the thread loop."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from datalake_stub import StubChannel

from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel import client as client_module
from jupyterlab_datalake.kernel.channels import HttpChannel, InProcessChannel
from jupyterlab_datalake.kernel.client import Datalake
from jupyterlab_datalake.kernel.lifetime import format_duration, parse_duration
from jupyterlab_datalake.kernel.names import variable_name
from jupyterlab_datalake.kernel.results import DidPaths, NotYetAvailable, Staging

SECRET = "s3cr3t-never-shown"


@pytest.fixture
def stub() -> StubChannel:
    return StubChannel()


@pytest.fixture
def lake(stub: StubChannel) -> Datalake:
    client = Datalake(stub)
    client.poll_interval = (0.001, 0.002)
    return client


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 604800),
        ("2h", 7200),
        ("1d12h", 129600),
        ("90m", 5400),
        ("45s", 45),
        ("1w", 604800),
        ("3600", 3600),
        (" 2H ", 7200),
        ("1.5h", 5400),
        (600, 600),
        (timedelta(days=1), 86400),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7 days", "d7", "-1h", "0", "7x", True, "1h-", "h"])
def test_parse_duration_rejects(text):
    with pytest.raises(DatalakeError) as info:
        parse_duration(text)
    assert info.value.reason == "BAD_DURATION"
    assert "7d" in info.value.message


def test_format_duration():
    assert format_duration(93600) == "1d 2h"
    assert format_duration(0) == "0s"
    assert format_duration(59) == "59s"
    assert parse_duration(format_duration(7200)) == 7200


@pytest.mark.parametrize(
    ("did", "name"),
    [
        ("demo:lofar-obs-sb000", "lofar_obs_sb000"),
        ("demo:2024.run", "d_2024_run"),
        ("demo:a/b/c.h5", "c_h5"),
        ("user.x:class", "class_"),
        ("demo:données", "donn_es"),
    ],
)
def test_variable_name(did, name):
    assert variable_name(did) == name
    assert name.isidentifier()


def test_ls_pages_until_limit(lake, stub):
    stub.datasets.update(
        {f"demo:run{i:03}": stub.datasets["demo:lofar-obs-sb000"] for i in range(5)}
    )
    found = lake.ls("demo:run*", limit=3)
    assert found.dids == ["demo:run000", "demo:run001", "demo:run002"]
    assert "demo:run002" in found._repr_html_()
    assert len(lake.ls("demo:*")) == 7


def test_info_merges_replicas(lake):
    info = lake.info("demo:lofar-obs-sb000")
    assert info["length"] == 4
    assert info["replicas"][0]["rse"] == "LAKE-SAFE"
    assert info["near_hub"]["state"] == "NONE"
    assert "replica LAKE-SAFE" in info._repr_html_()


def test_files_have_checksums(lake):
    files = lake.files("demo:lofar-obs-sb000")
    assert len(files) == 4
    assert all(len(f["adler32"]) == 8 for f in files)
    assert "adler32" in files._repr_html_()


def test_stage_wait_paths(lake, stub):
    staging = lake.stage("demo:lofar-obs-sb000", qos="FAST", lifetime="7d", start_in="2h")
    assert isinstance(staging, Staging)
    assert staging.expression == "QOS=FAST&site=HUB"
    rule = stub.rules[staging.rule_ids[0]]
    assert (rule["lifetime"], rule["start_in"]) == (604800, 7200)
    assert staging.progress().files_ok == 1
    staging.wait()
    assert staging.state == "OK"
    assert staging.progress(refresh=False).percent == 100
    paths = lake.paths("demo:lofar-obs-sb000")
    assert isinstance(paths, DidPaths)
    assert paths.did == "demo:lofar-obs-sb000"
    assert paths[0] == "/storage/HUB-FAST/demo/lofar-obs-sb000.f0"
    assert all(isinstance(p, str) for p in paths)
    assert paths.entries[0] == {
        "did": "demo:lofar-obs-sb000.f0",
        "state": "AVAILABLE",
        "path": paths[0],
        "url": None,
        "rse": "HUB-FAST",
    }
    assert list(lake.iter_paths("demo:lofar-obs-sb000")) == list(paths)


def test_iter_paths_raises_at_the_first_file_without_a_path(lake):
    paths = lake.iter_paths("demo:lofar-obs-sb001", qos="FAST")
    with pytest.raises(DatalakeError) as info:
        next(paths)
    assert info.value.reason == "NOT_STAGED"
    assert "%datalake stage demo:lofar-obs-sb001 --qos FAST --wait" in info.value.message


def test_wait_asks_the_shim_for_each_next_change_and_never_sleeps(lake, stub):
    staging = lake.stage("demo:lofar-obs-sb000")
    asked = []
    answer = stub.wait_stagings

    def wait_stagings(rule_ids, after=None, timeout=None, **kwargs):
        asked.append((after, timeout))
        return answer(rule_ids, after, timeout, **kwargs)

    stub.wait_stagings = wait_stagings
    stub.calls.clear()
    started = time.monotonic()
    staging.wait(timeout=3600)
    assert staging.state == "OK"
    # The first answer at once, then each the next change after the cursor of the one before.
    assert [after for after, _ in asked] == [
        None,
        *range(stub.cursor - len(asked) + 1, stub.cursor),
    ]
    assert all(0 < timeout <= 20 for _, timeout in asked)
    assert set(stub.calls) == {"wait_stagings"}
    assert time.monotonic() - started < 1.0


def test_stage_twice_returns_existing_rule(lake):
    first = lake.stage(["demo:lofar-obs-sb000"], qos="FAST")
    second = lake.stage("demo:lofar-obs-sb000", qos="FAST")
    assert first.rule_ids == second.rule_ids


def test_paths_not_staged_says_how(lake):
    with pytest.raises(DatalakeError) as info:
        lake.paths("demo:lofar-obs-sb001", qos="FAST")
    assert info.value.reason == "NOT_STAGED"
    assert "%datalake stage demo:lofar-obs-sb001 --qos FAST --wait" in info.value.message


def test_wait_timeout_keeps_staging(lake, stub):
    stub.step = 0
    staging = lake.stage("demo:lofar-obs-sb000")
    with pytest.raises(DatalakeError) as info:
        lake.wait("demo:lofar-obs-sb000", timeout=0.01)
    assert info.value.reason == "WAIT_TIMEOUT"
    assert "%datalake wait demo:lofar-obs-sb000" in info.value.message
    assert staging.rule_ids[0] in stub.rules


def test_wait_stuck_fails(lake, stub):
    staging = lake.stage("demo:lofar-obs-sb000")
    stub.rules[staging.rule_ids[0]].update(state="STUCK", error="checksum mismatch")
    stub.step = 0
    with pytest.raises(DatalakeError, match="checksum mismatch"):
        staging.wait()


def test_status_extend_release(lake, stub):
    a = lake.stage("demo:lofar-obs-sb000", qos="FAST")
    lake.stage("demo:lofar-obs-sb001", qos="CHEAP-ANALYSIS")
    assert len(lake.status()) == 2
    assert lake.status("demo:lofar-obs-sb001").rules[0]["qos"] == "CHEAP-ANALYSIS"
    assert lake.status(a.rule_ids[0]).dids == ["demo:lofar-obs-sb000"]
    lake.extend("demo:lofar-obs-sb000", "2d")
    assert stub.rules[a.rule_ids[0]]["lifetime"] == 172800
    assert lake.release("demo:lofar-obs-sb000") == a.rule_ids
    assert len(stub.rules) == 1
    with pytest.raises(DatalakeError) as info:
        lake.status("demo:lofar-obs-sb000")
    assert info.value.reason == "NO_STAGING"


def test_paths_after_a_release_say_so_and_need_stages_again(lake, stub):
    did = "demo:lofar-obs-sb000"
    lake.stage(did, qos="FAST").wait()
    assert len(lake.paths(did)) == 4
    lake.release(did)
    # The copies are still on disk for a while: paths says they were released, never returns them
    with pytest.raises(DatalakeError) as info:
        lake.paths(did)
    assert info.value.reason == "RELEASED"
    assert info.value.message == (
        "Your staging of demo:lofar-obs-sb000 was released: its 4 files stay near the hub only "
        "until Rucio deletes them. To keep using them, %datalake stage demo:lofar-obs-sb000 "
        "--qos CLASS --wait."
    )
    assert len(lake.need(did)[did]) == 4
    assert [r["did"] for r in stub.rules.values()] == [did]


def test_need_stages_only_missing(lake, stub):
    lake.stage("demo:lofar-obs-sb000").wait()
    stub.calls.clear()
    found = lake.need("demo:lofar-obs-sb000", "demo:lofar-obs-sb001")
    assert list(found) == ["demo:lofar-obs-sb000", "demo:lofar-obs-sb001"]
    assert all(len(p) == 4 for p in found.values())
    assert stub.calls.count("stage") == 1
    assert [r["did"] for r in stub.rules.values()] == [
        "demo:lofar-obs-sb000",
        "demo:lofar-obs-sb001",
    ]


def test_errors_pass_through(lake, stub):
    with pytest.raises(DatalakeError) as info:
        lake.stage("demo:lofar-obs-sb000", qos="GOLD")
    assert info.value.reason == "UNKNOWN_QOS"
    stub.down = True
    with pytest.raises(DatalakeError) as info:
        lake.qos()
    assert info.value.status == 502


def test_placeholder_refuses_use():
    placeholder = NotYetAvailable("demo:x", 40)
    for use in (str, iter, len, lambda p: p[0], lambda p: "a" in p, os.fspath):
        with pytest.raises(
            DatalakeError, match=r"not yet available: staging 40% done — run %datalake wait demo:x"
        ):
            use(placeholder)
    assert "40%" in repr(placeholder)
    assert not placeholder


def test_repr_texts(lake):
    staging = lake.stage("demo:lofar-obs-sb000")
    from IPython.lib.pretty import pretty

    text = pretty(staging)
    assert "demo:lofar-obs-sb000" in text and "REPLICATING" in text
    assert "FAST" in pretty(lake.qos())


# --- HTTP channel -------------------------------------------------------------------------------


def _shim(request: httpx.Request) -> httpx.Response:
    assert request.headers["X-Datalake-Secret"] == SECRET
    path = request.url.path.removeprefix("/user/x/datalake/")
    if path == "qos":
        return httpx.Response(200, json={"classes": [{"name": "FAST", "rses": ["HUB-FAST"]}]})
    if path == "did":
        return httpx.Response(
            404, json={"message": "demo:nope does not exist.", "reason": "DID_NOT_FOUND"}
        )
    if path == "stagings" and request.method == "POST":
        body = json.loads(request.content)
        return httpx.Response(
            201, json={"stagings": [{"id": "ab" * 16, "did": body["dids"][0], "body": body}]}
        )
    if path.startswith("stagings/") and request.method == "PATCH":
        return httpx.Response(200, json={"id": path.split("/")[1], **json.loads(request.content)})
    if path.startswith("stagings/") and request.method == "DELETE":
        return httpx.Response(204)
    if path == "paths":
        lines = [
            {
                "did": "demo:f1",
                "state": "AVAILABLE",
                "path": "/p/1",
                "url": None,
                "rse": "HUB-FAST",
            },
            {"did": "demo:f2", "state": "AVAILABLE", "path": None, "url": "root://x/2", "rse": "R"},
        ]
        if request.url.params["did"] == "demo:broken":
            # Rucio failed after the stream began: the shim's last line says so.
            lines.append({"error": {"message": "Rucio at X timed out.", "reason": "RUCIO_TIMEOUT"}})
        else:
            assert request.url.params["did"] == "demo:ds"
        text = "\n".join(json.dumps(line) for line in lines) + "\n"
        return httpx.Response(200, text=text, headers={"content-type": "application/x-ndjson"})
    if path == "stagings":
        assert request.url.params.get("instance") == "other"
        return httpx.Response(200, json={"stagings": []})
    return httpx.Response(500, text="<html>Internal Server Error</html>")


@pytest.fixture
def http() -> HttpChannel:
    return HttpChannel(
        "http://127.0.0.1:1/user/x/datalake", SECRET, transport=httpx.MockTransport(_shim)
    )


def test_http_channel_routes(http):
    assert http.call("qos")["classes"][0]["name"] == "FAST"
    answer = http.call("stage", ["demo:ds"], qos="FAST", lifetime=60)
    assert answer["stagings"][0]["body"]["lifetime"] == 60
    assert http.call("extend", "ab" * 16, 120)["lifetime"] == 120
    http.call("release", "ab" * 16)
    assert http.call("list_stagings", instance="other") == {"stagings": []}
    lake = Datalake(http)
    # A URL never stands where a local path is expected: it is asked for, or it is an error.
    with pytest.raises(DatalakeError) as info:
        lake.paths("demo:ds")
    assert info.value.reason == "NOT_LOCAL" and "urls=True" in info.value.message
    assert lake.paths("demo:ds", urls=True) == ["/p/1", "root://x/2"]


def test_http_channel_errors_keep_sentence(http):
    with pytest.raises(DatalakeError) as info:
        http.call("did_info", "demo:nope")
    assert (info.value.status, info.value.reason) == (404, "DID_NOT_FOUND")
    with pytest.raises(DatalakeError) as info:
        http.call("replicas", "demo:x")
    assert info.value.reason == "SHIM_ERROR" and "<html>" not in info.value.message
    with pytest.raises(DatalakeError, match="not a Rucio rule id"):
        http.call("get_staging", "../../api/kernels")


def test_secret_never_shown(http):
    unreachable = HttpChannel("http://127.0.0.1:9/datalake/", SECRET)
    with pytest.raises(DatalakeError) as info:
        unreachable.call("qos")
    assert info.value.reason == "SHIM_UNREACHABLE"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    lake = Datalake(http)
    for text in (
        repr(http),
        repr(lake),
        repr(unreachable),
        str(info.value),
        repr(vars(http)),
        repr(vars(lake)),
    ):
        assert SECRET not in text


def test_http_paths_raise_the_error_that_ends_the_stream(http):
    with pytest.raises(DatalakeError) as info:
        list(http.call("paths", "demo:broken"))
    assert info.value.reason == "RUCIO_TIMEOUT" and "timed out" in info.value.message


def test_kernel_takes_the_secret_out_of_its_environment(monkeypatch):
    monkeypatch.setenv("DATALAKE_SHIM_URL", "http://127.0.0.1:8888/datalake/")
    monkeypatch.setenv("DATALAKE_SHIM_SECRET", SECRET)
    before = client_module.datalake._channel
    try:
        client_module.adopt_shim_channel()
        assert "DATALAKE_SHIM_SECRET" not in os.environ
        assert isinstance(client_module.datalake.channel, HttpChannel)
    finally:
        client_module.datalake.channel = before


def test_channel_choice_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DATALAKE_SHIM_URL", "http://127.0.0.1:8888/datalake/")
    monkeypatch.setenv("DATALAKE_SHIM_SECRET", SECRET)
    assert isinstance(Datalake().channel, HttpChannel)
    monkeypatch.delenv("DATALAKE_SHIM_SECRET")
    monkeypatch.setenv("DATALAKE_CONFIG", str(tmp_path / "c.json"))
    channel = Datalake().channel
    assert isinstance(channel, InProcessChannel)
    assert "c.json" in repr(channel)


# --- in-process channel ---------------------------------------------------------------------------


class FakeService:
    """Async like DatalakeService; records the loop each call ran on."""

    def __init__(self) -> None:
        self.loops: set[int] = set()
        self.closed = False
        self.streams = 0  # paths streams open

    async def qos(self, instance=None):
        self.loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0)
        return {"classes": [], "instance": instance}

    async def did_info(self, did, instance=None):
        raise DatalakeError(404, f"{did} does not exist.", "DID_NOT_FOUND")

    async def paths(self, did, qos=None, instance=None):
        self.streams += 1
        try:
            for i in range(int(did.rsplit("-", 1)[1]) if "-" in did else 3):
                await asyncio.sleep(0)
                yield {
                    "did": f"{did}.{i}",
                    "state": "AVAILABLE",
                    "path": f"/p/{i}",
                    "url": None,
                    "rse": "R",
                }
        finally:
            self.streams -= 1

    async def close(self):
        self.closed = True

    def call(self, verb, arguments):
        return getattr(self, verb)(**arguments)


async def test_in_process_channel_inside_a_running_loop():
    # Like a kernel: the caller's thread already runs an event loop.
    service = FakeService()
    channel = InProcessChannel(lambda: service, "fake")
    assert channel.call("qos", instance="t") == {"classes": [], "instance": "t"}
    assert channel.call("qos")["classes"] == []
    assert service.loops and id(asyncio.get_running_loop()) not in service.loops
    assert len(service.loops) == 1
    lines = channel.call("paths", "demo:ds")
    assert not isinstance(lines, list)  # a stream, read as it arrives
    assert [line["path"] for line in lines] == ["/p/0", "/p/1", "/p/2"]
    with pytest.raises(DatalakeError, match="does not exist"):
        channel.call("did_info", "demo:nope")
    channel.close()
    assert service.closed


def test_in_process_paths_stream_in_batches_and_stop_when_left():
    service = FakeService()
    channel = InProcessChannel(lambda: service, "fake")
    lines = channel.call("paths", "demo:ds-2500")
    assert [next(lines)["path"] for _ in range(1001)][-1] == "/p/1000"
    assert service.streams == 1  # the rest is still in Rucio's hands, not read ahead
    lines.close()  # the notebook stops iterating: the service's stream is closed too
    assert service.streams == 0
    assert sum(1 for _ in channel.call("paths", "demo:ds-2500")) == 2500
    channel.close()


def test_extending_a_handle_costs_one_call_per_rule(lake, stub):
    staging = lake.stage("demo:lofar-obs-sb000", "demo:lofar-obs-sb001")
    stub.calls.clear()
    staging.extend("2d")
    assert stub.calls == ["extend", "extend"]
    assert [stub.rules[r]["lifetime"] for r in staging.rule_ids] == [172800, 172800]


@pytest.mark.parametrize("timeout", [10**400, float("nan"), float("inf"), 0, -1, "soon"])
def test_a_timeout_that_is_no_duration_is_a_sentence(lake, timeout):
    lake.stage("demo:lofar-obs-sb000")
    with pytest.raises(DatalakeError) as info:
        lake.wait("demo:lofar-obs-sb000", timeout=timeout)
    assert info.value.reason == "BAD_DURATION" and "timeout" in info.value.message


def test_wait_has_a_default_timeout_that_says_what_to_do(lake, stub, monkeypatch):
    monkeypatch.setattr("jupyterlab_datalake.kernel.results.DEFAULT_WAIT", 0.05)
    stub.step = 0
    staging = lake.stage("demo:lofar-obs-sb000")
    with pytest.raises(DatalakeError) as info:
        staging.wait()
    assert info.value.reason == "WAIT_TIMEOUT"
    assert "--timeout" in info.value.message and "to wait longer" in info.value.message


def test_a_stalled_staging_says_since_when(lake, stub):
    stub.step = 0
    staging = lake.stage("demo:lofar-obs-sb000")
    since = datetime.now(timezone.utc) - timedelta(minutes=13, seconds=20)
    stub.rules[staging.rule_ids[0]]["stalled_since"] = since.isoformat().replace("+00:00", "Z")
    progress = staging.progress()
    assert str(progress).endswith("— no file arrived for 13m 20s")
    with pytest.raises(DatalakeError) as info:
        staging.wait(timeout=0.05)
    assert "no file arrived for 13m" in info.value.message
    assert "Rucio's transfers seem stuck" in info.value.message


def test_status_says_when_it_is_the_last_list_rucio_gave(lake, stub, monkeypatch):
    lake.stage("demo:lofar-obs-sb000")
    listed = stub.list_stagings()
    late = {
        "message": "Rucio has not answered for 2 s. This is the list as Rucio gave it at "
        "10:00:00 UTC.",
        "reason": "RUCIO_TIMEOUT",
    }
    monkeypatch.setattr(
        stub,
        "list_stagings",
        lambda **_: {**listed, "listed_at": "2026-01-01T10:00:00Z", "error": late},
    )
    caption = lake.status()._table()[0]
    assert caption == (
        "Stagings (1) — Rucio has not answered for 2 s. This is the list as Rucio gave it at "
        "10:00:00 UTC."
    )
