#!/bin/bash
# Man in the middle between two servers: fe2 is stopped and an attacker
# (openssl s_server) answers at fe2's address with, in turn, a self-signed
# certificate, an enterprise certificate for another server, one for a name
# outside the topology, a partner CA's certificate claiming fe2's name, a
# revoked one, an expired one and a client-only one.  fe1, forwarding
# alice's MESSAGE to carol (homed on fe2's pool), must refuse every
# handshake, log why, answer alice 503, and send the attacker no SIP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

cd "$TMP" || exit 1
FE1=127.0.0.51
FE2=127.0.0.52
T="$TRUSTNET"
sip_ca ca "Corp Enterprise CA" && sip_ca partner "Partner CA" &&
    "$T" ca issue --dir ca fe1.corp.test --out fe1 >/dev/null &&
    "$T" ca issue --dir ca fe2.corp.test --out fe2 >/dev/null &&
    "$T" ca issue --dir ca fe3.corp.test --out other-server >/dev/null &&
    "$T" ca issue --dir ca fe9.corp.test --out not-in-topology >/dev/null &&
    "$T" ca issue --dir partner fe2.corp.test --out partner-claims-fe2 >/dev/null &&
    "$T" ca issue --dir ca fe2.corp.test --out revoked >/dev/null &&
    "$T" ca revoke --dir ca revoked.pem >/dev/null &&
    "$T" ca issue --dir ca fe2.corp.test --not-before 2020-01-01 --not-after 2021-01-01 \
        --out expired >/dev/null &&
    "$T" ca issue --dir ca fe2.corp.test --client --out client-only >/dev/null ||
    { not_ok "set up the certificates"; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -keyout self-signed.key -out self-signed.pem -subj "/CN=fe2.corp.test" \
    -addext "subjectAltName=DNS:fe2.corp.test" \
    -addext "extendedKeyUsage=serverAuth,clientAuth" 2>/dev/null
{
    sip_topology "Corp Test" test
    sip_topology_pool pool1.corp.test fe1.corp.test frontend $FE1:5061 fe1
    sip_topology_pool pool2.corp.test fe2.corp.test frontend $FE2:5061 fe2
    sip_topology_pool pool3.corp.test fe3.corp.test frontend 127.0.0.53:5061 other-server
    sip_topology_users alice=pool1.corp.test carol=pool2.corp.test
} >topology.yaml
SIP_STORE=store.sqlite
sip_user alice alice-pw
sip_user carol carol-pw

MSG='MESSAGE sip:carol@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-a{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=a{n}\r\nTo: <sip:carol@corp.test>\r\nCall-ID: a{n}@test\r\nCSeq: 1 MESSAGE\r\nUser-Agent: probe\r\nContent-Length: 5\r\n\r\nhello'
MSG2=${MSG//CSeq: 1 MESSAGE/CSeq: 2 MESSAGE\\r\\n\{auth\}}

# attack NAME CERT REASON-REGEX: fe1 fresh (no back-off memory), the
# attacker at fe2's address, alice's MESSAGE must come back 503.
attack() {
    local name=$1 cert=$2 reason=$3
    start_bg "attacker-$name" openssl s_server -accept "$FE2:5061" -cert "$cert.pem" \
        -key "$cert.key" -quiet -cipher 'DEFAULT@SECLEVEL=0'
    local attacker=${BG_PIDS[$((${#BG_PIDS[@]} - 1))]}
    sip_wait_listen "$FE2" 5061
    sip_launch topology.yaml fe1.corp.test "fe1-$name.log"
    sip_wait_listen "$FE1" 5061
    expect_exit 0 "$name: alice's MESSAGE is answered 503, not delivered" -- \
        python3 "$PEERS/sip_tls_client.py" --host "$FE1" --port 5061 --ca ca/ca.pem \
        --name fe1.corp.test "send:$MSG" 'expect:^SIP/2.0 407 [^\r]*\r\n(.*\r\n)*\r\n' \
        "digest:SHA-256:alice:alice-pw:MESSAGE:sip:carol@corp.test" "send:$MSG2" \
        'expect:^SIP/2.0 503 '
    expect_grep "peer=$FE2:5061 .*verdict=refused: $reason" "fe1-$name.log" \
        "$name: fe1 logs the refusal and why"
    sip_stop_pid "${SIP_PIDS[fe1.corp.test]}"
    sip_stop_pid "$attacker"
    if grep -q "MESSAGE\|alice" "$TMP/attacker-$name.log"; then
        not_ok "$name: no SIP reached the attacker"
    else
        ok "$name: no SIP reached the attacker"
    fi
}

attack self-signed self-signed "self-signed certificate not trusted: CN=fe2.corp.test"
attack other-server other-server "name mismatch: wanted fe2.corp.test, certificate names fe3.corp.test"
attack not-in-topology not-in-topology "name mismatch: wanted fe2.corp.test, certificate names fe9.corp.test"
attack partner-ca partner-claims-fe2 "issuer not trusted: CN=Partner CA"
attack revoked revoked "certificate revoked \(serial 0x[0-9A-F]+, CRL of Corp Enterprise CA\)"
attack expired expired "expired on 2021-01-01"
attack client-only client-only "missing extended key usage serverAuth"

# The same certificates connecting IN to fe1, claiming to be fe2: every
# one is refused at the handshake (or, client-only, treated as a user who
# must still authenticate), with the reason in the log.
sip_launch topology.yaml fe1.corp.test fe1-in.log
sip_wait_listen "$FE1" 5061
inbound() { # NAME CERT EXPECTED-STEP LOG-REGEX
    local what="refused: no SIP answer"
    [ "$3" = "nosip:2" ] || what="a user, not a server: challenged (407)"
    expect_exit 0 "inbound $1: $what" -- \
        python3 "$PEERS/sip_tls_client.py" --host "$FE1" --port 5061 --ca ca/ca.pem \
        --name fe1.corp.test --cert "$2.pem" --key "$2.key" "send:$MSG" "$3"
    sleep 0.2
    expect_grep "$4" fe1-in.log "inbound $1: fe1 logs why"
}
inbound self-signed self-signed nosip:2 \
    "verdict=refused: self-signed certificate not trusted: CN=fe2.corp.test"
inbound partner-ca partner-claims-fe2 nosip:2 "verdict=refused: issuer not trusted: CN=Partner CA"
inbound revoked revoked nosip:2 \
    "verdict=refused: certificate revoked \(serial 0x[0-9A-F]+, CRL of Corp Enterprise CA\)"
inbound expired expired nosip:2 "verdict=refused: expired on 2021-01-01"
inbound not-in-topology not-in-topology nosip:2 \
    "verdict=refused: DNS:fe9.corp.test is not a server in the topology"
inbound client-only client-only 'expect:^SIP/2.0 407 ' \
    'cert="CN=fe2.corp.test".*verdict=accepted: a user with a client-only certificate'
