#!/bin/bash
# mail_cli.sh - trustnet mailq and trustnet mail flush|delete on a spool
# prepared with tests/tools/spool_tool: the listing, the spool found
# through the topology, damaged files, and flush/delete both with no
# server (the command changes the queue) and with a server holding the
# lock (the command posts a request and waits for it to be taken).
. "$(dirname "$0")/lib.sh"

TOOL="$TOOLS/spool_tool"
SPOOL="$TMP/org/spool"
mkdir -p "$TMP/org"
quiet() { "$@" >"$LAST_OUT" 2>&1 || not_ok "setup: $*"; }

# ---- help
for cmd in "mailq" "mail" "mail flush" "mail delete"; do
    # shellcheck disable=SC2086
    expect_exit 0 "trustnet $cmd --help" -- "$TRUSTNET" $cmd --help
    for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES; do
        expect_grep "^$section" "$LAST_OUT" "trustnet $cmd --help has $section"
    done
    [ "$cmd" = mail ] || expect_grep "^OPTIONS" "$LAST_OUT" "trustnet $cmd --help has OPTIONS"
done
expect_exit 0 "trustnet --help" -- "$TRUSTNET" --help
expect_grep "^    mailq " "$LAST_OUT" "trustnet --help lists mailq"
expect_grep "^    mail flush.delete " "$LAST_OUT" "trustnet --help lists mail flush|delete"

# ---- bad usage: exit 2 with one line naming the problem
expect_exit 2 "mailq without a spool" -- "$TRUSTNET" mailq
expect_grep "give --topology FILE --server FQDN, or --spool DIR" "$LAST_OUT" "... says what to give"
expect_exit 2 "mailq with --spool and --topology" -- \
    "$TRUSTNET" mailq --spool "$SPOOL" --topology "$TMP/t.yaml" --server m.corp.test
expect_exit 2 "mailq with an unknown option" -- "$TRUSTNET" mailq --spool "$SPOOL" --queue x
expect_exit 2 "mailq with --timeout" -- "$TRUSTNET" mailq --spool "$SPOOL" --timeout 5
expect_exit 2 "mail without a subcommand" -- "$TRUSTNET" mail
expect_exit 2 "mail with an unknown subcommand" -- "$TRUSTNET" mail requeue --spool "$SPOOL"
expect_exit 2 "mail delete without an ID" -- "$TRUSTNET" mail delete --spool "$SPOOL"
expect_exit 2 "mail delete with a malformed ID" -- "$TRUSTNET" mail delete --spool "$SPOOL" ../x
expect_grep "'../x' is not a queue id" "$LAST_OUT" "... names the bad ID"
expect_exit 2 "mail flush --timeout 0" -- "$TRUSTNET" mail flush --spool "$SPOOL" --timeout 0

# ---- no spool yet: exit 1, and nothing is created
expect_exit 1 "mailq on a missing spool" -- "$TRUSTNET" mailq --spool "$SPOOL"
expect_grep "no spool at $SPOOL" "$LAST_OUT" "... names the spool"
expect_exit 1 "mail flush on a missing spool" -- "$TRUSTNET" mail flush --spool "$SPOOL"
if [ -e "$SPOOL" ]; then not_ok "the commands create no spool"; else ok "the commands create no spool"; fi

# ---- a queue: a deferred message (one recipient delivered, one with its
# own reply), a bounce (null sender) and a large one
now=$(date +%s)
later=$((now + 1800))
printf 'Subject: report\r\n\r\nbody\r\n' >"$TMP/m1"
quiet "$TOOL" add "$SPOOL" --from alice@example.org --to bob@bank.test --to carol@bank.test \
    --to dave@bank.test --attempts 3 --next "$later" \
    --reason "451 4.7.0 TLS is required, but was not offered by mx.bank.test" \
    --delivered 1 --reply 2 "450 4.2.1 mailbox busy" <"$TMP/m1"
M1=$(cat "$LAST_OUT")
printf 'Subject: Undelivered Mail Returned to Sender\r\n\r\n' | "$TOOL" add "$SPOOL" --from "" \
    --to alice@example.org >"$LAST_OUT" 2>&1 || not_ok "setup: the bounce"
M2=$(cat "$LAST_OUT")
head -c 102400 /dev/zero | tr '\0' 'x' >"$TMP/m3"
quiet "$TOOL" add "$SPOOL" --from erin@corp.test --to frank@partner.test <"$TMP/m3"
M3=$(cat "$LAST_OUT")

# ---- mailq
expect_exit 0 "mailq --spool" -- "$TRUSTNET" mailq --spool "$SPOOL"
cp "$LAST_OUT" "$TMP/mailq.spool"
expect_grep "^-Queue ID------- --Size-- ----Arrival Time---- -Sender/Recipient-------$" \
    "$LAST_OUT" "mailq has a Postfix-style header"
expect_grep "^$M1 +25 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z alice@example.org$" "$LAST_OUT" \
    "mailq shows id, size, arrival and sender"
later_utc=$(date -u -d "@$later" +%Y-%m-%dT%H:%M:%SZ)
expect_grep "^ +attempts: 3, next attempt: $later_utc$" "$LAST_OUT" \
    "mailq shows attempts and the next attempt"
expect_grep "^ +\(451 4.7.0 TLS is required, but was not offered by mx.bank.test\)$" "$LAST_OUT" \
    "mailq shows the reason of the last failure"
expect_grep "^ {47}bob@bank.test$" "$LAST_OUT" "mailq lists a pending recipient"
if grep -q "carol@bank.test" "$LAST_OUT"; then
    not_ok "mailq leaves out a delivered recipient"
else ok "mailq leaves out a delivered recipient"; fi
expect_grep "^ +\(450 4.2.1 mailbox busy\)$" "$LAST_OUT" "mailq shows a recipient's own reply"
expect_grep "^$M2 +[0-9]+ .* MAILER-DAEMON$" "$LAST_OUT" "mailq shows the null sender as MAILER-DAEMON"
expect_grep "^ +attempts: 0, next attempt: now$" "$LAST_OUT" "a new message is due now"
expect_grep "^$M3 +102400 " "$LAST_OUT" "mailq shows the size of the large one"
expect_grep "^-- 101 Kbytes in 3 Requests.$" "$LAST_OUT" "mailq ends with the count line"
n1=$(grep -n "^$M1" "$LAST_OUT" | cut -d: -f1)
n3=$(grep -n "^$M3" "$LAST_OUT" | cut -d: -f1)
if [ "${n1:-9}" -lt "${n3:-0}" ]; then ok "mailq lists oldest first"; else not_ok "mailq lists oldest first"; fi

# ---- the spool through the topology
cat >"$TMP/org/topology.yaml" <<'EOF'
organisation: Corp Example
sip:
  domains: [corp.test]
mail:
  domains: [corp.test]
trust:
  ca: ca.pem
store: store.sqlite
sites:
  - name: paris
    pools:
      - fqdn: pool1.corp.test
        servers:
          - fqdn: fe1.corp.test
            roles: [frontend]
            sip_listen: 127.0.0.1:5061
            certificate: fe1.pem
            key: fe1.key
          - fqdn: mail.corp.test
            roles: [mail]
            smtp_listen: 127.0.0.1:2525
            spool: spool
            certificate: mail.pem
            key: mail.key
EOF
TOPO="$TMP/org/topology.yaml"
expect_exit 0 "mailq --topology --server" -- "$TRUSTNET" mailq --topology "$TOPO" --server MAIL.corp.test
if diff -q "$LAST_OUT" "$TMP/mailq.spool" >/dev/null; then
    ok "the topology names the same spool"
else not_ok "the topology names the same spool"; fi
expect_exit 2 "mailq for a server not in the topology" -- \
    "$TRUSTNET" mailq --topology "$TOPO" --server mx9.corp.test
expect_grep "no server mx9.corp.test in" "$LAST_OUT" "... names the server"
expect_exit 2 "mailq for a server without the mail role" -- \
    "$TRUSTNET" mailq --topology "$TOPO" --server fe1.corp.test
expect_grep "not a mail server" "$LAST_OUT" "... says it is not a mail server"
printf 'organisation: [\n' >"$TMP/bad.yaml"
expect_exit 2 "mailq with a broken topology" -- "$TRUSTNET" mailq --topology "$TMP/bad.yaml" --server m.x
expect_grep "trustnet topology check" "$LAST_OUT" "... points to topology check"

# ---- a damaged file: reported, counted, left in place by mailq
printf 'garbage' >"$SPOOL/queue/0000000000000001"
expect_exit 0 "mailq with a damaged file" -- "$TRUSTNET" mailq --spool "$SPOOL"
expect_grep "^-- 1 damaged file in .*/queue" "$LAST_OUT" "mailq counts the damaged file"
expect_grep "queue/0000000000000001: .*left in place" "$LAST_OUT" "mailq names the damaged file"
if [ -e "$SPOOL/queue/0000000000000001" ]; then ok "mailq changes nothing"; else
    not_ok "mailq changes nothing"; fi

# ---- no server: flush and delete change the queue themselves
expect_exit 0 "mail flush without a server" -- "$TRUSTNET" mail flush --spool "$SPOOL"
expect_grep "no server runs on .*: 3 messages due at its next start" "$LAST_OUT" "flush says what it did"
expect_exit 0 "the flushed state" -- "$TOOL" state "$SPOOL" "$M1"
expect_grep "^attempts 3 next 0 pending 2$" "$LAST_OUT" "flush made the message due, nothing else"
expect_exit 0 "mail delete without a server" -- "$TRUSTNET" mail delete --spool "$SPOOL" "$M3"
expect_grep "^deleted $M3$" "$LAST_OUT" "delete names the message"
if [ -e "$SPOOL/queue/$M3" ]; then not_ok "the message file is gone"; else ok "the message file is gone"; fi
expect_exit 1 "mail delete of an unknown id" -- "$TRUSTNET" mail delete --spool "$SPOOL" "$M3"
expect_grep "no message $M3 in" "$LAST_OUT" "... names the unknown id"

# ---- a server holds the lock: requests go through control/
start_bg server "$TOOL" serve "$SPOOL"
for _ in $(seq 50); do grep -q ready "$TMP/server.log" 2>/dev/null && break; sleep 0.1; done
expect_exit 1 "a second server on the spool is refused" -- "$TOOL" serve "$SPOOL"
expect_grep "in use by another process \(pid [0-9]+\)" "$LAST_OUT" "... with the holder's pid"
expect_exit 0 "mailq while the server runs" -- "$TRUSTNET" mailq --spool "$SPOOL"
expect_exit 0 "mail flush with a server" -- "$TRUSTNET" mail flush --topology "$TOPO" --server mail.corp.test
expect_grep "the server \(pid [0-9]+\) retries every queued message now" "$LAST_OUT" "flush names the server"
expect_grep "^flush$" "$TMP/server.log" "the server took the flush"
if [ -e "$SPOOL/corrupt/0000000000000001" ]; then ok "the server moved the damaged file aside"; else
    not_ok "the server moved the damaged file aside"; fi
expect_exit 1 "mail delete of a known and an unknown id" -- \
    "$TRUSTNET" mail delete --spool "$SPOOL" "$M2" 0000000000000002
expect_grep "^deleted $M2$" "$LAST_OUT" "the known one is deleted"
expect_grep "no message 0000000000000002 in" "$LAST_OUT" "the unknown one is named"
expect_grep "^delete $M2 removed$" "$TMP/server.log" "the server took the delete"
expect_exit 0 "mailq after the deletes" -- "$TRUSTNET" mailq --spool "$SPOOL"
expect_grep "^-- 1 Kbytes in 1 Request.$" "$LAST_OUT" "one message is left"
ls -A "$SPOOL/control" >"$LAST_OUT"
if [ -s "$LAST_OUT" ]; then not_ok "no request is left in control/"; else ok "no request is left in control/"; fi
stop_last_bg

# ---- a server that never takes requests: the command gives up in time
start_bg hung "$TOOL" hold "$SPOOL"
for _ in $(seq 50); do grep -q ready "$TMP/hung.log" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s%N)
expect_exit 1 "mail flush to a hung server" -- "$TRUSTNET" mail flush --spool "$SPOOL" --timeout 1
took=$((($(date +%s%N) - start) / 1000000))
expect_grep "did not take .*control/flush within 1000 ms \(request withdrawn\)" "$LAST_OUT" \
    "... says the request was withdrawn"
if [ "$took" -lt 5000 ]; then ok "... after the timeout (${took} ms)"; else
    not_ok "... after the timeout" "took ${took} ms"; fi
ls -A "$SPOOL/control" >"$LAST_OUT"
if [ -s "$LAST_OUT" ]; then not_ok "the withdrawn request is gone"; else ok "the withdrawn request is gone"; fi
stop_last_bg

# ---- run as root on a spool owned by the server's user: the files the
# command creates (state, requests) stay readable by the server
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    OWNED="$TMP/owned"
    printf 'x' | "$TOOL" add "$OWNED" --from a@corp.test --to b@corp.test >"$LAST_OUT" 2>&1
    M=$(cat "$LAST_OUT")
    chown -R nobody "$OWNED"
    expect_exit 0 "mail flush as root on a spool of another user" -- "$TRUSTNET" mail flush --spool "$OWNED"
    owner=$(stat -c %U "$OWNED/state/$M" 2>/dev/null)
    if [ "$owner" = nobody ]; then ok "the new state file belongs to the spool's owner"; else
        not_ok "the new state file belongs to the spool's owner" "owner: $owner"; fi
fi
