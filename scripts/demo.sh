#!/bin/bash
# demo.sh - what `make run` does: a demo enterprise CA and certificates
# under demo/ (git-ignored, made once), a demo topology with one server on
# 127.0.0.1 that is the SIP front end (5061) and the mail relay (2525) for
# two users, and that server in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
TN=build/trustnet
DEMO=demo
CA=$DEMO/ca
STORE=$DEMO/state/trustnet.sqlite
LISTEN=${DEMO_LISTEN:-127.0.0.1:5061}
SMTP_LISTEN=${DEMO_SMTP_LISTEN:-127.0.0.1:2525}
MAILBOX_HOST=${DEMO_MAILBOX_HOST:-127.0.0.1:2526}

if [ ! -f "$CA/ca.pem" ]; then
    echo "== creating the demo enterprise CA in $CA"
    "$TN" ca init --dir "$CA" --name "Corp Demo Enterprise CA" --org "Corp Demo"
fi
if [ ! -f "$DEMO/fe1.corp.test.pem" ]; then
    echo "== issuing the front end's certificate"
    "$TN" ca issue --dir "$CA" fe1.corp.test --san URI:sip:corp.test --san IP:127.0.0.1 \
        --out "$DEMO/fe1.corp.test"
fi
if [ ! -f "$DEMO/alice.pem" ]; then
    echo "== issuing alice's client certificate (she may log in with it instead of a password)"
    "$TN" ca issue --dir "$CA" alice.users.corp.test --client --san URI:sip:alice@corp.test \
        --out "$DEMO/alice"
fi
"$TN" ca crl --dir "$CA" >/dev/null

cat >"$DEMO/topology.yaml" <<YAML
# The demo organisation: one site, one pool, one server (SIP front end and
# mail relay), two users.
version: 1
organisation: Corp Demo
sip:
  domains: [corp.test]
mail:
  domains: [corp.test]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: state/trustnet.sqlite
metrics_dir: state                # trustnet stats reads it
sites:
  - name: demo
    pools:
      - fqdn: pool1.corp.test
        servers:
          - fqdn: fe1.corp.test
            roles: [frontend, mail]
            sip_listen: $LISTEN
            smtp_listen: $SMTP_LISTEN
            spool: state/mail-spool
            certificate: fe1.corp.test.pem
            key: fe1.corp.test.key
users:
  - address: alice@corp.test
    pool: pool1.corp.test
  - address: bob@corp.test
    pool: pool1.corp.test
mail_routes:
  - domain: corp.test           # where the mailboxes live
    host: $MAILBOX_HOST
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

== starting fe1.corp.test: SIP on $LISTEN (TLS only), SMTP on $SMTP_LISTEN (Ctrl-C stops it)

Register a SIP client over TLS to $LISTEN (domain corp.test):
  users alice@corp.test / alice-demo-password, bob@corp.test / bob-demo-password
  trust the demo CA: $CA/ca.pem
  or, for alice, no password: her client certificate $DEMO/alice.pem (key $DEMO/alice.key)
Check the server as a client would, from another terminal:
  $TN check --sip --name corp.test --ca $CA/ca.pem --crl $CA/crl.pem $LISTEN
Send mail with STARTTLS; it goes on to the mailbox host $MAILBOX_HOST
(start one with: /usr/bin/python3 -m aiosmtpd -n -l $MAILBOX_HOST), or
waits in the queue:
  swaks --server $SMTP_LISTEN --to alice@corp.test --tls --tls-verify --tls-ca-path $CA/ca.pem --tls-sni fe1.corp.test
  $TN mailq --topology $DEMO/topology.yaml --server fe1.corp.test
What the server counts (connections, handshakes, requests, mail):
  $TN stats --topology $DEMO/topology.yaml --server fe1.corp.test

TEXT
exec "$TN" serve --topology "$DEMO/topology.yaml" --server fe1.corp.test
