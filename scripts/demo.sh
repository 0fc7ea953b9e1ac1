#!/usr/bin/env bash
# `make demo`: set up, start the local Rucio testbed and JupyterLab with the extension configured for it;
# Ctrl-C stops both. The testbed starts (first run: its virtualenv, DB and demo data) while the Jupyter
# side is installed and built, so a first run waits for the slower of the two, not for both.
# Env: DEMO_PORT (default 8888), the testbed's TESTBED_* variables.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${DEMO_PORT:-8888}
TB=${TESTBED_DIR:-$ROOT/.testbed}
mkdir -p "$TB/log" "$TB/demo-notebooks"
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0)) s"; }

# The testbed's lines carry a prefix, so the two streams of progress stay readable side by side.
(bash testbed/up.sh 2>&1 | sed -u 's/^/[testbed] /') &
testbed_job=$!
trap 'kill "$testbed_job" 2>/dev/null || true; echo; echo "Stopping the testbed..."; bash testbed/down.sh' EXIT

WITH_UI=0 WITH_HUB=0 bash scripts/setup.sh
echo "Jupyter side ready after $(elapsed); waiting for the testbed..."
wait "$testbed_job" || { echo "The testbed did not start: see $TB/log/" >&2; exit 1; }

# One token, kept 0600 with the testbed, so the URL stays the same from run to run.
token_file=$TB/demo-token
if [ ! -s "$token_file" ]; then
  (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_hex(24))' >"$token_file")
fi
chmod 600 "$token_file"
token=$(cat "$token_file")
url="http://127.0.0.1:$PORT/lab?token=$token"

# Print the URL once the panel can work: JupyterLab answers and the shim reaches Rucio as alice.
announce() {
  for _ in $(seq 1 480); do
    if curl -sf "http://127.0.0.1:$PORT/datalake/whoami?token=$token" >/dev/null 2>&1; then
      printf '\n  JupyterLab with jupyterlab-datalake is ready (%s after make demo):\n' "$(elapsed)"
      printf '      %s\n' "$url"
      printf '  Open the "Data lake" panel in the left side bar; you are alice @ testbed.\n'
      printf '  JupyterLab log: %s/log/jupyterlab.log    Ctrl-C stops JupyterLab and the testbed.\n\n' "$TB"
      return
    fi
    sleep 0.5
  done
  echo "JupyterLab did not start: see $TB/log/jupyterlab.log" >&2
}
announce &

# In the foreground, so that Ctrl-C reaches it; answer_yes: no "Shutdown this server?" prompt.
# The testbed wrote the extension's configuration (instance "testbed", site HUB, mounts, alice's rucio.cfg).
.venv/bin/jupyter lab --no-browser --ip 127.0.0.1 --port "$PORT" --allow-root --ServerApp.answer_yes=True \
  --config "$TB/jupyter_server_config.json" \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$TB/demo-notebooks" \
  2>>"$TB/log/jupyterlab.log"
