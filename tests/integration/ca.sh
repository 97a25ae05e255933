#!/bin/bash
# ca.sh - the enterprise CA end to end: init, issue, revoke, crl, list,
# checked with the openssl command line tool as an independent verifier.
source "$(dirname "$0")/lib.sh"

CA="$TMP/ca"
OUT="$TMP/out.txt"

# leaf PREFIX: the first certificate of PREFIX.pem into PREFIX.leaf.pem
leaf() { openssl x509 -in "$1.pem" -out "$1.leaf.pem"; }

# verify PREFIX: openssl's verdict on the leaf against the CA and its CRL
verify() {
    openssl verify -CAfile "$CA/ca.pem" -crl_check -CRLfile "$CA/crl.pem" \
        "$1.leaf.pem" >"$OUT" 2>&1
}

mode_of() { stat -c %a "$1"; }

check() { # NAME CMD... : ok if CMD succeeds (its output goes to $LAST_OUT)
    local name=$1
    shift
    if "$@" >"$LAST_OUT" 2>&1; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}

# ---- init ----
expect_exit 0 "ca init creates a CA" -- \
    "$TRUSTNET" ca init --dir "$CA" --name "Corp Enterprise CA" --org Corp \
    --crl-url http://crl.corp.example/corp.crl --crl-days 7
for f in ca.pem ca.key crl.pem crlnumber index.txt settings; do
    check "ca init wrote $f" test -f "$CA/$f"
done
check "CA directory is mode 700" test "$(mode_of "$CA")" = 700
check "CA key is mode 600" test "$(mode_of "$CA/ca.key")" = 600
openssl x509 -in "$CA/ca.pem" -noout -text >"$TMP/ca.txt" 2>&1
expect_grep "Subject: O ?= ?Corp, CN ?= ?Corp Enterprise CA" "$TMP/ca.txt" "CA subject is CN=NAME, O=ORG"
expect_grep "Basic Constraints: critical" "$TMP/ca.txt" "CA basicConstraints is critical"
expect_grep "CA:TRUE" "$TMP/ca.txt" "CA basicConstraints CA:TRUE"
expect_grep "Key Usage: critical" "$TMP/ca.txt" "CA keyUsage is critical"
expect_grep "Certificate Sign, CRL Sign" "$TMP/ca.txt" "CA keyUsage keyCertSign, cRLSign"
expect_grep "Subject Key Identifier" "$TMP/ca.txt" "CA has a subjectKeyIdentifier"
expect_grep "Signature Algorithm: ecdsa-with-SHA256" "$TMP/ca.txt" "EC CA signs with ecdsa-with-SHA256"
expect_grep "NIST CURVE: P-256" "$TMP/ca.txt" "default CA key is P-256"
openssl crl -in "$CA/crl.pem" -noout -text >"$TMP/crl.txt" 2>&1
expect_grep "Version 2" "$TMP/crl.txt" "initial CRL is v2"
expect_grep "CRL Number" "$TMP/crl.txt" "initial CRL has a crlNumber"
expect_grep "Authority Key Identifier" "$TMP/crl.txt" "initial CRL has an authorityKeyIdentifier"
expect_grep "No Revoked Certificates" "$TMP/crl.txt" "initial CRL is empty"
next=$(openssl crl -in "$CA/crl.pem" -noout -nextupdate | cut -d= -f2)
want=$(date -u -d "+7 days" +%s)
got=$(date -u -d "$next" +%s)
check "CRL nextUpdate is now + crl-days" test $((got - want)) -le 60 -a $((want - got)) -le 60
check "CRL verifies with the CA key" openssl crl -in "$CA/crl.pem" -CAfile "$CA/ca.pem" -noout

# ---- refusing to overwrite a CA ----
sum_before=$(cat "$CA"/* | sha256sum)
expect_exit 1 "ca init refuses an existing CA" -- \
    "$TRUSTNET" ca init --dir "$CA" --name "Other CA"
expect_grep "already exists" "$LAST_OUT" "refusal says the CA already exists"
check "refused init changed nothing" test "$(cat "$CA"/* | sha256sum)" = "$sum_before"
mkdir -p "$TMP/half"
touch "$TMP/half/ca.key"
expect_exit 1 "ca init refuses a directory holding a ca.key" -- \
    "$TRUSTNET" ca init --dir "$TMP/half" --name "Half CA"
check "refused init wrote no ca.pem" test ! -e "$TMP/half/ca.pem"

# ---- issue a server certificate ----
expect_exit 0 "ca issue a server certificate" -- \
    "$TRUSTNET" ca issue --dir "$CA" fe1.corp.example --san DNS:sip.corp.example \
    --san URI:sip:corp.example --san IP:127.0.0.1 --ou Voice --out "$TMP/fe1"
check "issued key is mode 600" test "$(mode_of "$TMP/fe1.key")" = 600
check "issued PEM holds the certificate and the CA" \
    test "$(grep -c 'BEGIN CERTIFICATE' "$TMP/fe1.pem")" = 2
leaf "$TMP/fe1"
check "issued key matches the certificate" test \
    "$(openssl x509 -in "$TMP/fe1.leaf.pem" -noout -pubkey)" = \
    "$(openssl pkey -in "$TMP/fe1.key" -pubout)"
openssl x509 -in "$TMP/fe1.leaf.pem" -noout -text >"$TMP/fe1.txt" 2>&1
expect_grep "Subject: O ?= ?Corp, OU ?= ?Voice, CN ?= ?fe1.corp.example" "$TMP/fe1.txt" \
    "subject is CN=NAME with the CA's O and --ou"
expect_grep "DNS:fe1.corp.example, DNS:sip.corp.example, URI:sip:corp.example, IP Address:127.0.0.1" \
    "$TMP/fe1.txt" "SANs hold NAME and every --san"
expect_grep "TLS Web Server Authentication, TLS Web Client Authentication" "$TMP/fe1.txt" \
    "server certificate has EKU serverAuth and clientAuth"
expect_grep "CA:FALSE" "$TMP/fe1.txt" "issued certificate is CA:FALSE"
expect_grep "Key Usage: critical" "$TMP/fe1.txt" "issued keyUsage is critical"
expect_grep "Authority Key Identifier" "$TMP/fe1.txt" "issued certificate has an AKI"
expect_grep "URI:http://crl.corp.example/corp.crl" "$TMP/fe1.txt" \
    "CRL distribution point from --crl-url"
serial=$(openssl x509 -in "$TMP/fe1.leaf.pem" -noout -serial | cut -d= -f2)
check "serial is 16 bytes" test ${#serial} -eq 32
expect_grep "^V	[0-9]{12}Z		$serial	unknown	/O=Corp/OU=Voice/CN=fe1.corp.example$" \
    "$CA/index.txt" "index.txt has the openssl ca V line"
verify "$TMP/fe1"
expect_grep ": OK$" "$OUT" "openssl verify accepts the certificate with the CRL"

expect_exit 1 "ca issue refuses to overwrite PREFIX.pem" -- \
    "$TRUSTNET" ca issue --dir "$CA" fe1.corp.example --out "$TMP/fe1"
expect_grep "already exists" "$LAST_OUT" "overwrite refusal names the file"

# ---- revoke and CRL ----
expect_exit 0 "ca revoke by certificate file" -- \
    "$TRUSTNET" ca revoke --dir "$CA" "$TMP/fe1.pem" --reason keyCompromise
verify "$TMP/fe1"
expect_grep "certificate revoked" "$OUT" "openssl verify rejects the revoked certificate"
expect_grep "^R	[0-9]{12}Z	[0-9]{12}Z,keyCompromise	$serial	" "$CA/index.txt" \
    "index.txt has the R line with date and reason"
openssl crl -in "$CA/crl.pem" -noout -text >"$TMP/crl.txt" 2>&1
expect_grep "Key Compromise" "$TMP/crl.txt" "CRL entry carries the reason"
expect_exit 1 "revoking twice is refused" -- "$TRUSTNET" ca revoke --dir "$CA" "$serial"
expect_grep "already revoked" "$LAST_OUT" "second revoke says already revoked"
expect_exit 1 "revoking an unknown serial is refused" -- \
    "$TRUSTNET" ca revoke --dir "$CA" 0x0123456789ABCDEF
expect_grep "not in" "$LAST_OUT" "unknown serial is named"
n1=$(openssl crl -in "$CA/crl.pem" -noout -crlnumber | sed 's/.*=\(0x\)\{0,1\}//')
expect_exit 0 "ca crl rewrites the CRL" -- "$TRUSTNET" ca crl --dir "$CA"
n2=$(openssl crl -in "$CA/crl.pem" -noout -crlnumber | sed 's/.*=\(0x\)\{0,1\}//')
check "ca crl advances the crlNumber" test $((16#$n2)) -eq $((16#$n1 + 1))
expect_grep "$serial" <(openssl crl -in "$CA/crl.pem" -noout -text) \
    "rewritten CRL still lists the revoked serial"

# ---- revoke by serial ----
"$TRUSTNET" ca issue --dir "$CA" fe2.corp.example --out "$TMP/fe2" >/dev/null 2>&1
leaf "$TMP/fe2"
serial2=$(openssl x509 -in "$TMP/fe2.leaf.pem" -noout -serial | cut -d= -f2)
verify "$TMP/fe2"
expect_grep ": OK$" "$OUT" "second certificate verifies"
expect_exit 0 "ca revoke by serial (0x form, lower case)" -- \
    "$TRUSTNET" ca revoke --dir "$CA" "0x${serial2,,}" --reason superseded
verify "$TMP/fe2"
expect_grep "certificate revoked" "$OUT" "certificate revoked by serial is rejected"

# ---- client certificates ----
expect_exit 0 "ca issue --client" -- \
    "$TRUSTNET" ca issue --dir "$CA" alice.corp.example --client --out "$TMP/alice"
leaf "$TMP/alice"
openssl x509 -in "$TMP/alice.leaf.pem" -noout -ext extendedKeyUsage >"$TMP/eku.txt" 2>&1
expect_grep "TLS Web Client Authentication" "$TMP/eku.txt" "client certificate has clientAuth"
if grep -q "Server Authentication" "$TMP/eku.txt"; then
    not_ok "client certificate has no serverAuth" "$(cat "$TMP/eku.txt")"
else
    ok "client certificate has no serverAuth"
fi

# ---- validity periods ----
expect_exit 0 "ca issue an already expired certificate" -- \
    "$TRUSTNET" ca issue --dir "$CA" old.corp.example --not-before 2020-01-01 \
    --not-after 2021-01-01T12:00:00 --out "$TMP/old"
leaf "$TMP/old"
verify "$TMP/old"
expect_grep "certificate has expired" "$OUT" "openssl verify says expired"
check "--not-after sets notAfter" test "$(openssl x509 -in "$TMP/old.leaf.pem" -noout -enddate)" \
    = "notAfter=Jan  1 12:00:00 2021 GMT"
expect_exit 0 "ca issue a not yet valid certificate" -- \
    "$TRUSTNET" ca issue --dir "$CA" new.corp.example --not-before 2030-06-01 \
    --not-after 2031-06-01 --out "$TMP/new"
leaf "$TMP/new"
verify "$TMP/new"
expect_grep "not yet valid" "$OUT" "openssl verify says not yet valid"
"$TRUSTNET" ca issue --dir "$CA" d30.corp.example --days 30 --out "$TMP/d30" >/dev/null 2>&1
leaf "$TMP/d30"
end=$(date -u -d "$(openssl x509 -in "$TMP/d30.leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
check "--days 30 ends 30 days from now" test $((end - $(date +%s) - 30 * 86400)) -le 60 -a \
    $((end - $(date +%s) - 30 * 86400)) -ge -60
expect_exit 1 "a certificate may not outlive the CA" -- \
    "$TRUSTNET" ca issue --dir "$CA" long.corp.example --days 36500 --out "$TMP/long"
expect_grep "outlive the CA" "$LAST_OUT" "outliving the CA is explained"

# ---- RSA keys ----
expect_exit 0 "ca issue --key rsa2048" -- \
    "$TRUSTNET" ca issue --dir "$CA" rsa.corp.example --key rsa2048 --out "$TMP/rsa"
leaf "$TMP/rsa"
openssl x509 -in "$TMP/rsa.leaf.pem" -noout -text >"$TMP/rsa.txt" 2>&1
expect_grep "Public-Key: \(2048 bit\)" "$TMP/rsa.txt" "rsa2048 key is RSA 2048"
expect_grep "Digital Signature, Key Encipherment" "$TMP/rsa.txt" "RSA key usage adds keyEncipherment"
verify "$TMP/rsa"
expect_grep ": OK$" "$OUT" "RSA certificate verifies"
expect_exit 0 "ca init --key rsa2048" -- \
    "$TRUSTNET" ca init --dir "$TMP/rsaca" --name "RSA CA" --key rsa2048 --days 100
expect_grep "Signature Algorithm: sha256WithRSAEncryption" \
    <(openssl x509 -in "$TMP/rsaca/ca.pem" -noout -text) "RSA CA signs with SHA-256"
check "CA without --crl-url issues no CRL distribution point" \
    "$TRUSTNET" ca issue --dir "$TMP/rsaca" x.corp.example --days 10 --out "$TMP/x"
if openssl x509 -in "$TMP/x.pem" -noout -text | grep -q "CRL Distribution"; then
    not_ok "no CRL distribution point without --crl-url"
else
    ok "no CRL distribution point without --crl-url"
fi

# ---- wildcard ----
expect_exit 0 "ca issue a wildcard certificate" -- \
    "$TRUSTNET" ca issue --dir "$CA" "*.corp.example" --out "$TMP/wild"
expect_grep "DNS:\*\.corp\.example" <(openssl x509 -in "$TMP/wild.pem" -noout -ext subjectAltName) \
    "wildcard SAN present"

# ---- concurrent commands are serialised by the directory lock ----
pids=()
for i in 1 2 3 4 5 6; do
    "$TRUSTNET" ca issue --dir "$CA" "par$i.corp.example" --out "$TMP/par$i" >/dev/null 2>&1 &
    pids+=($!)
done
"$TRUSTNET" ca crl --dir "$CA" >/dev/null 2>&1 &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid"; done
check "parallel issues are all recorded" test "$(grep -c '/CN=par[1-6]\.' "$CA/index.txt")" -eq 6
check "index.txt stays well formed" "$TRUSTNET" ca list --dir "$CA"
check "no temporary files are left" test -z "$(ls "$CA" | grep tmp)"

# ---- list ----
expect_exit 0 "ca list" -- "$TRUSTNET" ca list --dir "$CA"
cp "$LAST_OUT" "$TMP/list.txt"
expect_grep "^SERIAL +NAME +EXPIRES +STATUS$" "$TMP/list.txt" "list has a header"
expect_grep "^0x$serial +fe1\.corp\.example +[0-9]{4}-[0-9]{2}-[0-9]{2} +revoked$" \
    "$TMP/list.txt" "list shows the revoked certificate"
expect_grep "alice\.corp\.example +[0-9-]+ +valid$" "$TMP/list.txt" "list shows a valid certificate"
expect_grep "old\.corp\.example +2021-01-01 +expired$" "$TMP/list.txt" \
    "list shows an expired certificate"

# ---- strict state files ----
cp -r "$CA" "$TMP/broken"
printf 'crl_days=30\ncolour=blue\n' >"$TMP/broken/settings"
expect_exit 1 "a bad settings file is refused" -- "$TRUSTNET" ca list --dir "$TMP/broken"
expect_grep "settings:2: unknown setting 'colour'" "$LAST_OUT" "settings error names the line"
cp "$CA/settings" "$TMP/broken/settings"
printf 'V\tnot-a-time\t\t01\tunknown\t/CN=x\n' >>"$TMP/broken/index.txt"
expect_exit 1 "a bad index line is refused" -- "$TRUSTNET" ca list --dir "$TMP/broken"
expect_grep "index.txt:[0-9]+: bad expiry time" "$LAST_OUT" "index error names the line"
chmod 644 "$TMP/broken/ca.key"
expect_exit 1 "a CA key readable by others is refused" -- \
    "$TRUSTNET" ca crl --dir "$TMP/broken"
expect_exit 1 "ca list without a CA" -- "$TRUSTNET" ca list --dir "$TMP"

# ---- usage errors ----
usage() { # NAME PATTERN ARGS...
    local name=$1 pattern=$2
    shift 2
    expect_exit 2 "$name exits 2" -- "$TRUSTNET" "$@"
    if [ "$(wc -l <"$LAST_OUT")" -eq 1 ] && grep -Eq -- "$pattern" "$LAST_OUT"; then
        ok "$name: one clear line"
    else
        not_ok "$name: one clear line" "wanted one line matching: $pattern"
    fi
}
usage "no subcommand" "missing subcommand" ca
usage "unknown subcommand" "unknown subcommand 'frobnicate'" ca frobnicate
usage "unknown option" "unknown option '--bogus'" ca init --dir "$TMP/u" --name X --bogus
usage "missing --dir" "missing --dir" ca issue fe9.corp.example --out "$TMP/fe9"
usage "missing --out" "missing --out" ca issue --dir "$CA" fe9.corp.example
usage "missing NAME" "missing NAME" ca issue --dir "$CA" --out "$TMP/fe9"
usage "missing --name" "missing --name" ca init --dir "$TMP/u"
usage "option without value" "needs a value" ca issue --dir "$CA" fe9.corp.example --out
usage "option eating the next option" "needs a value" ca issue --dir --out "$TMP/fe9" fe9.corp.example
usage "bad --key" "bad --key 'dsa'" ca issue --dir "$CA" fe9.corp.example --key dsa --out "$TMP/fe9"
usage "bad --key on init" "bad --key 'rsa1024'" ca init --dir "$TMP/u" --name X --key rsa1024
usage "bad --san type" "bad --san 'EMAIL:a@b'" ca issue --dir "$CA" fe9.corp.example --san EMAIL:a@b --out "$TMP/fe9"
usage "bad --san IP" "bad IP address '300.1.1.1'" ca issue --dir "$CA" fe9.corp.example --san IP:300.1.1.1 --out "$TMP/fe9"
usage "bad --san DNS" "bad DNS name" ca issue --dir "$CA" fe9.corp.example --san DNS:a..b --out "$TMP/fe9"
usage "non-numeric --days" "bad --days 'ten'" ca issue --dir "$CA" fe9.corp.example --days ten --out "$TMP/fe9"
usage "non-numeric --days on init" "bad --days '12x'" ca init --dir "$TMP/u" --name X --days 12x
usage "non-numeric --crl-days" "bad --crl-days" ca init --dir "$TMP/u" --name X --crl-days -3
usage "bad NAME" "bad DNS name 'fe_1.corp.example'" ca issue --dir "$CA" fe_1.corp.example --out "$TMP/fe9"
usage "numeric NAME" "last label is numeric" ca issue --dir "$CA" 10.0.0.1 --out "$TMP/fe9"
usage "label too long" "label longer than 63" ca issue --dir "$CA" "$(printf 'a%.0s' {1..64}).example" --out "$TMP/fe9"
usage "bad --not-after" "bad time '2021-02-30'" ca issue --dir "$CA" fe9.corp.example --not-after 2021-02-30 --out "$TMP/fe9"
usage "--days with --not-after" "not both" ca issue --dir "$CA" fe9.corp.example --days 3 --not-after 2030-01-01 --out "$TMP/fe9"
usage "bad --reason" "bad --reason 'tired'" ca revoke --dir "$CA" "$serial" --reason tired
usage "bad serial" "neither a certificate file nor" ca revoke --dir "$CA" xyz
usage "bad --crl-url" "bad URL" ca init --dir "$TMP/u" --name X --crl-url ftp://x
usage "extra argument" "unexpected argument" ca list --dir "$CA" extra
check "usage errors created nothing" test ! -e "$TMP/u" -a ! -e "$TMP/fe9.pem" -a ! -e "$TMP/fe9.key"

# ---- help ----
for sub in "" init issue revoke crl list; do
    expect_exit 0 "ca $sub --help exits 0" -- "$TRUSTNET" ca $sub --help
    for section in SYNOPSIS "EXIT STATUS" EXAMPLE; do
        expect_grep "^$section" "$LAST_OUT" "ca $sub --help has $section"
    done
done
"$TRUSTNET" ca issue --help 2>/dev/null >"$TMP/help.txt"
for opt in --dir --out --san --days --not-before --not-after --key --client --ou; do
    expect_grep "$opt" "$TMP/help.txt" "ca issue --help documents $opt"
done
