"""The real testbed Rucio behind bench/rucio_proxy.py, made to misbehave: the shim never answers
falsely, never 500s, ends every call within its deadline, and renews a token Rucio refuses."""

from __future__ import annotations

import asyncio
import configparser
import json
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from test_testbed import ROOT, _testbed_section, wait_ok

from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel.channels import InProcessChannel
from jupyterlab_datalake.kernel.client import Datalake

sys.path.insert(0, str(ROOT / "bench"))
from rucio_proxy import make_app

pytestmark = pytest.mark.integration

DEADLINE = 3.0
SB0, SB1 = "demo:lofar-obs-sb000", "demo:lofar-obs-sb001"


class Proxy:
    def __init__(self, upstream: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_app(upstream).listen(self.port, address="127.0.0.1")
        self.http = httpx.AsyncClient(base_url=self.url)

    async def fault(self, method: str, path: str, mode: str, **options: Any) -> None:
        fault = {"method": method, "path": path, "mode": mode, **options}
        (await self.http.post("/_proxy/fault", content=json.dumps(fault))).raise_for_status()

    async def calls(self) -> dict[str, int]:
        return (await self.http.get("/_proxy/stats")).json()["calls"]

    async def close(self) -> None:
        await self.http.aclose()
        self.server.stop()


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    section = _testbed_section()
    proxy = Proxy(section["instances"][0]["rucio_url"])
    yield proxy
    await proxy.close()


@pytest.fixture
async def lake(proxy: Proxy) -> AsyncIterator[DatalakeService]:
    """The shim's service, its Rucio behind the proxy, with a short deadline."""
    section = _testbed_section()
    instance = {**section["instances"][0], "rucio_url": proxy.url, "auth_url": proxy.url}
    svc = DatalakeService.from_settings(
        {**section, "instances": [instance], "request_timeout": DEADLINE}
    )
    await svc.whoami()  # a token in hand: faults then meet the calls under test
    yield svc
    await svc.close()


@pytest.mark.parametrize(
    ("verb", "arguments", "method", "path"),
    [
        ("whoami", {}, "GET", "/accounts/whoami"),
        ("search", {"did": "demo:lofar*"}, "GET", "/dids/demo/dids/search"),
        ("did_info", {"did": SB0}, "GET", "/dids/demo/lofar-obs-sb000"),
        # The container always has a rule (the custodial copy): a line to cut.
        ("did_rules", {"did": "demo:lofar-obs"}, "GET", "/dids/demo/lofar-obs/rules"),
        ("paths", {"did": SB0}, "GET", "/dids/demo/lofar-obs-sb000/files"),
    ],
)
@pytest.mark.parametrize("mode", ["html", "not-json", "wrong-shape", "cut-line"])
async def test_unreadable_answers_are_502_sentences(
    lake, proxy, verb, arguments, method, path, mode
):
    if verb == "whoami" and mode == "cut-line":
        pytest.skip("Rucio answers whoami with a redirect: no body to cut")
    await proxy.fault(method, path, mode, lines=0)
    answer = lake.call(verb, arguments)
    with pytest.raises(DatalakeError) as info:
        if verb == "paths":
            [line async for line in answer]
        else:
            await answer
    assert (info.value.status, info.value.reason) == (502, "RUCIO_BAD_ANSWER")
    assert info.value.message.startswith(f"Rucio at {proxy.url} sent ")


async def test_a_file_list_cut_cleanly_ends_with_an_error_the_kernel_raises(lake, proxy):
    await proxy.fault("GET", "/dids/demo/lofar-obs-sb000/files", "cut-clean", lines=2)
    # A headless kernel's channel: the service on its own loop, this loop serving the proxy.
    kernel = Datalake(InProcessChannel(lambda: DatalakeService(lake.config), "behind the proxy"))
    with pytest.raises(DatalakeError) as info:
        await asyncio.to_thread(kernel.paths, SB0)
    assert info.value.reason == "RUCIO_CUT_SHORT"
    assert "ended after 2 of its 4 files" in info.value.message
    kernel.channel.close()


async def test_a_replica_list_cut_cleanly_is_asked_again(lake, proxy):
    result = await lake.stage([SB0], qos="FAST", lifetime=3600)
    rule_id = result["stagings"][0]["id"]
    try:
        await wait_ok(lake, rule_id)
        await proxy.fault("POST", "/replicas/list", "cut-clean", lines=1)
        entries = [e async for e in lake.paths(SB0, qos="FAST")]
        assert [e["state"] for e in entries] == ["AVAILABLE"] * 4
        assert (await proxy.calls())["POST /replicas/list"] == 2
    finally:
        if result["created"]:
            await lake.release(rule_id)


async def test_with_rucio_frozen_callers_share_one_call_and_end_in_time(lake, proxy):
    await proxy.fault("GET", "/rules/", "freeze", seconds=60)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(lake.call("list_stagings", {}) for _ in range(5)), return_exceptions=True
    )
    assert time.monotonic() - started < DEADLINE + 1
    assert {(a.status, a.reason) for a in answers} == {(504, "RUCIO_TIMEOUT")}
    assert (await proxy.calls())["GET /rules"] == 1


async def test_a_stage_on_a_connection_rucio_closed_reaches_rucio_once(lake, proxy):
    await proxy.fault("POST", "/rules/", "close")
    result = await lake.stage([SB1], qos="CHEAP-ANALYSIS", lifetime=600)
    try:
        assert (await proxy.calls())["POST /rules"] == 2  # the closed one, then the one sent
        rules = (await lake.did_rules(SB1))["rules"]
        same = [r for r in rules if r["rse_expression"] == "QOS=CHEAP-ANALYSIS&site=HUB"]
        assert [r["id"] for r in same] == [result["stagings"][0]["id"]]
    finally:
        if result["created"]:
            await lake.release(result["stagings"][0]["id"])


async def test_a_token_rucio_refuses_is_renewed_and_the_call_retried(lake, proxy):
    before = (await proxy.calls()).get("GET /auth/userpass", 0)
    await proxy.fault(
        "GET", "/dids/demo/lofar-obs-sb000", "status", status=401, exception="CannotAuthenticate"
    )
    info = await lake.call("did_info", {"did": SB0})
    assert info["did"] == SB0 and info["type"] == "DATASET"
    assert (await proxy.calls())["GET /auth/userpass"] == before + 1


# ---- rules made outside JupyterLab, with Rucio's own REST API ----------------------------------


def alice_password() -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(_testbed_section()["instances"][0]["auth"]["rucio_cfg"])
    return parser.get("client", "password")


async def test_a_rule_made_with_rucio_itself_is_shown_read_only():
    section = _testbed_section()
    did, expression = "demo:lofar-obs-sb002.f3.h5", "QOS=CHEAP-ANALYSIS&site=HUB"
    scope, name = did.split(":")
    async with httpx.AsyncClient(base_url=section["instances"][0]["rucio_url"]) as rucio:
        login = await rucio.get(
            "/auth/userpass",
            headers={
                "X-Rucio-Account": "alice",
                "X-Rucio-Username": "alice",
                "X-Rucio-Password": alice_password(),
            },
        )
        rucio.headers["X-Rucio-Auth-Token"] = login.headers["X-Rucio-Auth-Token"]
        # Given: alice's rule made with Rucio's REST API, as the Rucio client makes it
        made = await rucio.post(
            "/rules/",
            json={
                "dids": [{"scope": scope, "name": name}],
                "account": "alice",
                "copies": 1,
                "rse_expression": expression,
                "grouping": "DATASET",
                "lifetime": 900,
            },
        )
        if made.status_code == 409:  # this test's rule of a run less than an hour ago
            rules = (await rucio.get(f"/dids/{scope}/{name}/rules")).text.splitlines()
            (rule_id,) = [r["id"] for r in map(json.loads, rules) if r["account"] == "alice"]
            await rucio.put(f"/rules/{rule_id}", json={"options": {"lifetime": 900}})
        else:
            assert made.status_code == 201, made.text
            (rule_id,) = made.json()
        svc = DatalakeService.from_settings(section)
        try:
            # When: she stages the same data from JupyterLab
            answer = await svc.stage([did], qos="CHEAP-ANALYSIS")
            # Then: that rule is her staging, listed, marked as made outside, never changed here
            (staging,) = answer["stagings"]
            assert (staging["id"], staging["outside"], answer["created"]) == (rule_id, True, False)
            listed = {s["id"]: s for s in (await svc.list_stagings())["stagings"]}
            assert listed[rule_id]["outside"] and listed[rule_id]["qos"] == "CHEAP-ANALYSIS"
            for change in (svc.extend(rule_id, 3600), svc.release(rule_id)):
                with pytest.raises(DatalakeError) as info:
                    await change
                assert (info.value.status, info.value.reason) == (409, "OUTSIDE_RULE")
            rule = (await rucio.get(f"/rules/{rule_id}")).json()
            assert rule["comments"] is None
        finally:
            await svc.close()
            # Gone at the cleaner's next round (a DELETE would keep it listed for an hour).
            await rucio.put(f"/rules/{rule_id}", json={"options": {"lifetime": 1}})
