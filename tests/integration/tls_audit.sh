#!/bin/bash
# testssl.sh (Debian's 3.0.8, the project's TLS auditor) against trustnet's
# own listeners on loopback: a front end's SIP over TLS, a mail server's
# SMTP with STARTTLS, and an edge's federation side (where partners' edges
# connect; it requires a client certificate, which testssl 3.0 cannot
# send, but its protocol, cipher, certificate and most vulnerability checks
# are decided before the server asks for one).  For each listener:
# SSLv2, SSLv3, TLS 1.0 and 1.1 are not offered, TLS 1.2 and 1.3 are;
# every suite accepted in any protocol is forward secret and AEAD and one
# of src/tls/tls_policy.h's, and so are the key exchange groups; no session
# resumption; no known vulnerability (Heartbleed, CCS, Ticketbleed, ROBOT,
# renegotiation, CRIME/compression, POODLE, downgrade, SWEET32, FREAK,
# DROWN, LOGJAM, BEAST, LUCKY13, RC4; testssl skips Ticketbleed over
# STARTTLS, where "no session tickets" stands for it); the chain is
# trusted with the test CA added and names the host asked for; nothing in
# the scan is rated LOW or worse; the server survives the scan.
# testssl's flat JSON is judged by peers/testssl_judge.py.  openssl
# s_client also probes client-initiated renegotiation ("R" after a
# verified TLS 1.2 handshake; on the federation side with the partner's
# certificate, where testssl cannot), and that the federation side refuses
# a client without a certificate.  About 90 s per build.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"
. "$(dirname "$0")/mail_lib.sh"

TESTSSL=$(command -v testssl || command -v testssl.sh)
if [ -z "$TESTSSL" ]; then
    not_ok "testssl.sh is installed" "install the Debian package testssl.sh (make deps)"
    exit 0
fi
cd "$TMP" || exit 1
T="$TRUSTNET"
FE=127.0.0.101 MAIL=127.0.0.102 EDGE=127.0.0.103 PARTNER=127.0.0.104
# A CRL distribution point, as production certificates have (testssl rates
# a certificate without one HIGH); nothing fetches it (no --phone-out).
"$T" ca init --dir ca --name "Corp Audit CA" --org "Corp Test" \
    --crl-url "http://$PARTNER/audit-ca.crl" >/dev/null &&
    "$T" ca issue --dir ca fe1.corp.test --san URI:sip:corp.test --out fe1 >/dev/null &&
    "$T" ca issue --dir ca mail1.corp.test --out mail1 >/dev/null &&
    "$T" ca issue --dir ca edge.corp.test --out edge >/dev/null &&
    "$T" ca crl --dir ca >/dev/null &&
    "$T" ca init --dir partner --name "Partner CA" >/dev/null &&
    "$T" ca issue --dir partner edge.partner.test --out partner-edge >/dev/null ||
    { not_ok "set up the CAs"; exit 1; }
{
    sip_topology "Corp Test" test "$(printf 'mail:\n  domains: [corp.test]')"
    sip_topology_pool pool1.corp.test fe1.corp.test frontend "$FE:5061" fe1 1
    mail_topology_pool mailpool.corp.test mail1.corp.test "$MAIL:2525" 1
    sip_topology_pool edgepool.corp.test edge.corp.test edge "$EDGE:5061" edge 1
    printf 'mail_routes:\n  - domain: corp.test\n    host: %s:2526\n' "$PARTNER"
    echo "federation:"
    sip_topology_partner partner partner.test edge.partner.test "$PARTNER:5062" partner/ca.pem
} >topology.yaml
expect_exit 0 "the audit topology checks" -- "$T" topology check topology.yaml

# not_ok_file NAME FILE DETAIL...: not_ok with FILE's last lines as evidence.
not_ok_file() {
    local name=$1 saved=$LAST_OUT
    tail -n 40 "$2" >"$TMP/evidence.out" 2>&1
    LAST_OUT="$TMP/evidence.out"
    shift 2
    not_ok "$name" "$@"
    LAST_OUT=$saved
}

declare -A PID
serve() { # FQDN ADDR PORT
    "$T" serve --topology topology.yaml --server "$1" --log-level debug >"$1.log" 2>&1 &
    PID[$1]=$!
    BG_PIDS+=($!)
    sip_wait_listen "$2" "$3" || { not_ok_file "$1 starts" "$1.log"; exit 1; }
}
serve fe1.corp.test $FE 5061
serve mail1.corp.test $MAIL 2525
serve edge.corp.test $EDGE 5062

# audit LABEL FQDN ADDR PORT [starttls|client-auth]
#
# testssl.sh against ADDR:PORT asking for FQDN (SNI, and the name the
# certificate must match), no DNS: protocols (-p), server preferences
# (-P), defaults and certificate (-S), vulnerabilities (-U), every cipher
# per protocol (-E), forward secrecy (-f).  With /usr/bin/openssl (OpenSSL
# 3; Debian's package bundles none): testssl sends with its own sockets
# what OpenSSL 3 cannot (SSLv2, SSLv3, export and other legacy suites,
# compression), so those are tested too.  NXCONNECT: testssl probes which
# curves its openssl knows with "s_client -connect invalid.", a DNS query
# to the system's resolver each; 127.0.0.1:0 keeps those on loopback.
#
# Then client-initiated renegotiation by hand: s_client's "R" after a
# complete, verified TLS 1.2 handshake (stdin kept open meanwhile, so the
# answer is read).  trustnet refuses (SSL_OP_NO_RENEGOTIATION): OpenSSL
# says "no renegotiation" and s_client exits 1; a server that renegotiates
# lets it exit 0.
audit() {
    local label=$1 fqdn=$2 addr=$3 port=$4 mode=${5:-} name=${2%%.*} start=$SECONDS rc
    local args=() judge=() sclient=()
    case $mode in
        starttls) args=(--starttls smtp) judge=(--starttls) sclient=(-starttls smtp) ;;
        client-auth) judge=(--client-auth) sclient=(-cert partner-edge.pem -key partner-edge.key) ;;
    esac
    NXCONNECT=127.0.0.1:0 timeout 240 "$TESTSSL" --quiet --color 0 --warnings off --openssl /usr/bin/openssl \
        --add-ca "$TMP/ca/ca.pem" --ip "$addr" --nodns none \
        --connect-timeout 10 --openssl-timeout 10 \
        -p -P -S -U -E -f "${args[@]}" --jsonfile "$TMP/$name.json" "$fqdn:$port" \
        >"$TMP/$name.testssl.txt" 2>&1
    rc=$?
    echo "# testssl.sh against $label ($fqdn at $addr:$port): exit $rc, $((SECONDS - start)) s"
    # testssl's exit status adds up its checks' statuses; 240 and above
    # (and timeout's 124) mean it could not do its job.
    if [ "$rc" -ge 240 ] || [ "$rc" -eq 124 ]; then
        not_ok_file "$label: testssl.sh ran (exit status $rc)" "$TMP/$name.testssl.txt"
    fi
    python3 "$ROOT/tests/integration/peers/testssl_judge.py" "$label" "$TMP/$name.json" \
        "$ROOT/src/tls/tls_policy.h" "${judge[@]}"

    (echo R; sleep 1) | timeout 20 openssl s_client -no_tls1_3 -connect "$addr:$port" \
        -servername "$fqdn" -CAfile ca/ca.pem -verify_return_error "${sclient[@]}" \
        >"$name.renego.out" 2>&1
    rc=$?
    local what="$label: client-initiated renegotiation is refused (s_client R after a verified TLS 1.2 handshake)"
    if [ "$rc" -eq 1 ] && grep -q "^New, TLSv1.2, Cipher is ECDHE-" "$name.renego.out" &&
        grep -q "Verify return code: 0 (ok)" "$name.renego.out" &&
        grep -q "^RENEGOTIATING" "$name.renego.out" &&
        grep -q ":no renegotiation:" "$name.renego.out"; then
        ok "$what"
    else
        not_ok_file "$what" "$name.renego.out" \
            "s_client exit status $rc; wanted 1, after a verified TLS 1.2 handshake, RENEGOTIATING, then no renegotiation"
    fi

    # The federation side refuses a client without a certificate (TLS 1.2,
    # where the refusal is part of the handshake, see testssl_judge.py).
    if [ "$mode" = client-auth ]; then
        local before
        before=$(wc -l <"$fqdn.log")
        timeout 20 openssl s_client -tls1_2 -connect "$addr:$port" -servername "$fqdn" \
            -CAfile ca/ca.pem -verify_return_error </dev/null >"$name.nocert.out" 2>&1
        rc=$?
        what="$label: a client without a certificate is refused (handshake failure alert)"
        if [ "$rc" -ne 0 ] && grep -q "alert handshake failure" "$name.nocert.out" &&
            grep -q "Verify return code: 0 (ok)" "$name.nocert.out"; then
            ok "$what"
        else
            not_ok_file "$what" "$name.nocert.out" "s_client exit status $rc"
        fi
        local re="cert=none verdict=refused: no client certificate presented \(mutual TLS required\)"
        for _ in $(seq 1 20); do
            tail -n +$((before + 1)) "$fqdn.log" >"$name.nocert.log"
            grep -Eq "$re" "$name.nocert.log" && break
            sleep 0.1
        done
        expect_grep "$re" "$name.nocert.log" \
            "$label: the server logs that refusal with its reason"
    fi

    # The scan threw malformed and legacy handshakes at the server.
    if kill -0 "${PID[$fqdn]}" 2>/dev/null; then ok "$label: the server still runs after the scan"
    else not_ok_file "$label: the server still runs after the scan" "$fqdn.log"; fi
}

audit "SIP front end" fe1.corp.test $FE 5061
audit "SMTP STARTTLS" mail1.corp.test $MAIL 2525 starttls
audit "edge, federation side" edge.corp.test $EDGE 5062 client-auth

for fqdn in fe1.corp.test mail1.corp.test edge.corp.test; do
    kill -TERM "${PID[$fqdn]}" 2>/dev/null
    wait "${PID[$fqdn]}"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "$fqdn exits 0 on SIGTERM after the scan"
    else not_ok_file "$fqdn exits 0 on SIGTERM after the scan" "$fqdn.log" "exit status $rc"; fi
done
