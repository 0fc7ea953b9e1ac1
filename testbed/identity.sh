# The testbed's identity services, sourced by up.sh after lib.sh (functions only, nothing runs):
# the testbed CA (pki.sh), the OIDC issuer (oidc_issuer.py), the identities Rucio maps
# (seed_identities.py) and the TLS-serving X.509 Rucio endpoint (x509_wsgi.py).
# Env: TESTBED_OIDC_PORT (default 8484), TESTBED_X509_PORT (default 8481),
#      TESTBED_TOKEN_LIFETIME (seconds, default 600).

TESTBED_OIDC_PORT="${TESTBED_OIDC_PORT:-8484}"
TESTBED_X509_PORT="${TESTBED_X509_PORT:-8481}"
TOKEN_LIFETIME="${TESTBED_TOKEN_LIFETIME:-600}"
# genconfig.py (Rucio's [oidc] section) and the issuer read these.
export TESTBED_OIDC_PORT TESTBED_X509_PORT
OIDC_URL="https://127.0.0.1:$TESTBED_OIDC_PORT"
X509_URL="https://127.0.0.1:$TESTBED_X509_PORT"
CA_CERT="$TESTBED_DIR/pki/ca.pem"

# https_ok URL: the URL answers over TLS with a certificate from the testbed CA.
https_ok() {
    if command -v curl >/dev/null; then
        curl -fsS --max-time 2 --cacert "$CA_CERT" "$1" >/dev/null 2>&1
    else
        "$VENV/bin/python" -c 'import ssl, sys, urllib.request as u
u.urlopen(sys.argv[1], timeout=2, context=ssl.create_default_context(cafile=sys.argv[2]))' \
            "$1" "$CA_CERT" >/dev/null 2>&1
    fi
}

# ensure_pki: the CA, the server certificate, alice's certificate and a fresh proxy.
ensure_pki() {
    bash "$TESTBED_SRC/pki.sh" "$TESTBED_DIR"
}

# trust_testbed_ca: Rucio's processes (pyoidc through requests) trust the issuer's certificate.
trust_testbed_ca() {
    export REQUESTS_CA_BUNDLE="$CA_CERT"
}

# wait_https NAME URL: up to 30 s for the process recorded as NAME to answer on URL.
wait_https() {
    local _
    for _ in $(seq 1 120); do
        https_ok "$2" && return 0
        pid_alive "$RUN/$1.pid" || break
        sleep 0.25
    done
    echo "testbed: $1 did not come up on $2, see $LOG/$1.log" >&2
    return 1
}

# start_issuer: reuse a running issuer unless its token lifetime differs from the one asked for.
start_issuer() {
    local discovery="$OIDC_URL/.well-known/openid-configuration"
    if cmdline_has "$RUN/oidc.pid" oidc_issuer.py && https_ok "$discovery" \
        && [ "$(cat "$RUN/oidc.lifetime" 2>/dev/null)" = "$TOKEN_LIFETIME" ]; then
        return 0
    fi
    stop_pid oidc
    if https_ok "$discovery"; then
        echo "testbed: something else answers on $OIDC_URL; set TESTBED_OIDC_PORT" >&2
        return 1
    fi
    TESTBED_TOKEN_LIFETIME="$TOKEN_LIFETIME" setsid "$VENV/bin/python" \
        "$TESTBED_SRC/oidc_issuer.py" "$TESTBED_DIR" "$TESTBED_OIDC_PORT" \
        </dev/null >>"$LOG/oidc.log" 2>&1 9>&- &
    echo $! >"$RUN/oidc.pid"
    echo "$TOKEN_LIFETIME" >"$RUN/oidc.lifetime"
    wait_https oidc "$discovery"
}

# seed_identities: bob, and the OIDC/X509 identities, whenever the issuer URL or the DN changed.
seed_identities() {
    local dn stamp
    dn="$(openssl x509 -in "$TESTBED_DIR/x509/alice.pem" -noout -subject -nameopt compat)"
    dn="${dn#subject=}"
    stamp="$OIDC_URL $dn"
    [ "$(cat "$VAR/identities" 2>/dev/null)" = "$stamp" ] && return 0
    "$VENV/bin/python" "$TESTBED_SRC/seed_identities.py" "$OIDC_URL" "$dn" \
        >"$LOG/identities.log" 2>&1 \
        || { echo "testbed: adding identities failed, see $LOG/identities.log" >&2; return 1; }
    echo "$stamp" >"$VAR/identities"
}

# start_x509_server: the same Rucio server code and DB behind TLS client certificates.
start_x509_server() {
    if cmdline_has "$RUN/x509.pid" x509_wsgi && https_ok "$X509_URL/ping"; then
        return 0
    fi
    stop_pid x509
    if https_ok "$X509_URL/ping"; then
        echo "testbed: something else answers on $X509_URL; set TESTBED_X509_PORT" >&2
        return 1
    fi
    # cert_reqs 1 = CERT_OPTIONAL: a client without a certificate gets a TLS connection
    # (and Rucio's 401), a client with a certificate the CA did not sign gets none.
    setsid "$VENV/bin/gunicorn" --config "$TESTBED_SRC/x509_gunicorn.py" \
        --bind "127.0.0.1:$TESTBED_X509_PORT" --workers 1 --threads 2 --timeout 300 \
        --no-control-socket \
        --certfile "$TESTBED_DIR/pki/server.pem" --keyfile "$TESTBED_DIR/pki/server-key.pem" \
        --ca-certs "$CA_CERT" --cert-reqs 1 \
        --error-logfile "$LOG/x509.log" --access-logfile "$LOG/x509-access.log" \
        x509_wsgi:application \
        </dev/null >>"$LOG/x509.log" 2>&1 9>&- &
    echo $! >"$RUN/x509.pid"
    wait_https x509 "$X509_URL/ping"
}
