#!/bin/bash
# The server side of the trust core (src/tls/) against real clients:
# openssl s_client and trustnet check talk to tests/tools/tls_test_server.
# Proves: old protocols and weak suites are refused with a logged reason,
# SNI picks the certificate, client certificates are verified (mutual TLS)
# and every connection gets one log line with its verdict.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
SERVER="$TOOLS/tls_test_server"

# An enterprise CA and an outsider CA, made with plain openssl.
make_ca() { # DIR CN
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -keyout "$1/ca.key" -out "$1/ca.pem" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
make_leaf() { # CADIR NAME OUT [EKU]
    local eku=${4:-serverAuth,clientAuth}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$3.key" \
        -out "$3.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
        "$2" "$eku" >"$3.ext"
    openssl x509 -req -in "$3.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
        -days 10 -extfile "$3.ext" -out "$3.pem" 2>/dev/null
}
make_ca corp "Corp Enterprise CA"
make_ca evil "Evil CA"
make_leaf corp a.corp.test a
make_leaf corp b.corp.test b
make_leaf corp alice.corp.test alice clientAuth
make_leaf evil mallory.corp.test mallory clientAuth
make_leaf corp web.corp.test web serverAuth

start_server() { # ARGS...
    PORT=$(free_port)
    start_bg server "$SERVER" "$PORT" "$@"
    wait_port 127.0.0.1 "$PORT"
}
server_log() { cat "$TMP/server.log"; }

# --- policy: old protocols and weak suites never get through -------------
start_server --cert a.pem --key a.key
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
    </dev/null >"$LAST_OUT" 2>&1
if grep -q "Cipher is (NONE)\|alert protocol version\|no protocols available" "$LAST_OUT"; then
    ok "s_client -tls1_1 is refused"
else
    not_ok "s_client -tls1_1 is refused"
fi
openssl s_client -connect "127.0.0.1:$PORT" -no_tls1_3 -cipher 'AES128-SHA' \
    </dev/null >"$LAST_OUT" 2>&1
expect_grep "Cipher is \(NONE\)|handshake failure" "$LAST_OUT" \
    "s_client offering only a non-forward-secret suite is refused"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA' \
    </dev/null >"$LAST_OUT" 2>&1
expect_grep "Cipher is \(NONE\)|handshake failure" "$LAST_OUT" \
    "s_client offering only a CBC (non-AEAD) ECDHE suite is refused"
openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -servername a.corp.test \
    </dev/null >"$LAST_OUT" 2>&1
expect_grep "Protocol *: TLSv1.2" "$LAST_OUT" "TLS 1.2 still works"
expect_grep "Cipher *: ECDHE-ECDSA-AES128-GCM-SHA256" "$LAST_OUT" \
    "TLS 1.2 gets the server's preferred ECDHE-AEAD suite"
sleep 0.2
expect_grep "peer=127.0.0.1:[0-9]+ tls=- .*verdict=refused: peer offered only TLS 1.1" \
    "$TMP/server.log" "log line names the refused TLS 1.1 client"
expect_grep "verdict=refused: no cipher suite in common" "$TMP/server.log" \
    "log line names the missing forward-secret suite"
expect_grep "tls=TLSv1.2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 group=x25519 cert=none" \
    "$TMP/server.log" "log line for an accepted connection: version, cipher, group"
stop_last_bg

# --- SNI picks the certificate --------------------------------------------
start_server --cert a.pem --key a.key --cert b.pem --key b.key
expect_exit 0 "SNI b.corp.test gets the b.corp.test certificate" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name b.corp.test "127.0.0.1:$PORT"
expect_exit 0 "SNI a.corp.test gets the default certificate" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name a.corp.test "127.0.0.1:$PORT"
openssl s_client -connect "127.0.0.1:$PORT" -noservername </dev/null >"$LAST_OUT" 2>&1
expect_grep "subject=CN ?= ?a.corp.test" "$LAST_OUT" "no SNI gets the default certificate"
stop_last_bg

# --- mutual TLS: client certificates are verified -------------------------
start_server --cert a.pem --key a.key --ca corp/ca.pem --client-auth required
expect_exit 0 "client with an enterprise client certificate is accepted" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name a.corp.test --cert alice.pem --key alice.key \
    "127.0.0.1:$PORT"
expect_exit 1 "client with an outsider CA's certificate is refused" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name a.corp.test --cert mallory.pem \
    --key mallory.key "127.0.0.1:$PORT"
expect_grep "verdict: refused: peer refused us" "$LAST_OUT" \
    "the refused client is told by an alert"
expect_exit 1 "client without a certificate is refused" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name a.corp.test "127.0.0.1:$PORT"
expect_exit 1 "a serverAuth-only certificate cannot act as a client" -- \
    "$TRUSTNET" check --ca corp/ca.pem --name a.corp.test --cert web.pem --key web.key \
    "127.0.0.1:$PORT"
sleep 0.2
expect_grep 'cert="CN=alice.corp.test" \[DNS:alice.corp.test\] verdict=trusted' \
    "$TMP/server.log" "log line: trusted client certificate with its identity"
expect_grep 'cert="CN=mallory.corp.test".*verdict=refused: issuer not trusted: CN=Evil CA' \
    "$TMP/server.log" "log line: refused client certificate with the reason"
expect_grep 'verdict=refused: no client certificate presented \(mutual TLS required\)' \
    "$TMP/server.log" "log line: missing client certificate"
expect_grep 'cert="CN=web.corp.test".*verdict=refused: missing extended key usage clientAuth' \
    "$TMP/server.log" "log line: serverAuth-only certificate refused as a client"
stop_last_bg
