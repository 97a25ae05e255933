#!/bin/bash
# smtp_client.sh - the SMTP delivery client (src/smtp/smtp_client.h, driven
# by tests/tools/smtp_send_tool) against real peers on 127.0.0.151-158:
# Postfix instances (STARTTLS with TLS 1.3, mutual TLS, TLS 1.2 only),
# aiosmtpd sinks (plaintext, STARTTLS with the right, the wrong and a
# wildcard certificate, an outdated TLS 1.1 server) and a python server
# that injects a response after "220 Ready to start TLS".
#
# Opportunistic TLS encrypts when it can (TLS 1.3, verdict logged), goes
# plaintext when STARTTLS is not offered or (once) after a failed
# handshake; internal and connector deliveries never send MAIL FROM
# without TLS to a verified peer; injection is dropped; per-recipient
# results, SIZE, dot-stuffing, large messages and session reuse.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/postfix_lib.sh"
trap 'postfix_stop_all; cleanup' EXIT

SEND="$TOOLS/smtp_send_tool"
PEERS="$ROOT/tests/integration/peers"
PY=/usr/bin/python3 # aiosmtpd is the Debian package python3-aiosmtpd
PORT=2525
PKI="$TMP/pki"
O="$TMP/setup.log"

PLAIN=127.0.0.151     # aiosmtpd, no STARTTLS, SIZE 1000000
BANK=127.0.0.152      # aiosmtpd, STARTTLS, mx.bank.test (Bank Root CA)
EVIL=127.0.0.153      # aiosmtpd, STARTTLS, mx.evil.test (Bank Root CA)
POSTFIX=127.0.0.154   # Postfix, mx1.corp.test (Corp CA), asks for client certs
INJECT=127.0.0.155    # python, response injection after 220
POSTFIX12=127.0.0.156 # Postfix, TLS 1.2 only
OLD=127.0.0.157       # aiosmtpd, STARTTLS with TLS 1.0/1.1 only
WILD=127.0.0.158      # aiosmtpd, STARTTLS, *.bank.test

# --- PKI with the project's own CA ------------------------------------------------
tnca() { "$TRUSTNET" ca "$@" >>"$O" 2>&1; }
tnca init --dir "$PKI/corp" --name "Corp Enterprise CA" --org Corp
tnca init --dir "$PKI/bank" --name "Bank Root CA" --org Bank
tnca issue --dir "$PKI/corp" mx1.corp.test --out "$PKI/mx1"
tnca issue --dir "$PKI/corp" relay.corp.test --out "$PKI/relay"
tnca issue --dir "$PKI/bank" mx.bank.test --out "$PKI/bank-mx"
tnca issue --dir "$PKI/bank" mx.evil.test --out "$PKI/evil-mx"
tnca issue --dir "$PKI/bank" "*.bank.test" --out "$PKI/bank-wild"
missing=
for f in corp/ca.pem bank/ca.pem mx1.pem mx1.key relay.pem relay.key bank-mx.pem \
    bank-mx.key evil-mx.pem evil-mx.key bank-wild.pem bank-wild.key; do
    [ -s "$PKI/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
    LAST_OUT=$O
    not_ok "test PKI made with trustnet ca" "missing:$missing"
    exit 1
fi
ok "test PKI made with trustnet ca"

# --- peers ----------------------------------------------------------------------------
# sink NAME ADDR [smtp_sink.py options]: an aiosmtpd sink; its commands are
# logged to $TMP/NAME.log, its messages stored in $TMP/NAME/.
sink() {
    local name=$1 addr=$2
    shift 2
    mkdir -p "$TMP/$name"
    start_bg "$name" "$PY" "$PEERS/smtp_sink.py" "$addr" "$PORT" "$TMP/$name" "$@"
}
sink plain "$PLAIN" --size 1000000
sink bank "$BANK" --tls "$PKI/bank-mx.pem" "$PKI/bank-mx.key"
sink evil "$EVIL" --tls "$PKI/evil-mx.pem" "$PKI/evil-mx.key"
sink old "$OLD" --tls "$PKI/bank-mx.pem" "$PKI/bank-mx.key" --max-tls 1.1
sink wild "$WILD" --tls "$PKI/bank-wild.pem" "$PKI/bank-wild.key"
start_bg inject python3 "$PEERS/smtp_starttls_server.py" "$INJECT:$PORT" \
    "$PKI/bank-mx.pem" "$PKI/bank-mx.key" inject

chmod 755 "$TMP" # Postfix's daemons run as user postfix
PF="$TMP/postfix"
PF12="$TMP/postfix12"
TLS_MAIN=("smtpd_tls_security_level = may" "smtpd_tls_cert_file = $PKI/mx1.pem"
    "smtpd_tls_key_file = $PKI/mx1.key" "smtpd_tls_loglevel = 1")
postfix_instance "$PF" mx1.corp.test "$POSTFIX:$PORT" "${TLS_MAIN[@]}" \
    "smtpd_tls_CAfile = $PKI/corp/ca.pem" "smtpd_tls_ask_ccert = yes"
postfix_instance "$PF12" mx2.corp.test "$POSTFIX12:$PORT" "${TLS_MAIN[@]}" \
    "smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1, !TLSv1.3"
down=
postfix_start "$PF" || down="$down postfix"
postfix_start "$PF12" || down="$down postfix12"
for a in $PLAIN $BANK $EVIL $INJECT $OLD $WILD; do wait_port "$a" "$PORT" || down="$down $a"; done
if [ -z "$down" ]; then
    ok "peers up: Postfix x2, aiosmtpd x5, injecting server"
else
    cat "$PF/setup.log" "$PF12/setup.log" "$TMP"/{plain,bank,evil,old,wild,inject}.log >"$LAST_OUT" 2>&1
    not_ok "peers up: Postfix x2, aiosmtpd x5, injecting server" "not up:$down"
    exit 1
fi
PFLOG=$(postfix_log "$PF")
PF12LOG=$(postfix_log "$PF12")

# --- messages ------------------------------------------------------------------------
printf 'From: a@client.test\r\nSubject: small\r\n\r\nhello\r\n' >"$TMP/small.eml"
# 300 KiB in several chunks, with lines that need dot-stuffing (a lone
# ".", "..", ".x") and long lines; CRLF already, so it must arrive as is.
"$PY" - "$TMP/big.eml" <<'EOF'
import sys
lines = [b"From: a@client.test", b"Subject: big", b""]
i = 0
while sum(len(l) + 2 for l in lines) < 300 * 1024:
    lines += [b".", b"..", b".x line %d" % i, b"y" * 900, b"line %d" % i]
    i += 1
open(sys.argv[1], "wb").write(b"\r\n".join(lines) + b"\r\n")
EOF
head -c 1200000 /dev/zero | tr '\0' 'z' | fold -w 500 | sed 's/$/\r/' >"$TMP/huge.eml"

# send WHAT EXIT ARGS...: deliver with smtp_send_tool; output in $LAST_OUT.
send() {
    local what=$1 want=$2
    shift 2
    expect_exit "$want" "$what: exit $want" -- "$SEND" --timeout 5000 "$@"
}
count() { grep -c -- "$1" "$2" 2>/dev/null; } # COUNT PATTERN FILE (0 when absent)
expect_no_grep() { # PATTERN FILE NAME
    if grep -Eq -- "$1" "$2"; then not_ok "$3" "unexpected line: $(grep -E -- "$1" "$2" | head -1)"; else ok "$3"; fi
}

# --- opportunistic ------------------------------------------------------------------------
send "opportunistic to Postfix" 0 --connect "$POSTFIX:$PORT" --host mx1.corp.test \
    --to user@remote.test "$TMP/small.eml"
expect_grep 'domain=remote\.test relay=mx1\.corp\.test\[127\.0\.0\.154:2525\] policy="opportunistic" tls=TLSv1\.3 cipher=TLS_AES_128_GCM_SHA256' \
    "$LAST_OUT" "opportunistic to Postfix: log line has domain, relay, policy, TLSv1.3, cipher"
expect_grep 'verdict="not verified: issuer not trusted: CN=Corp Enterprise CA' "$LAST_OUT" \
    "opportunistic to Postfix: unverified certificate (system roots) logged, not fatal"
qid=$(sed -n 's/.*status=sent code=250 .*queued as \([0-9A-F]*\).*/\1/p' "$LAST_OUT" | head -1)
sleep 0.5
expect_grep "Anonymous TLS connection established from .*: TLSv1\.3 with cipher TLS_AES_128_GCM_SHA256" \
    "$PFLOG" "opportunistic to Postfix: Postfix logs TLSv1.3"
expect_grep "${qid:-NOID}: client=" "$PFLOG" "opportunistic to Postfix: Postfix queued the message (${qid:-no id})"

send "opportunistic to a TLS 1.2-only Postfix" 0 --connect "$POSTFIX12:$PORT" \
    --host mx2.corp.test --to user@remote.test "$TMP/small.eml"
expect_grep 'tls=TLSv1\.2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 group=x25519' "$LAST_OUT" \
    "TLS 1.2-only Postfix: TLS 1.2 with the policy's first forward-secret AEAD suite"
sleep 0.5
expect_grep "TLS connection established from .*: TLSv1\.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256" \
    "$PF12LOG" "TLS 1.2-only Postfix: Postfix logs TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"

send "opportunistic to a plaintext sink" 0 --connect "$PLAIN:$PORT" --host mx.plain.test \
    --to user@plain.test "$TMP/big.eml"
expect_grep 'tls=none cipher=- group=- verdict="plaintext: STARTTLS not offered"' "$LAST_OUT" \
    "plaintext sink: delivered without TLS, and the log says why"
if cmp -s "$TMP/big.eml" "$TMP/plain/msg-1.eml"; then
    ok "plaintext sink: 300 KiB message with dot lines arrives byte for byte"
else
    not_ok "plaintext sink: 300 KiB message with dot lines arrives byte for byte" \
        "$(cmp "$TMP/big.eml" "$TMP/plain/msg-1.eml" 2>&1)"
fi
expect_grep "^MAIL <sender@client\.test> SIZE=$(stat -c %s "$TMP/big.eml")$" "$TMP/plain.log" \
    "plaintext sink: MAIL FROM declares SIZE"

send "per-recipient results" 1 --connect "$PLAIN:$PORT" --host mx.plain.test \
    --to ok@plain.test --to reject@plain.test --to defer@plain.test "$TMP/small.eml"
expect_grep '^rcpt=ok@plain\.test status=sent code=250 enhanced=2\.0\.0' "$LAST_OUT" \
    "per-recipient results: accepted recipient sent"
expect_grep '^rcpt=reject@plain\.test status=bounced code=550 enhanced=5\.1\.1' "$LAST_OUT" \
    "per-recipient results: 550 recipient bounced"
expect_grep '^rcpt=defer@plain\.test status=deferred code=451 enhanced=4\.3\.0' "$LAST_OUT" \
    "per-recipient results: 451 recipient deferred"
expect_grep 'result="sent 1, deferred 1, bounced 1' "$LAST_OUT" "per-recipient results: summary in the log line"

mails=$(count '^MAIL' "$TMP/plain.log")
send "message over the server's SIZE" 2 --connect "$PLAIN:$PORT" --host mx.plain.test \
    --to user@plain.test "$TMP/huge.eml"
expect_grep 'status=bounced code=0 enhanced=5\.3\.4 text=message size [0-9]+ exceeds size limit 1000000' \
    "$LAST_OUT" "message over the server's SIZE: bounced with the limit named"
[ "$(count '^MAIL' "$TMP/plain.log")" -eq "$mails" ] && ok "message over the server's SIZE: not a byte of MAIL sent" ||
    not_ok "message over the server's SIZE: not a byte of MAIL sent"

send "opportunistic to a TLS 1.1-only server" 0 --connect "$OLD:$PORT" --host mx.bank.test \
    --to user@bank.test "$TMP/small.eml"
# Python's server hangs up without an alert; the TLS layer says what it saw.
expect_grep 'verdict="refused: [^"]*" result="TLS with host mx\.bank\.test\[127\.0\.0\.157:2525\] failed' \
    "$LAST_OUT" "TLS 1.1-only server: handshake refused"
expect_no_grep '^TLS ' "$TMP/old.log" "TLS 1.1-only server: no TLS 1.0/1.1 session was made"
expect_grep 'tls=none .*verdict="plaintext: retry after a failed TLS handshake" result="sent 1' "$LAST_OUT" \
    "TLS 1.1-only server: opportunistic retries once in plaintext and delivers"

# --- injection ----------------------------------------------------------------------------------
send "opportunistic, response injection after STARTTLS" 1 --connect "$INJECT:$PORT" \
    --host mx.bank.test --to user@bank.test "$TMP/small.eml"
expect_grep 'response injection\): connection dropped' "$LAST_OUT" \
    "opportunistic, response injection: dropped"
expect_no_grep 'status=sent|plaintext: retry' "$LAST_OUT" \
    "opportunistic, response injection: no delivery, no plaintext retry"
send "connector, response injection after STARTTLS" 1 --connect "$INJECT:$PORT" \
    --host mx.bank.test --policy connector --ca "$PKI/bank/ca.pem" --name mx.bank.test \
    --to user@bank.test "$TMP/small.eml"
expect_grep 'response injection\): connection dropped' "$LAST_OUT" "connector, response injection: dropped"

# --- forced TLS: connector ---------------------------------------------------------------------
connector() { # WHAT EXIT ADDR [options]
    local what=$1 want=$2 addr=$3
    shift 3
    send "$what" "$want" --connect "$addr:$PORT" --host mx.bank.test --policy connector \
        --policy-name "connector bank" --ca "$PKI/bank/ca.pem" --to user@bank.test "$@" \
        "$TMP/small.eml"
}

mails=$(count '^MAIL' "$TMP/plain.log")
connector "connector to a plaintext sink" 1 "$PLAIN" --name mx.bank.test
expect_grep 'status=deferred .*TLS is required, but was not offered by host mx\.bank\.test\[127\.0\.0\.151:2525\]' \
    "$LAST_OUT" "connector to a plaintext sink: deferred, TLS required but not offered"
[ "$(count '^MAIL' "$TMP/plain.log")" -eq "$mails" ] && ok "connector to a plaintext sink: sink received no MAIL" ||
    not_ok "connector to a plaintext sink: sink received no MAIL"

connector "connector to the wrong certificate name" 1 "$EVIL" --name mx.bank.test
expect_grep 'status=deferred .*name mismatch: wanted mx\.bank\.test, certificate names mx\.evil\.test' \
    "$LAST_OUT" "connector, wrong certificate name: deferred with the verdict's reason"
expect_grep 'policy="connector bank" .*verdict="refused: name mismatch' "$LAST_OUT" \
    "connector, wrong certificate name: log line names policy and refusal"
[ "$(count '^MAIL' "$TMP/evil.log")" -eq 0 ] && [ -z "$(ls "$TMP/evil")" ] &&
    ok "connector, wrong certificate name: server received nothing" ||
    not_ok "connector, wrong certificate name: server received nothing"

connector "connector, wrong name, advisory TLS config by mistake" 1 "$EVIL" --name mx.bank.test \
    --advisory-tls
expect_grep 'verdict="refused: name mismatch: wanted mx\.bank\.test, certificate names mx\.evil\.test"' \
    "$LAST_OUT" "connector, advisory config by mistake: still refused by the policy"
# Two connections so far, each with its one plaintext EHLO; none after TLS.
[ "$(count '^MAIL' "$TMP/evil.log")" -eq 0 ] && [ "$(count '^EHLO' "$TMP/evil.log")" -eq 2 ] &&
    [ -z "$(ls "$TMP/evil")" ] &&
    ok "connector, advisory config by mistake: not a word after the handshake" ||
    not_ok "connector, advisory config by mistake: not a word after the handshake"

connector "connector to the right server" 0 "$BANK" --name mx.bank.test
expect_grep 'policy="connector bank" tls=TLSv1\.3 cipher=TLS_AES_256_GCM_SHA384 .*verdict="trusted: chain to Bank Root CA, valid, DNS:mx\.bank\.test"' \
    "$LAST_OUT" "connector to the right server: TLSv1.3, verdict trusted"
expect_grep '^TLS TLSv1\.3 ' "$TMP/bank.log" "connector to the right server: server saw TLSv1.3"
[ -s "$TMP/bank/msg-1.eml" ] && ok "connector to the right server: message received" ||
    not_ok "connector to the right server: message received"

send "connector with another CA" 1 --connect "$BANK:$PORT" --host mx.bank.test \
    --policy connector --ca "$PKI/corp/ca.pem" --name mx.bank.test --to user@bank.test \
    "$TMP/small.eml"
expect_grep 'failed: issuer not trusted: CN=Bank Root CA' "$LAST_OUT" \
    "connector with another CA: refused, issuer not trusted"

connector "connector, *.bank.test allowed" 0 "$WILD" --name mx2.bank.test --wildcard
expect_grep 'verdict="trusted: chain to Bank Root CA, valid, DNS:\*\.bank\.test"' "$LAST_OUT" \
    "connector, *.bank.test allowed: wildcard certificate trusted"
connector "connector, exact name required" 1 "$WILD" --name mx2.bank.test
expect_grep 'failed: wildcard not allowed' "$LAST_OUT" \
    "connector, exact name required: wildcard certificate refused"

connector "connector to a TLS 1.1-only server" 1 "$OLD" --name mx.bank.test
expect_grep 'status=deferred .*TLS with host mx\.bank\.test\[127\.0\.0\.157:2525\] failed' "$LAST_OUT" \
    "connector to a TLS 1.1-only server: deferred"
expect_no_grep 'plaintext: retry' "$LAST_OUT" "connector to a TLS 1.1-only server: no plaintext retry"

# --- internal: mutual TLS to our own server ------------------------------------------------------
internal() { # WHAT EXIT [options]
    local what=$1 want=$2
    shift 2
    send "$what" "$want" --connect "$POSTFIX:$PORT" --host mx1.corp.test --policy internal \
        --ca "$PKI/corp/ca.pem" --cert "$PKI/relay.pem" --key "$PKI/relay.key" "$@"
}
internal "internal to Postfix, three messages on one session" 0 --to a@corp.test \
    --to b@corp.test --count 3 "$TMP/small.eml"
expect_grep 'policy="internal" tls=TLSv1\.3 .*verdict="trusted: chain to Corp Enterprise CA, valid, DNS:mx1\.corp\.test"' \
    "$LAST_OUT" "internal to Postfix: TLSv1.3, verdict trusted"
[ "$(count 'status=sent' "$LAST_OUT")" -eq 6 ] && ok "internal to Postfix: 3 messages x 2 recipients sent" ||
    not_ok "internal to Postfix: 3 messages x 2 recipients sent"
sleep 0.5
expect_grep "Trusted TLS connection established from .*: TLSv1\.3 with cipher .*client-signature" \
    "$PFLOG" "internal to Postfix: Postfix verified our client certificate (TLSv1.3)"
expect_grep "disconnect from .* ehlo=2 starttls=1 mail=3 rcpt=6 data=3 rset=2 quit=1" "$PFLOG" \
    "internal to Postfix: one session, RSET between messages"

clients=$(count ': client=' "$PFLOG")
internal "internal, wrong expected name" 1 --name mx9.corp.test --to a@corp.test "$TMP/small.eml"
expect_grep 'failed: name mismatch: wanted mx9\.corp\.test, certificate names mx1\.corp\.test' \
    "$LAST_OUT" "internal, wrong expected name: refused with the reason"
sleep 0.3
[ "$(count ': client=' "$PFLOG")" -eq "$clients" ] && ok "internal, wrong expected name: Postfix received no message" ||
    not_ok "internal, wrong expected name: Postfix received no message"
expect_exit 3 "internal without our certificate: refused before connecting" -- "$SEND" \
    --connect "$POSTFIX:$PORT" --host mx1.corp.test --policy internal --ca "$PKI/corp/ca.pem" \
    --to a@corp.test "$TMP/small.eml"
expect_grep 'mutual TLS: our certificate and key are required' "$LAST_OUT" \
    "internal without our certificate: says why"
