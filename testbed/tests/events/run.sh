#!/usr/bin/env bash
# The testbed's own tests (testbed/tests/events), run with the testbed venv's Python (the Rucio client,
# and stomp.py as hermes uses it) against the running testbed. `run.sh [JUNIT_XML]`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../lib.sh"
export TESTBED_DIR
# pytest is the only test tool the Rucio side needs; added once to the testbed venv.
"$VENV/bin/python" -c 'import pytest' 2>/dev/null || "$VENV/bin/pip" install --quiet 'pytest>=8'
cd "$TESTBED_SRC/tests/events"
# xunit1: keeps the measured delivery latency (record_property) in the XML.
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider -o junit_family=xunit1 ${1:+"--junitxml=$1"}
