#!/bin/bash
# check_revocation.sh - trustnet check --revocation against CRLs served by
# a real HTTP server on loopback: good, DER, revoked, expired, garbage,
# forged, missing, slow and oversized CRLs, unreachable and non-http URLs.
source "$(dirname "$0")/lib.sh"

O="$TMP/openssl.log"
P=$(free_port)          # the CRL web server
DEAD=$(free_port)       # nothing listens here
SILENT=$(free_port)     # accepts connections, never answers
RAW=$(free_port)        # hand-made HTTP answers (see raw.py below)
URL="http://127.0.0.1:$P"
SRV="$TMP/www"
mkdir -p "$SRV"

# make_ca NAME SUBJECT: a CA key, self-signed certificate and openssl-ca
# database in $TMP/NAME, configured by $TMP/NAME/ca.cnf.
make_ca() {
    local d="$TMP/$1"
    mkdir -p "$d/certs"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    echo 01 >"$d/crlnumber"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = tn
[ tn ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/certs
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = anything
unique_subject = no
[ anything ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 60 -subj "$2" \
        -config "$d/ca.cnf" -extensions v3_ca >>"$O" 2>&1
}

# issue CA NAME EXTENSION-LINES...: leaf NAME.corp.test signed by CA; writes
# $TMP/NAME.crt (leaf alone) and $TMP/NAME.chain.pem (leaf then CA).
issue() {
    local ca=$1 name=$2
    shift 2
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "subjectAltName=DNS:$name.corp.test" "authorityKeyIdentifier=keyid" "$@" \
        >"$TMP/$name.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$TMP/$name.key" -subj "/CN=$name.corp.test" \
        -out "$TMP/$name.csr" >>"$O" 2>&1
    openssl ca -batch -notext -config "$TMP/$ca/ca.cnf" -in "$TMP/$name.csr" \
        -out "$TMP/$name.crt" -extfile "$TMP/$name.ext" >>"$O" 2>&1
    cat "$TMP/$name.crt" "$TMP/$ca/ca.crt" >"$TMP/$name.chain.pem"
}

gencrl() { # CA OUT [openssl ca options]
    local ca=$1 out=$2
    shift 2
    openssl ca -batch -config "$TMP/$ca/ca.cnf" -gencrl -out "$out" "$@" >>"$O" 2>&1
}

cdp() { echo "crlDistributionPoints=URI:$1"; }

check() { "$TRUSTNET" check --revocation "$@"; }

# --- PKI ------------------------------------------------------------------
make_ca ca "/O=Corp/CN=Corp Enterprise CA"
# An impostor CA with the same name but another key.
make_ca forger "/O=Corp/CN=Corp Enterprise CA"

# The CRL that expires first is made first: it needs a second to go stale.
gencrl ca "$SRV/expired.pem" -crlsec 1
expired_at=$(date +%s)

issue ca good "$(cdp "$URL/good.pem")" \
    "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$DEAD/ocsp"
issue ca der "$(cdp "$URL/good.der")"
issue ca dead "$(cdp "http://127.0.0.1:$DEAD/crl.pem")"
issue ca garbage "$(cdp "$URL/garbage.crl")"
issue ca missing "$(cdp "$URL/no-such.crl")"
issue ca huge "$(cdp "$URL/huge.crl")"
issue ca silent "$(cdp "http://127.0.0.1:$SILENT/crl.pem")"
issue ca forged "$(cdp "$URL/forged.pem")"
issue ca stale "$(cdp "$URL/expired.pem")"
issue ca nocdp
issue ca endless "$(cdp "http://127.0.0.1:$RAW/endless")"
issue ca stall "$(cdp "http://127.0.0.1:$RAW/stall")"
issue ca redirect "$(cdp "http://127.0.0.1:$RAW/redirect")"
issue ca loop "$(cdp "http://127.0.0.1:$RAW/loop")"
issue ca schemes "crlDistributionPoints=URI:https://127.0.0.1:$P/good.pem,URI:ldap://127.0.0.1/cn=crl"
issue ca two "crlDistributionPoints=URI:$URL/good.pem,URI:http://127.0.0.1:$DEAD/b.crl"
issue ca victim "$(cdp "$URL/revoked.pem")"

gencrl ca "$SRV/good.pem"
openssl crl -in "$SRV/good.pem" -outform DER -out "$SRV/good.der" >>"$O" 2>&1
openssl ca -config "$TMP/ca/ca.cnf" -revoke "$TMP/victim.crt" \
    -crl_reason keyCompromise >>"$O" 2>&1
gencrl ca "$SRV/revoked.pem"
gencrl forger "$SRV/forged.pem"
printf '<html><body>Not a CRL</body></html>\n' >"$SRV/garbage.crl"
head -c $((11 * 1024 * 1024)) /dev/zero >"$SRV/huge.crl"

if [ ! -s "$SRV/revoked.pem" ] || [ ! -s "$SRV/forged.pem" ] || [ ! -s "$TMP/victim.crt" ]; then
    LAST_OUT=$O
    not_ok "test PKI created with openssl"
    exit 1
fi
ok "test PKI created with openssl"

start_bg www python3 -m http.server --bind 127.0.0.1 --directory "$SRV" "$P"
start_bg silent python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
time.sleep(120)' "$SILENT"
# raw.py: /endless streams zeros with no Content-Length; /stall sends the
# headers and the start of a PEM CRL, then nothing; /redirect redirects to
# the good CRL; /loop redirects to itself.
cat >"$TMP/raw.py" <<'EOF'
import socket, sys, threading, time
def serve(c):
    try:
        req = c.recv(4096).decode("latin-1")
        if " /redirect " in req:
            c.sendall(b"HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:%s/good.pem\r\n\r\n"
                      % sys.argv[2].encode())
            return
        if " /loop " in req:
            c.sendall(b"HTTP/1.0 302 Found\r\nLocation: /loop\r\n\r\n")
            return
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n")
        if " /endless " in req:
            while True:
                c.sendall(b"\0" * 65536)
        c.sendall(b"-----BEGIN X509 CRL-----\n")
        time.sleep(30)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF
start_bg raw python3 "$TMP/raw.py" "$RAW" "$P"
wait_port 127.0.0.1 "$P"
wait_port 127.0.0.1 "$RAW"
wait_port 127.0.0.1 "$SILENT"

# --- reachable, good CRL ----------------------------------------------------
expect_exit 0 "good PEM CRL: exit 0" -- check "$TMP/good.chain.pem"
cp "$LAST_OUT" "$TMP/good.out"
expect_grep "^certificate 0: CN=good\.corp\.test \(serial 0x[0-9A-F]+\), issuer CN=Corp Enterprise CA" \
    "$TMP/good.out" "good: certificate line names subject, serial and issuer"
expect_grep "CRL $URL/good\.pem: reachable, CRL parsed \(PEM\), issuer CN=Corp Enterprise CA, signature verified, this update [0-9-]+ [0-9:]+ UTC, next update [0-9-]+ [0-9:]+ UTC, 0 revoked entries, certificate not listed" \
    "$TMP/good.out" "good: CRL line says reachable, parsed, verified, current, not listed"
expect_grep "OCSP http://127\.0\.0\.1:$DEAD/ocsp: listed" "$TMP/good.out" "good: OCSP URL listed"
expect_grep "^certificate 1: CN=Corp Enterprise CA .*self-signed" "$TMP/good.out" "good: the root is reported"
expect_grep "no CRL distribution point \(self-signed root" "$TMP/good.out" "good: a root without CDP is not a failure"
expect_grep "^revocation endpoints: all reachable" "$TMP/good.out" "good: summary says all reachable"

expect_exit 0 "good DER CRL: exit 0" -- check "$TMP/der.chain.pem"
expect_grep "CRL parsed \(DER\).*signature verified" "$LAST_OUT" "DER CRL parsed and verified"

# Environment proxies must not be used: this one does not exist.
expect_exit 0 "http_proxy in the environment is ignored" -- \
    env http_proxy="http://127.0.0.1:$DEAD" HTTP_PROXY="http://127.0.0.1:$DEAD" \
    "$TRUSTNET" check --revocation "$TMP/good.chain.pem"

# Leaf alone: the issuer is unknown until --ca gives it.
expect_exit 0 "leaf without its CA: exit 0" -- check "$TMP/good.crt"
expect_grep "signature not checked" "$LAST_OUT" "leaf without its CA: signature not checked, said so"
expect_exit 0 "leaf with --ca: exit 0" -- check "$TMP/good.crt" --ca "$TMP/ca/ca.crt"
expect_grep "signature verified" "$LAST_OUT" "leaf with --ca: signature verified"

# --- problems -----------------------------------------------------------------
start=$(date +%s)
expect_exit 1 "unreachable CDP: exit 1" -- check "$TMP/dead.chain.pem"
elapsed=$(($(date +%s) - start))
expect_grep "CRL http://127\.0\.0\.1:$DEAD/crl\.pem: unreachable: Connection refused" "$LAST_OUT" "unreachable CDP: says unreachable and why"
if [ "$elapsed" -le 2 ]; then ok "unreachable CDP: refusal reported at once"; else not_ok "unreachable CDP: took ${elapsed} s"; fi
expect_grep "^revocation endpoints: 1 problem$" "$LAST_OUT" "unreachable CDP: summary counts 1 problem"

expect_exit 1 "one good and one dead CDP: exit 1" -- check "$TMP/two.chain.pem"
expect_grep "good\.pem: reachable" "$LAST_OUT" "one good and one dead CDP: the good one is reported"
expect_grep "b\.crl: unreachable" "$LAST_OUT" "one good and one dead CDP: the dead one is reported"

expect_exit 1 "garbage at the CDP: exit 1" -- check "$TMP/garbage.chain.pem"
expect_grep "garbage\.crl: reachable, but the response does not parse as a CRL" "$LAST_OUT" "garbage at the CDP: says it does not parse"

expect_exit 1 "HTTP 404 at the CDP: exit 1" -- check "$TMP/missing.chain.pem"
expect_grep "no-such\.crl: unreachable: .*404" "$LAST_OUT" "HTTP 404 at the CDP: the status is reported"

expect_exit 1 "revoked certificate: exit 1" -- check "$TMP/victim.chain.pem"
expect_grep "revoked\.pem: reachable, .*1 revoked entry, certificate REVOKED on .* \(reason keyCompromise\)" \
    "$LAST_OUT" "revoked certificate: says REVOKED with the reason"

expect_exit 1 "CRL signed by an impostor CA of the same name: exit 1" -- check "$TMP/forged.chain.pem"
expect_grep "forged\.pem: .*signature does NOT verify" "$LAST_OUT" "impostor CRL: signature does not verify"

expect_exit 1 "leaf without CDP: exit 1" -- check "$TMP/nocdp.chain.pem"
expect_grep "no CRL distribution point: revocation cannot be checked by relying parties" "$LAST_OUT" \
    "leaf without CDP: says relying parties cannot check it"

expect_exit 1 "https and ldap CDPs: exit 1" -- check "$TMP/schemes.chain.pem"
expect_grep "CRL https://.*: not checked: https is not used" "$LAST_OUT" "https CDP: says why not"
expect_grep "CRL ldap://.*: not checked: ldap is not fetched" "$LAST_OUT" "ldap CDP: says why not"
expect_grep "^revocation endpoints: 2 problems$" "$LAST_OUT" "https and ldap CDPs: 2 problems"

expect_exit 1 "CRL larger than 10 MiB: exit 1" -- check "$TMP/huge.chain.pem"
expect_grep "huge\.crl: unreachable: .*(max|length|size|exceed)" "$LAST_OUT" "CRL larger than 10 MiB: refused by size"

start=$(date +%s)
expect_exit 1 "server that never answers: exit 1" -- check "$TMP/silent.chain.pem"
elapsed=$(($(date +%s) - start))
expect_grep "crl\.pem: unreachable: .*time" "$LAST_OUT" "server that never answers: says timeout"
if [ "$elapsed" -le 8 ]; then ok "server that never answers: gave up after ${elapsed} s"; else not_ok "server that never answers: took ${elapsed} s"; fi

expect_exit 0 "redirect to the CRL is followed: exit 0" -- check "$TMP/redirect.chain.pem"
expect_grep "/redirect: reachable, CRL parsed \(PEM\).*signature verified" "$LAST_OUT" "redirect to the CRL: CRL checked"
expect_exit 1 "redirect loop: exit 1" -- check "$TMP/loop.chain.pem"
expect_grep "/loop: unreachable: more than [0-9]+ redirections" "$LAST_OUT" "redirect loop: says too many redirections"

expect_exit 1 "endless response without Content-Length: exit 1" -- check "$TMP/endless.chain.pem"
expect_grep "endless: unreachable: response larger than" "$LAST_OUT" "endless response: cut at the size limit"

start=$(date +%s)
expect_exit 1 "server that stalls in the body: exit 1" -- check "$TMP/stall.chain.pem"
elapsed=$(($(date +%s) - start))
expect_grep "stall: unreachable: timed out" "$LAST_OUT" "server that stalls in the body: says timed out"
if [ "$elapsed" -le 8 ]; then ok "server that stalls in the body: gave up after ${elapsed} s"; else not_ok "server that stalls in the body: took ${elapsed} s"; fi

now=$(date +%s)

[ $((now - expired_at)) -lt 2 ] && sleep 2
expect_exit 1 "expired CRL: exit 1" -- check "$TMP/stale.chain.pem"
expect_grep "expired\.pem: reachable, .*EXPIRED: next update .* is in the past" "$LAST_OUT" "expired CRL: says EXPIRED"

# --- usage ----------------------------------------------------------------------
expect_exit 2 "missing certificate file: exit 2" -- check "$TMP/no-such.pem"
expect_grep "no-such\.pem" "$LAST_OUT" "missing certificate file: named in the message"
chmod 000 "$TMP/good.crt"
if [ "$(id -u)" -ne 0 ]; then
    expect_exit 2 "unreadable certificate file: exit 2" -- check "$TMP/good.crt"
fi
expect_exit 2 "not a certificate: exit 2" -- check "$SRV/garbage.crl"
