#!/usr/bin/env bash
# Refresh the README's images in docs/images/: run the browser tests with SCREENSHOTS=1.
# Assumes `make setup` and `make testbed-up` (what `make screenshots` depends on).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
cd ui-tests
PATH=$ROOT/.venv/bin:$PATH CI=1 SCREENSHOTS=1 npx playwright test --reporter=line "$@"
ls -l "$ROOT"/docs/images/*.png
