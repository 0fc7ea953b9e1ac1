"""JupyterHub on the testbed (`make hub-demo`, the hub tests): how an operator would set it up.

- Public URL `http://127.0.0.1:$HUB_PORT` (default 8000) through configurable-http-proxy (npm,
  pinned in package.json here); the proxy's API on HUB_PORT+1, the hub on HUB_PORT+2, all loopback.
- Users alice and bob (testbed/users.py) log in with the passwords in `.testbed/hub-users.json`;
  the authenticator keeps each user's OIDC access token from the testbed issuer in the encrypted
  auth_state and refreshes it (testbed_authenticator.py).
- Both the `user` and the `server` role hold `admin:auth_state!user`, so a single-user server can
  read its owner's current token with its own API token: `GET $JUPYTERHUB_API_URL/users/<name>`.
- Single-user servers are local processes (`SimpleLocalProcessSpawner`) running the project's
  `.venv` JupyterLab with the extension; their environment carries the site, the mount map and the
  Rucio URL as an operator's would (docs/contract.md), and `DATALAKE_AUTH=hub`, never a token.
State (database, cookie secret, crypt key, proxy pid, home directories) lives in `.testbed/hub/`.
Env: HUB_PORT, TESTBED_DIR, TESTBED_OIDC_PORT, TESTBED_TOKEN_LIFETIME (run.sh sets them).
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from hub_state import ensure_crypt_key, ensure_users_file  # noqa: E402
from testbed_authenticator import TestbedAuthenticator  # noqa: E402
from users import USERS  # noqa: E402

REPO = HERE.parents[1]
TESTBED = Path(os.environ.get("TESTBED_DIR", REPO / ".testbed")).resolve()
STATE = TESTBED / "hub"
HUB_PORT = int(os.environ.get("HUB_PORT", "8000"))
OIDC_PORT = int(os.environ.get("TESTBED_OIDC_PORT", "8484"))
TOKEN_LIFETIME = int(os.environ.get("TESTBED_TOKEN_LIFETIME", "600"))

c = get_config()  # noqa: F821 (JupyterHub defines it when it loads this file)

# --- network: everything on loopback ---------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{HUB_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{HUB_PORT + 1}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT + 2}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")

# --- state --------------------------------------------------------------------------------------
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# auth_state is encrypted with this key (JUPYTERHUB_CRYPT_KEY in a deployment).
c.CryptKeeper.keys = [ensure_crypt_key(STATE / "crypt-key")]

# --- who may log in, and their tokens --------------------------------------------------------
ensure_users_file(TESTBED / "hub-users.json", USERS)
c.JupyterHub.authenticator_class = TestbedAuthenticator
c.TestbedAuthenticator.users_file = str(TESTBED / "hub-users.json")
c.TestbedAuthenticator.token_url = f"https://127.0.0.1:{OIDC_PORT}/token"
c.TestbedAuthenticator.clients_file = str(TESTBED / "oidc" / "clients.json")
c.TestbedAuthenticator.ca_cert = str(TESTBED / "pki" / "ca.pem")
c.Authenticator.allowed_users = set(USERS)
c.Authenticator.enable_auth_state = True
c.Authenticator.refresh_pre_spawn = True
# The authenticator renews a token once half of its lifetime has passed; asking every fifth of it
# means a token handed out has at least 30 % of its lifetime left.
c.Authenticator.auth_refresh_age = max(1, min(300, TOKEN_LIFETIME // 5))

# The owner's own auth_state, for the browser session and for the single-user server's token.
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "admin:auth_state!user"]},
    {
        "name": "server",
        "scopes": ["users:activity!user", "access:servers!server", "admin:auth_state!user"],
    },
]

# --- single-user servers ---------------------------------------------------------------------
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(REPO / ".venv" / "bin" / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []
c.Spawner.default_url = "/lab"
# A first spawn on a busy 2-core machine takes 15-20 s.
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def testbed_instance() -> dict:
    """The testbed's own instance as `make testbed-up` wrote it (Rucio URL, site, mounts)."""
    section = json.loads((TESTBED / "jupyter_server_config.json").read_text())["DatalakeApp"]
    return next(i for i in section["instances"] if i["name"] == section["default_instance"])


instance = testbed_instance()
# What an operator sets for the single-user servers (docs/contract.md, docs/deploy/).
c.Spawner.environment = {
    "DATALAKE_INSTANCE": "testbed",
    "DATALAKE_DISPLAY_NAME": "Local testbed",
    "DATALAKE_RUCIO_URL": instance["rucio_url"],
    "DATALAKE_AUTH_URL": instance["auth_url"],
    "DATALAKE_SITE": instance["site_expression"].removeprefix("site="),
    "DATALAKE_MOUNTS": json.dumps(instance["mounts"]),
    "DATALAKE_QOS_CLASSES": "FAST,CHEAP-ANALYSIS",
    "DATALAKE_ACCOUNT": lambda spawner: spawner.user.name,
    # The shim takes the user's current OIDC token from the hub's auth_state.
    "DATALAKE_AUTH": "hub",
}
