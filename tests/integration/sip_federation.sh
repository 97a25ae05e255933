#!/bin/bash
# Two organisations on loopback, each its own CA and topology, federated
# through their edges: corp.test (fe1 + edge) and partner.test (fe + edge).
# alice@corp.test and bob@partner.test exchange MESSAGEs both ways, over
# client TLS, internal mutual TLS and federation mutual TLS; a request to a
# domain that is not a partner gets 403.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

if ! command -v sipp >/dev/null || ! command -v socat >/dev/null; then
    not_ok "sipp and socat are installed" "install sip-tester and socat (make deps)"
    exit 0
fi
cd "$TMP" || exit 1
T="$TRUSTNET"
C_FE=127.0.0.81 C_EDGE=127.0.0.82 P_FE=127.0.0.91 P_EDGE=127.0.0.92
sip_federation_pki fe1.corp.test edge.corp.test fe.partner.test edge.partner.test ||
    { not_ok "set up both organisations' CAs"; exit 1; }

topology() { # DIR DOMAIN FE FE-ADDR EDGE EDGE-ADDR USER PEER-NAME PEER-DOMAIN PEER-EDGE PEER-EDGE-ADDR PEER-ROOT
    cat >"$1/topology.yaml" <<YAML
version: 1
organisation: $2
sip:
  domains: [$2]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: store.sqlite
sites:
  - name: main
    pools:
      - fqdn: pool1.$2
        servers:
          - fqdn: $3
            roles: [frontend]
            sip_listen: $4:5061
            certificate: ${3%%.*}.pem
            key: ${3%%.*}.key
      - fqdn: edgepool.$2
        servers:
          - fqdn: $5
            roles: [edge]
            sip_listen: $6:5061
            federation_listen: $6:5062
            certificate: edge.pem
            key: edge.key
users:
  - address: $7@$2
    pool: pool1.$2
federation:
  - name: $8
    domains: [$9]
    edge: ${10}
    edge_address: ${11}:5062
    root_ca: ${12}
YAML
}
topology corp corp.test fe1.corp.test $C_FE edge.corp.test $C_EDGE alice \
    partner partner.test edge.partner.test $P_EDGE partner-root.pem
topology partner partner.test fe.partner.test $P_FE edge.partner.test $P_EDGE bob \
    corp corp.test edge.corp.test $C_EDGE corp-root.pem
printf 'alice-pw\n' | "$T" user add --store corp/store.sqlite alice@corp.test >/dev/null
printf 'bob-pw\n' | "$T" user add --store partner/store.sqlite bob@partner.test >/dev/null

sip_serve corp/topology.yaml fe1.corp.test $C_FE
sip_serve corp/topology.yaml edge.corp.test $C_EDGE
sip_serve partner/topology.yaml fe.partner.test $P_FE
sip_serve partner/topology.yaml edge.partner.test $P_EDGE

tunnel() { # PORT ADDR FQDN CA
    start_bg "tunnel-$1" socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" \
        "OPENSSL:$2:5061,cafile=$4,verify=1,commonname=$3,snihost=$3"
    sip_wait_listen 127.0.0.1 "$1"
}
TA=$(free_port) TB=$(free_port)
tunnel "$TA" $C_FE fe1.corp.test "$TMP/corp/ca/ca.pem"
tunnel "$TB" $P_FE fe.partner.test "$TMP/partner/ca/ca.pem"

sipp_as() { # NAME TUNNEL SCENARIO USER DOMAIN [ARGS]
    local name=$1 port=$2 sf=$3 user=$4 domain=$5
    shift 5
    sed "s/corp\.test/$domain/g" "$SIPP_DIR/$sf" >"$TMP/$name.xml"
    timeout 30 sipp 127.0.0.1:"$port" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
        -sf "$TMP/$name.xml" -s "$user" -au "$user" -ap "$user-pw" \
        -timeout 15 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/$name.msg" \
        "$@" >"$TMP/$name.out" 2>&1
}
registered() { # LOG AOR
    for _ in $(seq 1 50); do grep -q "$2: 1 binding" "$1" && return 0; sleep 0.1; done
    return 1
}

# alice@corp.test -> bob@partner.test
sed "s/corp\.test/partner.test/g" "$SIPP_DIR/uas_message.xml" >"$TMP/uas_bob.xml"
sipp_as bob "$TB" callee.xml bob partner.test -oocsf "$TMP/uas_bob.xml" -d 5000 &
BOB=$!
BG_PIDS+=("$BOB")
registered fe.partner.test.log bob@partner.test
sed 's/\[\$to\]@corp\.test/[$to]@partner.test/g' "$SIPP_DIR/message.xml" >"$TMP/to_partner.xml"
timeout 30 sipp 127.0.0.1:"$TA" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
    -sf "$TMP/to_partner.xml" -s alice -au alice -ap alice-pw -set to bob \
    -timeout 15 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/alice.msg" \
    >"$TMP/alice.out" 2>&1
check_sipp $? alice "MESSAGE alice@corp.test -> bob@partner.test through both edges: 200"
wait "$BOB"
check_sipp $? bob "bob got alice's MESSAGE at fe.partner.test"
# The MESSAGE as bob received it, up to its blank line.
awk '/^MESSAGE sip:bob@partner.test/ {on=1} on && /^\r?$/ {exit} on' "$TMP/bob.msg" >"$TMP/bob_got.txt"
if ! [ -s "$TMP/bob_got.txt" ] || grep -q "fe1\.corp\.test\|$C_FE\|127\.0\.0\.1:" "$TMP/bob_got.txt"; then
    not_ok "corp's internal Vias (fe1, its address, alice's own) stayed inside corp"
    sed 's/^/#   /' "$TMP/bob_got.txt" | head -30
else
    ok "corp's internal Vias (fe1, its address, alice's own) stayed inside corp"
fi
expect_grep "^Via: SIP/2.0/TLS edge.corp.test:5061;branch=z9hG4bK-tn" "$TMP/bob_got.txt" \
    "bob sees corp's edge as the only corp hop"
expect_grep "connected to partner partner's edge edge.partner.test" edge.corp.test.log \
    "corp's edge verified partner's edge against partner's root"
expect_grep "is the edge edge.corp.test of partner corp" edge.partner.test.log \
    "partner's edge verified corp's edge against corp's root"

# bob@partner.test -> alice@corp.test
sipp_as alice_uas "$TA" callee.xml alice corp.test -oocsf "$SIPP_DIR/uas_message.xml" -d 5000 &
ALICE=$!
BG_PIDS+=("$ALICE")
registered fe1.corp.test.log alice@corp.test
sed 's/\[\$to\]@corp\.test/[$to]@corp.test/g; s/sip:\[service\]@corp\.test/sip:[service]@partner.test/g' \
    "$SIPP_DIR/message.xml" >"$TMP/to_corp.xml"
timeout 30 sipp 127.0.0.1:"$TB" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
    -sf "$TMP/to_corp.xml" -s bob -au bob -ap bob-pw -set to alice \
    -timeout 15 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/bob2.msg" \
    >"$TMP/bob2.out" 2>&1
check_sipp $? bob2 "MESSAGE bob@partner.test -> alice@corp.test through both edges: 200"
wait "$ALICE"

# A domain that is not a partner.
MSG='MESSAGE sip:eve@nowhere.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-n{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=n{n}\r\nTo: <sip:eve@nowhere.test>\r\nCall-ID: n{n}@test\r\nCSeq: 1 MESSAGE\r\nUser-Agent: probe\r\nContent-Length: 0\r\n\r\n'
expect_exit 0 "a MESSAGE to a domain that is not a partner gets 403" -- \
    python3 "$PEERS/sip_tls_client.py" --host $C_FE --port 5061 --ca corp/ca/ca.pem \
    --name fe1.corp.test "send:$MSG" 'expect:^SIP/2.0 407 [^\r]*\r\n(.*\r\n)*\r\n' \
    "digest:SHA-256:alice:alice-pw:MESSAGE:sip:eve@nowhere.test" \
    "send:${MSG//CSeq: 1 MESSAGE/CSeq: 2 MESSAGE\\r\\n\{auth\}}" 'expect:^SIP/2.0 403 '
