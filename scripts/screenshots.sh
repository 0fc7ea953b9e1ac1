#!/usr/bin/env bash
# Refresh the README's images in docs/images/: run the browser tests with SCREENSHOTS=1.
# Assumes `make setup` and `make testbed-up` (what `make screenshots` depends on).
# Fails if an image the README shows was not written by this run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
stamp=$(mktemp)
# The testbed copies a file in well under a second: slow its transfers (not the product) so
# the picture of a staging in flight shows one (testbed/localcopy.py reads this file).
pace="${TESTBED_DIR:-$ROOT/.testbed}/run/copy-pace"
echo 3 > "$pace"
trap 'rm -f "$stamp" "$pace"' EXIT
cd ui-tests
PATH=$ROOT/.venv/bin:$PATH CI=1 SCREENSHOTS=1 npx playwright test --reporter=line "$@"
cd "$ROOT"
stale=0
for image in $(grep -o 'docs/images/[A-Za-z0-9_.-]*\.png' README.md | sort -u); do
  if [ ! "$image" -nt "$stamp" ]; then
    echo "not refreshed by this run: $image" >&2
    stale=1
  fi
done
ls -l docs/images/*.png
exit "$stale"
