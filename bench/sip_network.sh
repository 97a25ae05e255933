#!/bin/bash
# bench/sip_network.sh - MESSAGE between trustnet servers (issue 4): what
# forwarding over an established mutual-TLS connection costs a server,
# against delivering the same MESSAGE locally.
#
# In a network namespace that has only loopback, two organisations, each
# with its own CA and topology:
#   corp.test     fe1 (pool 1) 127.0.0.11, fe2 (pool 2) 127.0.0.12,
#                 edge 127.0.0.13 (federation side :5062)
#   partner.test  fe 127.0.0.21, edge 127.0.0.22 (federation side :5062)
# and the same MESSAGE load (bench/sipload: user i sends to user i^1, who
# answers 200) in three placements of the users:
#   local  every user registered at fe1                     client -> fe1 -> client
#   pool   even users at fe1, odd users at fe2 (their pool) client -> fe1 -> fe2 -> client
#   edge   even users at fe1 (corp.test), odd users at the
#          partner's fe (partner.test)        client -> fe1 -> edge -> edge -> fe -> client
# Half the MESSAGEs go each way; with SENDERS=even only even users send, so
# that fe1 only forwards and the other front end only delivers (one way).
# Before each measured run, WARMUP messages
# open the connections between the servers, so that the measured run
# forwards over established MTLS connections only.
#
# Reported for each placement (median of ROUNDS rounds, the order of the
# placements rotating): each server's CPU time per MESSAGE (utime+stime of
# the process, /proc/PID/stat, over the measured phase, divided by the
# MESSAGEs: MESSAGE + 200, both legs), their sum, p50/p99 latency; the
# connections between servers seen during the measured run (ss, sampled
# twice a second) and the MTLS handshakes between servers the logs show in
# it; and the ratios that answer the goal: a server's CPU per MESSAGE when
# it forwards over an MTLS hop, over fe1's when it delivers locally.
# Goal (issue 4): forwarding costs less than 10 % extra, ratio < 1.10.
#
# Usage (as root, from anywhere):  bench/sip_network.sh
# Knobs (environment):  ROUNDS=3  MSG_CONNS=20 MSG_RATE=1000 MSG_SECONDS=15
#   WARMUP=200  SENDERS=all|even  ONLY="local pool edge"  BUILD=build
#   WORK=/tmp/trustnet-bench-net
#   TN_LOG_LEVEL=info (trustnet's default)
#   SUMMARY_ONLY=1: print the summary of the results already in $WORK
# Results: a summary on stdout; raw sipload outputs, connection samples
# and server logs in $WORK.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/trustnet-bench-net}
ROUNDS=${ROUNDS:-3}
MSG_CONNS=${MSG_CONNS:-20}
MSG_RATE=${MSG_RATE:-1000}
MSG_SECONDS=${MSG_SECONDS:-15}
WARMUP=${WARMUP:-200}
SENDERS=${SENDERS:-all}
ONLY=${ONLY:-local pool edge}
TN_LOG_LEVEL=${TN_LOG_LEVEL:-info}
PASSWORD=bench-password
SIP_PORT=5061
FED_PORT=5062
NS=tnnet$$
. bench/lib/common.sh

SERVERS="fe1 fe2 edge pfe pedge"
declare -A ORG=([fe1]=corp [fe2]=corp [edge]=corp [pfe]=partner [pedge]=partner)
declare -A FQDN=([fe1]=fe1.corp.test [fe2]=fe2.corp.test [edge]=edge.corp.test
                 [pfe]=fe.partner.test [pedge]=edge.partner.test)
declare -A ADDR=([fe1]=127.0.0.11 [fe2]=127.0.0.12 [edge]=127.0.0.13
                 [pfe]=127.0.0.21 [pedge]=127.0.0.22)
declare -A PREFIX=([local]=l [pool]=p [edge]=e)   # the users of each placement
declare -A PID_OF=()

# --- certificates, topologies, users ---------------------------------------------
# Users PREFIX0000@DOMAIN ... (MSG_CONNS of them): the even ones homed on
# EVEN-POOL, the odd ones on ODD-POOL; "-": not in this organisation.
users_yaml() { # PREFIX DOMAIN EVEN-POOL ODD-POOL
    local i pool
    for ((i = 0; i < MSG_CONNS; i++)); do
        pool=$([ $((i % 2)) -eq 0 ] && echo "$3" || echo "$4")
        [ "$pool" = - ] || printf '  - address: %s%04d@%s\n    pool: %s\n' "$1" "$i" "$2" "$pool"
    done
}

add_users() { # STORE PREFIX DOMAIN EVEN-POOL ODD-POOL: the same users' passwords
    local i pool
    for ((i = 0; i < MSG_CONNS; i++)); do
        pool=$([ $((i % 2)) -eq 0 ] && echo "$4" || echo "$5")
        [ "$pool" = - ] || printf '%s\n' "$PASSWORD" |
            "$TN" user add --store "$1" "$(printf '%s%04d@%s' "$2" "$i" "$3")" >/dev/null
    done
}

server_yaml() { # NAME POOL ROLE
    local n=$1
    printf '      - fqdn: %s\n        servers:\n          - fqdn: %s\n' "$2" "${FQDN[$n]}"
    printf '            roles: [%s]\n            sip_listen: %s:%s\n' "$3" "${ADDR[$n]}" $SIP_PORT
    [ "$3" = edge ] && printf '            federation_listen: %s:%s\n' "${ADDR[$n]}" $FED_PORT
    printf '            certificate: %s.pem\n            key: %s.key\n' "$n" "$n"
}

topology_yaml() { # ORG DOMAIN PEER-DOMAIN PEER-EDGE: header, trust, the partner
    cat <<YAML
# bench/sip_network.sh: $1
version: 1
organisation: $1
sip:
  domains: [$2]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
store: store.sqlite
federation:
  - name: peer
    domains: [$3]
    edge: ${FQDN[$4]}
    edge_address: ${ADDR[$4]}:$FED_PORT
    root_ca: peer-root.pem
sites:
  - name: bench
    pools:
YAML
}

make_org() { # ORG: CA, certificates, CRL
    local org=$1 n
    "$TN" ca init --dir "$WORK/$org/ca" --name "Bench $org CA" --org "$org" >/dev/null
    for n in $SERVERS; do
        [ "${ORG[$n]}" = "$org" ] || continue
        "$TN" ca issue --dir "$WORK/$org/ca" "${FQDN[$n]}" --out "$WORK/$org/$n" >/dev/null
    done
    "$TN" ca crl --dir "$WORK/$org/ca" >/dev/null
}

setup() {
    rm -rf "$WORK"
    mkdir -p "$WORK/corp" "$WORK/partner" "$RES/stderr" "$WORK/logs"
    make_org corp
    make_org partner
    cp "$WORK/partner/ca/ca.pem" "$WORK/corp/peer-root.pem"
    cp "$WORK/corp/ca/ca.pem" "$WORK/partner/peer-root.pem"
    # local: l* at fe1; pool: p* at fe1 and fe2; edge: e* at fe1 and the partner's fe
    local users_corp=("l corp.test pool1.corp.test pool1.corp.test"
                      "p corp.test pool1.corp.test pool2.corp.test"
                      "e corp.test pool1.corp.test -")
    local users_partner=("e partner.test - pool1.partner.test")
    local u org
    {
        topology_yaml corp corp.test partner.test pedge
        server_yaml fe1 pool1.corp.test frontend
        server_yaml fe2 pool2.corp.test frontend
        server_yaml edge edgepool.corp.test edge
        say "users:"
        for u in "${users_corp[@]}"; do users_yaml $u; done
    } >"$WORK/corp/topology.yaml"
    {
        topology_yaml partner partner.test corp.test edge
        server_yaml pfe pool1.partner.test frontend
        server_yaml pedge edgepool.partner.test edge
        say "users:"
        for u in "${users_partner[@]}"; do users_yaml $u; done
    } >"$WORK/partner/topology.yaml"
    for u in "${users_corp[@]}"; do add_users "$WORK/corp/store.sqlite" $u; done
    for u in "${users_partner[@]}"; do add_users "$WORK/partner/store.sqlite" $u; done
    for org in corp partner; do
        "$TN" topology check "$WORK/$org/topology.yaml" >"$WORK/$org/check.log" ||
            { cat "$WORK/$org/check.log"; die "the $org topology does not pass its check"; }
    done
    cat >"$RES/params" <<PARAMS
ROUNDS=$ROUNDS MSG_CONNS=$MSG_CONNS MSG_RATE=$MSG_RATE MSG_SECONDS=$MSG_SECONDS WARMUP=$WARMUP SENDERS=$SENDERS
PARAMS
}

# --- servers --------------------------------------------------------------------------
start_servers() { # RUN: the logs are $WORK/logs/SERVER.RUN.log
    local n
    for n in $SERVERS; do
        # not through inns(): $! must be the server itself (ip netns exec execs it)
        ip netns exec "$NS" "$TN" serve --topology "$WORK/${ORG[$n]}/topology.yaml" \
            --server "${FQDN[$n]}" --log-level "$TN_LOG_LEVEL" >"$WORK/logs/$n.$1.log" 2>&1 &
        PID_OF[$n]=$!
        bench_started "${PID_OF[$n]}"
    done
    for n in $SERVERS; do
        wait_listen "${ADDR[$n]}" $SIP_PORT || die "$n did not start (see $WORK/logs/$n.$1.log)"
    done
    wait_listen "${ADDR[edge]}" $FED_PORT && wait_listen "${ADDR[pedge]}" $FED_PORT ||
        die "an edge does not listen on its federation side"
}

stop_servers() {
    local n
    for n in $SERVERS; do bench_stop "${PID_OF[$n]}"; done
}

# --- connections between servers -----------------------------------------------------
# A pair of servers is named by both names in alphabetical order: "fe1-fe2".
# The awk programs below know the servers by address (name[IP]) and their
# listen ports (listen[PORT]): the end of a connection on a listen port is
# the server end, the other the client end.
AWK_NAMES='BEGIN { split(map, m, " "); for (i in m) { split(m[i], kv, "="); name[kv[1]] = kv[2] }
                   split(ports, p, " "); for (i in p) listen[p[i]] = 1 }
           function ip(a) { sub(/:[0-9]+$/, "", a); return a }
           function port(a) { sub(/.*:/, "", a); return a }
           function pair(a, b) { return a < b ? a "-" b : b "-" a }'
servers_awk() { # PROGRAM [FILE...]: awk with AWK_NAMES
    local map="" n prog=$1
    shift
    for n in $SERVERS; do map="$map ${ADDR[$n]}=$n"; done
    awk -v map="$map" -v ports="$SIP_PORT $FED_PORT" "$AWK_NAMES $prog" "$@"
}

# Every 0.5 s for at most SECONDS: one line per TCP connection between two
# servers, "PAIR client-address server-address".
sample_connections() { # OUT SECONDS
    for ((i = 0; i < $2 * 2; i++)); do
        inns ss -Htn state established | servers_awk '
            { l = $(NF-1); r = $NF
              if ((ip(l) in name) && (ip(r) in name) && (port(r) in listen))
                  print pair(name[ip(l)], name[ip(r)]), l, r }' >>"$1"
        sleep 0.5
    done
}

log_lines() { # RUN: the line count of each server's log
    local n
    for n in $SERVERS; do printf '%s ' "$(wc -l <"$WORK/logs/$n.$1.log")"; done
}

# MTLS handshakes between servers logged after line FROM of each log, by
# the connecting server (its verdict line names the peer's listen address).
count_handshakes() { # RUN FROM-LINES...
    local run=$1 n
    shift
    for n in $SERVERS; do
        tail -n +"$(($1 + 1))" "$WORK/logs/$n.$run.log"
        shift
    done | grep -E "verdict=trusted: (peer is server|connected to partner)" |
        servers_awk '{ match($0, /peer=[0-9.:]+/); a = substr($0, RSTART + 5, RLENGTH - 5)
                       if (port(a) in listen) n++ } END { print n + 0 }'
}

# After the servers stopped: per pair, the connections ss saw in the
# measured run, and the share of the pair's messages that the busiest one
# carried (each server logs "closed peer=... after N messages" at exit;
# the client end's line is taken, so that each connection counts once).
connection_report() { # RUN SAMPLES
    local n
    sort -u "$2" | awk '{ n[$1]++ } END { for (k in n) printf "peer_conns_%s=%d\n", k, n[k] }'
    for n in $SERVERS; do sed -n "s/^.* closed peer=\([0-9.:]*\) after \([0-9]*\) messages.*/$n \1 \2/p" \
        "$WORK/logs/$n.$1.log"; done | servers_awk '
        (ip($2) in name) && (port($2) in listen) {
            k = pair($1, name[ip($2)]); sum[k] += $3; if ($3 > max[k]) max[k] = $3 }
        END { for (k in sum) if (sum[k] > 0) printf "peer_busiest_pct_%s=%.2f\n", k, 100 * max[k] / sum[k] }'
}

# --- the load -----------------------------------------------------------------------------
placement_args() { # PLACEMENT: where sipload's even and odd users go
    local corp_ca=$WORK/corp/ca/ca.pem
    printf '%s\n' --server "${ADDR[fe1]}:$SIP_PORT" --ca "$corp_ca" --name "${FQDN[fe1]}" \
        --domain corp.test --users "${PREFIX[$1]}" --password "$PASSWORD" --conns "$MSG_CONNS" \
        --senders "$SENDERS"
    case $1 in
    pool) printf '%s\n' --server2 "${ADDR[fe2]}:$SIP_PORT" --name2 "${FQDN[fe2]}" ;;
    edge) printf '%s\n' --server2 "${ADDR[pfe]}:$SIP_PORT" --name2 "${FQDN[pfe]}" \
        --ca2 "$WORK/partner/ca/ca.pem" --domain2 partner.test ;;
    esac
}

# Fresh servers, WARMUP messages (they open the connections between the
# servers), then the measured run; its results in $RES/message.PLACEMENT.ROUND.
run_placement() { # PLACEMENT ROUND
    local p=$1 run=$1.$2 pids="" n from sampler
    local -a args
    mapfile -t args < <(placement_args "$p")
    start_servers "$run"
    for n in $SERVERS; do pids="$pids${pids:+,}$n=${PID_OF[$n]}"; done
    run_sipload "$RES/warmup.$run" "${args[@]}" --scenario message --rate 500 \
        --duration 10 --count "$WARMUP"
    from=$(log_lines "$run")
    : >"$RES/conns.$run"
    sample_connections "$RES/conns.$run" $((MSG_SECONDS + 20)) &
    sampler=$!
    run_sipload "$RES/message.$run" "${args[@]}" --scenario message --pids "$pids" \
        --rate "$MSG_RATE" --duration "$MSG_SECONDS" --count $((MSG_RATE * MSG_SECONDS))
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    # shellcheck disable=SC2086
    echo "handshakes_between_servers=$(count_handshakes "$run" $from)" >>"$RES/message.$run"
    stop_servers
    connection_report "$run" "$RES/conns.$run" >>"$RES/message.$run"
}

if [ -z "${SUMMARY_ONLY:-}" ]; then
    bench_build openssl iproute2 procps
    bench_netns
    setup
    bench_machine
    say "   trustnet runs one worker per CPU (its default) in each of the 5 servers"
    placements=()
    for p in local pool edge; do wants "$p" && placements+=("$p"); done
    [ ${#placements[@]} -gt 0 ] || die "ONLY names none of: local pool edge"
    for ((r = 1; r <= ROUNDS; r++)); do
        k=${#placements[@]}
        for ((j = 0; j < k; j++)); do
            p=${placements[$(((j + r - 1) % k))]}
            say "-- round $r/$ROUNDS: $p"
            run_placement "$p" "$r"
        done
    done
fi

# --- summary ---------------------------------------------------------------------------
[ -f "$RES/params" ] && . "$RES/params"

# per-round ratio of KEY-A in placement A to KEY-B in placement B, then their median
round_ratios() { # A KEY-A B KEY-B
    for f in "$RES"/message."$1".*; do
        local r=${f##*.}
        [ -f "$RES/message.$3.$r" ] || continue
        ratio "$(val "$f" "$2")" "$(val "$RES/message.$3.$r" "$4")"
        echo
    done | grep -v n/a | median
}

row() { # LABEL KEY: one line, a column per placement
    local label=$1 key=$2 p
    printf '   %-30s' "$label"
    for p in local pool edge; do
        wants "$p" && printf ' %10s' "$(collect "$RES/message.$p.*" "$key")"
    done
    printf '\n'
}

say
say "== MESSAGE between two registered users, across servers (issue 4)"
say "   $MSG_CONNS client connections (user i sends to user i^1, who answers 200; senders: $SENDERS users)," \
    "$MSG_RATE MESSAGE/s"
say "   for ${MSG_SECONDS}s after $WARMUP warm-up MESSAGEs; median of $ROUNDS rounds;" \
    "CPU per MESSAGE = MESSAGE + 200, both legs"
printf '   %-30s' ""
for p in local pool edge; do wants "$p" && printf ' %10s' "$p"; done
printf '\n'
for n in $SERVERS; do row "CPU us/MESSAGE $n" "server_cpu_us_per_txn_$n"; done
row "CPU us/MESSAGE, all servers" server_cpu_us_per_txn
row "latency p50 (us)" lat_us_p50
row "latency p99 (us)" lat_us_p99
row "MESSAGE/s" tps
row "failed" failed
row "MTLS handshakes in the run" handshakes_between_servers
for pair in fe1-fe2 edge-fe1 edge-pedge pedge-pfe; do
    grep -qs "peer_conns_$pair=" "$RES"/message.*.* || continue
    row "connections $pair" "peer_conns_$pair"
    row "  busiest one's share (%)" "peer_busiest_pct_$pair"
done
say "   connections: TCP connections between the two servers that ss saw during the measured run;"
say "   share: of the messages over all of them, those the busiest one carried (warm-up included)"
if wants local; then
    say "== forwarding over an MTLS hop vs local delivery (CPU per MESSAGE, median of per-round ratios)"
    goal=met
    for spec in "pool fe1" "pool fe2" "edge fe1" "edge edge" "edge pedge" "edge pfe"; do
        set -- $spec
        wants "$1" || continue
        x=$(round_ratios "$1" "server_cpu_us_per_txn_$2" local server_cpu_us_per_txn_fe1)
        printf '   %-5s %-6s / local fe1: %6s' "$1" "$2" "$x"
        if [ "$1" = pool ]; then
            awk -v x="$x" 'BEGIN { exit !(x != "n/a" && x < 1.10) }' || goal="NOT met"
            printf '   (goal < 1.10)'
        fi
        printf '\n'
    done
    wants pool && say "   all servers: pool / local $(round_ratios pool server_cpu_us_per_txn local server_cpu_us_per_txn)" \
        "(two servers handle each MESSAGE)"
    wants pool && say "   goal: forwarding over an established MTLS hop costs < 10 % extra per server: $goal"
fi
say "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw results in $RES"
