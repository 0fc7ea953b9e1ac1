#!/usr/bin/env bash
# Start the local Rucio testbed and JupyterLab with the extension configured for it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${DEMO_PORT:-8888}

bash testbed/up.sh
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping JupyterLab and the testbed..."
  [ -n "${lab_pid:-}" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  bash testbed/down.sh
}
trap stop INT TERM EXIT

token=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
mkdir -p .testbed/demo-notebooks
# The testbed wrote the extension's configuration (instance "testbed", site HUB, mounts, alice's rucio.cfg).
.venv/bin/jupyter lab --no-browser --ip 127.0.0.1 --port "$PORT" --allow-root \
  --config "$ROOT/.testbed/jupyter_server_config.json" \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$ROOT/.testbed/demo-notebooks" \
  > .testbed/log/jupyterlab.log 2>&1 &
lab_pid=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/api/status?token=$token" >/dev/null && break
  kill -0 "$lab_pid" 2>/dev/null || { tail -n 30 .testbed/log/jupyterlab.log; exit 1; }
  sleep 0.5
done
cat <<MSG

  JupyterLab with jupyterlab-datalake is ready:
      http://127.0.0.1:$PORT/lab?token=$token
  Open the "Data lake" panel in the left side bar; you are alice @ testbed.
  JupyterLab log: .testbed/log/jupyterlab.log      Press Ctrl-C to stop JupyterLab and the testbed.

MSG
wait "$lab_pid"
