#!/bin/bash
# topology.sh - "trustnet topology check" with real certificates from
# "trustnet ca": a good topology passes; a certificate that does not name
# its server, a missing partner root and a user on an unknown pool are
# errors; a certificate expiring in 10 days is a warning only.  Every
# message names FILE:LINE:COL.
source "$(dirname "$0")/lib.sh"

D="$TMP/org"
mkdir -p "$D/certs" "$D/partners"
quiet() { "$@" >"$LAST_OUT" 2>&1 || not_ok "setup: $*"; }

quiet "$TRUSTNET" ca init --dir "$D/ca" --name "Corp Enterprise CA" --org Corp
for name in fe1 fe2 fe3 edge mail; do
    quiet "$TRUSTNET" ca issue --dir "$D/ca" "$name.corp.test" --out "$D/certs/$name"
done
quiet "$TRUSTNET" ca issue --dir "$D/ca" fe9.corp.test --out "$D/certs/fe9"
quiet "$TRUSTNET" ca issue --dir "$D/ca" fe3.corp.test --days 10 --out "$D/certs/fe3-soon"
quiet "$TRUSTNET" ca init --dir "$TMP/partner-ca" --name "Partner Root CA" --org Partner
cp "$TMP/partner-ca/ca.pem" "$D/partners/partner-root.pem"
quiet "$TRUSTNET" ca init --dir "$TMP/bank-ca" --name "Bank Root CA" --org Bank
cp "$TMP/bank-ca/ca.pem" "$D/partners/bank-root.pem"

cat >"$TMP/base.yaml" <<'EOF'
organisation: Corp Example
sip:
  domains: [corp.test]
mail:
  domains: [corp.test]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: state/trustnet.sqlite
sites:
  - name: paris
    pools:
      - fqdn: pool1.corp.test
        servers:
          - fqdn: fe1.corp.test
            roles: [frontend]
            sip_listen: 127.0.0.1:5061
            certificate: certs/fe1.pem
            key: certs/fe1.key
          - fqdn: edge.corp.test
            roles: [edge]
            sip_listen: 127.0.0.1:5062
            federation_listen: 127.0.0.1:5063
            certificate: certs/edge.pem
            key: certs/edge.key
      - fqdn: pool2.corp.test
        servers:
          - fqdn: fe2.corp.test
            roles: [frontend]
            sip_listen: 127.0.0.2:5061
            certificate: certs/fe2.pem
            key: certs/fe2.key
          - fqdn: fe3.corp.test
            roles: [frontend]
            sip_listen: 127.0.0.3:5061
            certificate: certs/fe3.pem
            key: certs/fe3.key
          - fqdn: mail.corp.test
            roles: [mail]
            smtp_listen: 127.0.0.1:2525
            spool: state/spool
            certificate: certs/mail.pem
            key: certs/mail.key
users:
  - address: alice@corp.test
    pool: pool1.corp.test
  - address: carol@corp.test
    pool: pool2.corp.test
federation:
  - name: partner
    domains: [partner.test]
    edge: edge.partner.test
    edge_address: 127.0.0.30:5061
    root_ca: partners/partner-root.pem
mail_connectors:
  outbound:
    - name: bank
      domains: [bank.test]
      smart_host: 127.0.0.40:25
      ca: partners/bank-root.pem
      peer_name: mx.bank.test
  inbound:
    - name: bank
      sender_domains: [bank.test]
      client_addresses: [127.0.0.40/32]
      ca: partners/bank-root.pem
      peer_name: mx.bank.test
mail_routes:
  - domain: partner.test
    host: 127.0.0.41:25
  - domain: corp.test
    host: mailbox.corp.test:25
EOF

# write_topology FILE [SED-EXPRESSION...]: the good topology, edited.
write_topology() {
    local file=$1 e
    shift
    local edits=()
    for e in "$@"; do edits+=(-e "$e"); done
    if [ $# -eq 0 ]; then cp "$TMP/base.yaml" "$file"; else sed "${edits[@]}" "$TMP/base.yaml" >"$file"; fi
}

# line_of FILE TEXT: the line number of the first line containing TEXT.
line_of() { grep -nF -- "$2" "$1" | head -1 | cut -d: -f1; }

# --- a good topology passes, with a summary
write_topology "$D/good.yaml"
expect_exit 0 "a good topology passes" -- "$TRUSTNET" topology check "$D/good.yaml"
expect_grep "good.yaml: 5 servers in 2 pools \(1 site\), 2 users, 1 partner, 2 connectors .*: 0 errors, 0 warnings" \
    "$LAST_OUT" "summary counts servers, pools, users, partners, connectors"
expect_exit 0 "show prints the good topology" -- "$TRUSTNET" topology show "$D/good.yaml"
expect_grep "^    server fe2.corp.test \[frontend\]" "$LAST_OUT" "show lists the servers"
expect_grep "sip_listen +127.0.0.2:5061" "$LAST_OUT" "show gives listen addresses"

# --- a certificate that does not name its server: error naming both names
write_topology "$D/mismatch.yaml" 's#certs/fe2.pem#certs/fe9.pem#' 's#certs/fe2.key#certs/fe9.key#'
line=$(line_of "$D/mismatch.yaml" certs/fe9.pem)
expect_exit 1 "certificate not matching its FQDN is an error" -- \
    "$TRUSTNET" topology check "$D/mismatch.yaml"
expect_grep "mismatch.yaml:$line:[0-9]+: error: server 'fe2.corp.test': .*wanted fe2.corp.test, certificate names fe9.corp.test" \
    "$LAST_OUT" "mismatch error names both names, with file:line"

# --- a certificate expiring in 10 days: warning, exit 0
write_topology "$D/soon.yaml" 's#certs/fe3.pem#certs/fe3-soon.pem#' 's#certs/fe3.key#certs/fe3-soon.key#'
line=$(line_of "$D/soon.yaml" certs/fe3-soon.pem)
expect_exit 0 "certificate expiring in 10 days is only a warning" -- \
    "$TRUSTNET" topology check "$D/soon.yaml"
expect_grep "soon.yaml:$line:[0-9]+: warning: server 'fe3.corp.test': certificate .* expires on .*, in 10 days" \
    "$LAST_OUT" "expiry warning with file:line and days left"
expect_grep "0 errors, 1 warning$" "$LAST_OUT" "summary counts the warning"

# --- a missing partner root
write_topology "$D/noroot.yaml" 's#partners/partner-root.pem#partners/gone.pem#'
line=$(line_of "$D/noroot.yaml" partners/gone.pem)
expect_exit 1 "missing partner root is an error" -- "$TRUSTNET" topology check "$D/noroot.yaml"
expect_grep "noroot.yaml:$line:[0-9]+: error: partner 'partner': root_ca: .*gone.pem" \
    "$LAST_OUT" "missing root error names the partner and file, with file:line"

# --- a user homed on an unknown pool
write_topology "$D/nopool.yaml" 's#pool: pool2.corp.test#pool: pool9.corp.test#'
line=$(line_of "$D/nopool.yaml" "address: carol@corp.test")
expect_exit 1 "user on an unknown pool is an error" -- "$TRUSTNET" topology check "$D/nopool.yaml"
expect_grep "nopool.yaml:$line:[0-9]+: error: user 'carol@corp.test' is homed on pool 'pool9.corp.test', which is not in the topology" \
    "$LAST_OUT" "unknown pool error with file:line"

# --- all problems at once, each with file:line:col, sorted
write_topology "$D/many.yaml" 's#certs/fe2.pem#certs/fe9.pem#' 's#certs/fe2.key#certs/fe9.key#' \
    's#partners/partner-root.pem#partners/gone.pem#' 's#pool: pool2.corp.test#pool: pool9.corp.test#' \
    's#sip_listen: 127.0.0.3:5061#sip_lsten: 127.0.0.3:5061#'
expect_exit 1 "several problems are all reported" -- "$TRUSTNET" topology check "$D/many.yaml"
n=$(grep -cE "^$D/many.yaml:[0-9]+:[0-9]+: error: " "$LAST_OUT")
if [ "$n" -ge 5 ]; then ok "every problem has file:line:col ($n errors)"; else not_ok "every problem has file:line:col" "found $n errors"; fi
expect_grep "unknown key 'sip_lsten' in server 'fe3.corp.test' \(did you mean 'sip_listen'\?\)" \
    "$LAST_OUT" "a typo in a key is an error with a suggestion"
lines=$(grep -oE "^$D/many.yaml:[0-9]+" "$LAST_OUT" | cut -d: -f2)
if [ "$lines" = "$(echo "$lines" | sort -n)" ]; then ok "problems are sorted by line"; else not_ok "problems are sorted by line"; fi

# --- --server checks only what that server needs
expect_exit 0 "--server checks one server's files" -- \
    "$TRUSTNET" topology check --server fe1.corp.test "$D/mismatch.yaml"
expect_exit 1 "--server with a name not in the topology" -- \
    "$TRUSTNET" topology check --server fe7.corp.test "$D/good.yaml"

# --- a syntax error names its line; usage errors exit 2
printf 'organisation: Corp\nsites: [\n  - name: x\n' >"$D/syntax.yaml"
expect_exit 1 "YAML syntax error" -- "$TRUSTNET" topology check "$D/syntax.yaml"
expect_grep "syntax.yaml:[0-9]+:[0-9]+: error: YAML syntax: " "$LAST_OUT" "syntax error has file:line:col"
expect_exit 1 "unreadable file" -- "$TRUSTNET" topology check "$D/absent.yaml"
expect_exit 2 "no FILE is a usage error" -- "$TRUSTNET" topology check
expect_exit 2 "unknown option is a usage error" -- "$TRUSTNET" topology check --frobnicate "$D/good.yaml"
expect_exit 2 "unknown subcommand is a usage error" -- "$TRUSTNET" topology frob
expect_exit 0 "topology check --help" -- "$TRUSTNET" topology check --help
expect_grep "^SYNOPSIS" "$LAST_OUT" "help is man-style"
