# sip_lib.sh - shared set-up for the SIP front-end tests (sourced after
# lib.sh, bash).  Everything lives in $TMP and on 127.0.0.0/8.
#
# One server, all set up (the single front-end tests):
#   sip_setup ADDR [PORT]        CA, certificate for fe1.corp.test (SANs: DNS
#                                name, sip:corp.test, ADDR), topology listening
#                                on ADDR:PORT (default 5061), empty store
#   sip_user NAME PASSWORD       add NAME@corp.test to the store $SIP_STORE
#                                (set by sip_setup, or by the test)
#   sip_start                    start trustnet serve (debug log in $SIP_LOG),
#                                wait for its port; SIP_PID is its PID;
#                                run under "${SIP_EXEC[@]}" (a netns) if set
#   sip_stop [SIGNAL]            stop it (default TERM), wait, SIP_RC = status
#   sip_stop_pid PID [SIGNAL]    the same for any background process PID
#   sip_tunnel PORT [ADDR:PORT FQDN CA]
#                                a socat TLS client tunnel 127.0.0.1:PORT ->
#                                the server (default: sip_setup's), verifying
#                                the certificate chain against the CA and
#                                the name FQDN; one TLS connection per
#                                accepted TCP connection
#   sip_client ARGS...           tests/integration/peers/sip_tls_client.py
#                                against the server (CA verified)
#   check_sipp RC NAME TEXT      ok TEXT when sipp's exit status RC is 0, else
#                                not_ok with its trace $TMP/NAME.msg (and .err)
#   sip_require_sipp             end the test (one not ok) unless sipp and
#                                socat are installed
#
# Several servers (tests that write their own topology):
#   sip_ca DIR NAME [FQDN...]    a CA named NAME in DIR and sip_cert DIR FQDN
#                                for each FQDN
#   sip_cert CADIR FQDN [ARGS...]
#                                a certificate from the CA in CADIR for server
#                                FQDN as FIRST-LABEL.pem and .key beside CADIR
#                                (ca -> ./fe1.pem, corp/ca -> corp/fe1.pem);
#                                a front end's also names sip:DOMAIN, an
#                                edge's (edge.*) does not
#   sip_federation_pki FQDN...   two organisations in the current directory:
#                                corp/ca and partner/ca, a certificate from
#                                its organisation's CA for each FQDN
#                                (*.corp.test or *.partner.test) as
#                                ORG/HOST.pem and .key (sip_cert), and each
#                                one's root for the other
#                                (corp/partner-root.pem, partner/corp-root.pem)
#   sip_topology ORG SITE        print a topology's head for corp.test (trust
#                                ca/ca.pem and its CRL, store.sqlite) up to
#                                the pools of its one site SITE; then:
#   sip_topology_pool POOL FQDN ROLE ADDR:PORT CERT [WORKERS]
#                                a pool of one server
#   sip_topology_users NAME=POOL...
#                                the users section
#   sip_topology_partner NAME DOMAIN EDGE ADDR:PORT ROOT
#                                one entry of the federation section
#   sip_serve TOPOLOGY FQDN ADDR [PORT]
#                                start server FQDN of TOPOLOGY (debug log in
#                                $TMP/FQDN.log, under SIP_EXEC), PID in
#                                SIP_PIDS[FQDN]; wait for ADDR:PORT (default
#                                5061), or not_ok "FQDN starts" and exit
#   sip_launch TOPOLOGY FQDN LOG [ARGS...]
#                                only start it, log in LOG, ARGS to serve
#   sip_wait_listen ADDR PORT    wait (max 10 s) for a listener
#
# Logs:
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
        sip_cert "$TMP/ca" "$SIP_FQDN" --san "IP:$SIP_ADDR" &&
        "$TRUSTNET" ca crl --dir "$TMP/ca" >/dev/null || {
        echo "# sip_setup: cannot make the CA and certificate" >&2
        return 1
    }
    {
        sip_topology "Corp Test" test
        sip_topology_pool "pool1.$SIP_DOMAIN" "$SIP_FQDN" frontend "$SIP_ADDR:$SIP_PORT" fe1 2
    } >"$SIP_TOPO"
}

# sip_require_sipp: the tests that drive sipp through socat tunnels end
# here, with one not ok, when either is missing.
sip_require_sipp() {
    if ! command -v sipp >/dev/null || ! command -v socat >/dev/null; then
        not_ok "sipp and socat are installed" "install sip-tester and socat (make deps)"
        exit 0
    fi
}

# ---- certificates ---------------------------------------------------------------

# sip_cert CADIR FQDN [ARGS...]: a server certificate from the CA in CADIR
# for FQDN, written as FIRST-LABEL.pem and .key in CADIR's parent; a front
# end's names sip:DOMAIN too (DOMAIN: FQDN less its first label), an
# edge's (edge.*) does not.  ARGS go to `trustnet ca issue` (more SANs).
sip_cert() {
    local dir=$1 fqdn=$2 san=()
    shift 2
    case $fqdn in edge.*) ;; *) san=(--san "URI:sip:${fqdn#*.}") ;; esac
    "$TRUSTNET" ca issue --dir "$dir" "$fqdn" "${san[@]}" "$@" \
        --out "$(dirname "$dir")/${fqdn%%.*}" >/dev/null
}

# sip_ca DIR NAME [FQDN...]: a CA named NAME in DIR (ca.pem, crl.pem) and
# from it a certificate for each FQDN (sip_cert).
sip_ca() {
    local dir=$1 name=$2 fqdn
    shift 2
    "$TRUSTNET" ca init --dir "$dir" --name "$name" >/dev/null || return 1
    for fqdn in "$@"; do sip_cert "$dir" "$fqdn" || return 1; done
}

# sip_federation_pki FQDN...: corp/ca ("Corp CA") and partner/ca ("Partner
# CA"), a certificate for each FQDN from its organisation's CA (sip_cert:
# corp/fe1.pem, partner/edge.pem), and each one's root for the other:
# corp/partner-root.pem, partner/corp-root.pem.
sip_federation_pki() {
    local fqdn org
    sip_ca corp/ca "Corp CA" && sip_ca partner/ca "Partner CA" || return 1
    for fqdn in "$@"; do
        org=${fqdn#*.} org=${org%%.*}
        sip_cert "$org/ca" "$fqdn" || return 1
    done
    cp partner/ca/ca.pem corp/partner-root.pem
    cp corp/ca/ca.pem partner/corp-root.pem
}

# ---- topologies -----------------------------------------------------------------
# A test writes its topology with these, so that it reads as the topology:
#   {
#       sip_topology "Corp Test" test
#       sip_topology_pool pool1.corp.test fe1.corp.test frontend $FE1:5061 fe1
#       sip_topology_pool edgepool.corp.test edge.corp.test edge $EDGE:5061 edge
#       sip_topology_users alice=pool1.corp.test
#       echo "federation:"
#       sip_topology_partner partner partner.test edge.partner.test $P:5062 partner/ca.pem
#   } >topology.yaml

# sip_topology ORGANISATION SITE [TOP-LEVEL-YAML]: the head of a topology
# of ORGANISATION for the domain corp.test: it trusts ca/ca.pem and its CRL
# ca/crl.pem, keeps its users in store.sqlite, has the other top-level
# keys TOP-LEVEL-YAML gives (mail domains, metrics_dir...), and one site
# SITE, whose pools (sip_topology_pool, mail_topology_pool) follow.
sip_topology() {
    cat <<YAML
version: 1
organisation: $1
sip:
  domains: [$SIP_DOMAIN]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: store.sqlite
YAML
    [ -z "${3:-}" ] || printf '%s\n' "$3"
    cat <<YAML
sites:
  - name: $2
    pools:
YAML
}

# sip_topology_pool POOL FQDN ROLE ADDR:PORT CERT [WORKERS]: pool POOL of
# one server FQDN in ROLE (frontend or edge), taking SIP on ADDR:PORT (an
# edge takes its partners on ADDR:5062 too), presenting CERT.pem with key
# CERT.key, with WORKERS workers (or the server's default).
sip_topology_pool() {
    cat <<YAML
      - fqdn: $1
        servers:
          - fqdn: $2
            roles: [$3]
            sip_listen: $4
YAML
    [ "$3" = edge ] && echo "            federation_listen: ${4%:*}:5062"
    printf '            certificate: %s.pem\n            key: %s.key\n' "$5" "$5"
    [ -z "${6:-}" ] || echo "            workers: $6"
}

# sip_topology_users NAME=POOL...: the users section: NAME@corp.test homed
# on POOL, for each.
sip_topology_users() {
    local u
    echo "users:"
    for u in "$@"; do
        printf '  - address: %s@%s\n    pool: %s\n' "${u%%=*}" "$SIP_DOMAIN" "${u#*=}"
    done
}

# sip_topology_partner NAME DOMAIN EDGE ADDR:PORT ROOT: one entry of the
# federation section (which the test opens with `echo federation:`):
# partner NAME speaks for DOMAIN through its edge EDGE at ADDR:PORT, whose
# certificate chains to ROOT.
sip_topology_partner() {
    cat <<YAML
  - name: $1
    domains: [$2]
    edge: $3
    edge_address: $4
    root_ca: $5
YAML
}

# ---- servers --------------------------------------------------------------------

# sip_launch TOPOLOGY FQDN LOG [ARGS...]: start server FQDN of TOPOLOGY in
# the background (under SIP_EXEC), ARGS to `trustnet serve`, its output in
# LOG; its PID is SIP_PIDS[FQDN] (and in BG_PIDS, stopped at exit).
declare -A SIP_PIDS
sip_launch() {
    local topo=$1 fqdn=$2 log=$3
    shift 3
    "${SIP_EXEC[@]}" "$TRUSTNET" serve --topology "$topo" --server "$fqdn" "$@" >"$log" 2>&1 &
    SIP_PIDS[$fqdn]=$!
    BG_PIDS+=($!)
}

# sip_serve TOPOLOGY FQDN ADDR [PORT]: sip_launch with a debug log in
# $TMP/FQDN.log; wait until it listens on ADDR:PORT (default 5061), or
# report not ok "FQDN starts" with its log and end the test.
sip_serve() {
    sip_launch "$1" "$2" "$TMP/$2.log" --log-level debug
    sip_wait_listen "$3" "${4:-5061}" ||
        { not_ok "$2 starts"; sed 's/^/#   /' "$TMP/$2.log"; exit 1; }
}

# sip_user NAME PASSWORD: NAME@corp.test in the store $SIP_STORE.
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

# sip_stop_pid PID [SIGNAL]: stop background process PID (default TERM);
# SIP_RC is its exit status (124 if it had to be killed after 10 s); it
# leaves BG_PIDS.
sip_stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        SIP_RC=124
    else
        wait "$pid" 2>/dev/null
        SIP_RC=$?
    fi
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# Stop sip_start's server by its PID.
sip_stop() {
    sip_stop_pid "$SIP_PID" "$@"
    SIP_PID=
}

# sip_tunnel PORT [ADDR:PORT FQDN CA]: a socat tunnel from 127.0.0.1:PORT
# to a server over TLS (default sip_setup's), verifying its chain against
# CA and its name FQDN; one TLS connection per TCP connection.
sip_tunnel() {
    local port=$1 to=${2:-$SIP_ADDR:$SIP_PORT} name=${3:-$SIP_FQDN} ca=${4:-$SIP_CA}
    start_bg "tunnel-$port" socat \
        "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
        "OPENSSL:$to,cafile=$ca,verify=1,commonname=$name,snihost=$name"
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
