#!/usr/bin/env bash
# `make test`: lint, Jest, pytest (unit + integration against the real testbed), the testbed's own tests (OIDC
# issuer, X.509 endpoint, broker events: testbed/tests) and the hub tests (pytest and Playwright through one
# JupyterHub, with 60 s tokens, including 3 minutes of panel and magic calls), and Playwright in Debian's
# Chromium against a real JupyterLab. Starts the testbed itself (and stops it again if it started it).
# Every stage runs even when an earlier one failed; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=$ROOT/test-results
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
export PATH=$ROOT/.venv/bin:$PATH
log() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

log "Set-up"
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

: > "$RESULTS/checks.txt"   # one line per lint check: "<name> <pass|fail>"
check() {
  local name=$1; shift
  if "$@"; then echo "$name pass" >> "$RESULTS/checks.txt"; else echo "$name fail" >> "$RESULTS/checks.txt"; fi
}

log "Lint"
check eslint+prettier npm run --silent lint:check
check ruff-check ruff check .
check ruff-format ruff format --check .

log "Wheel (what users install)"
check wheel bash scripts/check_wheel.sh

log "Jest"
npx jest --ci --json --outputFile="$RESULTS/jest.json" 2>&1 | tail -n 40

log "Testbed"
started_testbed=0
curl -sf "http://127.0.0.1:${TESTBED_PORT:-8480}/ping" >/dev/null || started_testbed=1
bash testbed/up.sh || echo "testbed fail" >> "$RESULTS/checks.txt"
stop_testbed() { [ "$started_testbed" = 1 ] && bash testbed/down.sh >/dev/null 2>&1; }
trap stop_testbed EXIT

log "Testbed tests (Rucio events through the real broker, bulk data)"
bash testbed/tests/events/run.sh "$RESULTS/testbed-events.xml" 2>&1 | tail -n 30

log "pytest (unit + integration)"
(cd python-shim && DATALAKE_REQUIRE_TESTBED=1 python -m pytest -q -p no:cacheprovider \
  --junitxml="$RESULTS/pytest.xml" 2>&1 | tail -n 40)

log "Testbed and hub tests: one JupyterHub, tokens of 60 s (OIDC issuer, X.509 endpoint, the shim through the hub, a 3-minute soak, Playwright through the hub)"
export HUB_PORT=${HUB_PORT:-8000}
TESTBED_TOKEN_LIFETIME=60 bash testbed/up.sh >/dev/null || echo "hub-setup fail" >> "$RESULTS/checks.txt"
HUB_LOG=$RESULTS/hub.log
bash testbed/hub/run.sh > "$HUB_LOG" 2>&1 &
hub_pid=$!
stop_hub() {
  [ -n "${hub_pid:-}" ] || return 0
  # JupyterHub stops its proxy and the single-user servers on SIGTERM.
  kill -TERM "$hub_pid" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$hub_pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$hub_pid" 2>/dev/null
  wait "$hub_pid" 2>/dev/null
  hub_pid=
}
trap 'stop_hub; stop_testbed' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$HUB_PORT/hub/health" >/dev/null && break; sleep 0.5; done
(TESTBED_HUB=running TESTBED_HUB_LOG="$HUB_LOG" DATALAKE_REQUIRE_TESTBED=1 python -m pytest -q \
  testbed/tests/identity --junitxml="$RESULTS/testbed-identity.xml" 2>&1 | tail -n 30)
(cd ui-tests && CI=1 PLAYWRIGHT_JSON_OUTPUT_NAME="$RESULTS/playwright-hub.json" \
  npx playwright test --config playwright.hub.config.js --reporter=list,json 2>&1 | tail -n 30)
stop_hub
bash testbed/up.sh >/dev/null  # the issuer's usual token lifetime again

log "Playwright (Chromium) UI tests"
(cd ui-tests && CI=1 PLAYWRIGHT_JSON_OUTPUT_NAME="$RESULTS/playwright.json" \
  npx playwright test --reporter=list,json 2>&1 | tail -n 60) \
  || { echo "--- jupyter server log (tail)"; tail -n 40 ui-tests/jupyter-server.log 2>/dev/null; }

python3 scripts/summarize_tests.py "$RESULTS"
