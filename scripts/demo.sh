#!/usr/bin/env bash
# Start the local Rucio testbed and JupyterLab with the extension configured for it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${DEMO_PORT:-8888}

bash testbed/up.sh
trap 'echo; echo "Stopping the testbed..."; bash testbed/down.sh' EXIT

token=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
mkdir -p .testbed/demo-notebooks .testbed/log

# Print the URL once JupyterLab answers (JupyterLab's own log goes to a file).
announce() {
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$PORT/api/status?token=$token" >/dev/null 2>&1; then
      printf '\n  JupyterLab with jupyterlab-datalake is ready:\n'
      printf '      http://127.0.0.1:%s/lab?token=%s\n' "$PORT" "$token"
      printf '  Open the "Data lake" panel in the left side bar; you are alice @ testbed.\n'
      printf '  JupyterLab log: .testbed/log/jupyterlab.log    Ctrl-C stops JupyterLab and the testbed.\n\n'
      return
    fi
    sleep 0.5
  done
  echo "JupyterLab did not start: see .testbed/log/jupyterlab.log" >&2
}
announce &

# In the foreground, so that Ctrl-C reaches it; answer_yes: no "Shutdown this server?" prompt.
# The testbed wrote the extension's configuration (instance "testbed", site HUB, mounts, alice's rucio.cfg).
.venv/bin/jupyter lab --no-browser --ip 127.0.0.1 --port "$PORT" --allow-root --ServerApp.answer_yes=True \
  --config "$ROOT/.testbed/jupyter_server_config.json" \
  --IdentityProvider.token="$token" --ServerApp.root_dir="$ROOT/.testbed/demo-notebooks" \
  2>> .testbed/log/jupyterlab.log
