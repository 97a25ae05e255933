#!/bin/bash
# CRLs are read once and reloaded when their file changes: a running
# listener refuses a client certificate revoked after it started, without
# a restart, and a broken CRL file never replaces a good one.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
"$TRUSTNET" ca init --dir ca --name "Corp Enterprise CA" --org Corp >/dev/null &&
    "$TRUSTNET" ca issue --dir ca srv.corp.test --out srv >/dev/null &&
    "$TRUSTNET" ca issue --dir ca alice.corp.test --client --out alice >/dev/null ||
    { not_ok "set up the enterprise CA"; exit 1; }

PORT=$(free_port)
start_bg server "$TOOLS/tls_test_server" "$PORT" --cert srv.pem --key srv.key \
    --ca ca/ca.pem --crl ca/crl.pem --client-auth required
wait_port 127.0.0.1 "$PORT"

check_alice() {
    "$TRUSTNET" check --ca ca/ca.pem --name srv.corp.test \
        --cert alice.pem --key alice.key "127.0.0.1:$PORT"
}

expect_exit 0 "alice's client certificate is accepted before revocation" -- check_alice
"$TRUSTNET" ca revoke --dir ca alice.pem >/dev/null
expect_exit 1 "alice is refused after revocation, without a server restart" -- check_alice
sleep 0.2
expect_grep "trust store reloaded" "$TMP/server.log" "the server logged the reload"
expect_grep 'cert="CN=alice.corp.test".*verdict=refused: certificate revoked \(serial 0x[0-9A-F]+, CRL of Corp Enterprise CA\)' \
    "$TMP/server.log" "the log line names the revoked serial and the CRL"

cp ca/crl.pem crl.good
echo "not a CRL" >ca/crl.pem
expect_exit 1 "a broken CRL file does not reopen the door" -- check_alice
sleep 0.2
expect_grep "trust store not reloaded: .*crl.pem: no valid PEM CRL" "$TMP/server.log" \
    "the failed reload is logged with the file and the problem"
cp crl.good ca/crl.pem

# A CRL that has expired means revocation cannot be checked: refused.
"$TRUSTNET" ca issue --dir ca bob.corp.test --client --out bob >/dev/null
openssl ca -gencrl -keyfile ca/ca.key -cert ca/ca.pem -out ca/crl.pem -crlsec 1 \
    -config <(printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s\ndefault_md=sha256\n' \
        "$TMP/ca/index.txt") 2>/dev/null
sleep 2
expect_exit 1 "an out-of-date CRL refuses every client" -- \
    "$TRUSTNET" check --ca ca/ca.pem --name srv.corp.test --cert bob.pem --key bob.key \
    "127.0.0.1:$PORT"
sleep 0.2
expect_grep 'cert="CN=bob.corp.test".*verdict=refused: CRL of Corp Enterprise CA is out of date' \
    "$TMP/server.log" "the log line says the CRL is out of date"
