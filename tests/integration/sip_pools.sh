#!/bin/bash
# Two pools, one front end each, talking mutual TLS: a MESSAGE from
# alice (pool 1, through fe1) reaches carol (pool 2, registered at fe2)
# over the fe1 -> fe2 MTLS connection; a REGISTER at the wrong pool is
# redirected (302) to the user's home pool.  sipp runs through socat TLS
# tunnels, so every client connection the servers see is TLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

sip_require_sipp
cd "$TMP" || exit 1
FE1=127.0.0.41
FE2=127.0.0.42
sip_ca ca "Pools Test CA" fe1.corp.test fe2.corp.test &&
    "$TRUSTNET" ca crl --dir ca >/dev/null || { not_ok "set up the CA"; exit 1; }
{
    sip_topology "Corp Test" test
    sip_topology_pool pool1.corp.test fe1.corp.test frontend $FE1:5061 fe1 2
    sip_topology_pool pool2.corp.test fe2.corp.test frontend $FE2:5061 fe2 2
    sip_topology_users alice=pool1.corp.test carol=pool2.corp.test
} >topology.yaml
SIP_STORE=store.sqlite
sip_user alice alice-pw
sip_user carol carol-pw

sip_serve topology.yaml fe1.corp.test "$FE1"
sip_serve topology.yaml fe2.corp.test "$FE2"

T1=$(free_port)
sip_tunnel "$T1" "$FE1:5061" fe1.corp.test "$TMP/ca/ca.pem"
T2=$(free_port)
sip_tunnel "$T2" "$FE2:5061" fe2.corp.test "$TMP/ca/ca.pem"

run_sipp() { # NAME TUNNELPORT SCENARIO USER [ARGS...]
    local name=$1 port=$2 sf=$3 user=$4
    shift 4
    timeout 30 sipp 127.0.0.1:"$port" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
        -sf "$SIPP_DIR/$sf" -s "$user" -au "$user" -ap "$user-pw" \
        -timeout 15 -timeout_error -nostdin -nd \
        -trace_msg -message_file "$TMP/$name.msg" -trace_err -error_file "$TMP/$name.err" \
        "$@" >"$TMP/$name.out" 2>&1
}

# carol registers at fe2 (her home pool) and answers what arrives there.
run_sipp carol "$T2" callee.xml carol -oocsf "$SIPP_DIR/uas_message.xml" -d 4000 &
CAROL=$!
BG_PIDS+=("$CAROL")
for _ in $(seq 1 50); do
    grep -q "carol@corp.test: 1 binding" "$TMP/fe2.corp.test.log" && break
    sleep 0.1
done
run_sipp alice "$T1" message.xml alice -set to carol
check_sipp $? alice "MESSAGE alice (pool 1) -> carol (pool 2): 407, then 200 from carol"
wait "$CAROL"
check_sipp $? carol "carol got the MESSAGE on her registration connection at fe2"
expect_grep "Via: SIP/2.0/TLS fe2.corp.test:5061;branch=z9hG4bK-tn" "$TMP/carol.msg" \
    "the MESSAGE reached carol through fe2"
expect_grep "Via: SIP/2.0/TLS fe1.corp.test:5061;branch=z9hG4bK-tn" "$TMP/carol.msg" \
    "... after fe1 (both servers' Vias)"
expect_grep "is server fe2.corp.test of the topology \(mutual TLS\)" "$TMP/fe1.corp.test.log" \
    "fe1 verified fe2 as a topology server"
expect_grep "peer=$FE1:[0-9]+ .*cert=\"CN=fe1.corp.test\"" "$TMP/fe2.corp.test.log" \
    "fe1's connection to fe2 leaves from fe1's own address"
expect_grep "is server fe1.corp.test of the topology \(mutual TLS\)" "$TMP/fe2.corp.test.log" \
    "fe2 verified fe1's client certificate as a topology server"
expect_grep "peer=$FE2:5061 tls=TLSv1.3 .*cert=\"CN=fe2.corp.test\".*verdict=trusted: peer is server fe2.corp.test" \
    "$TMP/fe1.corp.test.log" "fe1's outgoing connection is logged with its verdict"

# A REGISTER at the wrong pool is redirected to the home pool.
REG='REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-r{n}\r\nMax-Forwards: 70\r\nFrom: <sip:carol@corp.test>;tag=r{n}\r\nTo: <sip:carol@corp.test>\r\nCall-ID: r{n}@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:carol@127.0.0.1:5999;transport=tls>\r\nContent-Length: 0\r\n\r\n'
expect_exit 0 "REGISTER of carol at fe1 is redirected to fe2 (302)" -- \
    python3 "$PEERS/sip_tls_client.py" --host "$FE1" --port 5061 --ca ca/ca.pem \
    --name fe1.corp.test "send:$REG" \
    'expect:^SIP/2.0 302 [^\r]*\r\n(.*\r\n)*Contact: <sip:fe2.corp.test:5061;transport=tls>'

# A call across the pools: INVITE/407/INVITE/180/200/ACK/BYE, the in-dialog
# requests following both servers' Record-Routes.
run_sipp carol_call "$T2" callee.xml carol -oocsf "$SIPP_DIR/uas_call.xml" -d 5000 &
CAROL=$!
BG_PIDS+=("$CAROL")
sleep 0.2
for _ in $(seq 1 50); do
    [ "$(grep -c "carol@corp.test: 1 binding" "$TMP/fe2.corp.test.log")" -ge 2 ] && break
    sleep 0.1
done
run_sipp alice_call "$T1" call.xml alice -set to carol
check_sipp $? alice_call "call alice (pool 1) -> carol (pool 2): 180, 200, ACK, BYE, 200"
wait "$CAROL"
check_sipp $? carol_call "carol answered the call and got its ACK and BYE through fe2"
expect_grep "^Record-Route: <sip:fe2.corp.test:5061;transport=tls;lr>" "$TMP/carol_call.msg" \
    "the INVITE carol got carries fe2's Record-Route"

# A loop through both servers (Route: fe1, fe2, fe1 with the same request):
# fe1 sees its own Via with the same request identity and answers 482.
LOOP='MESSAGE sip:carol@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-l{n}\r\nMax-Forwards: 70\r\nRoute: <sip:fe1.corp.test:5061;transport=tls;lr>, <sip:fe2.corp.test:5061;transport=tls;lr>, <sip:fe1.corp.test:5061;transport=tls;lr>\r\nFrom: <sip:alice@corp.test>;tag=l{n}\r\nTo: <sip:carol@corp.test>\r\nCall-ID: l{n}@test\r\nCSeq: 1 MESSAGE\r\nUser-Agent: probe\r\nContent-Length: 0\r\n\r\n'
expect_exit 0 "a request looping fe1 -> fe2 -> fe1 gets 482 Loop Detected" -- \
    python3 "$PEERS/sip_tls_client.py" --host "$FE1" --port 5061 --ca ca/ca.pem \
    --name fe1.corp.test "send:$LOOP" 'expect:^SIP/2.0 407 [^\r]*\r\n(.*\r\n)*\r\n' \
    "digest:SHA-256:alice:alice-pw:MESSAGE:sip:carol@corp.test" \
    "send:${LOOP//CSeq: 1 MESSAGE/CSeq: 2 MESSAGE\\r\\n\{auth\}}" 'expect:^SIP/2.0 482 '
