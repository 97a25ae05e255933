#!/bin/bash
# cert_info.sh - "trustnet cert info FILE" shows every fact a partner needs,
# each compared with what the openssl tool reads from the same file.
source "$(dirname "$0")/lib.sh"

CA="$TMP/ca"
INFO="$TMP/info.txt"

# field NAME FILE: the value of "NAME: value" in FILE (table output)
field() { sed -n "s/^$1: *//p" "$2"; }

# expect_field NAME WANT FILE TESTNAME
expect_field() {
    local got
    got=$(field "$1" "$3")
    if [ "$got" = "$2" ]; then
        ok "$4"
    else
        not_ok "$4" "field '$1': got '$got', wanted '$2'"
    fi
}

# expect_name_field: the same for a distinguished name, whether its parts
# are separated by "," or ", ".
expect_name_field() {
    local got
    got=$(field "$1" "$3")
    if [ "${got//, /,}" = "${2//, /,}" ]; then
        ok "$4"
    else
        not_ok "$4" "field '$1': got '$got', wanted '$2'"
    fi
}

"$TRUSTNET" ca init --dir "$CA" --name "Corp Enterprise CA" --org Corp \
    --crl-url http://crl.corp.example/corp.crl >/dev/null 2>&1 || not_ok "setup: ca init"
"$TRUSTNET" ca issue --dir "$CA" edge.corp.example --san DNS:mail.corp.example \
    --san URI:sip:corp.example --san IP:192.0.2.7 --ou Messaging \
    --not-before 2025-01-02T03:04:05 --not-after 2035-06-07T08:09:10 \
    --out "$TMP/edge" >/dev/null 2>&1 || not_ok "setup: ca issue"
LEAF="$TMP/edge.leaf.pem"
openssl x509 -in "$TMP/edge.pem" -out "$LEAF"

expect_exit 0 "cert info on a certificate with its chain" -- "$TRUSTNET" cert info "$TMP/edge.pem"
cp "$LAST_OUT" "$INFO"

expect_name_field "Root issuer" "CN=Corp Enterprise CA,O=Corp" "$INFO" "root issuer is the CA"
expect_field "Certificate name" "edge.corp.example" "$INFO" "certificate name is the CN"
expect_name_field "Subject" "CN=edge.corp.example,OU=Messaging,O=Corp" "$INFO" "subject"
expect_name_field "Issuer" "CN=Corp Enterprise CA,O=Corp" "$INFO" "issuer"
expect_field "Subject alt names" \
    "DNS:edge.corp.example, DNS:mail.corp.example, URI:sip:corp.example, IP:192.0.2.7" \
    "$INFO" "subject alt names"
expect_field "Organisation" "Corp" "$INFO" "organisation"
expect_field "Organisational unit" "Messaging" "$INFO" "organisational unit"
expect_field "Key type and strength" "EC P-256 (128-bit security)" "$INFO" "EC key strength"
expect_field "Signature algorithm" "ecdsa-with-SHA256" "$INFO" "signature algorithm"
expect_field "Valid from" "2025-01-02 03:04:05 UTC" "$INFO" "valid from"
expect_field "Valid until" "2035-06-07 08:09:10 UTC" "$INFO" "valid until"
serial=$(openssl x509 -in "$LEAF" -noout -serial | cut -d= -f2)
expect_field "Serial" "0x$serial" "$INFO" "serial matches openssl"
fp=$(openssl x509 -in "$LEAF" -noout -fingerprint -sha256 | cut -d= -f2)
expect_field "SHA-256 fingerprint" "$fp" "$INFO" "SHA-256 fingerprint matches openssl"
expect_field "Extended key usage" "serverAuth, clientAuth" "$INFO" "extended key usage"
expect_field "CRL distribution points" "http://crl.corp.example/corp.crl" "$INFO" \
    "CRL distribution points"
expect_field "OCSP URLs" "(none)" "$INFO" "no OCSP URL shows (none)"
expect_grep "^Chain certificate 1: +CN=Corp Enterprise CA, ?O=Corp \(self-signed, EC P-256, until [0-9-]+\)$" \
    "$INFO" "chain certificate described briefly"
# Aligned table: every value starts in the same column.
cols=$(sed -E 's/^([^:]*: *).*/\1/' "$INFO" | awk '{ print length($0) }' | sort -u | wc -l)
if [ "$cols" -eq 1 ]; then ok "values are aligned"; else not_ok "values are aligned"; fi

# A leaf alone: the root issuer is its issuer; no chain; client EKU.
"$TRUSTNET" ca issue --dir "$CA" bob.corp.example --client --key rsa2048 \
    --out "$TMP/bob" >/dev/null 2>&1
openssl x509 -in "$TMP/bob.pem" -out "$TMP/bob.leaf.pem"
expect_exit 0 "cert info on a lone RSA client certificate" -- "$TRUSTNET" cert info "$TMP/bob.leaf.pem"
cp "$LAST_OUT" "$INFO"
expect_name_field "Root issuer" "CN=Corp Enterprise CA,O=Corp" "$INFO" "root issuer of a lone leaf is its issuer"
expect_field "Key type and strength" "RSA 2048 (112-bit security)" "$INFO" "RSA key strength"
expect_field "Signature algorithm" "ecdsa-with-SHA256" "$INFO" "signature is the CA's"
expect_field "Extended key usage" "clientAuth" "$INFO" "client EKU"
expect_field "Organisational unit" "(none)" "$INFO" "no OU shows (none)"
expect_field "Chain" "(none: the file holds only the certificate)" "$INFO" "no chain is said"

# The self-signed CA certificate: root issuer is its own subject.
expect_exit 0 "cert info on the CA certificate" -- "$TRUSTNET" cert info "$CA/ca.pem"
cp "$LAST_OUT" "$INFO"
expect_name_field "Root issuer" "CN=Corp Enterprise CA,O=Corp" "$INFO" "self-signed root issuer is its subject"
expect_field "Extended key usage" "(none)" "$INFO" "no EKU shows (none)"
expect_field "CRL distribution points" "(none)" "$INFO" "no CRL DP shows (none)"

# A certificate made by openssl with an OCSP URL, under an intermediate.
cat >"$TMP/ext.cnf" <<'CNF'
[inter]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[leaf]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
authorityInfoAccess = OCSP;URI:http://ocsp.partner.example/, caIssuers;URI:http://ca.partner.example/i.crt
crlDistributionPoints = URI:http://crl.partner.example/a.crl, URI:http://crl2.partner.example/b.crl
subjectAltName = DNS:smtp.partner.example
CNF
(
    cd "$TMP" || exit 1
    openssl req -x509 -newkey rsa:3072 -nodes -keyout root.key -out root.pem -days 30 \
        -subj "/C=DE/O=Partner AG/CN=Partner Root" -sha384
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout inter.key \
        -out inter.csr -subj "/O=Partner AG/CN=Partner Issuing CA"
    openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial \
        -out inter.pem -days 20 -extfile ext.cnf -extensions inter
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout p.key \
        -out p.csr -subj "/O=Partner AG/OU=Mail/OU=Edge/CN=smtp.partner.example"
    openssl x509 -req -in p.csr -CA inter.pem -CAkey inter.key -CAcreateserial \
        -out p.pem -days 10 -extfile ext.cnf -extensions leaf -sha384
    cat p.pem inter.pem >partner.pem
) >"$TMP/openssl.log" 2>&1 || not_ok "setup: openssl partner chain" "$(cat "$TMP/openssl.log")"
expect_exit 0 "cert info on a partner chain" -- "$TRUSTNET" cert info "$TMP/partner.pem"
cp "$LAST_OUT" "$INFO"
expect_name_field "Root issuer" "CN=Partner Root,O=Partner AG,C=DE" "$INFO" \
    "root issuer is the issuer of the top-most certificate"
expect_field "OCSP URLs" "http://ocsp.partner.example/" "$INFO" "OCSP URL"
expect_field "CRL distribution points" \
    "http://crl.partner.example/a.crl, http://crl2.partner.example/b.crl" "$INFO" \
    "several CRL distribution points"
expect_field "Organisational unit" "Mail, Edge" "$INFO" "several OUs"
expect_field "Signature algorithm" "ecdsa-with-SHA384" "$INFO" "signature by the P-384 intermediate"
expect_field "Extended key usage" "serverAuth" "$INFO" "server-only EKU"
expect_grep "^Chain certificate 1: +CN=Partner Issuing CA, ?O=Partner AG \(issued by CN=Partner Root, EC P-384, until [0-9-]+\)$" \
    "$INFO" "intermediate described with its issuer"
expect_exit 0 "cert info on a 3072-bit RSA root" -- "$TRUSTNET" cert info "$TMP/root.pem"
expect_grep "^Key type and strength: +RSA 3072 \(128-bit security\)$" "$LAST_OUT" "RSA 3072 strength"

# Errors and help.
expect_exit 1 "cert info on a missing file" -- "$TRUSTNET" cert info "$TMP/nope.pem"
expect_grep "nope.pem" "$LAST_OUT" "missing file is named"
echo "not a certificate" >"$TMP/junk.pem"
expect_exit 1 "cert info on a file without a certificate" -- "$TRUSTNET" cert info "$TMP/junk.pem"
expect_grep "no valid PEM certificate" "$LAST_OUT" "junk file is explained"
expect_exit 2 "cert info without FILE" -- "$TRUSTNET" cert info
expect_grep "missing FILE" "$LAST_OUT" "missing FILE is said"
expect_exit 2 "cert info with an unknown option" -- "$TRUSTNET" cert info --bogus
expect_exit 2 "cert without subcommand" -- "$TRUSTNET" cert
expect_exit 0 "cert info --help" -- "$TRUSTNET" cert info --help
for section in SYNOPSIS "EXIT STATUS" EXAMPLE; do
    expect_grep "^$section" "$LAST_OUT" "cert info --help has $section"
done
for f in "Root issuer" "Certificate name" "Organisation" "Key type and strength" \
    "SHA-256 fingerprint" "OCSP URLs"; do
    expect_grep "$f" "$LAST_OUT" "cert info --help explains $f"
done
