"""The running testbed, as `make testbed-up` recorded it in `.testbed/env`.

Skipped without a testbed, unless DATALAKE_REQUIRE_TESTBED=1 (scripts/test.sh), which turns a
missing testbed into a failure.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]


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
