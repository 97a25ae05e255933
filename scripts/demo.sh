#!/bin/bash
# demo.sh - what `make run` does until the servers exist: a demo enterprise
# CA and server certificates under demo/ (git-ignored, made once), their
# facts as a partner would see them, and a live check of one of them
# against a local openssl s_server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
TN=build/trustnet
DEMO=demo
CA=$DEMO/ca
PORT=${DEMO_PORT:-15061}

if [ ! -f "$CA/ca.pem" ]; then
    echo "== creating the demo enterprise CA in $CA"
    "$TN" ca init --dir "$CA" --name "Corp Demo Enterprise CA" --org "Corp Demo" \
        --crl-url "http://127.0.0.1:8080/corp-demo.crl"
fi
for name in fe1.corp.test fe2.corp.test edge.corp.test mail.corp.test; do
    if [ ! -f "$DEMO/$name.pem" ]; then
        echo "== issuing $name"
        "$TN" ca issue --dir "$CA" "$name" --san URI:sip:corp.test --out "$DEMO/$name"
    fi
done
"$TN" ca crl --dir "$CA" >/dev/null

echo
echo "== certificate facts of fe1.corp.test (trustnet cert info)"
"$TN" cert info "$DEMO/fe1.corp.test.pem"
echo
echo "== issued by the demo CA (trustnet ca list)"
"$TN" ca list --dir "$CA"

echo
echo "== checking fe1.corp.test served by openssl s_server on 127.0.0.1:$PORT"
openssl s_server -accept "127.0.0.1:$PORT" -cert "$DEMO/fe1.corp.test.pem" \
    -key "$DEMO/fe1.corp.test.key" -www -quiet >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
echo "-- as a peer server checks it: by its FQDN"
"$TN" check --ca "$CA/ca.pem" --crl "$CA/crl.pem" --name fe1.corp.test "127.0.0.1:$PORT"
echo
echo "-- as a SIP client checks it: by the SIP domain (RFC 5922 URI:sip: SAN)"
"$TN" check --ca "$CA/ca.pem" --crl "$CA/crl.pem" --sip --name corp.test \
    "127.0.0.1:$PORT" | tail -2
echo
echo "-- and for a name it does not carry (refused, as it must be)"
"$TN" check --ca "$CA/ca.pem" --crl "$CA/crl.pem" --name fe9.corp.test \
    "127.0.0.1:$PORT" | tail -1 || true
echo
echo "Demo files are in $DEMO/.  The SIP and mail servers arrive with the next"
echo "issues; then 'make run' starts the network itself."
