#!/bin/bash
# check_endpoint.sh - trustnet check against real TLS servers on loopback
# (openssl s_server, and a python STARTTLS SMTP server): good chains,
# intermediates and wildcards are trusted; expired, not yet valid, wrong
# name, CN-only, self-signed, foreign, revoked, client-only, weak-key,
# SHA-1, TLS 1.1 and non-forward-secret servers are refused with the
# right reason; mutual TLS; SMTP STARTTLS (good, not offered, response
# injection); dead ports and bad usage exit 2.
source "$(dirname "$0")/lib.sh"

O="$TMP/openssl.log"
CA="$TMP/ca"
SMTPD="$ROOT/tests/integration/peers/smtp_starttls_server.py"
PORT=

# --- PKI: trustnet's CA -------------------------------------------------------
tnca() { "$TRUSTNET" ca "$@" >>"$O" 2>&1; }

day() { date -u -d "$1" +%Y-%m-%d; }
PAST=$(day '-35 days')      # end of the expired certificate
FUTURE=$(day '+30 days')    # start of the not yet valid one

tnca init --dir "$CA" --name "Corp Enterprise CA" --org Corp
tnca init --dir "$TMP/evil" --name "Evil CA" --org Evil
tnca issue --dir "$CA" a.corp.test --out "$TMP/good"
tnca issue --dir "$CA" "*.corp.test" --out "$TMP/wild"
tnca issue --dir "$CA" a.corp.test --key rsa2048 --out "$TMP/rsa"
tnca issue --dir "$CA" a.corp.test --out "$TMP/expired" \
    --not-before "$(day '-400 days')" --not-after "$PAST"
tnca issue --dir "$CA" a.corp.test --out "$TMP/future" \
    --not-before "$FUTURE" --not-after "$(day '+90 days')"
tnca issue --dir "$CA" a.corp.test --client --out "$TMP/client"
tnca issue --dir "$CA" a.corp.test --out "$TMP/victim"
tnca issue --dir "$TMP/evil" a.corp.test --out "$TMP/evil-leaf"
tnca crl --dir "$CA"
cp "$CA/crl.pem" "$TMP/crl-before.pem"
tnca revoke --dir "$CA" "$TMP/victim.pem"
tnca crl --dir "$CA"

# --- PKI: what trustnet's CA does not make, with plain openssl ----------------
# leaf NAME CN ISSUER KEYSPEC DIGEST EXT-LINES...: a certificate for CN with
# a KEYSPEC key (openssl req -newkey), signed with DIGEST by ISSUER (the
# prefix of ISSUER.pem and ISSUER.key, or "self"); writes $TMP/NAME.pem/.key.
leaf() {
    local n=$1 cn=$2 issuer=$3 keyspec=$4 md=$5
    shift 5
    printf '%s\n' "$@" >"$TMP/$n.ext"
    openssl req -new -newkey "$keyspec" -nodes -keyout "$TMP/$n.key" \
        -subj "/O=Corp/CN=$cn" -out "$TMP/$n.csr" >>"$O" 2>&1
    local sign=(-CA "$issuer.pem" -CAkey "$issuer.key" -set_serial "0x$(openssl rand -hex 8)")
    [ "$issuer" = self ] && sign=(-signkey "$TMP/$n.key")
    openssl x509 -req -in "$TMP/$n.csr" "${sign[@]}" -days 30 "-$md" \
        -extfile "$TMP/$n.ext" -out "$TMP/$n.pem" >>"$O" 2>&1
}
LEAF_EXT=("basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment"
    "extendedKeyUsage=serverAuth,clientAuth")
EC=ec:"$TMP/p256.param"
openssl ecparam -name prime256v1 -out "$TMP/p256.param" >>"$O" 2>&1

leaf inter "Corp Issuing CA" "$CA/ca" "$EC" sha256 "basicConstraints=critical,CA:TRUE,pathlen:0" \
    "keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid"
leaf via-inter a.corp.test "$TMP/inter" "$EC" sha256 "${LEAF_EXT[@]}" \
    "subjectAltName=DNS:a.corp.test"
leaf partial "f*.corp.test" "$CA/ca" "$EC" sha256 "${LEAF_EXT[@]}" \
    "subjectAltName=DNS:f*.corp.test"
leaf cn-only a.corp.test "$CA/ca" "$EC" sha256 "${LEAF_EXT[@]}"
leaf self a.corp.test self "$EC" sha256 "${LEAF_EXT[@]}" "subjectAltName=DNS:a.corp.test"
leaf rsa1024 a.corp.test "$CA/ca" rsa:1024 sha256 "${LEAF_EXT[@]}" \
    "subjectAltName=DNS:a.corp.test"
leaf sha1 a.corp.test "$CA/ca" "$EC" sha1 "${LEAF_EXT[@]}" "subjectAltName=DNS:a.corp.test"

missing=
for f in "$CA/ca.pem" "$CA/crl.pem" "$TMP/crl-before.pem" "$TMP"/{good,wild,rsa,expired,future,client,victim,evil-leaf}.{pem,key} \
    "$TMP"/{inter,via-inter,partial,cn-only,self,rsa1024,sha1}.{pem,key}; do
    [ -s "$f" ] || missing="$missing ${f#"$TMP"/}"
done
if [ -n "$missing" ]; then
    LAST_OUT=$O
    not_ok "test PKI created with trustnet ca and openssl" "missing:$missing"
    exit 1
fi
ok "test PKI created with trustnet ca and openssl"

# --- peers ----------------------------------------------------------------------
# serve CERT KEY [s_server options]: a fresh openssl s_server on $PORT.
# It sends no TLS 1.3 session tickets (-num_tickets 0, like trustnet's own
# servers), unless TICKETS says how many: see "session tickets" below.
serve() {
    local cert=$1 key=$2
    shift 2
    PORT=$(free_port)
    start_bg "s_server.$PORT" openssl s_server -accept "127.0.0.1:$PORT" -cert "$cert" \
        -key "$key" -www -quiet -num_tickets "${TICKETS:-0}" "$@"
    wait_port 127.0.0.1 "$PORT"
}

check() { "$TRUSTNET" check --ca "$CA/ca.pem" "$@"; }

# --- trusted --------------------------------------------------------------------
serve "$TMP/good.pem" "$TMP/good.key"
expect_exit 0 "good leaf: exit 0" -- check --name a.corp.test "127.0.0.1:$PORT"
cp "$LAST_OUT" "$TMP/good.out"
expect_grep "^verdict: trusted$" "$TMP/good.out" "good leaf: verdict trusted"
expect_grep "^tls version: TLSv1\.3$" "$TMP/good.out" "good leaf: TLS 1.3"
expect_grep "^forward secrecy: yes$" "$TMP/good.out" "good leaf: forward secrecy"
expect_grep "^name check: DNS:a\.corp\.test$" "$TMP/good.out" "good leaf: name check names the SAN"
expect_grep "^  \[1\] subject: CN=Corp Enterprise CA" "$TMP/good.out" "good leaf: chain ends at the CA"
expect_exit 0 "good leaf with the CA's CRL: exit 0" -- \
    check --crl "$TMP/crl-before.pem" --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^revocation: not revoked" "$LAST_OUT" "good leaf with the CA's CRL: not revoked"
expect_grep "^verdict: trusted$" "$LAST_OUT" "good leaf with the CA's CRL: verdict trusted"
expect_exit 0 "good leaf with the CRL that lists another certificate: exit 0" -- \
    check --crl "$CA/crl.pem" --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^revocation: not revoked" "$LAST_OUT" "good leaf with a CRL listing another: not revoked"
expect_exit 1 "wrong name: exit 1" -- check --name b.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: name mismatch: wanted b\.corp\.test, certificate names a\.corp\.test$" \
    "$LAST_OUT" "wrong name: name mismatch, wanted and presented names"
stop_last_bg

# Most TLS 1.3 servers (OpenSSL's and Python's by default) send session
# tickets right after the handshake; the check must not wait for more.
TICKETS=2 serve "$TMP/good.pem" "$TMP/good.key"
start=$(date +%s)
expect_exit 0 "server sending session tickets: exit 0" -- \
    check --timeout 5 --name a.corp.test "127.0.0.1:$PORT"
elapsed=$(($(date +%s) - start))
expect_grep "^verdict: trusted$" "$LAST_OUT" "server sending session tickets: verdict trusted"
if [ "$elapsed" -le 2 ]; then
    ok "server sending session tickets: verdict after ${elapsed} s"
else
    not_ok "server sending session tickets: verdict took ${elapsed} s (--timeout 5)" \
        "the post-handshake wait blocks until the I/O timeout"
fi
stop_last_bg

serve "$TMP/via-inter.pem" "$TMP/via-inter.key" -cert_chain "$TMP/inter.pem"
expect_exit 0 "leaf via an intermediate: exit 0" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: trusted$" "$LAST_OUT" "leaf via an intermediate: verdict trusted"
expect_grep "^  \[1\] subject: CN=Corp Issuing CA" "$LAST_OUT" "leaf via an intermediate: intermediate in the chain"
expect_exit 1 "leaf via an intermediate, CRL of the root only: exit 1" -- \
    check --crl "$CA/crl.pem" --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: no CRL of issuer CN=Corp Issuing CA.*: revocation cannot be checked" \
    "$LAST_OUT" "leaf via an intermediate, CRL of the root only: no CRL of the intermediate"
stop_last_bg

serve "$TMP/via-inter.pem" "$TMP/via-inter.key"
expect_exit 1 "leaf without its intermediate: exit 1" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: issuer not trusted: CN=Corp Issuing CA" "$LAST_OUT" \
    "leaf without its intermediate: issuer not trusted"
stop_last_bg

# --- wildcards --------------------------------------------------------------------
serve "$TMP/wild.pem" "$TMP/wild.key"
expect_exit 0 "wildcard with --allow-wildcard: exit 0" -- \
    check --name a.corp.test --allow-wildcard "127.0.0.1:$PORT"
expect_grep "^verdict: trusted$" "$LAST_OUT" "wildcard with --allow-wildcard: verdict trusted"
expect_exit 1 "wildcard without --allow-wildcard: exit 1" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: wildcard not allowed" "$LAST_OUT" \
    "wildcard without --allow-wildcard: wildcard not allowed"
expect_exit 1 "wildcard vs two labels: exit 1" -- \
    check --name a.b.corp.test --allow-wildcard "127.0.0.1:$PORT"
expect_grep "^verdict: refused: name mismatch: wanted a\.b\.corp\.test" "$LAST_OUT" \
    "wildcard vs two labels: name mismatch"
expect_exit 1 "wildcard vs the bare domain: exit 1" -- \
    check --name corp.test --allow-wildcard "127.0.0.1:$PORT"
expect_grep "^verdict: refused: name mismatch: wanted corp\.test" "$LAST_OUT" \
    "wildcard vs the bare domain: name mismatch"
stop_last_bg

serve "$TMP/partial.pem" "$TMP/partial.key"
expect_exit 1 "partial-label wildcard: exit 1" -- \
    check --name fe1.corp.test --allow-wildcard "127.0.0.1:$PORT"
expect_grep "^verdict: refused: name mismatch: .*a wildcard must be the whole left-most label" \
    "$LAST_OUT" "partial-label wildcard: says a wildcard must be a whole label"
stop_last_bg

# --- refused certificates -----------------------------------------------------------
# refused NAME REGEX CERT KEY [s_server options]: a server with CERT, checked
# for a.corp.test, is refused with a reason matching REGEX.
refused() {
    local what=$1 re=$2 cert=$3 key=$4
    shift 4
    serve "$cert" "$key" "$@"
    expect_exit 1 "$what: exit 1" -- check --name a.corp.test "127.0.0.1:$PORT"
    expect_grep "^verdict: refused: $re" "$LAST_OUT" "$what: reason"
    stop_last_bg
}

refused "expired" "expired on $PAST \(not after $PAST [0-9:]+ UTC\)" \
    "$TMP/expired.pem" "$TMP/expired.key"
refused "not yet valid" "not yet valid: valid from $FUTURE [0-9:]+ UTC" \
    "$TMP/future.pem" "$TMP/future.key"
refused "name only in the CN" \
    "name mismatch: wanted a\.corp\.test, certificate has no subjectAltName \(name only in CN=a\.corp\.test" \
    "$TMP/cn-only.pem" "$TMP/cn-only.key"
refused "self-signed" "self-signed certificate not trusted: CN=a\.corp\.test" \
    "$TMP/self.pem" "$TMP/self.key"
refused "issuer not trusted" "issuer not trusted: CN=Evil CA" \
    "$TMP/evil-leaf.pem" "$TMP/evil-leaf.key"
refused "client-only certificate" "missing extended key usage serverAuth \(certificate is for: clientAuth\)" \
    "$TMP/client.pem" "$TMP/client.key"
refused "RSA-1024 key" "key too small: RSA 1024" \
    "$TMP/rsa1024.pem" "$TMP/rsa1024.key" -cipher "DEFAULT@SECLEVEL=0"
refused "SHA-1 signature" "weak signature algorithm ecdsa-with-SHA1 \(SHA-1 and MD5 signatures are refused\)" \
    "$TMP/sha1.pem" "$TMP/sha1.key" -cipher "DEFAULT@SECLEVEL=0"

serve "$TMP/victim.pem" "$TMP/victim.key"
expect_exit 0 "revoked certificate without --crl: exit 0" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^revocation: not checked" "$LAST_OUT" "revoked certificate without --crl: says not checked"
expect_exit 1 "revoked certificate with --crl: exit 1" -- \
    check --crl "$CA/crl.pem" --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: certificate revoked \(serial 0x[0-9A-F]+, CRL of Corp Enterprise CA\)" \
    "$LAST_OUT" "revoked certificate with --crl: certificate revoked, serial and CRL named"
serial=$(openssl x509 -in "$TMP/victim.pem" -noout -serial | sed 's/^serial=0*//')
expect_grep "serial 0x0*$serial," "$LAST_OUT" "revoked certificate: the serial is the victim's"
stop_last_bg

# --- refused protocols ----------------------------------------------------------------
refused "server speaking only TLS 1.1" "peer offered only TLS 1\.1$" \
    "$TMP/good.pem" "$TMP/good.key" -tls1_1 -cipher "DEFAULT@SECLEVEL=0"
refused "server without forward secrecy" "peer offered only AES128-SHA, which has no forward secrecy$" \
    "$TMP/rsa.pem" "$TMP/rsa.key" -cipher AES128-SHA -no_tls1_3
# Sanity: the RSA certificate itself is fine with a forward-secret suite.
serve "$TMP/rsa.pem" "$TMP/rsa.key" -no_tls1_3
expect_exit 0 "RSA certificate over TLS 1.2: exit 0" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^tls version: TLSv1\.2$" "$LAST_OUT" "RSA certificate over TLS 1.2: TLS 1.2"
expect_grep "^cipher: ECDHE-RSA-" "$LAST_OUT" "RSA certificate over TLS 1.2: ECDHE suite"
stop_last_bg

# --- mutual TLS: a server that requires a client certificate from the CA -----------
serve "$TMP/good.pem" "$TMP/good.key" -Verify 1 -CAfile "$CA/ca.pem"
expect_exit 0 "mutual TLS with a client certificate: exit 0" -- \
    check --cert "$TMP/client.pem" --key "$TMP/client.key" --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: trusted$" "$LAST_OUT" "mutual TLS with a client certificate: verdict trusted"
expect_exit 1 "mutual TLS without a client certificate: exit 1" -- \
    check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: peer refused us after the handshake \(alert: certificate required\)" "$LAST_OUT" \
    "mutual TLS without a client certificate: the server's refusal is reported"
expect_exit 2 "--cert without --key: exit 2" -- check --cert "$TMP/client.pem" "127.0.0.1:$PORT"
expect_grep "--cert and --key go together" "$LAST_OUT" "--cert without --key: says so"
stop_last_bg

# --- cannot connect, bad usage ----------------------------------------------------------
DEAD=$(free_port)
expect_exit 2 "nothing listening: exit 2" -- check --name a.corp.test "127.0.0.1:$DEAD"
expect_grep "cannot connect to 127\.0\.0\.1 port $DEAD" "$LAST_OUT" "nothing listening: says cannot connect"
expect_exit 2 "no HOST:PORT: exit 2" -- check --name a.corp.test
expect_grep "expected exactly one HOST:PORT" "$LAST_OUT" "no HOST:PORT: says so"
expect_exit 2 "--starttls pop3: exit 2" -- check --starttls pop3 "127.0.0.1:$DEAD"
expect_grep "--starttls supports only 'smtp', not 'pop3'" "$LAST_OUT" "--starttls pop3: says only smtp"
expect_exit 2 "port 0: exit 2" -- check "127.0.0.1:0"
expect_grep "port 1-65535" "$LAST_OUT" "port 0: says the port range"
expect_exit 2 "port 65536: exit 2" -- check "127.0.0.1:65536"
expect_grep "port 1-65535" "$LAST_OUT" "port 65536: says the port range"
expect_exit 2 "no port: exit 2" -- check "127.0.0.1"
expect_grep "expected HOST:PORT" "$LAST_OUT" "no port: says HOST:PORT expected"

# --- SMTP STARTTLS --------------------------------------------------------------------------
# smtpd MODE: the python STARTTLS server with the good certificate on $PORT.
smtpd() {
    PORT=$(free_port)
    start_bg "smtpd.$PORT" python3 "$SMTPD" "$PORT" "$TMP/good.pem" "$TMP/good.key" "$1"
    wait_port 127.0.0.1 "$PORT"
}

smtpd normal
expect_exit 0 "SMTP STARTTLS: exit 0" -- check --starttls smtp --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^connected: .*\(SMTP STARTTLS\)" "$LAST_OUT" "SMTP STARTTLS: says STARTTLS"
expect_grep "^verdict: trusted$" "$LAST_OUT" "SMTP STARTTLS: verdict trusted"
expect_exit 1 "SMTP STARTTLS, wrong name: exit 1" -- \
    check --starttls smtp --name b.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: name mismatch: wanted b\.corp\.test" "$LAST_OUT" \
    "SMTP STARTTLS, wrong name: name mismatch"
expect_exit 1 "TLS straight at an SMTP port: exit 1" -- check --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: peer does not speak TLS$" "$LAST_OUT" "TLS straight at an SMTP port: peer does not speak TLS"
stop_last_bg

smtpd no-starttls
expect_exit 1 "SMTP without STARTTLS: exit 1" -- check --starttls smtp --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: .*does not offer STARTTLS" "$LAST_OUT" "SMTP without STARTTLS: says so"
stop_last_bg

smtpd inject
expect_exit 1 "SMTP response injection: exit 1" -- check --starttls smtp --name a.corp.test "127.0.0.1:$PORT"
expect_grep "^verdict: refused: .*response injection" "$LAST_OUT" "SMTP response injection: detected"
stop_last_bg
