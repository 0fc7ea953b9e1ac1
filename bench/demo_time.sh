#!/usr/bin/env bash
# Time to the first click: `make demo` in a fresh clone (package caches warm, no virtualenv, no
# node_modules, no testbed), until it prints the URL (JupyterLab answers and the panel's shim reaches
# Rucio as alice); then Ctrl-C and a second `make demo` in the same clone. Not part of `make bench`
# (it takes minutes and needs the demo and testbed ports free).
# Usage: bench/demo_time.sh [REF]   (REF: the commit to clone, default HEAD; DEMO_PORT, TESTBED_PORT,
# TESTBED_STOMP_PORT as for make demo).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:-HEAD}
work=$(mktemp -d)
clone=$work/clone
git clone -q "$src" "$clone"
git -C "$clone" checkout -q "$(git -C "$src" rev-parse "$ref")"

# demo RUN: milliseconds from `make demo` to its "is ready" line; then stops it.
demo() {
    local log=$work/demo-$1.log t0 pid
    t0=$(date +%s%N)
    # A session of its own, so one signal reaches make, JupyterLab and the scripts. SIGTERM, not
    # SIGINT: a background job of a script ignores SIGINT. demo.sh's EXIT trap stops the testbed.
    setsid bash -c "echo \$\$ >'$work/pid'; cd '$clone' && exec make demo" </dev/null >"$log" 2>&1 &
    until [ -s "$work/pid" ]; do sleep 0.05; done
    pid=$(cat "$work/pid")
    rm "$work/pid"
    until grep -qs "is ready" "$log"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "make demo ($1) stopped before it was ready; see $log" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "$1 run: $((($(date +%s%N) - t0) / 1000000)) ms to a usable panel (log: $log)"
    kill -TERM -- "-$pid"
    # Until demo.sh's trap has stopped the testbed too (its processes leave the group last).
    while pgrep -g "$pid" >/dev/null; do sleep 0.2; done
}

echo "clone of $(git -C "$clone" rev-parse --short HEAD) in $clone; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
demo first
demo second
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); remove $work when done"
