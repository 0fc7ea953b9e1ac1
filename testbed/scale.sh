#!/usr/bin/env bash
# Create demo:scale-1m (10 datasets x 100,000 catalogue-only files) in the running testbed's DB,
# for the 1M-file benchmarks; idempotent (see scale.py). Extra arguments go to scale.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ ! -e "$VAR/seeded" ]; then
    echo "testbed: not seeded yet; run testbed/up.sh first" >&2
    exit 1
fi
server_env
exec "$VENV/bin/python" "$TESTBED_SRC/scale.py" "$TESTBED_DIR" "$@"
