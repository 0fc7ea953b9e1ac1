#!/usr/bin/env bash
# Stop the testbed and delete its state (DB, storage, configs, logs, token caches).
# Keeps the venv, so the next `up.sh` only re-bootstraps and re-seeds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lock_testbed
stop_pid daemons
stop_pid broker
stop_pid server
stop_pid x509
stop_pid oidc
rm -rf "$VAR" "$TESTBED_DIR/storage" "$ETC" "$LOG" "$RUN"
# The CA, certificates and proxy, the issuer's key and client secrets, the hub's state.
rm -rf "$TESTBED_DIR/pki" "$TESTBED_DIR/x509" "$TESTBED_DIR/oidc" "$TESTBED_DIR/hub"
rm -f "$TESTBED_DIR/hub-users.json"
rm -rf "$TESTBED_DIR/tokens"
rm -f "$TESTBED_DIR/rucio.cfg" "$TESTBED_DIR/rucio-root.cfg" \
    "$TESTBED_DIR/jupyter_server_config.json" "$TESTBED_DIR/env"
# Our client configs keep tokens in $TESTBED_DIR/tokens; other clients (no
# auth_token_file_path) cache them per user under the temp dir, where a token from the
# deleted DB would be presented to the new one.
tmp="${TMPDIR:-/tmp}"
rm -rf "$tmp"/.rucio_* "$tmp/$(id -un)"/.rucio_*
echo "testbed: reset $TESTBED_DIR (venv kept)"
