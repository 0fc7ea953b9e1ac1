# Shared settings for the testbed scripts (sourced, not executed).
# Paths are resolved from this file's location so the scripts work from any cwd.

TESTBED_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TESTBED_SRC/.." && pwd)"
TESTBED_DIR="${TESTBED_DIR:-$REPO_ROOT/.testbed}"
mkdir -p "$TESTBED_DIR"
TESTBED_DIR="$(cd "$TESTBED_DIR" && pwd)"
TESTBED_PORT="${TESTBED_PORT:-8480}"
TESTBED_URL="http://127.0.0.1:$TESTBED_PORT"

# TESTBED_VENV lets an isolated testbed (own TESTBED_DIR) reuse an existing venv.
VENV="${TESTBED_VENV:-$TESTBED_DIR/venv}"
RUCIO_PIN="rucio==41.5.1"
GUNICORN_PIN="gunicorn==27.0.1"
ETC="$TESTBED_DIR/etc"
VAR="$TESTBED_DIR/var"
LOG="$TESTBED_DIR/log"
RUN="$TESTBED_DIR/run"
SERVER_CFG="$ETC/server.cfg"

# Server-side processes read server.cfg; the policy package and the copy tool live in testbed/.
server_env() {
    export RUCIO_CONFIG="$SERVER_CFG"
    export PYTHONPATH="$TESTBED_SRC${PYTHONPATH:+:$PYTHONPATH}"
    unset RUCIO_CLIENT_MODE POLICY RUCIO_POLICY_PACKAGE
}

# pid_alive FILE: true when FILE names a running process.
pid_alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pid NAME: stop the process group recorded in $RUN/NAME.pid (started with setsid).
stop_pid() {
    local pidfile="$RUN/$1.pid" pid i
    if pid_alive "$pidfile"; then
        pid="$(cat "$pidfile")"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "stopped $1 (pid $pid)"
    fi
    rm -f "$pidfile"
}

# lock_testbed: serialise up/down/reset on this TESTBED_DIR (e.g. `make demo` and `make test`
# started together must not both bootstrap and seed). Background children must not inherit
# fd 9, or they would hold the lock for their whole life: start them with `9>&-`.
lock_testbed() {
    # Outside run/ so that reset.sh, which deletes run/, keeps the file others may wait on.
    exec 9>"$TESTBED_DIR/.lock"
    if ! flock -w 600 9; then
        echo "testbed: another up/down/reset holds $TESTBED_DIR/.lock" >&2
        exit 1
    fi
}
