#!/usr/bin/env bash
# Start the local Rucio testbed (idempotent): venv, config, DB, API server, seed, daemons.
# Env: TESTBED_PORT (default 8480), TESTBED_DIR (default <repo>/.testbed),
# TESTBED_STOMP_PORT (default 61613), TESTBED_EVENTS=0 (no broker); identity.sh lists more.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/identity.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# since_ms T0: seconds elapsed since T0 (ms), one decimal.
since_ms() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }
t_start=$(now_ms)

# curl if present (fast); a bare CI image may not have it, the venv's Python always works.
if command -v curl >/dev/null; then
    ping_ok() { curl -fsS --max-time 2 "$TESTBED_URL/ping" >/dev/null 2>&1; }
else
    ping_ok() {
        "$VENV/bin/python" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' \
            "$TESTBED_URL/ping" >/dev/null 2>&1
    }
fi

# cmdline_has FILE PATTERN: the recorded pid is alive and really is our process
# (a stale pid file may name an unrelated process after a reboot).
cmdline_has() {
    pid_alive "$1" && tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -q -- "$2"
}

# The demo data's version: a testbed seeded by another version of seed.py/bulk.py is started
# afresh, since the tests (and the README's tour) assume this version's data.
SEED_VERSION="seed $(cat "$TESTBED_SRC/seed.py" "$TESTBED_SRC/bulk.py" | sha256sum | cut -c1-16)"
if [ -e "$VAR/seeded" ] && ! grep -qxF "$SEED_VERSION" "$VAR/seeded"; then
    echo "testbed: its demo data is from another version of testbed/seed.py: starting afresh"
    bash "$TESTBED_SRC/reset.sh"
fi

mkdir -p "$ETC" "$VAR" "$LOG" "$RUN" "$TESTBED_DIR/storage"
lock_testbed

# 1. Virtualenv (its own: the server pins libraries that clash with Jupyter).
if ! "$VENV/bin/python" -c 'import rucio, gunicorn' >/dev/null 2>&1; then
    echo "testbed: creating $VENV (pip install $RUCIO_PIN $GUNICORN_PIN)"
    python3 -m venv "$VENV" \
        || { echo "testbed: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$VENV/bin/pip" install --quiet "$RUCIO_PIN" "$GUNICORN_PIN" >"$LOG/pip.log" 2>&1 \
        || { echo "testbed: pip install failed, see $LOG/pip.log" >&2; exit 1; }
fi
PY="$VENV/bin/python"

# 1b. Message broker for Rucio's events (broker.sh): started now, it listens a few seconds later.
source "$TESTBED_SRC/broker.sh"
broker_start

# 2. Configuration (keeps existing passwords; rewrites paths and port).
"$PY" "$TESTBED_SRC/genconfig.py" "$TESTBED_DIR" "$TESTBED_PORT"
server_env
trust_testbed_ca

# 2b. The testbed CA and the OIDC issuer whose tokens Rucio validates (identity.sh).
ensure_pki
start_issuer

# 3. Database: bootstrap schema, VO and root on first run.
if [ ! -s "$VAR/rucio.db" ]; then
    echo "testbed: bootstrapping $VAR/rucio.db"
    rm -f "$VAR/seeded"
    "$PY" "$VENV/rucio/tools/bootstrap.py" >"$LOG/bootstrap.log" 2>&1 \
        || { echo "testbed: bootstrap failed, see $LOG/bootstrap.log" >&2; exit 1; }
    # WAL lets the API server read while the daemon loop writes (persistent per DB file).
    "$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("pragma journal_mode=WAL")' \
        "$VAR/rucio.db"
fi

# 4. API server: one gunicorn worker (SQLite: a single writer process), a few threads.
if cmdline_has "$RUN/server.pid" gunicorn && ping_ok; then
    server_started=0
else
    stop_pid server
    if ping_ok; then
        echo "testbed: something else answers on $TESTBED_URL; set TESTBED_PORT" >&2
        exit 1
    fi
    # No control socket: its default path is per user, shared by every testbed.
    setsid "$VENV/bin/gunicorn" \
        --bind "127.0.0.1:$TESTBED_PORT" --workers 1 --threads 4 --timeout 300 \
        --no-control-socket \
        --error-logfile "$LOG/server.log" --access-logfile "$LOG/access.log" \
        'rucio.web.rest.flaskapi.v1.main:application' \
        </dev/null >>"$LOG/server.log" 2>&1 9>&- &
    echo $! >"$RUN/server.pid"
    server_started=1
    for _ in $(seq 1 120); do
        ping_ok && break
        pid_alive "$RUN/server.pid" || break
        sleep 0.25
    done
    ping_ok || { echo "testbed: server did not come up, see $LOG/server.log" >&2; exit 1; }
fi

# 5. Seed accounts, RSEs and demo data once.
if [ ! -e "$VAR/seeded" ]; then
    echo "testbed: seeding (accounts, RSEs, demo data, 100k-file dataset)"
    t_seed=$(now_ms)
    "$PY" "$TESTBED_SRC/seed.py" "$TESTBED_DIR" 2>&1 | tee "$LOG/seed.log" | grep '^seed:' || true
    if ! grep -q '^seed: done' "$LOG/seed.log"; then
        echo "testbed: seeding failed, see $LOG/seed.log; run testbed/reset.sh and retry" >&2
        exit 1
    fi
    printf '%s\nseeded in %s s\n' "$SEED_VERSION" "$(since_ms "$t_seed")" >"$VAR/seeded"
fi

# 6. Extension config (with the broker as `events` once it listens) and env file for scripts.
broker_wait
"$PY" "$TESTBED_SRC/write_jupyter_config.py" "$TESTBED_DIR" "$TESTBED_PORT"

# 6b. bob, the OIDC and X.509 identities, and the TLS-serving X.509 endpoint (identity.sh).
seed_identities
start_x509_server

# 7. Daemon loop (judge, conveyor with the local copy tool, reaper).
if ! cmdline_has "$RUN/daemons.pid" daemons.py; then
    stop_pid daemons
    rm -f "$RUN/daemons.pause" # a test that died while holding the loop back
    TESTBED_PAUSE_FILE="$RUN/daemons.pause" setsid "$PY" "$TESTBED_SRC/daemons.py" </dev/null >>"$LOG/daemons.log" 2>&1 9>&- &
    echo $! >"$RUN/daemons.pid"
fi

# 8. On a fresh start, prove the client config works the way users will use it.
if [ "$server_started" = 1 ]; then
    RUCIO_CLIENT_MODE=1 RUCIO_CONFIG="$TESTBED_DIR/rucio.cfg" "$VENV/bin/rucio" whoami \
        >"$LOG/whoami.log" 2>&1 \
        || { echo "testbed: 'rucio whoami' as alice failed, see $LOG/whoami.log" >&2; exit 1; }
fi

echo "testbed: up in $(since_ms "$t_start") s: $TESTBED_URL (account alice, client config $TESTBED_DIR/rucio.cfg)"
echo "testbed: extension config $TESTBED_DIR/jupyter_server_config.json; logs in $LOG"
echo "testbed: OIDC issuer $OIDC_URL, X.509 endpoint $X509_URL (CA $CA_CERT)"
broker_summary
