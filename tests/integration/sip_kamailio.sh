#!/bin/bash
# Interoperability with a real partner edge: Kamailio 5.6 (Debian
# kamailio-tls-modules) plays partner.test's edge and talks mutual TLS to
# corp.test's edge (trustnet) with partner.test's certificate, issued by
# partner.test's own CA.  MESSAGE crosses both ways:
#   alice@corp.test (sipp, TLS tunnel to fe1) -> fe1 -> edge.corp.test
#       -> Kamailio, which answers for bob@partner.test;
#   bob@partner.test (injected at Kamailio over local plain TCP)
#       -> Kamailio -> edge.corp.test -> fe1 -> alice (registered with sipp).
# Then the same Kamailio, restarted with a certificate from partner's CA
# for edge.unknown.test (a name we do not federate with), is refused in
# both directions and no MESSAGE crosses.
# Only the hop Kamailio <-> edge.corp.test is the federation hop under
# test; bob's local side is plain TCP on loopback.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

for tool in sipp socat kamailio; do
    if ! command -v $tool >/dev/null; then
        not_ok "sipp, socat and kamailio are installed" \
            "install sip-tester, socat, kamailio and kamailio-tls-modules (make deps)"
        exit 0
    fi
done
KAM_MODS=/usr/lib/x86_64-linux-gnu/kamailio/modules
if ! [ -e "$KAM_MODS/tls.so" ]; then
    not_ok "Kamailio's TLS module is installed" "install kamailio-tls-modules (make deps)"
    exit 0
fi
cd "$TMP" || exit 1
T="$TRUSTNET"
FE1=127.0.0.121 EDGE=127.0.0.122 KAM=127.0.0.125
KAM_FED=5062                 # Kamailio's federation (mutual TLS) port
KAM_LOCAL=$(free_port)       # Kamailio's plain TCP port for bob's side
KAM_TEMPLATES="$ROOT/tests/integration/kamailio"

mkdir -p kam
sip_federation_pki fe1.corp.test edge.corp.test &&
    "$T" ca issue --dir partner/ca edge.partner.test --out kam/edge.partner.test >/dev/null &&
    "$T" ca issue --dir partner/ca edge.unknown.test --out kam/edge.unknown.test >/dev/null ||
    { not_ok "set up both organisations' CAs"; exit 1; }

{
    sip_topology corp.test main
    sip_topology_pool pool1.corp.test fe1.corp.test frontend $FE1:5061 fe1
    sip_topology_pool edgepool.corp.test edge.corp.test edge $EDGE:5061 edge
    sip_topology_users alice=pool1.corp.test
    echo "federation:"
    sip_topology_partner partner partner.test edge.partner.test $KAM:$KAM_FED partner-root.pem
} >corp/topology.yaml
SIP_STORE=corp/store.sqlite
sip_user alice alice-pw

sip_serve corp/topology.yaml fe1.corp.test $FE1
sip_serve corp/topology.yaml edge.corp.test $EDGE 5062

# Kamailio as partner.test's edge, presenting certificate CERT (a basename
# in kam/).  Logs go to kam/kamailio.log (appended across restarts).
KAM_PID=
kam_start() { # CERT
    sed -e "s|@WORK@|$TMP/kam|g" -e "s|@ADDR@|$KAM|g" -e "s|@FED_PORT@|$KAM_FED|g" \
        -e "s|@LOCAL_PORT@|$KAM_LOCAL|g" -e "s|@CORP_EDGE@|$EDGE:5062|g" \
        "$KAM_TEMPLATES/kamailio.cfg" >kam/kamailio.cfg
    sed -e "s|@WORK@|$TMP/kam|g" -e "s|@CERT@|$1|g" -e "s|@CORP_CA@|$TMP/corp/ca/ca.pem|g" \
        "$KAM_TEMPLATES/tls.cfg" >kam/tls.cfg
    if ! kamailio -c -f kam/kamailio.cfg >kam/check.log 2>&1; then
        LAST_OUT=kam/check.log
        not_ok "Kamailio accepts its configuration ($1)"
        exit 1
    fi
    echo "=== start with $1" >>kam/kamailio.log
    # one TCP worker and TLSF: Kamailio 5.6.3 + OpenSSL 3 (upstream #3791)
    kamailio -f kam/kamailio.cfg -P "$TMP/kam/kamailio.pid" -DD -E -x tlsf -N 1 -m 64 -M 8 \
        -Y "$TMP/kam" >>kam/kamailio.log 2>&1 &
    KAM_PID=$!
    BG_PIDS+=("$KAM_PID")
    sip_wait_listen $KAM $KAM_FED && sip_wait_listen $KAM "$KAM_LOCAL" ||
        { LAST_OUT=kam/kamailio.log; not_ok "Kamailio starts with $1"; exit 1; }
}
kam_stop() {
    sip_stop_pid "$KAM_PID"
    KAM_PID=
}

# Lines a log gained since the mark (wc -l taken before the step).
since() { tail -n +$(($2 + 1)) "$1"; }
wait_in() { # FILE MARK REGEX [SECS]
    for _ in $(seq 1 $((${4:-5} * 10))); do
        since "$1" "$2" | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}
check_in() { # FILE MARK REGEX NAME
    if since "$1" "$2" | grep -Eq -- "$3"; then ok "$4"; else
        since "$1" "$2" >"$TMP/since.out"
        LAST_OUT="$TMP/since.out"
        not_ok "$4" "no new line in $1 matches: $3"
        LAST_OUT="$TMP/last.out"
    fi
}
check_not_in() { # FILE MARK REGEX NAME
    if ! since "$1" "$2" | grep -Eq -- "$3"; then ok "$4"; else
        since "$1" "$2" | grep -E -- "$3" >"$TMP/since.out"
        LAST_OUT="$TMP/since.out"
        not_ok "$4" "a new line in $1 matches: $3"
        LAST_OUT="$TMP/last.out"
    fi
}
lines() { wc -l <"$1"; }

# bob@partner.test's client on Kamailio's local side: one MESSAGE over
# plain TCP; prints the final status line.
bob_says() { # TEXT
    timeout 15 python3 - "$KAM" "$KAM_LOCAL" "$1" <<'PY'
import socket, sys, time, random
host, port, text = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=12)
lp = s.getsockname()[1]
tag = "%08x" % random.getrandbits(32)
msg = ("MESSAGE sip:alice@corp.test SIP/2.0\r\n"
       "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-bob%s;rport\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:bob@partner.test>;tag=%s\r\n"
       "To: <sip:alice@corp.test>\r\n"
       "Call-ID: bob-%s@partner.test\r\n"
       "CSeq: 1 MESSAGE\r\n"
       "Content-Type: text/plain\r\n"
       "Content-Length: %d\r\n\r\n" % (lp, tag, tag, tag, len(text))).encode() + text
s.sendall(msg)
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        print("connection closed without a final response")
        sys.exit(1)
    buf += d
    while b"\r\n\r\n" in buf:
        head, rest = buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        clen = 0
        for h in head.split(b"\r\n")[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() in (b"content-length", b"l"):
                clen = int(v.strip())
        if len(rest) < clen:
            break
        buf = rest[clen:]
        code = int(status.split()[1])
        if code >= 200:
            print(status)
            sys.exit(0)
PY
}

TA=$(free_port)
sip_tunnel "$TA" $FE1:5061 fe1.corp.test "$TMP/corp/ca/ca.pem" ||
    { not_ok "the TLS tunnel to fe1 starts"; exit 1; }

# alice's MESSAGE to bob@partner.test, expecting final CODE.
sed 's/\[\$to\]@corp\.test/[$to]@partner.test/g' "$SIPP_DIR/message.xml" >"$TMP/to_partner.xml"
sed 's/<recv response="200"\/>/<recv response="503"\/>/' "$TMP/to_partner.xml" >"$TMP/to_partner_503.xml"
alice_says() { # SCENARIO NAME
    timeout 30 sipp 127.0.0.1:"$TA" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
        -sf "$1" -s alice -au alice -ap alice-pw -set to bob \
        -timeout 15 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/$2.msg" \
        >"$TMP/$2.out" 2>&1
}

kam_start edge.partner.test
KLOG=kam/kamailio.log

# 1. alice@corp.test -> bob@partner.test, answered by Kamailio.
k0=$(lines $KLOG) e0=$(lines edge.corp.test.log)
alice_says "$TMP/to_partner.xml" alice1
rc=$?
LAST_OUT="$TMP/alice1.msg"
if [ "$rc" -eq 0 ]; then ok "MESSAGE alice@corp.test -> bob@partner.test (Kamailio) gets 200"
else not_ok "MESSAGE alice@corp.test -> bob@partner.test (Kamailio) gets 200" "sipp exit $rc"; fi
LAST_OUT="$TMP/last.out"
wait_in $KLOG "$k0" "KAM-IN MESSAGE" 2
check_in $KLOG "$k0" \
    "KAM-IN MESSAGE from=sip:alice@corp.test to=sip:bob@partner.test peer=127\.0\.0\.[0-9]+:[0-9]+ proto=tls tls_verified=1 tls_peer_cn=edge.corp.test tls_peer_issuer=Corp CA body=\[hello from sipp" \
    "Kamailio got alice's MESSAGE over mutual TLS from edge.corp.test (verified against corp's CA)"
check_in edge.corp.test.log "$e0" \
    "connected to partner partner's edge edge.partner.test" \
    "corp's edge verified Kamailio's certificate against partner's root and edge name"

# 2. bob@partner.test -> alice@corp.test, injected at Kamailio.
f0=$(lines fe1.corp.test.log)
timeout 30 sipp 127.0.0.1:"$TA" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
    -sf "$SIPP_DIR/callee.xml" -s alice -au alice -ap alice-pw -oocsf "$SIPP_DIR/uas_message.xml" \
    -d 6000 -timeout 20 -timeout_error -nostdin -nd -trace_msg -message_file "$TMP/alice_uas.msg" \
    >"$TMP/alice_uas.out" 2>&1 &
ALICE=$!
BG_PIDS+=("$ALICE")
wait_in fe1.corp.test.log "$f0" "alice@corp.test: 1 binding" 5 ||
    { LAST_OUT=fe1.corp.test.log; not_ok "alice registers at fe1"; LAST_OUT="$TMP/last.out"; }
k0=$(lines $KLOG) e0=$(lines edge.corp.test.log)
bob_says "hello alice from kamailio-bob-1" >"$TMP/bob1.out" 2>&1
LAST_OUT="$TMP/bob1.out"
if grep -q '^SIP/2.0 200 ' "$TMP/bob1.out"; then
    ok "MESSAGE bob@partner.test (Kamailio) -> alice@corp.test gets 200"
else
    not_ok "MESSAGE bob@partner.test (Kamailio) -> alice@corp.test gets 200" "Kamailio log:" \
        "$(since $KLOG "$k0" | tail -20)"
fi
LAST_OUT="$TMP/last.out"
check_in edge.corp.test.log "$e0" "is the edge edge.partner.test of partner partner" \
    "corp's edge accepted Kamailio's client certificate as partner's edge"
check_in $KLOG "$k0" "KAM-REPLY 200 .* from peer=$EDGE:5062 proto=tls" \
    "Kamailio got the 200 back over its TLS connection to corp's edge"

# 3. Kamailio restarted with partner CA's certificate for edge.unknown.test:
#    its connection to corp's edge is refused, nothing reaches alice.
kam_stop
kam_start edge.unknown.test
k0=$(lines $KLOG) e0=$(lines edge.corp.test.log) f0=$(lines fe1.corp.test.log)
bob_says "hello alice from kamailio-bob-2" >"$TMP/bob2.out" 2>&1
LAST_OUT="$TMP/bob2.out"
if [ -s "$TMP/bob2.out" ] && ! grep -q '^SIP/2.0 2' "$TMP/bob2.out"; then
    ok "MESSAGE from Kamailio as edge.unknown.test fails ($(head -1 "$TMP/bob2.out"))"
else
    not_ok "MESSAGE from Kamailio as edge.unknown.test fails"
fi
LAST_OUT="$TMP/last.out"
check_in edge.corp.test.log "$e0" \
    "verdict=refused: certificate from partner partner's CA names DNS:edge.unknown.test, not its edge edge.partner.test" \
    "corp's edge refuses Kamailio's client certificate for edge.unknown.test"
check_not_in edge.corp.test.log "$e0" "is the edge .* of partner" \
    "corp's edge accepted no partner connection"
check_not_in fe1.corp.test.log "$f0" "MESSAGE sip:alice@corp.test" \
    "no MESSAGE for alice reached fe1"
# Otherwise "alice got nothing" below would prove nothing.
if kill -0 "$ALICE" 2>/dev/null; then ok "alice was still registered when the refused Kamailio tried"
else not_ok "alice was still registered when the refused Kamailio tried" "raise her -d"; fi
wait "$ALICE"
rc=$?
LAST_OUT="$TMP/alice_uas.out"
if [ "$rc" -eq 0 ]; then ok "alice stayed registered and unregistered cleanly"
else not_ok "alice stayed registered and unregistered cleanly" "sipp exit $rc"; fi
LAST_OUT="$TMP/last.out"
n=$(grep -c '^MESSAGE sip:alice@' "$TMP/alice_uas.msg")
if [ "$n" -eq 1 ] && grep -q "kamailio-bob-1" "$TMP/alice_uas.msg" &&
    ! grep -q "kamailio-bob-2" "$TMP/alice_uas.msg"; then
    ok "alice received bob's first MESSAGE only (none through the refused Kamailio)"
else
    LAST_OUT="$TMP/alice_uas.msg"
    not_ok "alice received bob's first MESSAGE only (none through the refused Kamailio)" \
        "$n MESSAGEs reached alice"
    LAST_OUT="$TMP/last.out"
fi

# 4. corp's edge connecting out to Kamailio as edge.unknown.test: name
#    mismatch, alice gets 503, Kamailio sees no MESSAGE.
k0=$(lines $KLOG) e0=$(lines edge.corp.test.log)
alice_says "$TMP/to_partner_503.xml" alice2
rc=$?
LAST_OUT="$TMP/alice2.msg"
if [ "$rc" -eq 0 ]; then ok "MESSAGE alice -> bob@partner.test with Kamailio as edge.unknown.test gets 503"
else not_ok "MESSAGE alice -> bob@partner.test with Kamailio as edge.unknown.test gets 503" "sipp exit $rc"; fi
LAST_OUT="$TMP/last.out"
check_in edge.corp.test.log "$e0" \
    "name mismatch: wanted edge.partner.test, certificate names edge.unknown.test" \
    "corp's edge refuses Kamailio's server certificate for edge.unknown.test"
check_not_in $KLOG "$k0" "KAM-IN" "Kamailio received no MESSAGE from corp's edge"

kam_stop
