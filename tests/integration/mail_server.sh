#!/bin/bash
# The mail role against real peers: swaks (with and without STARTTLS, with
# client certificates) as senders, aiosmtpd sinks as next hops, two
# trustnet mail servers talking mutual TLS.  Relay rules, Received:
# headers, forced TLS through outbound and inbound connectors, STARTTLS
# command injection, bounces, and the operator's mailq / mail delete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail_lib.sh"

mail_need_peers || exit 0
cd "$TMP" || exit 1
T="$TRUSTNET"
M1=127.0.0.161 M2=127.0.0.162
MBOX=127.0.0.163 PLAIN=127.0.0.164 BANK=127.0.0.165 EVIL=127.0.0.166
"$T" ca init --dir ca --name "Corp Enterprise CA" >/dev/null &&
    "$T" ca init --dir bank --name "Bank CA" >/dev/null &&
    for n in mail1 mail2 fe9; do
        "$T" ca issue --dir ca "$n.corp.test" --out "$n" >/dev/null || exit 1
    done &&
    "$T" ca issue --dir bank mx.bank.test --out bank-mx >/dev/null &&
    "$T" ca issue --dir bank mx.evil.test --out evil-mx >/dev/null ||
    { not_ok "set up the CAs"; exit 1; }

{
    mail_topology "corp.test" "mail1.corp.test $M1:2525" "mail2.corp.test $M2:2525"
    cat <<YAML
mail_routes:
  - domain: corp.test
    host: $MBOX:2526
  - domain: other.test
    host: $PLAIN:2527
  - domain: via.test
    host: mail2.corp.test
mail_connectors:
  outbound:
    - name: bank
      domains: [bank.test, via.test]
      smart_host: $BANK:2528
      ca: bank/ca.pem
      peer_name: mx.bank.test
    - name: evil
      domains: [evil.test]
      smart_host: $EVIL:2529
      ca: bank/ca.pem
      peer_name: mx.bank.test
    - name: plainpartner
      domains: [plainpartner.test]
      smart_host: $PLAIN:2527
      ca: bank/ca.pem
  inbound:
    - name: bank
      sender_domains: [bank.test]
      ca: bank/ca.pem
      peer_name: mx.bank.test
YAML
} >topology.yaml
expect_exit 0 "the mail topology checks" -- "$T" topology check topology.yaml

mail_sink mbox "$MBOX" 2526
mail_sink plain "$PLAIN" 2527
mail_sink bank "$BANK" 2528 --tls bank-mx.pem bank-mx.key
mail_sink evil "$EVIL" 2529 --tls evil-mx.pem evil-mx.key
mail_serve mail1.corp.test "$M1" 2525
mail_serve mail2.corp.test "$M2" 2525

send() { # NAME EXPECTED-EXIT SWAKS-ARGS...
    local name=$1 want=$2
    shift 2
    expect_exit "$want" "$name" -- swaks --server "$M1:2525" --timeout 10 "$@"
}
as_mail2=(--tls --tls-cert mail2.pem --tls-key mail2.key)

# ---- receiving ----------------------------------------------------------------
send "plaintext mail for our domain is accepted" 0 --from s@example.test --to alice@corp.test \
    --header "Subject: plain-1"
mail_wait_sink mbox "Subject: plain-1" && ok "it reaches the mailbox host" ||
    not_ok "it reaches the mailbox host"
expect_grep 'Received: from .* \(\[127\.0\.0\.1\]\)' "$(mail_sink_file mbox 'Subject: plain-1')" \
    "Received: names the client"
expect_grep 'by mail1.corp.test \(trustnet\) with ESMTP id' \
    "$(mail_sink_file mbox 'Subject: plain-1')" "Received: says ESMTP in plaintext"

send "STARTTLS, the server verified against the enterprise CA" 0 --from s@example.test \
    --to alice@corp.test --header "Subject: tls-1" --tls --tls-verify --tls-ca-path ca/ca.pem \
    --tls-sni mail1.corp.test
mail_wait_sink mbox "Subject: tls-1"
F=$(mail_sink_file mbox "Subject: tls-1")
expect_grep 'with ESMTPS id' "$F" "Received: says ESMTPS over TLS"
expect_grep 'using TLSv1\.3 with cipher TLS_[A-Z0-9_]+; no client certificate' "$F" \
    "Received: records TLS version, cipher and no client certificate"

# A client certificate's name is the client's own text: a line break in
# its CN must not start a header of the client's choosing in Received:.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout forger.key -out forger.pem -subj $'/CN=forger\r\nX-Forged: (yes)' 2>/dev/null
send "STARTTLS with a self-signed certificate whose CN holds CR LF" 0 --from s@example.test \
    --to alice@corp.test --header "Subject: forged-cn-1" --tls --tls-cert forger.pem \
    --tls-key forger.key
mail_wait_sink mbox "Subject: forged-cn-1"
F=$(mail_sink_file mbox "Subject: forged-cn-1")
if [ -n "$F" ] && ! grep -q '^X-Forged' "$F" &&
    grep -qF 'client certificate "CN=forger\\x0d\\x0aX-Forged: \(yes\)" not verified' "$F"; then
    ok "Received: holds the CN escaped, and no header of the client's making"
else
    not_ok "Received: holds the CN escaped, and no header of the client's making" \
        "$(grep -A3 '^Received' "${F:-/dev/null}")"
fi

# ---- relay rules ---------------------------------------------------------------
send "relay to another domain from an unknown client: refused" 24 --from s@example.test \
    --to bob@other.test
expect_grep "554 5.7.1 <bob@other.test>: Relay access denied" "$LAST_OUT" "with 554 5.7.1"
send "an enterprise certificate that is not a mail server's may not relay" 24 \
    --from s@example.test --to bob@other.test --tls --tls-cert fe9.pem --tls-key fe9.key
expect_grep "DNS:fe9.corp.test is not a mail server of the topology" mail1.corp.test.log \
    "the log says why fe9 may not relay"
send "our other mail server (mutual TLS) may relay" 0 --from s@corp.test --to bob@other.test \
    --header "Subject: relay-1" "${as_mail2[@]}"
mail_wait_sink plain "Subject: relay-1" && ok "relayed mail reaches the other domain's host" ||
    not_ok "relayed mail reaches the other domain's host"
expect_grep 'client certificate "CN=mail2.corp.test" verified' \
    "$(mail_sink_file plain 'Subject: relay-1')" "Received: records the verified client certificate"
expect_grep "trusted: mail server mail2.corp.test of the topology \(may relay\)" \
    mail1.corp.test.log "the connection's log line names the trusted mail server"

# ---- between our own servers: mutual TLS, then the connector ------------------------
send "mail routed through mail2 is accepted" 0 --from s@corp.test --to x@via.test \
    --header "Subject: via-1" "${as_mail2[@]}"
mail_wait_sink bank "Subject: via-1" && ok "mail1 -> mail2 (mutual TLS) -> bank's connector" ||
    not_ok "mail1 -> mail2 (mutual TLS) -> bank's connector"
expect_grep 'policy="?internal \(mail server mail2.corp.test, mutual TLS\).*verdict="?trusted' \
    mail1.corp.test.log "mail1's delivery log: internal hop, mail2 verified"
expect_grep "trusted: mail server mail1.corp.test of the topology \(may relay\)" \
    mail2.corp.test.log "mail2 verified mail1's certificate"

# ---- forced outbound -------------------------------------------------------------
send "mail for a forced-TLS partner is accepted" 0 --from s@corp.test --to a@bank.test \
    --header "Subject: bank-1" "${as_mail2[@]}"
mail_wait_sink bank "Subject: bank-1" && ok "delivered to the partner over verified TLS" ||
    not_ok "delivered to the partner over verified TLS"
expect_grep 'policy="?connector bank \(TLS required\).*tls=TLSv1\.3.*verdict="?trusted' \
    mail1.corp.test.log "the delivery log line: connector, TLS 1.3, trusted"

send "mail for a partner whose host offers no STARTTLS is accepted" 0 --from s@corp.test \
    --to a@plainpartner.test --header "Subject: plainpartner-1" "${as_mail2[@]}"
send "mail for a partner whose certificate has the wrong name is accepted" 0 \
    --from s@corp.test --to a@evil.test --header "Subject: evil-1" "${as_mail2[@]}"
mail_wait_log mail1.corp.test.log "evil.test.*name mismatch" 15
"$T" mailq --topology topology.yaml --server mail1.corp.test >mailq.out 2>&1
expect_grep "TLS is required, but was not offered" mailq.out \
    "mailq: the plaintext-only partner's message waits, with the reason"
expect_grep "name mismatch: wanted mx.bank.test, certificate names mx.evil.test" mailq.out \
    "mailq: the wrong-name partner's message waits, with the reason"
if grep -q "plainpartner-1" "$TMP"/sink-plain/*.eml 2>/dev/null ||
    grep -q "MAIL .*plainpartner" sink-plain.log; then
    not_ok "nothing for the forced-TLS partner went in plaintext"
else
    ok "nothing for the forced-TLS partner went in plaintext"
fi
if grep -q "^MAIL" sink-evil.log; then
    not_ok "nothing was sent to the wrong-name server"
else
    ok "nothing was sent to the wrong-name server"
fi

# ---- forced inbound ----------------------------------------------------------------
from_bank=(--from b@bank.test --to alice@corp.test)
send "inbound connector: partner without STARTTLS gets 530" 23 "${from_bank[@]}"
expect_grep "530 5.7.0 Must issue a STARTTLS command first" "$LAST_OUT" "530 5.7.0 text"
send "inbound connector: STARTTLS without a certificate gets 550 5.7.1" 23 "${from_bank[@]}" --tls
expect_grep "550 5.7.1 TLS client certificate required" "$LAST_OUT" "550 5.7.1 text"
send "inbound connector: the partner CA's certificate for another name gets 550" 23 \
    "${from_bank[@]}" --tls --tls-cert evil-mx.pem --tls-key evil-mx.key
expect_grep "inbound connector bank: name mismatch: wanted mx.bank.test" mail1.corp.test.log \
    "the log names the connector and the mismatch"
send "inbound connector: the partner with its certificate is accepted" 0 "${from_bank[@]}" \
    --tls --tls-cert bank-mx.pem --tls-key bank-mx.key --header "Subject: from-bank-1"
mail_wait_sink mbox "Subject: from-bank-1" && ok "the partner's mail is delivered" ||
    not_ok "the partner's mail is delivered"

# ---- STARTTLS command injection (CVE-2011-0411 class) ---------------------------------
python3 - "$M1" 2525 >inject.out 2>&1 <<'PY'
import socket, ssl, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if line[3:4] != "-":
            return lines
reply()
s.sendall(b"EHLO inject.test\r\n"); reply()
s.sendall(b"STARTTLS\r\nRSET\r\n")   # RSET pipelined in plaintext
print("starttls:", reply())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="mail1.corp.test")
t.settimeout(1.5)
try:
    data = t.recv(4096)
    print("unsolicited:", data)
except (socket.timeout, TimeoutError):
    print("unsolicited: none")
t.settimeout(5)
t.sendall(b"MAIL FROM:<a@corp.test>\r\n")
print("mail-before-ehlo:", t.recv(4096).decode().strip())
PY
expect_grep "^unsolicited: none" inject.out "pipelined RSET after STARTTLS is never executed"
expect_grep "^mail-before-ehlo: 503 " inject.out "after STARTTLS the session starts over (EHLO first)"

# ---- PIPELINING: a group larger than one reply buffer ----------------------------------
python3 - "$M1" 2525 >pipeline.out 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.recv(4096)
s.sendall(b"EHLO pipe.test\r\n")
time.sleep(0.2); s.recv(4096)
group = b"MAIL FROM:<p@example.test>\r\n" + b"".join(
    b"RCPT TO:<u%d@corp.test>\r\n" % i for i in range(600)) + b"RSET\r\n"
s.sendall(group)
data = b""
while data.count(b"\r\n") < 602:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
lines = data.split(b"\r\n")
print("replies:", data.count(b"\r\n"), "rcpt-ok:", sum(l.startswith(b"250 2.1.5") for l in lines))
PY
expect_grep "^replies: 602 rcpt-ok: 600" pipeline.out "a pipelined group of 602 commands gets its 602 replies in order"

# ---- bounces -----------------------------------------------------------------------
send "a message the mailbox host refuses for good is accepted" 0 --from sender@corp.test \
    --to reject-nobody@corp.test --header "Subject: bounce-me"
mail_wait_sink mbox "Undelivered Mail Returned to Sender" &&
    ok "the sender gets a bounce" || not_ok "the sender gets a bounce"
F=$(mail_sink_file mbox "Undelivered Mail Returned to Sender")
expect_grep "Final-Recipient: rfc822; ?reject-nobody@corp.test" "$F" "the bounce names the recipient"
expect_grep "Status: 5\.1\.1" "$F" "the bounce carries the status"

# ---- operator ------------------------------------------------------------------------
ID=$(grep -o "^[0-9A-Z]\{16\}" mailq.out | head -1)
if [ -n "$ID" ]; then
    expect_exit 0 "mail delete removes a queued message" -- \
        "$T" mail delete --topology topology.yaml --server mail1.corp.test "$ID"
    "$T" mailq --topology topology.yaml --server mail1.corp.test >mailq2.out 2>&1
    if grep -q "^$ID" mailq2.out; then not_ok "the deleted message is gone"; else
        ok "the deleted message is gone"; fi
else
    not_ok "mailq lists queue ids" "$(cat mailq.out)"
fi

# ---- the queue lifetime ends: a forced-TLS message bounces, never sent in plaintext ----
sed -i '/^mail:/a\  queue_lifetime_s: 1' topology.yaml
kill -HUP "${MAIL_PIDS[0]}"
mail_wait_log mail1.corp.test.log "reloaded" 5
expect_exit 0 "mail flush asks the running server to retry now" -- \
    "$T" mail flush --topology topology.yaml --server mail1.corp.test
if mail_wait_sink mbox "Status: 4\.4\.7" 15; then
    ok "after its lifetime the waiting message bounces to its sender"
    expect_grep "(name mismatch|TLS is required)" "$(mail_sink_file mbox 'Status: 4\.4\.7')" \
        "the bounce gives the last reason"
else
    not_ok "after its lifetime the waiting message bounces to its sender" \
        "$(tail -5 mail1.corp.test.log)"
fi
"$T" mailq --topology topology.yaml --server mail1.corp.test >mailq3.out 2>&1
expect_grep "Mail queue is empty" mailq3.out "the queue is empty afterwards"
mail_stop_servers
