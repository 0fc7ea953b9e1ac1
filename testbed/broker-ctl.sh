#!/usr/bin/env bash
# Stop or start only the testbed's broker, to see how Rucio and the extension live without it:
# `broker-ctl.sh stop|start|status`. hermes keeps undelivered messages in Rucio's DB and sends
# them once the broker is back; durable subscriptions and their messages survive a restart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY="$VENV/bin/python"
# The port the testbed was configured with, whatever this shell's TESTBED_STOMP_PORT says.
if [ -e "$ETC/broker/events.json" ]; then
    TESTBED_STOMP_PORT=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["port"])' \
        "$ETC/broker/events.json")
fi
source "$TESTBED_SRC/broker.sh"

case "${1:-}" in
stop)
    lock_testbed
    stop_pid broker
    ;;
start)
    lock_testbed
    [ -e "$BROKER_ETC/events.json" ] || { echo "events are off in this testbed; run testbed/up.sh" >&2; exit 1; }
    broker_start
    broker_wait
    broker_summary
    [ -z "$BROKER_OFF" ]
    ;;
status)
    if broker_alive && stomp_listening; then
        echo "broker: listening on 127.0.0.1:$TESTBED_STOMP_PORT (pid $(cat "$RUN/broker.pid"))"
    else
        echo "broker: not running"
        exit 1
    fi
    ;;
*)
    echo "usage: $0 stop|start|status" >&2
    exit 2
    ;;
esac
