#!/usr/bin/env bash
# JupyterHub on the testbed, in the foreground: Ctrl-C or SIGTERM stops the hub, its proxy and the
# single-user servers it started. Needs the testbed up (make testbed-up). Used by `make hub-demo`,
# the hub tests (harness.py) and browser tests (e.g. as Playwright's webServer command).
# Env: HUB_PORT (default 8000; the proxy API uses HUB_PORT+1, the hub HUB_PORT+2), the testbed's
# TESTBED_DIR, TESTBED_PORT, TESTBED_OIDC_PORT, TESTBED_TOKEN_LIFETIME.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$TESTBED_SRC/identity.sh"
# The running issuer's token lifetime: the hub derives how often it refreshes tokens from it.
TESTBED_TOKEN_LIFETIME="$(cat "$RUN/oidc.lifetime" 2>/dev/null || echo "$TOKEN_LIFETIME")"
export HUB_PORT="${HUB_PORT:-8000}" TESTBED_DIR TESTBED_PORT TESTBED_TOKEN_LIFETIME

if ! https_ok "$OIDC_URL/.well-known/openid-configuration" || [ ! -s "$TESTBED_DIR/jupyter_server_config.json" ]; then
    echo "hub: the testbed is not up (no OIDC issuer on $OIDC_URL): run make testbed-up" >&2
    exit 1
fi
for bin in "$REPO_ROOT/.venv/bin/jupyterhub" "$TESTBED_SRC/hub/node_modules/.bin/configurable-http-proxy"; do
    [ -x "$bin" ] || { echo "hub: $bin is missing: run bash scripts/setup.sh" >&2; exit 1; }
done
mkdir -p -m 700 "$TESTBED_DIR/hub"
cd "$TESTBED_DIR/hub"
exec "$REPO_ROOT/.venv/bin/jupyterhub" -f "$TESTBED_SRC/hub/jupyterhub_config.py"
