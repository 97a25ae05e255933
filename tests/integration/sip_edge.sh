#!/bin/bash
# The edge's side towards federation partners: a partner's edge connects
# with mutual TLS, its certificate chained to THAT partner's root and
# naming that partner's edge; a request from it for one of our users goes
# on to the user's pool.  A certificate from partner X's CA is never
# accepted as partner Y's edge, our own servers' certificates are not
# trusted on this side, and a partner may only speak for its own domains.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

sip_require_sipp
cd "$TMP" || exit 1
FE1=127.0.0.61
EDGE=127.0.0.62
T="$TRUSTNET"
sip_ca ca "Corp Enterprise CA" fe1.corp.test edge.corp.test &&
    sip_ca partner "Partner CA" && sip_ca other "Other CA" && sip_ca third "Third CA" &&
    "$T" ca issue --dir partner edge.partner.test --out partner-edge >/dev/null &&
    "$T" ca issue --dir partner edge.other.test --out partner-claims-other >/dev/null &&
    "$T" ca issue --dir other edge.partner.test --out other-claims-partner >/dev/null &&
    "$T" ca issue --dir third edge.third.test --out third-edge >/dev/null ||
    { not_ok "set up the CAs"; exit 1; }
{
    sip_topology "Corp Test" test
    sip_topology_pool pool1.corp.test fe1.corp.test frontend $FE1:5061 fe1
    sip_topology_pool edgepool.corp.test edge.corp.test edge $EDGE:5061 edge
    sip_topology_users alice=pool1.corp.test
    echo "federation:"
    sip_topology_partner partner partner.test edge.partner.test 127.0.0.71:5062 partner/ca.pem
    sip_topology_partner other other.test edge.other.test 127.0.0.72:5062 other/ca.pem
} >topology.yaml
SIP_STORE=store.sqlite
sip_user alice alice-pw

sip_serve topology.yaml fe1.corp.test $FE1
sip_serve topology.yaml edge.corp.test $EDGE 5062

# alice registers at fe1 (through a verifying TLS tunnel) and answers.
TUN=$(free_port)
sip_tunnel "$TUN" $FE1:5061 fe1.corp.test "$TMP/ca/ca.pem"
timeout 30 sipp 127.0.0.1:"$TUN" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
    -sf "$SIPP_DIR/callee.xml" -s alice -au alice -ap alice-pw -oocsf "$SIPP_DIR/uas_message.xml" \
    -d 6000 -timeout 15 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/alice.msg" \
    >"$TMP/alice.out" 2>&1 &
ALICE=$!
BG_PIDS+=("$ALICE")
for _ in $(seq 1 50); do grep -q "alice@corp.test: 1 binding" fe1.corp.test.log && break; sleep 0.1; done

msg() { # FROM-DOMAIN
    printf 'MESSAGE sip:alice@corp.test SIP/2.0\\r\\nVia: SIP/2.0/TLS 127.0.0.71:5062;branch=z9hG4bK-p{n}\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:bob@%s>;tag=p{n}\\r\\nTo: <sip:alice@corp.test>\\r\\nCall-ID: p{n}@partner\\r\\nCSeq: 1 MESSAGE\\r\\nContent-Length: 2\\r\\n\\r\\nhi' "$1"
}
partner() { # CERT STEPS...
    local cert=$1
    shift
    python3 "$PEERS/sip_tls_client.py" --host "$EDGE" --port 5062 --ca ca/ca.pem \
        --name edge.corp.test --cert "$cert.pem" --key "$cert.key" "$@"
}

expect_exit 0 "partner's edge: MESSAGE bob@partner.test -> alice@corp.test gets alice's 200" -- \
    partner partner-edge "send:$(msg partner.test)" 'expect:^SIP/2.0 200 '
expect_grep "is the edge edge.partner.test of partner partner" edge.corp.test.log \
    "the edge logs which partner connected"
expect_exit 0 "partner's edge speaking for a domain not its own: 403" -- \
    partner partner-edge "send:$(msg evil.test)" 'expect:^SIP/2.0 403 '
INDIALOG=$(msg evil.test | sed 's/To: <sip:alice@corp.test>/To: <sip:alice@corp.test>;tag=x1/')
expect_exit 0 "partner's edge with an in-dialog request from a domain not its own: 403" -- \
    partner partner-edge "send:$INDIALOG" 'expect:^SIP/2.0 403 '
expect_exit 0 "partner's CA certificate for the other partner's edge: no SIP answer" -- \
    partner partner-claims-other "send:$(msg other.test)" nosip:2
expect_exit 0 "other partner's CA certificate claiming partner's edge: no SIP answer" -- \
    partner other-claims-partner "send:$(msg partner.test)" nosip:2
expect_exit 0 "our own enterprise certificate on the partner side: no SIP answer" -- \
    partner fe1 "send:$(msg partner.test)" nosip:2
sleep 0.3
expect_grep "verdict=refused: certificate from partner partner's CA names DNS:edge.other.test, not its edge edge.partner.test" \
    edge.corp.test.log "the log names the partner whose CA was misused"
expect_grep "verdict=refused: certificate from partner other's CA names DNS:edge.partner.test, not its edge edge.other.test" \
    edge.corp.test.log "a partner root vouches for that partner's edge only"
expect_grep 'cert="CN=fe1.corp.test".*verdict=refused: issuer not trusted: CN=Corp Enterprise CA' \
    edge.corp.test.log "our CA is not trusted on the partner side"

# ---- SIGHUP rebuilds the partner side from the new topology --------------------------
# partner leaves the federation, third joins: without a restart, third's
# edge is accepted and partner's edge is refused on new connections.
{
    sed -n '1,/^federation:/p' topology.yaml
    sip_topology_partner other other.test edge.other.test 127.0.0.72:5062 other/ca.pem
    sip_topology_partner third third.test edge.third.test 127.0.0.73:5062 third/ca.pem
} >next.yaml
mv next.yaml topology.yaml
kill -HUP "${SIP_PIDS[edge.corp.test]}"
for _ in $(seq 1 30); do grep -q "partner side rebuilt: 2 partners" edge.corp.test.log && break; sleep 0.1; done
expect_grep "partner side rebuilt: 2 partners" edge.corp.test.log \
    "SIGHUP: the edge rebuilds its partner side from the new topology"
expect_exit 0 "after SIGHUP a new partner's edge is accepted (its request is routed: 404)" -- \
    partner third-edge "send:$(msg third.test | sed 's/sip:alice@corp.test/sip:nobody@corp.test/g')" \
    'expect:^SIP/2.0 404 '
expect_exit 0 "after SIGHUP a removed partner's edge gets no SIP answer" -- \
    partner partner-edge "send:$(msg partner.test)" nosip:2
sleep 0.3
expect_grep 'cert="CN=edge.partner.test".*verdict=refused: (issuer not trusted|DNS:edge.partner.test is not the edge)' \
    edge.corp.test.log "the log says why the removed partner is refused"
wait "$ALICE"
