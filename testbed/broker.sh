# The testbed's ActiveMQ broker (Rucio events over STOMP); sourced by up.sh after lib.sh.
# broker_start writes its config (broker.py) and starts it in the background early, so the JVM
# warms up while the API server starts and the DB is seeded; broker_wait waits for its port.
# Events are off (no `events` key, hermes not run, the extension polls) when TESTBED_EVENTS=0,
# when Java or Debian's activemq package is missing, or when the broker does not come up.
#
# Java is started directly, not through /usr/bin/activemq: Debian's wrapper reads
# /usr/share/activemq/activemq-options, which forces ACTIVEMQ_BASE=/var/lib/activemq, -Xmx512M and
# a switch to the `activemq` user, who cannot lock a data directory under .testbed.

ACTIVEMQ_HOME="${ACTIVEMQ_HOME:-/usr/share/activemq}"
TESTBED_STOMP_PORT="${TESTBED_STOMP_PORT:-61613}"
BROKER_ETC="$ETC/broker"
BROKER_OFF=""     # why events are off ("" = on)
BROKER_WAITED=""  # how long up.sh had to wait for it, when it was not listening yet

broker_ms() { echo $(($(date +%s%N) / 1000000)); }

# broker_missing: a sentence saying why the broker cannot run here, or nothing.
broker_missing() {
    if [ "${TESTBED_EVENTS:-1}" = 0 ]; then
        echo "TESTBED_EVENTS=0"
    elif ! command -v java >/dev/null; then
        echo "no Java; apt-get install activemq (brings OpenJDK) to get them"
    elif [ ! -f "$ACTIVEMQ_HOME/bin/activemq.jar" ]; then
        echo "Debian's activemq is not installed; apt-get install activemq to get them"
    fi
}

stomp_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$TESTBED_STOMP_PORT") 2>/dev/null; }

broker_alive() {
    pid_alive "$RUN/broker.pid" \
        && tr '\0' ' ' <"/proc/$(cat "$RUN/broker.pid")/cmdline" 2>/dev/null | grep -q "$BROKER_ETC/activemq.xml"
}

# broker_turn_off REASON: events off: server.cfg rewritten without hermes, and a daemon loop
# running with hermes stopped (up.sh starts it again).
broker_turn_off() {
    BROKER_OFF="$1"
    stop_pid broker
    if [ -e "$BROKER_ETC/events.json" ]; then
        "$PY" "$TESTBED_SRC/broker.py" "$TESTBED_DIR" off
        "$PY" "$TESTBED_SRC/genconfig.py" "$TESTBED_DIR" "$TESTBED_PORT"
        stop_pid daemons
    fi
}

broker_start() {
    local why
    why="$(broker_missing)"
    if [ -n "$why" ]; then
        broker_turn_off "$why"
        return 0
    fi
    if [ ! -e "$BROKER_ETC/events.json" ]; then
        # Events were off: a daemon loop already running has no hermes step.
        stop_pid daemons
    fi
    "$PY" "$TESTBED_SRC/broker.py" "$TESTBED_DIR" "$TESTBED_STOMP_PORT"
    if broker_alive && stomp_listening; then
        return 0
    fi
    stop_pid broker
    if stomp_listening; then
        broker_turn_off "something else listens on 127.0.0.1:$TESTBED_STOMP_PORT; set TESTBED_STOMP_PORT"
        return 0
    fi
    mkdir -p "$VAR/broker/tmp"
    # C1 JIT only and the serial GC: it starts sooner on 2 cores and needs no more for a testbed.
    setsid java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dactivemq.classpath="$BROKER_ETC" \
        -Dactivemq.home="$ACTIVEMQ_HOME" -Dactivemq.base="$VAR/broker" \
        -Dactivemq.conf="$BROKER_ETC" -Dactivemq.data="$VAR/broker" \
        -Djava.io.tmpdir="$VAR/broker/tmp" \
        -jar "$ACTIVEMQ_HOME/bin/activemq.jar" start "xbean:file:$BROKER_ETC/activemq.xml" \
        </dev/null >>"$LOG/broker.log" 2>&1 9>&- &
    echo $! >"$RUN/broker.pid"
}

# broker_wait: until the STOMP port answers (bounded); on failure, events off.
broker_wait() {
    [ -z "$BROKER_OFF" ] || return 0
    local i t0
    t0=$(broker_ms)
    for i in $(seq 1 480); do
        if stomp_listening; then
            if [ "$i" -gt 1 ]; then
                local d=$(($(broker_ms) - t0))
                BROKER_WAITED=" (waited $((d / 1000)).$((d % 1000 / 100)) s for it to listen)"
            fi
            return 0
        fi
        broker_alive || break
        sleep 0.25
    done
    broker_turn_off "the broker did not start, see $LOG/broker.log"
}

broker_summary() {
    if [ -n "$BROKER_OFF" ]; then
        echo "testbed: events OFF ($BROKER_OFF): Rucio's messages are not delivered, the extension polls"
        return 0
    fi
    echo "testbed: events on: ActiveMQ STOMP on 127.0.0.1:$TESTBED_STOMP_PORT$BROKER_WAITED;" \
        "hermes delivers Rucio's messages to /topic/rucio.events"
}
