"""JupyterLab for the browser tests: galata's test settings plus the testbed's extension config.

Never use this configuration in production: it disables authentication for the galata helpers.
"""

import json
import os
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
configure_jupyter_server(c)
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("UI_TESTS_PORT", "8899"))
c.ServerApp.allow_root = True

# The testbed wrote the extension's configuration: instance "testbed" (site HUB, mounts, alice's
# rucio.cfg) and "testbed-x509" (the same Rucio over TLS, alice's proxy).
testbed = Path(os.environ.get("TESTBED_DIR", Path(__file__).resolve().parent.parent / ".testbed"))
extension_config = json.loads((testbed / "jupyter_server_config.json").read_text())
for trait, value in extension_config["DatalakeApp"].items():
    setattr(c.DatalakeApp, trait, value)

# The browser tests put a TCP forwarder they control between the shim and the "testbed"
# instance's Rucio, so that a test can "stop Rucio" (close the forwarder) without touching the
# shared testbed. Set by playwright.config.js.
proxy = os.environ.get("UI_TESTS_RUCIO_PROXY")
if proxy:
    c.DatalakeApp.instances = [
        {**instance, "rucio_url": proxy, "auth_url": proxy}
        if instance["name"] == "testbed"
        else instance
        for instance in c.DatalakeApp.instances
    ]
