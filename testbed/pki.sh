#!/usr/bin/env bash
# The testbed's own certificate authority, made with openssl on first start (idempotent):
#   pki/ca.pem                       CA certificate (what clients and Rucio trust)
#   pki/ca-key.pem                   CA key (0600)
#   pki/server.pem, server-key.pem   TLS certificate for 127.0.0.1/localhost: the OIDC issuer and the
#                                    X.509 Rucio endpoint (key 0600)
#   x509/alice.pem, alice-key.pem    alice's user certificate (key 0600)
#   x509/alice-proxy.pem             an RFC 3820 proxy of alice's certificate, as grid tools write it:
#                                    proxy certificate, proxy key, alice's certificate (0600); renewed
#                                    when less than an hour is left
# Usage: pki.sh TESTBED_DIR. Prints nothing when everything is already there.
set -euo pipefail

TB=$1
PKI=$TB/pki
X509=$TB/x509
# The DN Rucio maps to alice (legacy /-separated form, as Rucio identities are usually written).
ALICE_SUBJ="/C=XX/O=jupyterlab-datalake testbed/OU=Users/CN=alice"
umask 077
mkdir -p "$PKI" "$X509"
# Certificates are public; every key is 0600, and alice's credentials stay in a private directory.
chmod 755 "$PKI"
chmod 700 "$X509"

ext=$(mktemp)
trap 'rm -f "$ext" "$PKI"/*.csr "$X509"/*.csr' EXIT
cat >"$ext" <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid

[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid

[proxy]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
# RFC 3820: a proxy that inherits all of its issuer's rights.
proxyCertInfo = critical, language:id-ppl-inheritAll
EOF

# issue NAME SUBJECT DAYS SECTION CA_CERT CA_KEY DIR: key + certificate signed by CA.
issue() {
    local name=$1 subj=$2 days=$3 section=$4 ca=$5 cakey=$6 dir=$7
    openssl req -new -newkey rsa:2048 -nodes -subj "$subj" \
        -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$ca" -CAkey "$cakey" -days "$days" \
        -set_serial "0x$(openssl rand -hex 8)" -extfile "$ext" -extensions "$section" \
        -out "$dir/$name.pem" 2>/dev/null
    chmod 600 "$dir/$name-key.pem"
}

if [ ! -s "$PKI/ca.pem" ] || [ ! -s "$PKI/ca-key.pem" ]; then
    echo "testbed: creating the testbed CA in $PKI"
    rm -f "$PKI"/*.pem "$X509"/*.pem
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/C=XX/O=jupyterlab-datalake testbed/CN=jupyterlab-datalake testbed CA" \
        -keyout "$PKI/ca-key.pem" -out "$PKI/ca.pem" -extensions ca -config "$ext" 2>/dev/null
    chmod 600 "$PKI/ca-key.pem"
    chmod 644 "$PKI/ca.pem"
fi

if [ ! -s "$PKI/server.pem" ]; then
    issue server "/C=XX/O=jupyterlab-datalake testbed/CN=127.0.0.1" 825 server \
        "$PKI/ca.pem" "$PKI/ca-key.pem" "$PKI"
fi

if [ ! -s "$X509/alice.pem" ]; then
    issue alice "$ALICE_SUBJ" 365 user "$PKI/ca.pem" "$PKI/ca-key.pem" "$X509"
    rm -f "$X509/alice-proxy.pem"
fi

# A proxy is short-lived by design: renew it when it has less than an hour left.
if [ ! -s "$X509/alice-proxy.pem" ] \
    || ! openssl x509 -in "$X509/alice-proxy.pem" -noout -checkend 3600 >/dev/null 2>&1; then
    # RFC 3820 proxy subject: the issuer's subject plus one CN, here a random number.
    serial=$(( $(od -An -N4 -tu4 /dev/urandom) ))
    issue proxy "$ALICE_SUBJ/CN=$serial" 1 proxy "$X509/alice.pem" "$X509/alice-key.pem" "$X509"
    cat "$X509/proxy.pem" "$X509/proxy-key.pem" "$X509/alice.pem" >"$X509/alice-proxy.pem.tmp"
    chmod 600 "$X509/alice-proxy.pem.tmp"
    mv "$X509/alice-proxy.pem.tmp" "$X509/alice-proxy.pem"
    rm -f "$X509/proxy.pem" "$X509/proxy-key.pem"
fi
