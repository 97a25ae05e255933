#!/bin/bash
# trustnet's mail role with Postfix, both ways, and with a plaintext-only
# peer: opportunistic TLS takes STARTTLS when offered (TLS 1.3 with
# Postfix) and sends in plaintext when it is not; Postfix relaying to
# trustnet with STARTTLS is accepted and recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail_lib.sh"
. "$(dirname "$0")/postfix_lib.sh"

mail_need_peers || exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v postfix >/dev/null; then
    not_ok "postfix is installed and the tests run as root" "run make deps as root"
    exit 0
fi
trap 'postfix_stop_all; cleanup' EXIT
cd "$TMP" || exit 1
chmod 755 "$TMP" # Postfix's daemons run as user postfix
T="$TRUSTNET"
M1=127.0.0.181 PFIN=127.0.0.182 PFOUT=127.0.0.183 SINK=127.0.0.184
"$T" ca init --dir ca --name "Corp Enterprise CA" >/dev/null &&
    "$T" ca issue --dir ca mail1.corp.test --out mail1 >/dev/null &&
    "$T" ca issue --dir ca mailbox.corp.test --out mailbox >/dev/null ||
    { not_ok "set up the CA"; exit 1; }
{
    mail_topology "corp.test, plain.corp.test" "mail1.corp.test $M1:2525"
    cat <<YAML
mail_routes:
  - domain: corp.test
    host: $PFIN:2525
  - domain: plain.corp.test
    host: $SINK:2526
YAML
} >topology.yaml

# Postfix as our mailbox host: STARTTLS offered, TLS logged.
postfix_instance "$TMP/pfin" mailbox.corp.test "$PFIN:2525" \
    "smtpd_tls_security_level = may" "smtpd_tls_cert_file = $TMP/mailbox.pem" \
    "smtpd_tls_key_file = $TMP/mailbox.key" "smtpd_tls_loglevel = 1" &&
    postfix_start "$TMP/pfin" || { not_ok "Postfix (receiver) starts" "$(cat pfin/setup.log)"; exit 1; }
# Postfix as a sender relaying everything to trustnet with STARTTLS.
postfix_instance "$TMP/pfout" relay.example.test "$PFOUT:2525" \
    "relayhost = [$M1]:2525" "default_transport = smtp" "relay_transport = smtp" \
    "smtp_tls_security_level = encrypt" "smtp_tls_loglevel = 1" &&
    postfix_start "$TMP/pfout" || { not_ok "Postfix (sender) starts" "$(cat pfout/setup.log)"; exit 1; }
mail_sink plainsink "$SINK" 2526
mail_serve mail1.corp.test "$M1" 2525 || exit 1

# trustnet -> Postfix, opportunistic TLS.
expect_exit 0 "swaks -> trustnet: mail for our domain accepted" -- swaks --server "$M1:2525" \
    --hide-all --from s@example.test --to alice@corp.test --header "Subject: to-postfix"
if mail_wait_log "$(postfix_log "$TMP/pfin")" "TLS connection established from .*TLSv1\.3" 15; then
    ok "trustnet -> Postfix: Postfix logs a TLS 1.3 session"
else
    not_ok "trustnet -> Postfix: Postfix logs a TLS 1.3 session" \
        "$(tail -5 "$(postfix_log "$TMP/pfin")")"
fi
mail_wait_log mail1.corp.test.log "domain=corp.test.*tls=TLSv1\.3" 10
expect_grep 'policy="?opportunistic.*tls=TLSv1\.3.*verdict="?not verified' mail1.corp.test.log \
    "trustnet's delivery log: opportunistic, TLS 1.3, the certificate judged (not our CA's roots)"
mail_wait_log "$(postfix_log "$TMP/pfin")" "status=sent|discard" 10
expect_grep "from=<s@example.test>" "$(postfix_log "$TMP/pfin")" "Postfix took the message"

# trustnet -> plaintext-only peer: plaintext.
expect_exit 0 "mail for a host without STARTTLS is accepted" -- swaks --server "$M1:2525" \
    --hide-all --from s@example.test --to bob@plain.corp.test --header "Subject: to-plain"
mail_wait_sink plainsink "Subject: to-plain" && ok "delivered in plaintext to the plaintext-only sink" ||
    not_ok "delivered in plaintext to the plaintext-only sink"
expect_grep "domain=plain.corp.test.*tls=none" mail1.corp.test.log \
    "the delivery log says no TLS (not offered)"
if grep -q "^STARTTLS" sink-plainsink.log; then not_ok "no STARTTLS was attempted"; else
    ok "no STARTTLS was attempted"; fi

# Postfix -> trustnet, STARTTLS.
expect_exit 0 "swaks -> Postfix (sender) accepted" -- swaks --server "$PFOUT:2525" --hide-all \
    --from s@example.test --to carol@plain.corp.test --header "Subject: from-postfix"
mail_wait_sink plainsink "Subject: from-postfix" 20 && ok "Postfix -> trustnet -> sink" ||
    not_ok "Postfix -> trustnet -> sink" "$(tail -5 "$(postfix_log "$TMP/pfout")")"
expect_grep "TLS connection established to .*$M1.*TLSv1\.3" "$(postfix_log "$TMP/pfout")" \
    "Postfix logs TLS 1.3 towards trustnet"
expect_grep "using TLSv1\.3 with cipher" "$(mail_sink_file plainsink 'Subject: from-postfix')" \
    "trustnet's Received: header records Postfix's TLS session"
mail_stop_servers
