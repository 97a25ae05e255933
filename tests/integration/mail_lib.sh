# mail_lib.sh - helpers for the mail role's integration tests (sourced after
# lib.sh, bash).  Sinks are peers/smtp_sink.py (aiosmtpd); trustnet mail
# servers run from the test's topology.yaml and log to FQDN.log.
#
#   mail_need_peers                      swaks and aiosmtpd are there (else a not ok)
#   mail_topology DOMAINS SERVER...      print a topology: our mail domains
#                                        ("corp.test, x.test") and one pool of mail
#                                        servers, each "FQDN ADDR:PORT" (spool
#                                        spool-FQDN, certificate FQDN-short.pem/.key);
#                                        routes and connectors are appended by the test
#   mail_topology_pool POOL FQDN ADDR:PORT [WORKERS]
#                                        a pool of one mail server (for a topology
#                                        head written by sip_topology)
#   mail_sink NAME ADDR PORT [ARGS]      start a sink: messages in $TMP/sink-NAME/,
#                                        commands in $TMP/sink-NAME.log
#   mail_wait_sink NAME PATTERN [S]      wait (10 s) for a message matching PATTERN
#   mail_sink_file NAME PATTERN          the first message file matching PATTERN
#   mail_serve FQDN ADDR PORT            start trustnet serve for FQDN, wait for it
#   mail_wait_log FILE PATTERN [S]       wait for a log line matching PATTERN
#   mail_stop_servers                    SIGTERM every mail server, check clean exits

MAIL_PIDS=()
MAIL_NAMES=()
PEERS=${PEERS:-$ROOT/tests/integration/peers}

mail_need_peers() {
    if ! command -v swaks >/dev/null || ! perl -MNet::SSLeay -e1 2>/dev/null ||
        ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
        not_ok "swaks and python3-aiosmtpd are installed" "run make deps"
        return 1
    fi
}

mail_topology() {
    local domains=$1 server fqdn listen
    shift
    cat <<YAML
version: 1
organisation: Corp Test
sip:
  domains: [corp.test]
mail:
  domains: [$domains]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
sites:
  - name: test
    pools:
      - fqdn: mailpool.corp.test
        servers:
YAML
    for server in "$@"; do
        read -r fqdn listen <<<"$server"
        cat <<YAML
          - fqdn: $fqdn
            roles: [mail]
            smtp_listen: $listen
            spool: spool-$fqdn
            certificate: ${fqdn%%.*}.pem
            key: ${fqdn%%.*}.key
YAML
    done
}

mail_sink() {
    local name=$1 addr=$2 port=$3
    shift 3
    mkdir -p "$TMP/sink-$name"
    start_bg "sink-$name" /usr/bin/python3 "$PEERS/smtp_sink.py" "$addr" "$port" \
        "$TMP/sink-$name" "$@"
    wait_port "$addr" "$port"
}

mail_sink_file() {
    grep -l -E -- "$2" "$TMP/sink-$1"/*.eml 2>/dev/null | head -1
}

mail_wait_sink() {
    local i limit=$(( ${3:-10} * 10 ))
    for ((i = 0; i < limit; i++)); do
        [ -n "$(mail_sink_file "$1" "$2")" ] && return 0
        sleep 0.1
    done
    return 1
}

mail_wait_log() {
    local i limit=$(( ${3:-10} * 10 ))
    for ((i = 0; i < limit; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# mail_topology_pool POOL FQDN ADDR:PORT [WORKERS]: pool POOL of one mail
# server FQDN taking SMTP on ADDR:PORT, its queue in spool-SHORT, presenting
# SHORT.pem with key SHORT.key (SHORT: FQDN's first label).
mail_topology_pool() {
    cat <<YAML
      - fqdn: $1
        servers:
          - fqdn: $2
            roles: [mail]
            smtp_listen: $3
            spool: spool-${2%%.*}
            certificate: ${2%%.*}.pem
            key: ${2%%.*}.key
YAML
    [ -z "${4:-}" ] || echo "            workers: $4"
}

mail_serve() {
    local fqdn=$1 addr=$2 port=$3
    "$TRUSTNET" serve --topology topology.yaml --server "$fqdn" --log-level debug \
        >>"$fqdn.log" 2>&1 &
    MAIL_PIDS+=($!)
    MAIL_NAMES+=("$fqdn")
    BG_PIDS+=($!)
    if ! wait_port "$addr" "$port"; then
        not_ok "$fqdn starts" "$(tail -40 "$fqdn.log")"
        return 1
    fi
}

mail_stop_servers() {
    local i rc
    for i in "${!MAIL_PIDS[@]}"; do
        kill -TERM "${MAIL_PIDS[$i]}" 2>/dev/null
        wait "${MAIL_PIDS[$i]}"
        rc=$?
        if [ "$rc" -eq 0 ]; then ok "${MAIL_NAMES[$i]} stops cleanly on SIGTERM"; else
            not_ok "${MAIL_NAMES[$i]} stops cleanly on SIGTERM" "exit status $rc"; fi
    done
    MAIL_PIDS=()
    MAIL_NAMES=()
}
