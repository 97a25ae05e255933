#!/bin/bash
# limits.max_connections_per_client: at most N connections open at once
# from one client address, on the SIP listener and the SMTP one.
#   SIP: two socat TLS clients from 127.0.0.1 hold their connections; a
#     third from 127.0.0.1 is closed at accept and logged; one from
#     127.0.0.2 still gets in; once a held one closes, 127.0.0.1 gets in
#     again; the address of another server of the topology is exempt;
#     the metrics count the refusal.
#   SMTP: the same limit on the mail listener (swaks): the third session
#     from one address gets no greeting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"
. "$(dirname "$0")/mail_lib.sh"

for tool in socat swaks; do
    if ! command -v "$tool" >/dev/null; then
        not_ok "$tool is installed" "install it (make deps)"
        exit 0
    fi
done

cd "$TMP" || exit 1
ADDR=127.0.0.25
FE2=127.0.0.26 # another server of the topology (not started): exempt
MAIL=127.0.0.27
sip_ca ca "Limit Test CA" fe1.corp.test fe2.corp.test mail1.corp.test || exit 1
"$TRUSTNET" ca crl --dir ca >/dev/null
mkdir -p metrics
{
    sip_topology "Corp Test" test "$(printf '%s\n' "metrics_dir: metrics" "limits:" \
        "  max_connections_per_client: 2" "mail:" "  domains: [corp.test]")"
    sip_topology_pool pool1.corp.test fe1.corp.test frontend "$ADDR:5061" fe1
    sip_topology_pool pool2.corp.test fe2.corp.test frontend "$FE2:5061" fe2
    mail_topology_pool mail.corp.test mail1.corp.test "$MAIL:2525"
} >topology.yaml
expect_exit 0 "the topology with max_connections_per_client is valid" -- \
    "$TRUSTNET" topology check topology.yaml
expect_exit 0 "topology show runs" -- "$TRUSTNET" topology show topology.yaml
expect_grep "^limits .*\(2 per client address\)" "$LAST_OUT" "topology show gives the limit"
sip_serve topology.yaml fe1.corp.test "$ADDR"
LOG="$TMP/fe1.corp.test.log"

# hold FROM: a socat TLS client from FROM to fe1 that keeps its connection
# open until killed; its PID in HELD.
hold() {
    sleep 60 | socat - "OPENSSL:$ADDR:5061,bind=$1,cafile=ca/ca.pem,commonname=fe1.corp.test" \
        >/dev/null 2>&1 &
    HELD=$!
    BG_PIDS+=("$HELD")
}

# expect_fail NAME -- CMD...: CMD exits non-zero (output in $LAST_OUT).
expect_fail() {
    local name=$1
    shift 2
    if "$@" >"$LAST_OUT" 2>&1; then not_ok "$name" "it succeeded: $*"; else ok "$name"; fi
}

# count_log REGEX: how many lines of the server log match.
count_log() { grep -cE -- "$1" "$LOG" || true; }

# wait_log_count REGEX N: wait (5 s at most) until N lines match.
wait_log_count() {
    local i
    for i in $(seq 1 50); do
        [ "$(count_log "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

trusted='tls: peer=127\.0\.0\.1:[0-9]+ tls=TLSv1\.3'
hold 127.0.0.1
first=$HELD
hold 127.0.0.1
wait_log_count "$trusted" 2 && ok "two TLS connections from 127.0.0.1 are accepted" ||
    not_ok "two TLS connections from 127.0.0.1 are accepted" "$(grep 'tls:' "$LOG")"

# The third: socat sees the connection closed during the handshake.
expect_fail "a third connection from 127.0.0.1 is closed at accept" -- \
    timeout 10 socat -T 3 - "OPENSSL:$ADDR:5061,bind=127.0.0.1,cafile=ca/ca.pem,commonname=fe1.corp.test" \
    </dev/null
expect_grep "refusing connection from 127\.0\.0\.1:[0-9]+: its address has 2 open, the limit per client" \
    "$LOG" "the refusal is logged with the address and the limit"
[ "$(count_log "$trusted")" -eq 2 ] && ok "the refused connection got no TLS handshake" ||
    not_ok "the refused connection got no TLS handshake" "$(grep 'tls:' "$LOG")"

expect_exit 0 "a connection from 127.0.0.2 is still accepted (its own count)" -- \
    bash -c "echo | timeout 10 socat - 'OPENSSL:$ADDR:5061,bind=127.0.0.2,cafile=ca/ca.pem,commonname=fe1.corp.test'"
n=$(count_log 'tls: peer=127\.0\.0\.2:')
[ "$n" -ge 1 ] && ok "the server logs 127.0.0.2's handshake" || not_ok "the server logs 127.0.0.2's handshake"

# Once one of 127.0.0.1's connections closes, it may open another.
sip_stop_pid "$first"
sleep 0.5
expect_exit 0 "after one of its connections closed, 127.0.0.1 gets in again" -- \
    bash -c "echo | timeout 10 socat - 'OPENSSL:$ADDR:5061,bind=127.0.0.1,cafile=ca/ca.pem,commonname=fe1.corp.test'"

# fe2's address (a server of the topology) is exempt: four at once.
for i in 1 2 3 4; do hold "$FE2"; done
if wait_log_count 'tls: peer=127\.0\.0\.26:' 4; then
    ok "the address of another server of the topology is exempt (4 connections)"
else
    not_ok "the address of another server of the topology is exempt (4 connections)" \
        "$(grep -E '127\.0\.0\.26' "$LOG" | head -5)"
fi
[ "$(count_log 'refusing connection from 127\.0\.0\.26')" -eq 0 ] &&
    ok "no refusal for the server's address" || not_ok "no refusal for the server's address"

# The metrics file counts the one refusal.
# (the file is written every 10 s and at stop)
sip_stop_pid "${SIP_PIDS[fe1.corp.test]}"
expect_grep "^trustnet_sip_connections_over_client_limit_total\{server=\"fe1.corp.test\"\} 1$" \
    metrics/trustnet-fe1.corp.test.prom \
    "metrics: trustnet_sip_connections_over_client_limit_total 1"

# ---- SMTP ---------------------------------------------------------------------------
mail_serve mail1.corp.test "$MAIL" 2525 || exit 1
MLOG=mail1.corp.test.log
# Two plain TCP sessions from 127.0.0.1 that stay open (no QUIT).
for i in 1 2; do
    sleep 60 | socat - "TCP:$MAIL:2525,bind=127.0.0.1" >"$TMP/smtp-held-$i" 2>&1 &
    BG_PIDS+=("$!")
done
for i in $(seq 1 50); do
    [ "$(cat "$TMP"/smtp-held-* | grep -c '^220 ')" -ge 2 ] && break
    sleep 0.1
done
expect_grep "^220 " "$TMP/smtp-held-2" "SMTP: two sessions from 127.0.0.1 are greeted"
expect_fail "SMTP: a third session from 127.0.0.1 gets no greeting (swaks fails)" -- \
    timeout 15 swaks --server "$MAIL:2525" --local-interface 127.0.0.1 --from a@example.test \
    --to alice@corp.test --timeout 5
expect_grep "refusing connection from 127\.0\.0\.1:[0-9]+: its address has 2 open" "$MLOG" \
    "SMTP: the refusal is logged"
expect_exit 0 "SMTP: a session from 127.0.0.2 is served (swaks)" -- \
    timeout 15 swaks --server "$MAIL:2525" --local-interface 127.0.0.2 --from a@example.test \
    --to alice@corp.test --quit-after MAIL
