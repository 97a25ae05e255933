#!/bin/bash
# Outgoing connections of src/net/conn.c against openssl s_server: a
# non-blocking connect, a verified TLS client handshake, and bytes queued
# before the handshake that leave only once the peer is trusted.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
"$TRUSTNET" ca init --dir ca --name "Corp Enterprise CA" >/dev/null &&
    "$TRUSTNET" ca issue --dir ca fe2.corp.test --out fe2 >/dev/null &&
    "$TRUSTNET" ca issue --dir ca fe9.corp.test --out fe9 >/dev/null ||
    { not_ok "set up the enterprise CA"; exit 1; }
TOOL="$TOOLS/tls_connect_tool"

PORT=$(free_port)
start_bg good openssl s_server -accept "127.0.0.1:$PORT" -cert fe2.pem -key fe2.key -www -quiet
wait_port 127.0.0.1 "$PORT"
expect_exit 0 "outgoing connection to the right server gets its answer" -- \
    "$TOOL" 127.0.0.1 "$PORT" fe2.corp.test ca/ca.pem
expect_grep "HTTP/1.0 200" "$LAST_OUT" "the request queued before the handshake was sent"
expect_grep "verdict=trusted: chain to Corp Enterprise CA, valid, DNS:fe2.corp.test" \
    "$LAST_OUT" "the outgoing connection is logged as trusted, with the reason"
stop_last_bg

# An impostor answers where fe2 should be: nothing may reach it.
PORT=$(free_port)
start_bg impostor openssl s_server -accept "127.0.0.1:$PORT" -cert fe9.pem -key fe9.key -quiet
wait_port 127.0.0.1 "$PORT"
expect_exit 1 "outgoing connection to an impostor is refused" -- \
    "$TOOL" 127.0.0.1 "$PORT" fe2.corp.test ca/ca.pem
expect_grep "verdict=refused: name mismatch: wanted fe2.corp.test, certificate names fe9.corp.test" \
    "$LAST_OUT" "the refusal names both names"
sleep 0.3
if grep -q "GET /" "$TMP/impostor.log"; then
    not_ok "no byte of the queued request reached the impostor"
else
    ok "no byte of the queued request reached the impostor"
fi
stop_last_bg

# Opportunistic TLS judges the same certificate but goes on, saying why it
# is not verified; the system roots do not vouch for our enterprise CA.
PORT=$(free_port)
start_bg unverified openssl s_server -accept "127.0.0.1:$PORT" -cert fe9.pem -key fe9.key -www -quiet
wait_port 127.0.0.1 "$PORT"
TN_ADVISORY=1 expect_exit 0 "advisory verification: the impostor is reached over TLS" -- \
    "$TOOL" 127.0.0.1 "$PORT" fe2.corp.test ca/ca.pem
expect_grep "verdict=not verified: name mismatch: wanted fe2.corp.test, certificate names fe9.corp.test" \
    "$LAST_OUT" "advisory verification logs why the peer is not verified"
expect_exit 1 "the system roots do not trust the enterprise CA" -- \
    "$TOOL" 127.0.0.1 "$PORT" fe9.corp.test system
expect_grep "verdict=refused: .*issuer not trusted|verdict=refused: .*unable to get local issuer" \
    "$LAST_OUT" "the refusal against the system roots names the untrusted issuer"
stop_last_bg

PORT=$(free_port)
expect_exit 1 "nothing listening: refused with the reason" -- \
    "$TOOL" 127.0.0.1 "$PORT" fe2.corp.test ca/ca.pem
expect_grep "cannot connect to 127.0.0.1:$PORT \(fe2.corp.test\): Connection refused" \
    "$LAST_OUT" "the log line says the connection was refused"
