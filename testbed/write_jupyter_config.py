"""Write the extension's config for the testbed (`.testbed/jupyter_server_config.json`).

The shape is the one in docs/contract.md. No secret goes in it: instance `testbed` points at the
0600 `rucio.cfg` that holds alice's password, instance `testbed-x509` (the same Rucio through its
TLS endpoint) at alice's 0600 RFC 3820 proxy. Also writes `.testbed/env` (KEY=value lines) for
scripts and tests. Usage: `write_jupyter_config.py TESTBED_DIR PORT`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import broker
import oidc_config

HUB_RSES = ("HUB-FAST", "HUB-CHEAP")
QOS_CLASSES: dict[str, dict[str, str]] = {
    "FAST": {"description": "Low-latency disk next to the hub, for interactive analysis."},
    "CHEAP-ANALYSIS": {"description": "Cheaper disk near the hub, fine for batch analysis."},
    "SAFE": {"description": "Custodial storage, several copies.", "expression": "QOS=SAFE"},
    "OPPORTUNISTIC": {
        "description": "Best-effort space that may vanish.",
        "expression": "QOS=OPPORTUNISTIC",
    },
}


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def jupyter_config(tb: Path, url: str, x509_url: str) -> dict[str, object]:
    instance = {
        "name": "testbed",
        "display_name": "Local testbed",
        "rucio_url": url,
        "auth_url": url,
        "ca_cert": None,
        "vo": None,
        "webui_url": None,
        "auth": {"type": "userpass", "rucio_cfg": str(tb / "rucio.cfg")},
        "site_expression": "site=HUB",
        "mounts": {rse: str(tb / "storage" / rse) for rse in HUB_RSES},
        "qos_classes": QOS_CLASSES,
        "default_lifetime": 86400,
        "max_lifetime": 2592000,
    }
    # The same Rucio and account over TLS, logged in with alice's proxy: a second instance,
    # whose stagings the shim keeps apart from the first one's (it polls: no broker events).
    x509 = {
        **instance,
        "name": "testbed-x509",
        "display_name": "Local testbed (X.509)",
        "rucio_url": x509_url,
        "auth_url": x509_url,
        "ca_cert": str(tb / "pki" / "ca.pem"),
        "auth": {
            "type": "x509_proxy",
            "proxy": str(tb / "x509" / "alice-proxy.pem"),
            "account": "alice",
        },
    }
    events = broker.extension_events(tb)
    if events:
        instance["events"] = events
    return {"DatalakeApp": {"default_instance": "testbed", "instances": [instance, x509]}}


def main() -> None:
    tb = Path(sys.argv[1]).resolve()
    url = f"http://127.0.0.1:{int(sys.argv[2])}"
    x509_url = f"https://127.0.0.1:{os.environ.get('TESTBED_X509_PORT', '8481')}"
    config = tb / "jupyter_server_config.json"
    write_private(config, json.dumps(jupyter_config(tb, url, x509_url), indent=2) + "\n")
    env = {
        "TESTBED_URL": url,
        "TESTBED_DIR": str(tb),
        "TESTBED_RUCIO_CFG": str(tb / "rucio.cfg"),
        "TESTBED_ROOT_CFG": str(tb / "rucio-root.cfg"),
        "TESTBED_STORAGE": str(tb / "storage"),
        # Run by the venv's Python, so its prefix is the venv (TESTBED_VENV may move it).
        "TESTBED_VENV": sys.prefix,
        "TESTBED_ACCOUNT": "alice",
        "DATALAKE_CONFIG": str(config),
        # Identity services (identity.sh exports their ports): the OIDC issuer, the X.509
        # endpoint, the CA both are signed by, alice's RFC 3820 proxy.
        "TESTBED_OIDC_URL": f"https://127.0.0.1:{oidc_config.oidc_port()}",
        "TESTBED_X509_URL": x509_url,
        "TESTBED_CA_CERT": str(tb / "pki" / "ca.pem"),
        "TESTBED_X509_PROXY": str(tb / "x509" / "alice-proxy.pem"),
    }
    write_private(tb / "env", "".join(f"{k}={v}\n" for k, v in env.items()))


if __name__ == "__main__":
    main()
