#!/bin/bash
# trustnet serve with two roles in one process (frontend and mail, as
# `make run` starts its demo server): both roles run from one reading of
# the topology, SIGHUP reloads both from one new reading, and a topology
# broken on disk is refused on SIGHUP (file, line, problem logged) while
# both roles keep serving with what they had.  A server whose own files
# are bad does not start (exit 2, the file named).  Its threads are named
# after their roles.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

ADDR=127.0.0.95
SMTP_PORT=2525
SIP_ADDR=$ADDR
SIP_PORT=5061
SIP_CA="$TMP/ca/ca.pem"
SIP_FQDN=fe1.corp.test
SIP_LOG="$TMP/serve.log"
TOPO="$TMP/topology.yaml"

"$TRUSTNET" ca init --dir "$TMP/ca" --name "Roles Test CA" --org "Corp Test" >/dev/null &&
    sip_cert "$TMP/ca" "$SIP_FQDN" --san "IP:$ADDR" &&
    "$TRUSTNET" ca crl --dir "$TMP/ca" >/dev/null || { not_ok "CA and certificate"; exit 1; }
write_topology() { # MAX_MESSAGE_BYTES of mail
    {
        sip_topology "Corp Test" test "$(printf 'mail:\n  domains: [corp.test]\n  max_message_bytes: %s' "$1")"
        sip_topology_pool "pool1.corp.test" "$SIP_FQDN" "frontend, mail" "$ADDR:$SIP_PORT" fe1 2
        echo "            smtp_listen: $ADDR:$SMTP_PORT"
        echo "            spool: spool"
    } >"$TOPO"
}
write_topology 100000

sip_launch "$TOPO" "$SIP_FQDN" "$SIP_LOG" --log-level debug
SIP_PID=${SIP_PIDS[$SIP_FQDN]}
if sip_wait_listen "$ADDR" "$SIP_PORT" && sip_wait_listen "$ADDR" "$SMTP_PORT"; then
    ok "one process serves SIP on $SIP_PORT and SMTP on $SMTP_PORT"
else
    not_ok "one process serves SIP on $SIP_PORT and SMTP on $SMTP_PORT" "$(cat "$SIP_LOG")"
    exit 1
fi

OPTIONS='OPTIONS sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-r{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@corp.test>;tag=r{n}\r\nTo: <sip:corp.test>\r\nCall-ID: r{n}@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
sip_answers() { sip_client "send:$OPTIONS" 'expect:^SIP/2.0 200 OK\r\n.*?\r\n\r\n' >"$TMP/client.out" 2>&1; }
# The SIZE the mail role announces in its EHLO reply: what it runs with.
smtp_size() {
    timeout 5 python3 - "$ADDR" "$SMTP_PORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=4)
s.ehlo("probe.corp.test")
print(s.esmtp_features.get("size", "none"))
s.quit()
PY
}

# Threads named for top -H / ps -L: one SIP and one SMTP loop per worker,
# the committer and the queue manager of the mail role.
names=" $(cat /proc/"$SIP_PID"/task/*/comm 2>/dev/null | tr '\n' ' ')"
missing=
for n in sip-w0 sip-w1 smtp-w0 mail-commit mail-queue mail-send0; do
    [[ $names == *" $n "* ]] || missing+=" $n"
done
[ -z "$missing" ] && ok "threads carry their roles' names (sip-w0, smtp-w0, mail-commit, ...)" ||
    not_ok "threads carry their roles' names" "missing:$missing" "got:$names"

if sip_answers; then ok "SIP answers OPTIONS"; else not_ok "SIP answers OPTIONS" "$(cat "$TMP/client.out")"; fi
size=$(smtp_size 2>&1)
[ "$size" = 100000 ] && ok "the mail role runs with the topology's limit (SIZE $size)" ||
    not_ok "the mail role runs with the topology's limit (SIZE $size)"

# ---- SIGHUP: one new reading for both roles -----------------------------------
write_topology 200000
sip_log_mark
kill -HUP "$SIP_PID"
if sip_wait_log "smtp: topology, certificates, connectors and routes reloaded" &&
    sip_wait_log "tls: SIGHUP: certificates, CA and CRLs reloaded"; then
    ok "SIGHUP reloads the SIP and the mail role"
else
    not_ok "SIGHUP reloads the SIP and the mail role" "$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG")"
fi
size=$(smtp_size 2>&1)
[ "$size" = 200000 ] && ok "the mail role took the new topology (SIZE $size)" ||
    not_ok "the mail role took the new topology (SIZE $size)"

# ---- SIGHUP with a broken topology: refused, both roles go on ---------------------
printf 'bogus_key: 1\n' >>"$TOPO"
sip_log_mark
kill -HUP "$SIP_PID"
if sip_wait_log "SIGHUP: configuration not reloaded"; then
    ok "a broken topology is refused on SIGHUP"
else
    not_ok "a broken topology is refused on SIGHUP" "$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG")"
fi
tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" >"$TMP/refusal.log"
expect_grep "topology.yaml:[0-9]+.*bogus_key" "$TMP/refusal.log" \
    "the refusal names the file, the line and the key"
if tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" | grep -q "routes reloaded"; then
    not_ok "the mail role did not reload from the broken file"
else
    ok "the mail role did not reload from the broken file"
fi
if sip_answers; then ok "SIP still answers"; else not_ok "SIP still answers" "$(cat "$TMP/client.out")"; fi
size=$(smtp_size 2>&1)
[ "$size" = 200000 ] && ok "the mail role keeps what it had (SIZE $size)" ||
    not_ok "the mail role keeps what it had (SIZE $size)"

sip_stop_pid "$SIP_PID"
[ "$SIP_RC" = 0 ] && ok "SIGTERM stops both roles, exit 0" || not_ok "SIGTERM stops both roles, exit 0 (got $SIP_RC)"

# ---- a server whose own files are bad does not start ---------------------------------
write_topology 100000
mv "$TMP/fe1.key" "$TMP/fe1.key.gone"
expect_exit 2 "a missing key stops the start (exit 2)" -- \
    timeout 20 "$TRUSTNET" serve --topology "$TOPO" --server "$SIP_FQDN"
expect_grep "fe1.key" "$LAST_OUT" "the error names the missing file"
mv "$TMP/fe1.key.gone" "$TMP/fe1.key"
expect_exit 2 "a server not in the topology is refused (exit 2)" -- \
    timeout 20 "$TRUSTNET" serve --topology "$TOPO" --server fe9.corp.test
expect_grep "no server fe9.corp.test" "$LAST_OUT" "the error names the server"

