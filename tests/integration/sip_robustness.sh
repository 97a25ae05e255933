#!/bin/bash
# SIP front end: what the wire and the operator throw at it.  TLS 1.1 is
# refused; plain TCP gets no SIP answer; malformed SIP gets 400 naming the
# problem and the connection goes on; CRLF keep-alive pong; too large
# input; 483; SIGHUP keeps an established connection; registrations
# survive a restart; SIGTERM exits 0; one log line per connection.
# Connections are made by peers/sip_tls_client.py (python ssl, the CA and
# the server name verified) and openssl s_client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

sip_setup 127.0.0.23 5061 || exit 1
sip_user alice alice-pw
sip_start || { not_ok "trustnet serve starts"; sed 's/^/#   /' "$SIP_LOG"; exit 1; }

# Message texts for sip_tls_client.py (\r\n decoded there, {n} unique).
HDRS='Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-t{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@corp.test>;tag=p{n}\r\nTo: <sip:corp.test>\r\nCall-ID: c{n}@probe\r\n'
OPTIONS="OPTIONS sip:corp.test SIP/2.0\r\n${HDRS}CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
OK200='expect:^SIP/2.0 200 OK\r\n.*?\r\n\r\n'

# client NAME STEPS...: one connection; ok/not_ok on its exit status.
client() {
    local name=$1
    shift
    if sip_client "$@" >"$TMP/client.out" 2>&1; then ok "$name"; else
        LAST_OUT="$TMP/client.out"
        not_ok "$name"
        LAST_OUT="$TMP/last.out"
    fi
}

# ---- TLS only ---------------------------------------------------------------------
connections=0
# SECLEVEL=0: let OpenSSL 3 offer TLS 1.1 at all, so the server is what refuses.
expect_exit 1 "openssl s_client -tls1_1 is refused" -- \
    timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    -connect "$SIP_ADDR:$SIP_PORT" -servername "$SIP_FQDN" -CAfile "$SIP_CA" </dev/null
connections=$((connections + 1))
if grep -q "^New, (NONE), Cipher is (NONE)" "$LAST_OUT" || grep -qi "alert\|handshake failure" "$LAST_OUT"; then
    ok "the TLS 1.1 handshake fails (no cipher agreed)"
else
    not_ok "the TLS 1.1 handshake fails (no cipher agreed)"
fi
sip_wait_log "tls: peer=127\.0\.0\.1:[0-9]+ .*verdict=refused" 5
expect_grep "tls: peer=127\.0\.0\.1:[0-9]+ .*verdict=refused: peer offered only TLS 1.1" "$SIP_LOG" \
    "the refused TLS 1.1 connection is logged with its verdict and reason"

client "plain TCP that sends SIP gets no SIP answer" --plain "send:$OPTIONS" nosip:3
connections=$((connections + 1))
sip_wait_log "verdict=refused: peer does not speak TLS" 3
expect_grep "verdict=refused: peer does not speak TLS" "$SIP_LOG" "plain TCP is logged as refused"

# ---- how a connection's end is told ---------------------------------------------------
# s_client sends close_notify when its input ends; sip_tls_client.py (below)
# just closes the socket, which the log tells apart.
sip_log_mark
expect_exit 0 "openssl s_client: a CRLF ping, then close_notify at the end of its input" -- \
    timeout 10 openssl s_client -connect "$SIP_ADDR:$SIP_PORT" -servername "$SIP_FQDN" \
    -CAfile "$SIP_CA" < <(printf '\r\n\r\n')
connections=$((connections + 1))
if sip_wait_log "conn: closed peer=127\.0\.0\.1:[0-9]+ after [0-9]+ messages?: closed by peer$" 3; then
    ok "a close_notify is logged as 'closed by peer'"
else
    not_ok "a close_notify is logged as 'closed by peer'"
fi

# ---- a certificate's name cannot forge a log record ------------------------------------
# Its subject is the peer's own text: a line break in the CN must stay
# inside the one record of the refused connection (escaped as \x0a).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$TMP/forger.key" -out "$TMP/forger.pem" \
    -subj $'/CN=forger\nZ info tls: verdict=accepted' 2>/dev/null
sip_log_mark
# (s_client's exit status depends on whether the server's alert arrives
# before it stops: TLS 1.3 judges the client certificate after the client
# is done; the log says what the server decided)
timeout 10 openssl s_client -connect "$SIP_ADDR:$SIP_PORT" -servername "$SIP_FQDN" \
    -CAfile "$SIP_CA" -cert "$TMP/forger.pem" -key "$TMP/forger.key" < <(printf 'x') \
    >"$TMP/forger.out" 2>&1 || true
connections=$((connections + 1))
if sip_wait_log 'verdict=refused: self-signed certificate not trusted: CN=forger' 3; then
    ok "a client certificate whose CN holds a line break is refused"
else
    not_ok "a client certificate whose CN holds a line break is refused" "$(tail -5 "$TMP/forger.out")"
fi
forged=$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" | grep -c '^Z info tls' || true)
if [ "$forged" = 0 ] && tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" |
    grep -q 'cert="CN=forger\\x0aZ info tls: verdict=accepted".*verdict=refused'; then
    ok "the CN's line break stays escaped inside the one refused-connection line"
else
    not_ok "the CN's line break stays escaped inside the one refused-connection line"
fi

# ---- malformed input, keep-alive, size limits ---------------------------------------
client "malformed CSeq: 400 naming CSeq, then OPTIONS on the same connection: 200" \
    "send:OPTIONS sip:corp.test SIP/2.0\r\n${HDRS}CSeq: banana OPTIONS\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 400 [^\r]*CSeq[^\r]*\r\n.*?\r\n\r\n' \
    "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
client "missing From: 400 naming From, and the connection goes on" \
    "send:MESSAGE sip:alice@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-m{n}\r\nTo: <sip:alice@corp.test>\r\nCall-ID: m{n}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 400 [^\r]*From[^\r]*\r\n.*?\r\n\r\n' \
    "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
client "CRLF CRLF keep-alive gets its CRLF pong and nothing else" \
    "send:$OPTIONS" "$OK200" 'send:\r\n\r\n' 'expect:^\r\n' silence:0.5 \
    "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
client "Max-Forwards: 0 gets 483" \
    "send:MESSAGE sip:alice@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-h{n}\r\nMax-Forwards: 0\r\nFrom: <sip:probe@corp.test>;tag=h{n}\r\nTo: <sip:alice@corp.test>\r\nCall-ID: h{n}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 483 '
connections=$((connections + 1))

# Too large: the header block is complete, so the server answers 513 and
# closes (it cannot skip a body that large); a header block over the limit
# is closed without an answer.
sip_log_mark
client "Content-Length beyond the limit: 513, then the connection is closed" \
    "send:OPTIONS sip:corp.test SIP/2.0\r\n${HDRS}CSeq: 1 OPTIONS\r\nContent-Length: 99999999\r\n\r\n" \
    'expect:^SIP/2.0 513 ' closed:3
connections=$((connections + 1))
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big"
{ printf 'OPTIONS sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-big\r\nX-Big: '
  cat "$TMP/big"; printf '\r\n\r\n'; } >"$TMP/big.sip"
client "a 70 KB header block: 513 or the connection closed" "sendfile:$TMP/big.sip" closed:3
connections=$((connections + 1))
if sip_wait_log "513|Too Large" 3; then ok "the server logs the too large message"; else
    not_ok "the server logs the too large message"; fi

# ---- SIGHUP on an established connection --------------------------------------------
sip_log_mark
client "SIGHUP: the same TLS connection answers OPTIONS before and after the reload" \
    "send:$OPTIONS" "$OK200" "kill:HUP:$SIP_PID" sleep:0.5 "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
if sip_wait_log "SIGHUP: certificates, CA and CRLs reloaded" 3; then
    ok "SIGHUP: the reload is logged"
else
    not_ok "SIGHUP: the reload is logged"
fi
client "after SIGHUP a new connection works" "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
if kill -0 "$SIP_PID" 2>/dev/null; then ok "SIGHUP: the server still runs"; else
    not_ok "SIGHUP: the server still runs"; fi

# ---- a connection that goes away takes its bindings with it ------------------------------
DREG="REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5998;branch=z9hG4bK-d{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=d1\r\nTo: <sip:alice@corp.test>\r\nCall-ID: reg-dead@probe\r\nContact: <sip:alice@127.0.0.1:5998;transport=tls>\r\nExpires: 600\r\n"
sip_log_mark
client "alice registers (MD5 digest), then her connection closes" \
    "send:${DREG}CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 401 .*?\r\n\r\n' digest:MD5:alice:alice-pw:REGISTER:sip:corp.test \
    "send:${DREG}CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 200 OK\r\n.*?\r\n\r\n'
connections=$((connections + 1))
if sip_wait_log "conn: closed peer=.* after 2 messages: closed by peer without TLS close_notify; 1 binding dropped$" 3; then
    ok "the closed connection's binding is dropped, on its closed line"
else
    not_ok "the closed connection's binding is dropped, on its closed line"
fi
expect_stored "^alice@corp.test +[^ ]+ +[^ ]+ +0$" \
    "the store forgets the binding of a closed connection"

# ---- guessing passwords: ten refused credentials in a row close the connection -----------
GREG="REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5997;branch=z9hG4bK-g{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=g1\r\nTo: <sip:alice@corp.test>\r\nContact: <sip:alice@127.0.0.1:5997;transport=tls>\r\nExpires: 600\r\n"
guesses() { # CALLID N PASSWORD...: steps of N REGISTERs, each answered with the next password
    local callid=$1 n=$2 i
    shift 2
    for ((i = 1; i <= n; i++)); do
        printf '%s\0' "send:${GREG}Call-ID: $callid\r\nCSeq: $((2 * i - 1)) REGISTER\r\nContent-Length: 0\r\n\r\n" \
            'expect:^SIP/2.0 401 .*?\r\n\r\n' "digest:SHA-256:alice:$1:REGISTER:sip:corp.test" \
            "send:${GREG}Call-ID: $callid\r\nCSeq: $((2 * i)) REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n"
        [ "$1" = alice-pw ] && printf '%s\0' 'expect:^SIP/2.0 200 .*?\r\n\r\n' ||
            printf '%s\0' 'expect:^SIP/2.0 403 .*?\r\n\r\n'
        [ $# -gt 1 ] && shift
    done
}
mapfile -d '' steps < <(guesses guess1 10 wrong-pw)
sip_log_mark
client "ten wrong passwords in a row: ten 403s, then the server closes the connection" \
    "${steps[@]}" closed:3
connections=$((connections + 1))
if sip_wait_log "credentials refused 10 times in a row \(password guessing\?\)" 3; then
    ok "the close is logged as possible password guessing"
else
    not_ok "the close is logged as possible password guessing"
fi
mapfile -d '' steps < <(guesses guess2 11 wrong-pw wrong-pw wrong-pw wrong-pw wrong-pw wrong-pw \
    wrong-pw wrong-pw wrong-pw alice-pw wrong-pw)
client "nine wrong, one right, one wrong: the count starts again and the connection stays" \
    "${steps[@]}" 'send:\r\n\r\n' 'expect:^\r\n'
connections=$((connections + 1))

# ---- a device that registers again replaces its binding (RFC 5626 outbound) --------------
# Connection A registers alice's device (+sip.instance, reg-id 1) and stays
# open; connection B registers the same device and flow under another
# Contact (a new port): the 200 lists only B's binding and says
# Require: outbound, although A's connection is still up.
INST='<urn:uuid:00000000-0000-0000-0000-0000000000a1>'
oreg() { # PORT: a REGISTER of alice's device from that port
    printf '%s' "REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:$1;branch=z9hG4bK-o{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=o$1\r\nTo: <sip:alice@corp.test>\r\nCall-ID: outbound-$1@probe\r\nSupported: outbound, path\r\nContact: <sip:alice@127.0.0.1:$1;transport=tls>;+sip.instance=\"$INST\";reg-id=1\r\nExpires: 600\r\n"
}
sip_log_mark
sip_client "send:$(oreg 5801)CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 401 .*?\r\n\r\n' digest:SHA-256:alice:alice-pw:REGISTER:sip:corp.test \
    "send:$(oreg 5801)CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 200 OK\r\n.*?\r\n\r\n' "waitfile:$TMP/b-done" >"$TMP/a.out" 2>&1 &
A_PID=$!
if sip_wait_log "alice@corp.test: 1 binding\(s\)" 5; then ok "device registered over connection A"; else
    not_ok "device registered over connection A" "$(cat "$TMP/a.out")"; fi
ONE='(?:(?!Contact:).)*?'
client "the same device over connection B: 200 with Require: outbound and only B's binding" \
    "send:$(oreg 5802)CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 401 .*?\r\n\r\n' digest:SHA-256:alice:alice-pw:REGISTER:sip:corp.test \
    "send:$(oreg 5802)CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    "expect:^SIP/2.0 200 OK\r\n${ONE}Require: outbound\r\n${ONE}Contact: <sip:alice@127.0.0.1:5802;transport=tls>;expires=[0-9]+;\+sip.instance=\"$INST\";reg-id=1\r\n${ONE}\r\n\r\n"
touch "$TMP/b-done"
if wait "$A_PID"; then ok "connection A stayed up meanwhile"; else
    not_ok "connection A stayed up meanwhile" "$(cat "$TMP/a.out")"; fi
connections=$((connections + 2))
expect_grep "registrar: alice@corp.test: binding sip:alice@127.0.0.1:5801;transport=tls: replaced by a new registration of the same device" \
    "$SIP_LOG" "the log says which binding the device's new registration replaced"
expect_stored "^alice@corp.test +[^ ]+ +[^ ]+ +0$" "both connections closed: no binding left"

# ---- registrations survive a restart --------------------------------------------------
# alice registers (digest SHA-256, as python computes it) and keeps her
# connection while the server is stopped under her.
REG="REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-r{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=r1\r\nTo: <sip:alice@corp.test>\r\nCall-ID: reg-restart@probe\r\nContact: <sip:alice@127.0.0.1:5999;transport=tls>\r\nExpires: 600\r\n"
client "alice registers with SHA-256 digest, then SIGTERM closes her connection" \
    "send:${REG}CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 401 .*?\r\n\r\n' digest:SHA-256:alice:alice-pw:REGISTER:sip:corp.test \
    "send:${REG}CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 200 OK\r\n.*?Contact: <sip:alice@127.0.0.1:5999;transport=tls>;expires=[0-9]+.*?\r\n\r\n' \
    "kill:TERM:$SIP_PID" closed:10
connections=$((connections + 1))
expect_grep "alice@corp.test authenticated \(SHA-256\)" "$SIP_LOG" "alice authenticated with SHA-256"
sip_stop TERM
if [ "$SIP_RC" = 0 ]; then ok "SIGTERM with a client connected: exit status 0"; else
    not_ok "SIGTERM with a client connected: exit status 0" "exit status $SIP_RC"; fi
expect_grep "SIGTERM: shutting down" "$SIP_LOG" "SIGTERM: the shutdown is logged"
"$TRUSTNET" user list --store "$SIP_STORE" >"$TMP/list.out" 2>&1
expect_grep "^alice@corp.test +[^ ]+ +[^ ]+ +1$" "$TMP/list.out" \
    "the store still holds alice's binding after the shutdown"
sip_start || not_ok "the server starts again"
"$TRUSTNET" user list --store "$SIP_STORE" >"$TMP/list.out" 2>&1
expect_grep "^alice@corp.test +[^ ]+ +[^ ]+ +1$" "$TMP/list.out" \
    "after the restart alice's binding is still active"
client "after the restart the server answers" "send:$OPTIONS" "$OK200"
connections=$((connections + 1))
sip_stop TERM
if [ "$SIP_RC" = 0 ]; then ok "SIGTERM: exit status 0"; else
    not_ok "SIGTERM: exit status 0" "exit status $SIP_RC"; fi

# ---- bindings left from restarts do not lock a user out ---------------------------------
# A client that comes back on a new port after each restart leaves a binding
# without a connection each time.  With the store holding the limit (10) of
# them for alice, her next REGISTER is taken and the binding that expires
# first makes room.
python3 - "$SIP_STORE" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time())
for i in range(1, 10):  # with the one kept above: 10
    db.execute("INSERT INTO bindings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               ("alice@corp.test", "sip:alice@127.0.0.1:%d;transport=tls" % (6000 + i),
                now + 300 + i, 1000, "old-%d@probe" % i, 1, "", 0, "", "127.0.0.1:%d" % (6000 + i),
                "%x" % i, "", now))
db.commit()
PY
sip_start || not_ok "the server starts with 10 stored bindings for alice"
"$TRUSTNET" user list --store "$SIP_STORE" >"$TMP/list.out" 2>&1
expect_grep "^alice@corp.test +[^ ]+ +[^ ]+ +10$" "$TMP/list.out" "alice has 10 bindings from before the restart"
NREG="REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5997;branch=z9hG4bK-n{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=n1\r\nTo: <sip:alice@corp.test>\r\nCall-ID: reg-new@probe\r\nContact: <sip:alice@127.0.0.1:5997;transport=tls>\r\nExpires: 600\r\n"
sip_log_mark
client "alice registers an 11th contact over a live connection: 200" \
    "send:${NREG}CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 401 .*?\r\n\r\n' digest:SHA-256:alice:alice-pw:REGISTER:sip:corp.test \
    "send:${NREG}CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 200 OK\r\n.*?Contact: <sip:alice@127.0.0.1:5997;transport=tls>;expires=[0-9]+.*?\r\n\r\n'
connections=$((connections + 1))
if sip_wait_log "alice@corp.test: binding sip:alice@127.0.0.1:6001;transport=tls: no connection since the restart, dropped to make room" 3; then
    ok "the stale binding that expires first made room, and the log says so"
else
    not_ok "the stale binding that expires first made room, and the log says so"
fi
# her new binding went with its connection, the evicted one with the room it made
expect_stored "^alice@corp.test +[^ ]+ +[^ ]+ +9$" "the store holds the 9 other stale bindings"
sip_stop TERM

# ---- one log line per connection ----------------------------------------------------------
lines=$(grep -c "info tls: peer=" "$SIP_LOG")
if [ "$lines" -eq "$connections" ]; then
    ok "one TLS log line per connection ($connections)"
else
    not_ok "one TLS log line per connection" "$lines lines for $connections connections"
    grep "tls: peer=" "$SIP_LOG" | sed 's/^/#   /'
fi
bad=$(grep "info tls: peer=" "$SIP_LOG" | grep -Ev "tls=(TLSv1\.[23]|-) cipher=[^ ]+ .*verdict=(accepted|refused)" | head -3)
if [ -z "$bad" ]; then ok "each connection line names TLS version, cipher and verdict"; else
    not_ok "each connection line names TLS version, cipher and verdict" "$bad"; fi
