"""Against the local Rucio testbed (make testbed-up). Skipped without it, unless
DATALAKE_REQUIRE_TESTBED=1, which turns a missing testbed into a failure."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import body
from tornado.httpclient import HTTPClientError

from jupyterlab_datalake.core import did as grammar
from jupyterlab_datalake.core.auth import Secret
from jupyterlab_datalake.core.rucio import STR
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
TESTBED = ROOT / ".testbed"
CONFIG = Path(os.environ.get("DATALAKE_TESTBED_CONFIG") or TESTBED / "jupyter_server_config.json")
DID = "demo:lofar-obs-sb000"
RULE_OK_WITHIN = 90.0


def _testbed_section() -> dict[str, Any]:
    reason = None
    if not CONFIG.exists():
        reason = f"no testbed ({CONFIG} is missing; run make testbed-up)"
    else:
        section = json.loads(CONFIG.read_text())["DatalakeApp"]
        url = section["instances"][0]["rucio_url"]
        try:
            httpx.get(f"{url}/ping", timeout=3).raise_for_status()
        except httpx.HTTPError:
            reason = f"the testbed Rucio at {url} does not answer /ping"
    if reason:
        if os.environ.get("DATALAKE_REQUIRE_TESTBED") == "1":
            pytest.fail(f"DATALAKE_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    return section


@pytest.fixture
def testbed() -> dict[str, Any]:
    return _testbed_section()


@pytest.fixture
def password(testbed: dict[str, Any]) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(testbed["instances"][0]["auth"]["rucio_cfg"])
    return parser.get("client", "password")


@pytest.fixture
async def lake(testbed: dict[str, Any]):
    svc = DatalakeService.from_settings(testbed)
    yield svc
    await svc.close()


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> dict[str, Any]:
    config = dict(jp_server_config)
    config["DatalakeApp"] = _testbed_section()
    return config


def alice_http(testbed: dict[str, Any]) -> httpx.Client:
    """Alice's own Rucio client, outside the shim (what another tool of hers would do)."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(testbed["instances"][0]["auth"]["rucio_cfg"])
    url = testbed["instances"][0]["rucio_url"]
    token = httpx.get(
        f"{url}/auth/userpass",
        headers={
            "X-Rucio-Account": "alice",
            "X-Rucio-Username": cfg.get("client", "username"),
            "X-Rucio-Password": cfg.get("client", "password"),
        },
    ).headers["X-Rucio-Auth-Token"]
    return httpx.Client(base_url=url, headers={"X-Rucio-Auth-Token": token}, timeout=30)


async def wait_ok(svc: DatalakeService, rule_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RULE_OK_WITHIN
    while True:
        staging = await svc.get_staging(rule_id)
        if staging["state"] == "OK":
            return staging
        assert staging["state"] in ("REPLICATING", "INJECT"), staging
        assert time.monotonic() < deadline, f"rule not OK within {RULE_OK_WITHIN} s: {staging}"
        await asyncio.sleep(2)


async def test_stage_fast_then_local_paths_match_checksums(lake):
    result = await lake.stage([DID], qos="FAST", lifetime=3600)
    created = result["created"]
    (staging,) = result["stagings"]
    try:
        assert staging["rse_expression"] == "QOS=FAST&site=HUB"
        staging = await wait_ok(lake, staging["id"])
        assert staging["files_ok"] == staging["files_total"] == 4
        checksums = {f["did"]: f["adler32"] for f in (await lake.files(DID))["items"]}
        entries = [e async for e in lake.paths(DID, qos="FAST")]
        assert len(entries) == 4
        mount = Path(lake.config.instances["testbed"].mounts["HUB-FAST"])
        for entry in entries:
            assert entry["state"] == "AVAILABLE" and entry["rse"] == "HUB-FAST", entry
            path = Path(entry["path"])
            assert mount in path.parents
            assert f"{zlib.adler32(path.read_bytes()):08x}" == checksums[entry["did"]]
        # The copy is next to the hub: FAR-FAST (same QoS, other site) is never chosen.
        inst = lake.instance()
        lines = inst.client.stream("GET", "rules", staging["id"], "locks", shape={"rse": STR})
        locks = [lock async for lock in lines]
        assert {lock["rse"] for lock in locks} == {"HUB-FAST"}
    finally:
        if created:
            await lake.release(staging["id"])


async def test_same_request_twice_is_one_rule_and_survives_restart(lake, testbed):
    did = "demo:lofar-obs-sb001"
    first = await lake.stage([did], qos="CHEAP-ANALYSIS", lifetime=600)
    created, rule_id = first["created"], first["stagings"][0]["id"]
    try:
        again = await lake.stage([did], qos="CHEAP-ANALYSIS", lifetime=600)
        assert not again["created"] and again["stagings"][0]["id"] == rule_id
        rules = (await lake.did_rules(did))["rules"]
        same = [r for r in rules if r["rse_expression"] == "QOS=CHEAP-ANALYSIS&site=HUB"]
        assert len(same) == 1
        restarted = DatalakeService.from_settings(testbed)  # nothing kept in memory
        try:
            listed = (await restarted.list_stagings())["stagings"]
            assert rule_id in {s["id"] for s in listed}
            assert next(s for s in listed if s["id"] == rule_id)["qos"] == "CHEAP-ANALYSIS"
        finally:
            await restarted.close()
    finally:
        if created:
            await lake.release(rule_id)


async def test_invalidated_token_is_renewed_silently(lake):
    await lake.scopes()
    provider = lake.instance().client.auth
    provider._token = Secret("alice-alice-unknown-00000000000000000000000000000000")
    assert "demo" in (await lake.scopes())["scopes"]
    assert provider._token.reveal() != "alice-alice-unknown-00000000000000000000000000000000"
    # An expired token (its expiry passed) is replaced before use.
    provider.expires_at = provider.expires_at.replace(year=2000)
    assert (await lake.whoami())["account"] == "alice"


async def test_browse_against_real_rucio(lake):
    info = await lake.did_info("demo:lofar-obs")
    assert info["type"] == "CONTAINER" and info["near_hub"]["state"] in (
        "AVAILABLE",
        "PARTIAL",
        "REPLICATING",
        "NONE",
    )
    children = await lake.children("demo:lofar-obs")
    assert [c["did"] for c in children["items"]] == [f"demo:lofar-obs-sb00{i}" for i in range(3)]
    page = await lake.files("demo:big-100k", limit=1000)
    assert len(page["items"]) == 1000 and page["next_cursor"]
    qos = {c["name"]: c["rses"] for c in (await lake.qos())["classes"]}
    assert qos["FAST"] == ["HUB-FAST"]  # FAR-FAST is FAST too, but not near the hub


ROUTES = [
    ("GET", "version", {}, None),
    ("GET", "instances", {}, None),
    ("GET", "whoami", {}, None),
    ("GET", "scopes", {}, None),
    ("GET", "search", {"did": "demo:lofar*"}, None),
    ("GET", "did", {"did": "demo:lofar-obs"}, None),
    ("GET", "did/children", {"did": "demo:lofar-obs"}, None),
    ("GET", "did/files", {"did": DID}, None),
    ("GET", "did/replicas", {"did": DID}, None),
    ("GET", "did/rules", {"did": DID}, None),
    ("GET", "qos", {}, None),
    ("GET", "stagings", {}, None),
    ("POST", "stagings", {}, {"dids": [DID], "qos": "GOLD"}),
    ("GET", "stagings/preview", {"did": DID, "qos": "FAST"}, None),
    ("GET", "stagings/" + "0" * 32, {}, None),
    ("PATCH", "stagings/" + "0" * 32, {}, {"lifetime": 600}),
    ("DELETE", "stagings/" + "0" * 32, {}, None),
    ("GET", "paths", {"did": DID}, None),
]


async def test_routes_auth_errors_and_no_secrets(jp_fetch, jp_serverapp, password):
    texts = []
    for method, path, params, data in ROUTES:
        kwargs = {"body": json.dumps(data)} if data is not None else {}
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(
                "datalake",
                *path.split("/"),
                method=method,
                params=params,
                headers={"Authorization": "token wrong"},
                **kwargs,
            )
        assert info.value.code == 403, path
        try:
            response = await jp_fetch(
                "datalake", *path.split("/"), method=method, params=params, **kwargs
            )
            texts.append(response.body.decode())
        except HTTPClientError as e:
            texts.append(e.response.body.decode())
            if path == "stagings" and method == "POST":
                assert e.code == 400 and "GOLD" in body(e.response)["message"]
            elif path.startswith("stagings/"):
                assert e.code == 404, texts[-1]
            else:
                raise
    service = jp_serverapp.web_app.settings["datalake_service"]
    token = service.instance().client.auth._token.reveal()
    everything = "\n".join(texts)
    assert "demo:lofar-obs" in everything
    for secret in (token, password, jp_serverapp.web_app.settings["datalake_kernel_secret"]):
        assert secret not in everything


async def test_a_scope_of_dots_never_answers_for_another_did(jp_fetch, lake):
    # Through the shim: refused by the DID grammar, as Rucio refuses such scopes.
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("datalake", "did", params={"did": "..:dids/demo/lofar-obs"})
    assert info.value.code == 400 and body(info.value.response)["reason"] == "BAD_DID"
    # Below the grammar the Rucio client still sends it as one scope segment: Rucio finds no
    # such DID, instead of walking up to /dids/demo/lofar-obs.
    with pytest.raises(DatalakeError) as info:
        await lake.instance().client.did(grammar.DID("..", "dids/demo/lofar-obs"))
    assert info.value.reason == "DID_NOT_FOUND"
