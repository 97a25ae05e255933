# sip_lib.sh - shared set-up for the SIP front-end tests (sourced after
# lib.sh, bash).  Everything lives in $TMP and on 127.0.0.0/8.
#
#   sip_setup ADDR [PORT]        CA, certificate for fe1.corp.test (SANs: DNS
#                                name, sip:corp.test, ADDR), topology listening
#                                on ADDR:PORT (default 5061), empty store
#   sip_user NAME PASSWORD       add NAME@corp.test to the store
#   sip_start                    start trustnet serve (debug log in $SIP_LOG),
#                                wait for its port; SIP_PID is its PID;
#                                run under "${SIP_EXEC[@]}" (a netns) if set
#   sip_stop [SIGNAL]            stop it (default TERM), wait, SIP_RC = status
#   sip_tunnel PORT              a socat TLS client tunnel 127.0.0.1:PORT ->
#                                the server, verifying the certificate chain
#                                against the CA and the name fe1.corp.test;
#                                one TLS connection per accepted TCP
#                                connection
#   sip_client ARGS...           tests/integration/peers/sip_tls_client.py
#                                against the server (CA verified)
#   check_sipp RC NAME TEXT      ok TEXT when sipp's exit status RC is 0, else
#                                not_ok with its trace $TMP/NAME.msg (and .err)
#   sip_federation_pki FQDN...   two organisations in the current directory:
#                                corp/ca and partner/ca, a certificate from
#                                its organisation's CA for each FQDN
#                                (*.corp.test or *.partner.test) as
#                                ORG/HOST.pem and .key (frontends also name
#                                sip:DOMAIN, edge.* do not), and each one's
#                                root for the other (corp/partner-root.pem,
#                                partner/corp-root.pem)
#   sip_serve TOPOLOGY FQDN ADDR start server FQDN of TOPOLOGY (under
#                                SIP_EXEC), log in $TMP/FQDN.log, PID in
#                                SIP_PIDS[FQDN]; wait for ADDR:5061, or
#                                not_ok and exit
#   sip_log_mark                 remember where the server log ends now
#   sip_wait_log REGEX [SECS]    wait until the server log has a matching line
#                                after the mark
#
# SIP_CA, SIP_TOPO, SIP_STORE, SIP_ADDR, SIP_PORT, SIP_LOG are set by sip_setup.

# Sourced only: run on its own (tests/run.sh runs every *.sh) it does nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0

SIP_DOMAIN=corp.test
SIP_FQDN=fe1.corp.test
PEERS="$ROOT/tests/integration/peers"
SIPP_DIR="$ROOT/tests/integration/sipp"
SIP_PID=
SIP_RC=
SIP_LOG_MARK=0
SIP_EXEC=()   # a prefix for the server, e.g. (ip netns exec NS); it must exec

sip_setup() {
    SIP_ADDR=$1
    SIP_PORT=${2:-5061}
    SIP_CA="$TMP/ca/ca.pem"
    SIP_TOPO="$TMP/topology.yaml"
    SIP_STORE="$TMP/store.sqlite"
    SIP_LOG="$TMP/serve.log"
    "$TRUSTNET" ca init --dir "$TMP/ca" --name "SIP Test CA" --org "Corp Test" >/dev/null &&
        "$TRUSTNET" ca issue --dir "$TMP/ca" "$SIP_FQDN" --san "URI:sip:$SIP_DOMAIN" \
            --san "IP:$SIP_ADDR" --out "$TMP/fe1" >/dev/null &&
        "$TRUSTNET" ca crl --dir "$TMP/ca" >/dev/null || {
        echo "# sip_setup: cannot make the CA and certificate" >&2
        return 1
    }
    cat >"$SIP_TOPO" <<YAML
version: 1
organisation: Corp Test
sip:
  domains: [$SIP_DOMAIN]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: store.sqlite
sites:
  - name: test
    pools:
      - fqdn: pool1.$SIP_DOMAIN
        servers:
          - fqdn: $SIP_FQDN
            roles: [frontend]
            sip_listen: $SIP_ADDR:$SIP_PORT
            certificate: fe1.pem
            key: fe1.key
            workers: 2
YAML
}

sip_federation_pki() {
    local fqdn org domain san
    "$TRUSTNET" ca init --dir corp/ca --name "Corp CA" >/dev/null &&
        "$TRUSTNET" ca init --dir partner/ca --name "Partner CA" >/dev/null || return 1
    for fqdn in "$@"; do
        domain=${fqdn#*.} org=${domain%%.*} san=()
        case $fqdn in edge.*) ;; *) san=(--san "URI:sip:$domain") ;; esac
        "$TRUSTNET" ca issue --dir "$org/ca" "$fqdn" "${san[@]}" --out "$org/${fqdn%%.*}" \
            >/dev/null || return 1
    done
    cp partner/ca/ca.pem corp/partner-root.pem
    cp corp/ca/ca.pem partner/corp-root.pem
}

declare -A SIP_PIDS
sip_serve() {
    "${SIP_EXEC[@]}" "$TRUSTNET" serve --topology "$1" --server "$2" --log-level debug \
        >"$TMP/$2.log" 2>&1 &
    SIP_PIDS[$2]=$!
    BG_PIDS+=($!)
    sip_wait_listen "$3" 5061 || { not_ok "$2 starts"; sed 's/^/#   /' "$TMP/$2.log"; exit 1; }
}

sip_user() {
    printf '%s\n' "$2" | "$TRUSTNET" user add --store "$SIP_STORE" "$1@$SIP_DOMAIN" >/dev/null
}

sip_start() {
    "${SIP_EXEC[@]}" "$TRUSTNET" serve --topology "$SIP_TOPO" --server "$SIP_FQDN" --log-level debug \
        >>"$SIP_LOG" 2>&1 &
    SIP_PID=$!
    BG_PIDS+=("$SIP_PID")
    sip_wait_listen "$SIP_ADDR" "$SIP_PORT"
}

# Wait (max 10 s) for a listener without connecting to it: every
# connection the server sees is one a test made.
sip_wait_listen() {
    local i
    for i in $(seq 1 100); do
        "${SIP_EXEC[@]}" ss -Hltn "src $1:$2" 2>/dev/null | grep -q LISTEN && return 0
        sleep 0.1
    done
    echo "# nothing listens on $1:$2 after 10 s" >&2
    return 1
}

# Stop the server by its PID; SIP_RC is its exit status (124 if it had to
# be killed after 10 s).
sip_stop() {
    local sig=${1:-TERM} i
    [ -n "$SIP_PID" ] || return 0
    kill -"$sig" "$SIP_PID" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$SIP_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SIP_PID" 2>/dev/null; then
        kill -KILL "$SIP_PID" 2>/dev/null
        wait "$SIP_PID" 2>/dev/null
        SIP_RC=124
    else
        wait "$SIP_PID" 2>/dev/null
        SIP_RC=$?
    fi
    local keep=() pid
    for pid in "${BG_PIDS[@]}"; do [ "$pid" != "$SIP_PID" ] && keep+=("$pid"); done
    BG_PIDS=("${keep[@]}")
    SIP_PID=
}

sip_tunnel() {
    local port=$1
    start_bg "tunnel-$port" socat \
        "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
        "OPENSSL:$SIP_ADDR:$SIP_PORT,cafile=$SIP_CA,verify=1,commonname=$SIP_FQDN,snihost=$SIP_FQDN"
    sip_wait_listen 127.0.0.1 "$port"
}

sip_client() {
    python3 "$PEERS/sip_tls_client.py" --host "$SIP_ADDR" --port "$SIP_PORT" \
        --ca "$SIP_CA" --name "$SIP_FQDN" "$@"
}

sip_log_mark() {
    SIP_LOG_MARK=$(wc -l <"$SIP_LOG")
}

sip_wait_log() {
    local re=$1 secs=${2:-5} i
    for i in $(seq 1 $((secs * 10))); do
        tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" 2>/dev/null | grep -Eq -- "$re" && return 0
        sleep 0.1
    done
    return 1
}

# expect_stored REGEX DESCRIPTION: `trustnet user list` shows a line
# matching REGEX within 3 s (the server writes registrations to the store
# in batches, one per second).
expect_stored() {
    local i
    for i in $(seq 1 30); do
        "$TRUSTNET" user list --store "$SIP_STORE" >"$TMP/list.out" 2>&1
        grep -Eq -- "$1" "$TMP/list.out" && break
        sleep 0.1
    done
    expect_grep "$1" "$TMP/list.out" "$2"
}

# SIP_KEEP=DIR keeps a copy of $TMP (logs, traces) for debugging.
if [ -n "${SIP_KEEP:-}" ]; then
    trap 'rm -rf "$SIP_KEEP"; cp -r "$TMP" "$SIP_KEEP"; cleanup' EXIT
fi

# check_sipp RC NAME DESCRIPTION: ok when sipp exited 0; else its trace.
check_sipp() {
    local rc=$1 name=$2 what=$3
    if [ "$rc" -eq 0 ]; then
        ok "$what"
    else
        LAST_OUT="$TMP/$name.msg"
        not_ok "$what" "sipp exit status $rc" "$(cat "$TMP/$name.err" 2>/dev/null | tail -5)"
        LAST_OUT="$TMP/last.out"
    fi
}
