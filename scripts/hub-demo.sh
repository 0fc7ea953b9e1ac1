#!/usr/bin/env bash
# `make hub-demo`, the operator's preview: the testbed plus JupyterHub on 127.0.0.1:${HUB_PORT:-8000},
# users alice and bob (passwords in .testbed/hub-users.json), each with JupyterLab and the extension
# set up by the hub's spawner environment. Ctrl-C stops the hub, its proxy and the single-user servers,
# and the testbed too if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${HUB_PORT:-8000}

started_testbed=0
curl -sf "http://127.0.0.1:${TESTBED_PORT:-8480}/ping" >/dev/null || started_testbed=1
bash testbed/up.sh
stop_testbed() {
  if [ "$started_testbed" = 1 ]; then echo "Stopping the testbed..."; bash testbed/down.sh; fi
}
trap stop_testbed EXIT

# Print the URL once the hub answers (the hub's own log goes to a file).
announce() {
  for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$PORT/hub/health" >/dev/null 2>&1; then
      printf '\n  JupyterHub on the testbed is ready:  http://127.0.0.1:%s/\n' "$PORT"
      printf '  Log in as alice or bob; their passwords are in .testbed/hub-users.json (mode 0600).\n'
      printf '  Hub log: .testbed/log/hub.log    Ctrl-C stops the hub and its servers.\n\n'
      return
    fi
    sleep 0.5
  done
  echo "JupyterHub did not start: see .testbed/log/hub.log" >&2
}
announce &

# In the foreground, so that Ctrl-C reaches the hub, which stops its proxy and servers.
if ! HUB_PORT=$PORT bash testbed/hub/run.sh >> .testbed/log/hub.log 2>&1; then
  echo "JupyterHub stopped with an error; the end of .testbed/log/hub.log:" >&2
  tail -n 5 .testbed/log/hub.log >&2
  exit 1
fi
