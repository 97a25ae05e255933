#!/bin/bash
# bench/sip.sh - trustnet's SIP front end against Kamailio 5.6 (issue 3).
#
# Runs both servers one after the other on loopback, inside a network
# namespace that has only 127.0.0.1, with the same certificate, ciphers,
# users and load (bench/sipload), and prints for each server and their
# ratio the server's CPU time per transaction (utime+stime of every server
# process from /proc/PID/stat, before and after the measured phase) and
# p50/p99 latency:
#
#   1. MESSAGE proxied between registered users over persistent TLS
#      connections (both legs: MESSAGE and its 200);
#   2. REGISTER with a new TLS connection per call (full handshake), beside
#      `openssl speed ecdsap256 ecdhx25519` (the crypto limit) and
#      `openssl s_time -new` against `openssl s_server` (the OpenSSL floor);
#   3. PSS (/proc/PID/smaps_rollup) per idle TLS connection, with
#      IDLE_CONNS (10,000) connections open.
#
# Kamailio runs with ONE TCP worker and -x tlsf: Debian 12's 5.6.3 with
# OpenSSL 3 corrupts shared memory with more than one TLS worker (upstream
# issue 3791).  trustnet runs with its default of one worker per CPU.
#
# Usage (as root, from anywhere):  bench/sip.sh
# Knobs (environment):  ROUNDS=3  MSG_CONNS=20 MSG_RATE=2000 MSG_SECONDS=15
#   REG_CONNS=8 REG_RATE=300 REG_SECONDS=10  IDLE_CONNS=10000
#   ONLY="message register idle floor"  BUILD=build  WORK=/tmp/trustnet-bench
#   TN_LOG_LEVEL=info (trustnet's default)
#   PLACEMENT=same|other: like for like on CPUs.  Unset (the default), the
#     scheduler places everything; Kamailio's one worker then lands on the
#     load generator's CPU in some runs and on the other in others, which
#     moves its cost per MESSAGE by a third.  With PLACEMENT, trustnet
#     runs ONE worker too, sipload is pinned to CPU 0 and every server
#     process to CPU 0 (same) or CPU 1 (other).
#   SUMMARY_ONLY=1: print the summary of the results already in $WORK
# Results: a summary on stdout; every raw sipload output in $WORK/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/trustnet-bench}
ROUNDS=${ROUNDS:-3}
MSG_CONNS=${MSG_CONNS:-20}
MSG_RATE=${MSG_RATE:-2000}
MSG_SECONDS=${MSG_SECONDS:-15}
REG_CONNS=${REG_CONNS:-8}
REG_RATE=${REG_RATE:-300}
REG_SECONDS=${REG_SECONDS:-10}
IDLE_CONNS=${IDLE_CONNS:-10000}
ONLY=${ONLY:-message register idle floor}
TN_LOG_LEVEL=${TN_LOG_LEVEL:-info}
PLACEMENT=${PLACEMENT:-}
case $PLACEMENT in
"") SERVER_CPU= ;;
same) SERVER_CPU=0 ;;
other) SERVER_CPU=1 ;;
*) echo "sip.sh: PLACEMENT is same or other" >&2; exit 2 ;;
esac
TN_PORT=15061
KAM_PORT=15062
SSL_PORT=15063
DOMAIN=corp.test
PASSWORD=bench-password
NS=tnbench$$
# trustnet's TLS 1.3 suites, in its order (src/tls/tls_policy.h), for Kamailio and s_server
TLS13_SUITES=$(awk -F' = ' '/^Ciphersuites/ {print $2}' bench/kamailio/openssl.cnf)
. bench/lib/common.sh

if [ -z "${SUMMARY_ONLY:-}" ]; then
# --- packages and binaries -----------------------------------------------------
bench_build kamailio kamailio-tls-modules openssl iproute2 procps

# --- open files: 10,000 connections need 10,000 descriptors per side ----------
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
want=$((IDLE_CONNS + 1024))
if [ "$hard" -lt "$want" ]; then
    # raising the hard limit needs CAP_SYS_RESOURCE; try, then fall back
    ulimit -Hn "$want" 2>/dev/null && hard=$want || true
fi
ulimit -Sn "$(( hard < want ? hard : want ))"
nofile=$(ulimit -n)
IDLE_REQUESTED=$IDLE_CONNS
if [ "$nofile" -lt "$want" ]; then
    IDLE_CONNS=$((nofile - 1024))
    say "note: open files are limited to $nofile here: $IDLE_CONNS idle connections instead of $IDLE_REQUESTED"
fi

# --- a namespace with nothing but loopback -------------------------------------
MAIN_PID=""   # the server running now (only ever one)
bench_netns
# many short connections in the REGISTER test: the whole port range...
inns sysctl -q -w net.ipv4.ip_local_port_range="1024 65000"
# ...but never the servers' ports: a client socket left in TIME_WAIT on one
# of them made the next server's bind fail (Address already in use)
inns sysctl -q -w net.ipv4.ip_local_reserved_ports="$TN_PORT-$SSL_PORT"
inns sysctl -q -w net.ipv4.tcp_tw_reuse=1

# --- PKI, topology, users, Kamailio configuration --------------------------------
rm -rf "$WORK"
mkdir -p "$WORK/kamailio/db" "$RES/stderr"
"$TN" ca init --dir "$WORK/ca" --name "Bench Enterprise CA" --org Bench >/dev/null
"$TN" ca issue --dir "$WORK/ca" fe1.$DOMAIN --san URI:sip:$DOMAIN --san IP:127.0.0.1 \
    --out "$WORK/fe1" >/dev/null
"$TN" ca crl --dir "$WORK/ca" >/dev/null
cat >"$WORK/topology.yaml" <<YAML
# bench/sip.sh: one front end on loopback
version: 1
organisation: Bench
sip:
  domains: [$DOMAIN]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: store.sqlite
limits:
  max_connections: $((IDLE_CONNS + 1000))
sites:
  - name: bench
    pools:
      - fqdn: pool1.$DOMAIN
        servers:
          - fqdn: fe1.$DOMAIN
            roles: [frontend]
            sip_listen: 127.0.0.1:$TN_PORT
            certificate: fe1.pem
            key: fe1.key
YAML
# like for like with Kamailio's one TCP worker when placed by hand
[ -z "$PLACEMENT" ] || echo "            workers: 1" >>"$WORK/topology.yaml"
"$TN" topology check "$WORK/topology.yaml" >/dev/null

# users m0000.. (MESSAGE test) and r0000.. (REGISTER test), in both stores
printf 'id(int,auto) table_name(string) table_version(int) \n0:subscriber:7\n' \
    >"$WORK/kamailio/db/version"
{
    printf 'id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n'
    id=0
    for spec in "m $MSG_CONNS" "r $REG_CONNS"; do
        set -- $spec
        for ((i = 0; i < $2; i++)); do
            u=$(printf '%s%04d' "$1" "$i")
            printf '%s\n' "$PASSWORD" | "$TN" user add --store "$WORK/store.sqlite" "$u@$DOMAIN" >/dev/null
            ha1=$(printf '%s' "$u:$DOMAIN:$PASSWORD" | md5sum | cut -d' ' -f1)
            ha1b=$(printf '%s' "$u@$DOMAIN:$DOMAIN:$PASSWORD" | md5sum | cut -d' ' -f1)
            id=$((id + 1))
            # Kamailio reads ha1 only (calculate_ha1 off); the password column must not be empty
            printf '%d:%s:%s:unused:%s:%s\n' "$id" "$u" "$DOMAIN" "$ha1" "$ha1b"
        done
    done
} >"$WORK/kamailio/db/subscriber"
sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$KAM_PORT|g" -e "s|@NOFILE@|$nofile|g" \
    -e "s|@MAXCONN@|$((IDLE_CONNS + 1000))|g" bench/kamailio/kamailio.cfg \
    >"$WORK/kamailio/kamailio.cfg"
sed -e "s|@WORK@|$WORK|g" bench/kamailio/tls.cfg >"$WORK/kamailio/tls.cfg"
kamailio -c -f "$WORK/kamailio/kamailio.cfg" >"$WORK/kamailio/check.log" 2>&1 ||
    { cat "$WORK/kamailio/check.log"; die "Kamailio refuses its configuration"; }

# --- servers ------------------------------------------------------------------------
SERVER_PIDS=""   # comma-separated: every process of the running server

start_server() { # trustnet|kamailio
    case $1 in
    trustnet)
        # not through inns(): $! must be the server itself (ip netns exec execs it)
        ip netns exec "$NS" "$TN" serve --topology "$WORK/topology.yaml" --server fe1.$DOMAIN \
            --log-level "$TN_LOG_LEVEL" >>"$WORK/trustnet.log" 2>&1 &
        MAIN_PID=$!
        bench_started $MAIN_PID
        wait_listen 127.0.0.1 $TN_PORT || die "trustnet did not start (see $WORK/trustnet.log)"
        SERVER_PIDS=$MAIN_PID
        ;;
    kamailio)
        # OPENSSL_CONF: the TLS 1.3 suites, which Kamailio 5.6 cannot set
        ip netns exec "$NS" env OPENSSL_CONF="$PWD/bench/kamailio/openssl.cnf" \
            kamailio -f "$WORK/kamailio/kamailio.cfg" -P "$WORK/kamailio/kamailio.pid" -DD -E \
            -x tlsf -N 1 -m 1024 -M 16 >>"$WORK/kamailio/kamailio.log" 2>&1 &
        MAIN_PID=$!
        bench_started $MAIN_PID
        wait_listen 127.0.0.1 $KAM_PORT || die "Kamailio did not start (see $WORK/kamailio/kamailio.log)"
        sleep 1 # all children forked
        SERVER_PIDS=$(echo "$MAIN_PID" $(pgrep -P "$MAIN_PID") | tr ' ' ',')
        ;;
    esac
}

# PLACEMENT: every process of the running server on SERVER_CPU (taskset -a:
# all its threads), the load generator on CPU 0.
place_server() {
    [ -n "$SERVER_CPU" ] || return 0
    local pid
    for pid in ${SERVER_PIDS//,/ }; do
        taskset -a -p -c "$SERVER_CPU" "$pid" >/dev/null || die "cannot pin $pid to CPU $SERVER_CPU"
    done
}
[ -z "$PLACEMENT" ] || SIPLOAD_WRAP=(taskset -c 0)

stop_server() {
    bench_stop "$MAIN_PID"
    MAIN_PID=""
}

port_of() { [ "$1" = trustnet ] && echo $TN_PORT || echo $KAM_PORT; }

sipload() { # SERVER OUTFILE ARGS...: run the load generator against SERVER
    local server=$1 out=$2
    shift 2
    run_sipload "$out" --server 127.0.0.1:"$(port_of "$server")" --ca "$WORK/ca/ca.pem" \
        --name fe1.$DOMAIN --domain $DOMAIN --password $PASSWORD --pids "$SERVER_PIDS" "$@"
}

cat >"$RES/params" <<PARAMS
ROUNDS=$ROUNDS MSG_CONNS=$MSG_CONNS MSG_RATE=$MSG_RATE MSG_SECONDS=$MSG_SECONDS
REG_CONNS=$REG_CONNS REG_RATE=$REG_RATE REG_SECONDS=$REG_SECONDS IDLE_CONNS=$IDLE_CONNS
PLACEMENT=$PLACEMENT
PARAMS

# --- machine ------------------------------------------------------------------------
bench_machine "$(kamailio -v | head -1 | cut -d' ' -f2-3)"
say "   Kamailio runs with ONE TCP worker (-N 1, tcp_children=1) and -x tlsf: with OpenSSL 3"
say "   its 5.6.3 corrupts shared memory with more TLS workers (upstream issue 3791)."
if [ -n "$PLACEMENT" ]; then
    say "   PLACEMENT=$PLACEMENT: trustnet runs ONE worker too; sipload on CPU 0, each server on CPU $SERVER_CPU."
else
    say "   trustnet runs one worker per CPU (its default)."
fi

# --- rounds of (1) and (2), alternating which server goes first ---------------------------
if wants message || wants register; then
    for ((r = 1; r <= ROUNDS; r++)); do
        order="trustnet kamailio"
        [ $((r % 2)) -eq 0 ] && order="kamailio trustnet"
        for s in $order; do
            say "-- round $r/$ROUNDS: $s"
            start_server "$s"
            place_server
            if wants message; then
                sipload "$s" "$RES/message.$s.$r" --scenario message --users m \
                    --conns "$MSG_CONNS" --rate "$MSG_RATE" --duration "$MSG_SECONDS" \
                    --count $((MSG_RATE * MSG_SECONDS))
            fi
            if wants register; then
                sipload "$s" "$RES/register.$s.$r" --scenario register --users r \
                    --conns "$REG_CONNS" --rate "$REG_RATE" --duration "$REG_SECONDS" \
                    --count $((REG_RATE * REG_SECONDS))
            fi
            stop_server
        done
    done
fi

# --- (3) idle connections -----------------------------------------------------------------
if wants idle; then
    for s in trustnet kamailio; do
        say "-- idle connections: $s ($IDLE_CONNS)"
        start_server "$s"
        place_server
        sipload "$s" "$RES/idle.$s" --scenario idle --conns "$IDLE_CONNS"
        stop_server
    done
fi

# --- the floor: crypto limit and OpenSSL's own server ------------------------------------
if wants floor; then
    say "-- openssl speed and s_server/s_time"
    openssl speed -seconds 5 ecdsap256 ecdhx25519 >"$RES/openssl-speed" 2>/dev/null
    ip netns exec "$NS" openssl s_server -quiet -www -accept 127.0.0.1:$SSL_PORT -cert "$WORK/fe1.pem" \
        -key "$WORK/fe1.key" -CAfile "$WORK/ca/ca.pem" -verify 1 -num_tickets 0 \
        -ciphersuites "$TLS13_SUITES" -serverpref >"$RES/s_server.log" 2>&1 &
    MAIN_PID=$!
    bench_started $MAIN_PID
    wait_listen 127.0.0.1 $SSL_PORT || die "openssl s_server did not start"
    t0=$(awk '{print $14+$15}' /proc/$MAIN_PID/stat)
    inns openssl s_time -connect 127.0.0.1:$SSL_PORT -new -time 10 -CAfile "$WORK/ca/ca.pem" \
        -verify 2 >"$RES/s_time" 2>&1 || true
    t1=$(awk '{print $14+$15}' /proc/$MAIN_PID/stat)
    stop_server
    n=$(grep -m1 'connections in .*real seconds' "$RES/s_time" | awk '{print $1}')
    echo "s_server_ticks=$((t1 - t0)) connections=$n clk_tck=$(getconf CLK_TCK)" >>"$RES/s_time"
fi

fi # SUMMARY_ONLY

# the knobs of the run being summarised
[ -f "$RES/params" ] && . "$RES/params"

# --- summary --------------------------------------------------------------------------------
thread_split() { # SCENARIO: how each server's CPU split over its threads (first round)
    say "   CPU per thread, % of the server's (round 1, busiest first): trustnet" \
        "$(val "$RES/$1.trustnet.1" server_thread_cpu_pct), Kamailio" \
        "$(val "$RES/$1.kamailio.1" server_thread_cpu_pct)"
}
paired() { # SCENARIO: trustnet/Kamailio CPU per round (the two ran back to back), and their median
    local r a b list=""
    for ((r = 1; r <= ROUNDS; r++)); do
        [ -f "$RES/$1.trustnet.$r" ] && [ -f "$RES/$1.kamailio.$r" ] || continue
        a=$(val "$RES/$1.trustnet.$r" server_cpu_us_per_txn)
        b=$(val "$RES/$1.kamailio.$r" server_cpu_us_per_txn)
        list="$list $(ratio "$a" "$b")"
    done
    [ -n "$list" ] || return 0
    say "   CPU ratio per round (paired):$list; median $(printf '%s\n' $list | median)"
}
negotiated() { # SCENARIO: the TLS version and suite each server chose (first round)
    say "   negotiated: trustnet $(val "$RES/$1.trustnet.1" tls) $(val "$RES/$1.trustnet.1" cipher)," \
        "Kamailio $(val "$RES/$1.kamailio.1" tls) $(val "$RES/$1.kamailio.1" cipher)"
}
say
if wants message; then
    say "== (1) MESSAGE proxied between two registered users, persistent TLS connections"
    say "   $MSG_CONNS connections (user i sends to user i^1), $MSG_RATE MESSAGE/s for ${MSG_SECONDS}s," \
        "median of $ROUNDS rounds; CPU = MESSAGE + 200, both legs"
    printf '   %-26s %12s %12s %8s\n' "" trustnet kamailio ratio
    for k in server_cpu_us_per_txn lat_us_p50 lat_us_p99 tps failed; do
        a=$(collect "$RES/message.trustnet.*" $k)
        b=$(collect "$RES/message.kamailio.*" $k)
        printf '   %-26s %12s %12s %8s\n' "$k" "$a" "$b" "$(ratio "$a" "$b")"
    done
    paired message
    negotiated message
    thread_split message
    a=$(collect "$RES/message.trustnet.*" server_cpu_us_per_txn)
    b=$(collect "$RES/message.kamailio.*" server_cpu_us_per_txn)
    say "   goal: trustnet CPU <= 0.5 x Kamailio's: $(awk -v a="$a" -v b="$b" 'BEGIN{print (a<=0.5*b)?"met":"NOT met"}')"
fi
if wants register; then
    say "== (2) REGISTER with a new TLS connection per call (TLS 1.3 full handshake, digest)"
    say "   $REG_CONNS calls in flight, $REG_RATE calls/s for ${REG_SECONDS}s, median of $ROUNDS rounds;" \
        "latency = connect to 200 OK"
    printf '   %-26s %12s %12s %8s\n' "" trustnet kamailio ratio
    for k in server_cpu_us_per_txn lat_us_p50 lat_us_p99 handshake_us_p50 tps failed; do
        a=$(collect "$RES/register.trustnet.*" $k)
        b=$(collect "$RES/register.kamailio.*" $k)
        printf '   %-26s %12s %12s %8s\n' "$k" "$a" "$b" "$(ratio "$a" "$b")"
    done
    paired register
    negotiated register
    thread_split register
    a=$(collect "$RES/register.trustnet.*" server_cpu_us_per_txn)
    say "   goal: trustnet <= 600 us of CPU per handshake + REGISTER: $(awk -v a="$a" 'BEGIN{print (a<=600)?"met":"NOT met"}')"
fi
if wants floor; then
    sign=$(awk '/ecdsa \(nistp256\)/ {print $(NF-1)}' "$RES/openssl-speed")
    verify=$(awk '/ecdsa \(nistp256\)/ {print $NF}' "$RES/openssl-speed")
    ecdh=$(awk '/ecdh \(X25519\)/ {print $NF}' "$RES/openssl-speed")
    awk -v s="$sign" -v v="$verify" -v e="$ecdh" 'BEGIN {
        printf "   crypto limit (openssl speed ecdsap256 ecdhx25519): P-256 sign %.1f us, verify %.1f us, X25519 %.1f us;\n", 1e6/s, 1e6/v, 1e6/e
        printf "     a server handshake needs 1 sign + 2 X25519 (key share, secret) = %.0f us\n", 1e6/s + 2e6/e }'
    ticks=$(val "$RES/s_time" s_server_ticks)
    conns=$(val "$RES/s_time" connections)
    hz=$(val "$RES/s_time" clk_tck)
    awk -v t="$ticks" -v n="$conns" -v hz="$hz" 'BEGIN {
        if (n > 0) printf "   OpenSSL floor (s_time -new against s_server, 10 s): %d handshakes, s_server CPU %.0f us each\n", n, t/hz*1e6/n }'
    grep -m1 'connections/user sec' "$RES/s_time" | sed 's/^/     s_time: /'
fi
if wants idle; then
    say "== (3) memory per idle TLS connection (PSS of all server processes, $(val "$RES/idle.trustnet" conns) connections)"
    printf '   %-26s %12s %12s %8s\n' "" trustnet kamailio ratio
    at=$(grep -o 'pss_kb_at_[0-9]*' "$RES/idle.trustnet" 2>/dev/null | tail -1 || true)
    for k in pss_bytes_per_conn pss_kb_start ${at:-pss_kb_at_N}; do
        a=$(val "$RES/idle.trustnet" "$k" || true)
        b=$(val "$RES/idle.kamailio" "$k" || true)
        printf '   %-26s %12s %12s %8s\n' "$k" "${a:-n/a}" "${b:-n/a}" "$(ratio "${a:-n/a}" "${b:-0}")"
    done
    a=$(val "$RES/idle.trustnet" pss_bytes_per_conn || echo 999999)
    say "   goal: trustnet <= 16 KB per idle connection: $(awk -v a="$a" 'BEGIN{print (a<=16384)?"met":"NOT met"}')"
fi
say "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw results in $RES"
