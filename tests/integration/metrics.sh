#!/bin/bash
# metrics.sh - metrics_dir in the topology and `trustnet stats`: a SIP
# front end and a mail server count what they did, with exact numbers for
# a known set of connections and messages; the file is valid Prometheus
# text (each family's HELP and TYPE once, before its samples, no series
# twice); it keeps the final counts after SIGTERM; the topology check
# refuses a metrics_dir that does not exist.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"
. "$(dirname "$0")/mail_lib.sh"

mail_need_peers || exit 0
cd "$TMP" || exit 1
T="$TRUSTNET"
SIP_ADDR=127.0.0.81 SIP_PORT=5061 MAIL=127.0.0.82 MBOX=127.0.0.83
SIP_CA="$TMP/ca/ca.pem" SIP_TOPO="$TMP/topology.yaml" SIP_STORE="$TMP/store.sqlite"
SIP_LOG="$TMP/fe1.log"
"$T" ca init --dir ca --name "Corp Test CA" >/dev/null &&
    "$T" ca issue --dir ca fe1.corp.test --san URI:sip:corp.test --out fe1 >/dev/null &&
    "$T" ca issue --dir ca mail1.corp.test --out mail1 >/dev/null &&
    "$T" ca crl --dir ca >/dev/null || { not_ok "set up the CA"; exit 1; }

topology() { # METRICS_DIR
    sip_topology "Corp Test" test "$(printf 'mail:\n  domains: [corp.test]\nmetrics_dir: %s' "$1")"
    sip_topology_pool pool1.corp.test fe1.corp.test frontend "$SIP_ADDR:$SIP_PORT" fe1 2
    mail_topology_pool mailpool.corp.test mail1.corp.test "$MAIL:2525"
    printf 'mail_routes:\n  - domain: corp.test\n    host: %s:2526\n' "$MBOX"
}

# ---- the topology and the command's usage -----------------------------------------------
topology nowhere >bad.yaml
expect_exit 1 "topology check: a metrics_dir that does not exist is an error" -- \
    "$T" topology check bad.yaml
expect_grep "bad.yaml:[0-9]+:.*metrics_dir .*/nowhere: No such file or directory" "$LAST_OUT" \
    "... naming the file, line and directory"
mkdir -p metrics
topology metrics >"$SIP_TOPO"
expect_exit 0 "the topology with metrics_dir checks" -- "$T" topology check "$SIP_TOPO"
expect_exit 0 "trustnet stats --help" -- "$T" stats --help
for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLE; do
    expect_grep "^$section" "$LAST_OUT" "trustnet stats --help has $section"
done
expect_exit 0 "trustnet --help" -- "$T" --help
expect_grep "^    stats " "$LAST_OUT" "trustnet --help lists stats"
expect_exit 2 "trustnet stats without --server" -- "$T" stats --topology "$SIP_TOPO"
sed '/^metrics_dir:/d' "$SIP_TOPO" >nometrics.yaml
expect_exit 2 "trustnet stats on a topology without metrics_dir" -- \
    "$T" stats --topology nometrics.yaml --server fe1.corp.test
expect_grep "has no metrics_dir" "$LAST_OUT" "... says so"
expect_exit 1 "trustnet stats before the server ever ran: no file" -- \
    "$T" stats --topology "$SIP_TOPO" --server fe1.corp.test

# ---- servers -------------------------------------------------------------------------------
SIP_FQDN=fe1.corp.test
sip_user alice alice-pw
sip_start || { not_ok "fe1 starts"; sed 's/^/#   /' "$SIP_LOG"; exit 1; }
mail_sink mbox "$MBOX" 2526
mail_serve mail1.corp.test "$MAIL" 2525 || exit 1
FE1=metrics/trustnet-fe1.corp.test.prom
MAIL1=metrics/trustnet-mail1.corp.test.prom
for _ in $(seq 50); do [ -f "$FE1" ] && [ -f "$MAIL1" ] && break; sleep 0.1; done
expect_exit 0 "trustnet stats while fe1 runs" -- "$T" stats --topology "$SIP_TOPO" --server fe1.corp.test
expect_grep '^trustnet_start_time_seconds\{server="fe1.corp.test"\} [0-9]+$' "$LAST_OUT" \
    "the file is written as soon as the server starts"

# ---- SIP: three connections, one refused handshake ---------------------------------------
HDRS='Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-t{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@corp.test>;tag=p{n}\r\nTo: <sip:corp.test>\r\nCall-ID: c{n}@probe\r\n'
OPTIONS="OPTIONS sip:corp.test SIP/2.0\r\n${HDRS}CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
REG="REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-r{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=r1\r\nTo: <sip:alice@corp.test>\r\nCall-ID: reg@probe\r\nContact: <sip:alice@127.0.0.1:5999;transport=tls>\r\n"
expect_exit 0 "two OPTIONS on one connection: 200, 200" -- sip_client \
    "send:$OPTIONS" 'expect:^SIP/2.0 200 .*?\r\n\r\n' \
    "send:$OPTIONS" 'expect:^SIP/2.0 200 .*?\r\n\r\n'
expect_exit 0 "a malformed CSeq: 400" -- sip_client \
    "send:OPTIONS sip:corp.test SIP/2.0\r\n${HDRS}CSeq: banana OPTIONS\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 400 .*?\r\n\r\n'
expect_exit 0 "REGISTER with a wrong password: 401, then 403" -- sip_client \
    "send:${REG}CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" 'expect:^SIP/2.0 401 .*?\r\n\r\n' \
    digest:SHA-256:alice:wrong-pw:REGISTER:sip:corp.test \
    "send:${REG}CSeq: 2 REGISTER\r\n{auth}\r\nContent-Length: 0\r\n\r\n" \
    'expect:^SIP/2.0 403 .*?\r\n\r\n'
expect_exit 1 "openssl s_client -tls1_1 is refused" -- \
    timeout 10 openssl s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    -connect "$SIP_ADDR:$SIP_PORT" -servername fe1.corp.test -CAfile "$SIP_CA" </dev/null

# ---- mail: one message accepted and delivered, one recipient refused --------------------
expect_exit 0 "a message for alice@corp.test is accepted" -- \
    swaks --server "$MAIL:2525" --timeout 10 --from s@example.test --to alice@corp.test \
    --header "Subject: metrics-1"
mail_wait_sink mbox "Subject: metrics-1" && ok "... and delivered" || not_ok "... and delivered"
expect_exit 24 "relaying for another domain is refused" -- \
    swaks --server "$MAIL:2525" --timeout 10 --from s@example.test --to bob@elsewhere.test
mail_wait_log mail1.corp.test.log "done, removed from the queue" 5

# ---- stop: the file keeps the final counts ----------------------------------------------
sip_stop TERM
mail_stop_servers
metric() { # FILE NAME LABELS VALUE
    expect_grep "^$2\\{server=\"[^\"]+\"${3:+,$3}\\} $4\$" "$1" "$(basename "$1" .prom): $2${3:+{$3\}} = $4"
}
metric "$FE1" trustnet_sip_requests_total 'method="OPTIONS"' 2
metric "$FE1" trustnet_sip_requests_total 'method="REGISTER"' 2
metric "$FE1" trustnet_sip_requests_total 'method="INVITE"' 0
metric "$FE1" trustnet_sip_bad_messages_total "" 1
metric "$FE1" trustnet_sip_auth_refused_total "" 1
metric "$FE1" trustnet_sip_replies_total 'class="2xx"' 2
metric "$FE1" trustnet_sip_replies_total 'class="4xx"' 3
metric "$FE1" trustnet_sip_tls_handshakes_total 'direction="in",verdict="trusted"' 3
metric "$FE1" trustnet_sip_tls_handshakes_total 'direction="in",verdict="refused"' 1
metric "$FE1" trustnet_sip_tls_handshakes_total 'direction="out",verdict="trusted"' 0
metric "$FE1" trustnet_sip_connections_open "" 0
metric "$FE1" trustnet_sip_registered_contacts "" 0
metric "$MAIL1" trustnet_mail_accepted_total "" 1
metric "$MAIL1" trustnet_mail_refused_total "" 1
metric "$MAIL1" trustnet_mail_delivered_total "" 1
metric "$MAIL1" trustnet_mail_deferred_total "" 0
metric "$MAIL1" trustnet_mail_bounced_total "" 0
metric "$MAIL1" trustnet_mail_queue_messages "" 0
metric "$MAIL1" trustnet_smtp_connections_open "" 0
metric "$MAIL1" trustnet_smtp_connections_over_limit_total "" 0

# ---- the format ---------------------------------------------------------------------------
for f in "$FE1" "$MAIL1"; do
    if python3 "$PEERS/prom_check.py" "$f" >"$LAST_OUT" 2>&1; then
        ok "$(basename "$f"): valid Prometheus text format"
    else
        not_ok "$(basename "$f"): valid Prometheus text format" "$(cat "$LAST_OUT")"
    fi
done
printf 'x_total{server="a"} 1\n' >broken.prom
expect_exit 1 "the format check refuses a sample without HELP and TYPE" -- \
    python3 "$PEERS/prom_check.py" broken.prom

# ---- a file nobody rewrites -----------------------------------------------------------------
touch -d '-60 seconds' "$FE1"
expect_exit 0 "trustnet stats after the server stopped" -- \
    "$T" stats --topology "$SIP_TOPO" --server fe1.corp.test
expect_grep "written 6[0-9] s ago: the server is not running" "$LAST_OUT" "... warns that it is old"
expect_grep '^trustnet_sip_requests_total\{server="fe1.corp.test",method="OPTIONS"\} 2$' "$LAST_OUT" \
    "... and prints the last counts"

