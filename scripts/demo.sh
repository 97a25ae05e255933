#!/bin/bash
# demo.sh - what `make run` does: a demo enterprise CA and certificates
# under demo/ (git-ignored, made once), a demo topology with one front end
# on 127.0.0.1:5061 and two users, and that front end in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
TN=build/trustnet
DEMO=demo
CA=$DEMO/ca
STORE=$DEMO/state/trustnet.sqlite
LISTEN=${DEMO_LISTEN:-127.0.0.1:5061}

if [ ! -f "$CA/ca.pem" ]; then
    echo "== creating the demo enterprise CA in $CA"
    "$TN" ca init --dir "$CA" --name "Corp Demo Enterprise CA" --org "Corp Demo"
fi
if [ ! -f "$DEMO/fe1.corp.test.pem" ]; then
    echo "== issuing the front end's certificate"
    "$TN" ca issue --dir "$CA" fe1.corp.test --san URI:sip:corp.test --san IP:127.0.0.1 \
        --out "$DEMO/fe1.corp.test"
fi
"$TN" ca crl --dir "$CA" >/dev/null

cat >"$DEMO/topology.yaml" <<YAML
# The demo organisation: one site, one pool, one front end, two users.
version: 1
organisation: Corp Demo
sip:
  domains: [corp.test]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: state/trustnet.sqlite
sites:
  - name: demo
    pools:
      - fqdn: pool1.corp.test
        servers:
          - fqdn: fe1.corp.test
            roles: [frontend]
            sip_listen: $LISTEN
            certificate: fe1.corp.test.pem
            key: fe1.corp.test.key
users:
  - address: alice@corp.test
    pool: pool1.corp.test
  - address: bob@corp.test
    pool: pool1.corp.test
YAML
mkdir -p "$DEMO/state"
for user in alice bob; do
    if ! "$TN" user list --store "$STORE" 2>/dev/null | grep -q "^$user@corp.test"; then
        printf '%s-demo-password\n' "$user" |
            "$TN" user add --store "$STORE" "$user@corp.test" >/dev/null
    fi
done

"$TN" topology check "$DEMO/topology.yaml"
echo
echo "== the front end's certificate, as a partner sees it"
"$TN" cert info "$DEMO/fe1.corp.test.pem" | head -8
cat <<TEXT

== starting fe1.corp.test on $LISTEN (TLS only; Ctrl-C stops it)

Register a SIP client over TLS to $LISTEN (domain corp.test):
  users alice@corp.test / alice-demo-password, bob@corp.test / bob-demo-password
  trust the demo CA: $CA/ca.pem
Check the server as a client would, from another terminal:
  $TN check --sip --name corp.test --ca $CA/ca.pem --crl $CA/crl.pem $LISTEN

TEXT
exec "$TN" serve --topology "$DEMO/topology.yaml" --server fe1.corp.test
