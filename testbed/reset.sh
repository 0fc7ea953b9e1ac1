#!/usr/bin/env bash
# Stop the testbed and delete its state (DB, storage, configs, logs, token caches).
# Keeps the venv, so the next `up.sh` only re-bootstraps and re-seeds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$TESTBED_SRC/down.sh"
rm -rf "$VAR" "$TESTBED_DIR/storage" "$ETC" "$LOG" "$RUN"
rm -f "$TESTBED_DIR/rucio.cfg" "$TESTBED_DIR/rucio-root.cfg" \
    "$TESTBED_DIR/jupyter_server_config.json" "$TESTBED_DIR/env"
# Rucio clients cache tokens per user in the temp dir; old tokens name a dead DB's identities.
rm -rf "${TMPDIR:-/tmp}"/.rucio_*
echo "testbed: reset $TESTBED_DIR (venv kept)"
