#!/usr/bin/env bash
# Acceptance check of the running testbed (see check.py); `up.sh` first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
unset RUCIO_CONFIG
exec "$VENV/bin/python" "$TESTBED_SRC/check.py" "$TESTBED_DIR"
