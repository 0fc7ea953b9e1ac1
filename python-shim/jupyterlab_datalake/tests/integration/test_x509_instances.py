"""X.509 and two instances at once, against the real testbed: `testbed-x509` logs in to Rucio's
TLS endpoint with alice's RFC 3820 proxy; `testbed` reaches the same Rucio as the same account,
yet each instance lists only its own stagings. Skipped without the testbed unless
DATALAKE_REQUIRE_TESTBED=1."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyterlab_datalake.core.config import parse_config
from jupyterlab_datalake.core.service import DatalakeService
from jupyterlab_datalake.errors import DatalakeError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
CONFIG = ROOT / ".testbed" / "jupyter_server_config.json"
# test_quota_testbed stages it in CHEAP-ANALYSIS too, then expires that rule: the reaper may still
# be deleting those copies when this test stages it again (the shim asks Rucio again meanwhile).
DID = "demo:lofar-obs-sb000"
RULE_OK_WITHIN = 90.0


@pytest.fixture
def section() -> dict[str, Any]:
    """The testbed's extension configuration, with its two instances."""
    reason = None
    if not CONFIG.exists():
        reason = f"no testbed ({CONFIG} is missing; run make testbed-up)"
    else:
        section = json.loads(CONFIG.read_text())["DatalakeApp"]
        names = [i["name"] for i in section["instances"]]
        if names != ["testbed", "testbed-x509"]:
            reason = f"the testbed config has instances {names}: run make testbed-up again"
        else:
            try:
                httpx.get(f"{section['instances'][0]['rucio_url']}/ping", timeout=3)
            except httpx.HTTPError:
                reason = "the testbed Rucio does not answer /ping"
    if reason:
        if os.environ.get("DATALAKE_REQUIRE_TESTBED") == "1":
            pytest.fail(f"DATALAKE_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    return section


@pytest.fixture
def x509(section: dict[str, Any]) -> dict[str, Any]:
    return section["instances"][1]


@pytest.fixture
async def lake(section: dict[str, Any]):
    svc = DatalakeService.from_settings(section)
    yield svc
    await svc.close()


def only(instance: dict[str, Any], **changes: Any) -> DatalakeService:
    return DatalakeService(parse_config([{**instance, **changes}], None))


async def test_the_proxy_logs_in_to_the_tls_endpoint_as_alice(lake, x509):
    assert x509["rucio_url"].startswith("https://")
    whoami = await lake.whoami(instance="testbed-x509")
    assert whoami["account"] == "alice" and whoami["auth_type"] == "x509_proxy"
    assert whoami["token_auto_renew"] is True and whoami["token_source"] is None
    # Rucio issued the token for the proxy: about an hour, renewed by the shim before then.
    left = time.mktime(time.strptime(whoami["token_expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert left - time.mktime(time.gmtime()) > 600
    scopes = (await lake.scopes(instance="testbed-x509"))["scopes"]
    assert "demo" in scopes and "user.alice" in scopes


async def test_the_proxy_named_by_x509_user_proxy(x509, monkeypatch):
    monkeypatch.setenv("X509_USER_PROXY", x509["auth"]["proxy"])
    svc = only(x509, auth={"type": "x509_proxy", "account": "alice"})
    try:
        assert (await svc.whoami())["account"] == "alice"
    finally:
        await svc.close()


async def test_a_missing_proxy_says_what_to_do(x509, tmp_path):
    svc = only(
        x509, auth={"type": "x509_proxy", "proxy": str(tmp_path / "x509up"), "account": "alice"}
    )
    try:
        with pytest.raises(DatalakeError) as info:
            await svc.whoami()
        assert info.value.status == 502 and "does not exist" in info.value.message
        assert "voms-proxy-init" in info.value.message
    finally:
        await svc.close()


def self_signed(path: Path) -> None:
    """A certificate with alice's subject that the testbed CA never signed."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/C=XX/O=jupyterlab-datalake testbed/OU=Users/CN=alice",
         "-keyout", str(path), "-out", str(path.with_suffix(".crt"))],
        check=True, capture_output=True,
    )  # fmt: skip
    path.write_text(path.with_suffix(".crt").read_text() + path.read_text())
    path.chmod(0o600)


async def test_a_stranger_certificate_is_refused_and_a_renewed_proxy_is_picked_up(x509, tmp_path):
    proxy = tmp_path / "x509up"
    self_signed(proxy)
    svc = only(x509, auth={"type": "x509_proxy", "proxy": str(proxy), "account": "alice"})
    try:
        with pytest.raises(DatalakeError) as info:
            await svc.whoami()
        assert info.value.status == 502 and "TLS handshake" in info.value.message
        assert "voms-proxy-info" in info.value.message
        # voms-proxy-init writes a new proxy in place: the next call presents it.
        shutil.copy(x509["auth"]["proxy"], proxy)
        os.utime(proxy, (time.time() + 2, time.time() + 2))
        assert (await svc.whoami())["account"] == "alice"
    finally:
        await svc.close()


async def wait_ok(svc: DatalakeService, rule_id: str, instance: str) -> dict[str, Any]:
    deadline = time.monotonic() + RULE_OK_WITHIN
    while True:
        staging = await svc.get_staging(rule_id, instance=instance)
        if staging["state"] == "OK":
            return staging
        assert staging["state"] in ("REPLICATING", "INJECT"), staging
        assert time.monotonic() < deadline, f"rule not OK within {RULE_OK_WITHIN} s: {staging}"
        await asyncio.sleep(2)


async def test_stagings_of_one_instance_never_show_under_the_other(lake, section):
    staged = await lake.stage([DID], qos="CHEAP-ANALYSIS", lifetime=3600, instance="testbed-x509")
    (staging,) = staged["stagings"]
    try:
        assert staging["instance"] == "testbed-x509"
        ok = await wait_ok(lake, staging["id"], "testbed-x509")
        paths = [e async for e in lake.paths(DID, qos="CHEAP-ANALYSIS", instance="testbed-x509")]
        assert len(paths) == ok["files_total"] == 4
        assert all(Path(e["path"]).is_file() and e["rse"] == "HUB-CHEAP" for e in paths)

        def ids(listing: dict[str, Any]) -> set[str]:
            return {s["id"] for s in listing["stagings"]}

        assert staging["id"] in ids(await lake.list_stagings(instance="testbed-x509"))
        assert staging["id"] not in ids(await lake.list_stagings(instance="testbed"))
        with pytest.raises(DatalakeError) as info:
            await lake.get_staging(staging["id"], instance="testbed")
        assert info.value.reason == "NOT_A_STAGING" and "'testbed-x509'" in info.value.message
        # A restarted server (nothing in memory) tells them apart from Rucio alone.
        restarted = DatalakeService.from_settings(section)
        try:
            assert staging["id"] not in ids(await restarted.list_stagings(instance="testbed"))
            assert staging["id"] in ids(await restarted.list_stagings(instance="testbed-x509"))
        finally:
            await restarted.close()
    finally:
        if staged["created"]:
            await lake.release(staging["id"], instance="testbed-x509")
