"""The running testbed, as `make testbed-up` recorded it in `.testbed/env`, and one JupyterHub on
it for every hub test.

Skipped without a testbed, unless DATALAKE_REQUIRE_TESTBED=1 (scripts/test.sh), which turns a
missing testbed into a failure.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import HubProcess

REPO = Path(__file__).resolve().parents[3]
# The hub tests run with the issuer's tokens this short (seconds), so that the hub renews them,
# and the shim asks for new ones, many times within the tests.
HUB_TOKEN_LIFETIME = 60


@dataclass(frozen=True)
class LocalTestbed:
    dir: Path
    rucio_url: str
    oidc_url: str
    x509_url: str
    ca_cert: Path
    x509_proxy: Path

    def tls(self, client_cert: Path | None = None) -> ssl.SSLContext:
        """Trusts the testbed CA; presents `client_cert` (a PEM with certificate and key)."""
        context = ssl.create_default_context(cafile=self.ca_cert)
        if client_cert is not None:
            context.load_cert_chain(client_cert)
        return context

    def hub_client_secret(self) -> str:
        return json.loads((self.dir / "oidc" / "clients.json").read_text())["jupyterhub"]

    def issue_token(self, user: str, **extra: str) -> httpx.Response:
        """Ask the issuer's token endpoint for `user`'s token, as the hub does."""
        return httpx.post(
            f"{self.oidc_url}/token",
            data={"grant_type": "client_credentials", "username": user, **extra},
            auth=("jupyterhub", self.hub_client_secret()),
            verify=self.tls(),
            timeout=10,
        )

    def whoami(self, token: str) -> httpx.Response:
        """Rucio's whoami with a token, following its redirect to /accounts/<account>."""
        return httpx.get(
            f"{self.rucio_url}/accounts/whoami",
            headers={"X-Rucio-Auth-Token": token},
            follow_redirects=True,
            timeout=30,
        )


def _read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="session")
def testbed() -> LocalTestbed:
    env_file = Path(os.environ.get("TESTBED_DIR") or REPO / ".testbed") / "env"
    reason = None
    if not env_file.exists() or "TESTBED_OIDC_URL" not in _read_env(env_file):
        reason = f"no testbed with identity services ({env_file}; run make testbed-up)"
    else:
        env = _read_env(env_file)
        try:
            httpx.get(f"{env['TESTBED_URL']}/ping", timeout=3).raise_for_status()
        except httpx.HTTPError:
            reason = f"the testbed Rucio at {env['TESTBED_URL']} does not answer /ping"
    if reason:
        if os.environ.get("DATALAKE_REQUIRE_TESTBED") == "1":
            pytest.fail(f"DATALAKE_REQUIRE_TESTBED=1 but {reason}")
        pytest.skip(reason)
    return LocalTestbed(
        dir=Path(env["TESTBED_DIR"]),
        rucio_url=env["TESTBED_URL"],
        oidc_url=env["TESTBED_OIDC_URL"],
        x509_url=env["TESTBED_X509_URL"],
        ca_cert=Path(env["TESTBED_CA_CERT"]),
        x509_proxy=Path(env["TESTBED_X509_PROXY"]),
    )


def set_token_lifetime(lifetime: int | str | None) -> None:
    """Restart the testbed issuer with another token lifetime (None: the environment's)."""
    env = dict(os.environ)
    env.pop("TESTBED_TOKEN_LIFETIME", None)
    if lifetime is not None:
        env["TESTBED_TOKEN_LIFETIME"] = str(lifetime)
    subprocess.run(
        ["bash", str(REPO / "testbed" / "up.sh")], env=env, check=True, capture_output=True
    )


def token_lifetime(testbed: LocalTestbed) -> int:
    """The running issuer's token lifetime (seconds)."""
    return int((testbed.dir / "run" / "oidc.lifetime").read_text())


@pytest.fixture(scope="session")
def hub(testbed: LocalTestbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """One hub for every hub test. scripts/test.sh starts it once, with 60 s tokens, for these
    tests and the browser tests (TESTBED_HUB=running, its log in TESTBED_HUB_LOG); run alone,
    the tests start their own with 60 s tokens and give the issuer its lifetime back after."""
    port = int(os.environ.get("HUB_PORT", "8000"))
    if os.environ.get("TESTBED_HUB") == "running":
        log_path = Path(os.environ["TESTBED_HUB_LOG"])
        process = HubProcess(port, log_path, testbed.dir, external=True)
        process.start()
        yield process
        return
    set_token_lifetime(HUB_TOKEN_LIFETIME)
    log_path = tmp_path_factory.mktemp("hub") / "hub.log"
    process = HubProcess(port, log_path, testbed.dir)
    try:
        with process:
            yield process
        assert process.server_pids() == [], "single-user servers outlived the hub"
    finally:
        set_token_lifetime(os.environ.get("TESTBED_TOKEN_LIFETIME"))


@pytest.fixture(scope="session")
def alice(hub: HubProcess) -> Iterator[httpx.Client]:
    """alice, logged in through the login form, her server spawned and opened (its OAuth done);
    her server is stopped afterwards, so that a browser test spawns it again."""
    session = hub.login("alice")
    hub.spawn(session, "alice")
    hub.open_server(session, "alice")
    yield session
    hub.stop_server(session, "alice")
    session.close()
