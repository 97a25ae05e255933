#!/bin/bash
# SIP front end driven by sipp (Debian's sip-tester, built without TLS)
# over plain TCP through a socat TLS client tunnel that verifies the
# server's certificate: one TLS connection per sipp connection, so the
# server sees only TLS.  REGISTER with digest, unknown user 404, wrong
# password 403 after the challenge, MESSAGE alice -> bob, a full call and a
# cancelled call; callees are reached over their registration connection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

if ! command -v sipp >/dev/null || ! command -v socat >/dev/null; then
    not_ok "sipp and socat are installed" "install sip-tester and socat (make deps)"
    exit 0
fi

sip_setup 127.0.0.21 5061 || exit 1
sip_user alice alice-pw
sip_user bob bob-pw
sip_user carol carol-pw
sip_user dave dave-pw
sip_start || { not_ok "trustnet serve starts" ; sed 's/^/#   /' "$SIP_LOG"; exit 1; }
TUNNEL=$(free_port)
sip_tunnel "$TUNNEL"

# run_sipp NAME SCENARIO USER PASSWORD [ARGS...]: sipp in the foreground,
# bounded by -timeout; traces in $TMP/NAME.*; exit status returned.
run_sipp() {
    local name=$1 sf=$2 user=$3 pw=$4
    shift 4
    timeout 30 sipp 127.0.0.1:"$TUNNEL" -t t1 -m 1 -i 127.0.0.1 -p "$(free_port)" \
        -sf "$SIPP_DIR/$sf" -s "$user" -au "$user" -ap "$pw" \
        -timeout 15 -timeout_error -nostdin -nd \
        -trace_msg -message_file "$TMP/$name.msg" -trace_err -error_file "$TMP/$name.err" \
        "$@" >"$TMP/$name.out" 2>&1
}


# start_callee NAME USER PASSWORD OOC_SCENARIO MS: a registered sipp that
# answers with OOC_SCENARIO what arrives on its registration connection
# for MS milliseconds, then unregisters.
start_callee() {
    local name=$1 user=$2 pw=$3 ooc=$4 ms=$5
    sip_log_mark
    run_sipp "$name" callee.xml "$user" "$pw" -oocsf "$SIPP_DIR/$ooc" -d "$ms" &
    CALLEE_PID=$!
    BG_PIDS+=("$CALLEE_PID")
    if ! sip_wait_log "registrar: .* $user@corp.test: 1 binding" 10; then
        echo "# $user did not register" >&2
    fi
}

wait_callee() {
    wait "$CALLEE_PID"
    local rc=$?
    local keep=() pid
    for pid in "${BG_PIDS[@]}"; do [ "$pid" != "$CALLEE_PID" ] && keep+=("$pid"); done
    BG_PIDS=("${keep[@]}")
    return $rc
}

# ---- REGISTER with digest ---------------------------------------------------
run_sipp reg register.xml alice alice-pw
check_sipp $? reg "sipp: REGISTER alice with digest through the TLS tunnel: 401, then 200"
expect_grep "Contact: <sip:alice@127.0.0.1:[0-9]+;transport=tcp>;expires=600" "$TMP/reg.msg" \
    "sipp: the 200 lists the binding with its expiry"
expect_grep "auth: peer=127\.0\.0\.1:[0-9]+ alice@corp.test authenticated \(MD5\)" "$SIP_LOG" \
    "server: alice authenticated (SIPp 3.6 is challenged with MD5 only)"
expect_grep "tls: peer=127\.0\.0\.1:[0-9]+ tls=TLSv1\.[23] cipher=[A-Z0-9_-]+ .*verdict=accepted" \
    "$SIP_LOG" "server: the tunnel's connection was TLS and logged with version and cipher"

# ---- unknown user, wrong password ------------------------------------------
run_sipp unknown register_unknown.xml nobody x
check_sipp $? unknown "sipp: REGISTER of an unknown user gets 404"
run_sipp wrongpw register_wrong_password.xml alice not-the-password
check_sipp $? wrongpw "sipp: REGISTER with a wrong password gets 401, then 403"
expect_grep "alice@corp.test refused: wrong password" "$SIP_LOG" "server: logs the wrong password"

# ---- MESSAGE alice -> bob over bob's registration connection -------------------
start_callee bob_msg bob bob-pw uas_message.xml 2500
run_sipp msg message.xml alice alice-pw -set to bob
check_sipp $? msg "sipp: MESSAGE alice -> bob: 407, then 200 from bob"
run_sipp msg404 message_unknown.xml alice alice-pw -set to nobody
check_sipp $? msg404 "sipp: MESSAGE to an unknown user: 407, then 404"
wait_callee
check_sipp $? bob_msg "sipp: bob registered, got the MESSAGE on that connection, unregistered"
expect_grep "^MESSAGE sip:bob@corp.test SIP/2.0" "$TMP/bob_msg.msg" "sipp: bob's trace has the MESSAGE"
expect_grep "^Via: SIP/2.0/TLS fe1.corp.test:5061;branch=z9hG4bK" "$TMP/bob_msg.msg" \
    "sipp: the MESSAGE bob got carries the server's TLS Via"
if [ ! -s "$TMP/bob_msg.msg" ] || grep -q "^Proxy-Authorization:" "$TMP/bob_msg.msg"; then
    not_ok "alice's credentials are not forwarded to bob"
else
    ok "alice's credentials are not forwarded to bob"
fi

# ---- a full call: INVITE/180/200/ACK/BYE ---------------------------------------
start_callee bob_call bob bob-pw uas_call.xml 3000
run_sipp call call.xml alice alice-pw -set to bob
check_sipp $? call "sipp: call alice -> bob: INVITE, 407, INVITE, 180, 200, ACK, BYE, 200"
wait_callee
check_sipp $? bob_call "sipp: bob answered INVITE, got ACK and BYE on its registration connection"
expect_grep "^Record-Route: <sip:fe1.corp.test:5061;transport=tls;lr>" "$TMP/bob_call.msg" \
    "sipp: the INVITE bob got is record-routed by the server"
if [ ! -s "$TMP/bob_call.msg" ] || grep -Eq "^ACK sip:bob@corp.test" "$TMP/bob_call.msg"; then
    not_ok "the ACK of the 407 stays at the server (bob never sees it)"
else
    ok "the ACK of the 407 stays at the server (bob never sees it)"
fi

# ---- CANCEL of a ringing call -----------------------------------------------------
start_callee carol_cancel carol carol-pw uas_cancel.xml 3000
run_sipp cancel cancel.xml dave dave-pw -set to carol
check_sipp $? cancel "sipp: CANCEL of a ringing call: 200 to the CANCEL, 487 to the INVITE"
wait_callee
check_sipp $? carol_cancel "sipp: carol got the CANCEL and the ACK of its 487 from the server"

# ---- nobody stays registered, and the server exits cleanly --------------------------
expect_stored "^bob@corp.test +[^ ]+ +[^ ]+ +0$" "bob unregistered at the end"
sip_stop TERM
if [ "$SIP_RC" = 0 ]; then ok "SIGTERM: the server exits 0"; else
    not_ok "SIGTERM: the server exits 0" "exit status $SIP_RC"; fi
