#!/bin/bash
# bench/smtp.sh - trustnet's mail relay against Postfix 3.7 (issue 5).
#
#   bench/smtpload --(STARTTLS)--> relay --(STARTTLS, forced)--> bench/smtpsink
#
# Runs each relay one after the other on loopback, inside a network namespace
# that has only 127.0.0.1, with the same certificates and load, and prints for
# each relay and their ratio:
#   - the relay's CPU time per relayed message: usage_usec of a cgroup v2
#     holding every process of the relay (for Postfix: master, smtpd, cleanup,
#     qmgr, smtp, tlsmgr, trivial-rewrite, postlogd, ... including the ones
#     that exit during the run), from just before the load until the sink has
#     received every accepted message: the steady figure on a shared machine;
#   - messages per second end to end (delivered at the sink, from the start of
#     the load to the last delivery);
#   - latency from the end of the data to the relay's 250 (p50, p99).
# Both relays keep a durable queue: Postfix fsyncs the queue file before its
# 250; trustnet's spool must do the same.
#
# Phases:
#   (a) one message per connection: TCP + STARTTLS + TLS 1.3 handshake per
#       message inbound (and, without connection reuse, outbound);
#   (b) PER_CONN_B messages per inbound connection;
#   (c) plaintext on both hops, Postfix only (smtpload --plain and
#       smtpsink --plain), plus smtp-source as a cross-check of the generator.
# Relays: trustnet (skipped, with a message, while `trustnet serve` has no
# mail role), postfix (smtp_tls_connection_reuse=no, Postfix's default),
# postfix-reuse (=yes), and postfix-plain for (c).
#
# Usage (as root, from anywhere):  bench/smtp.sh
# Knobs (environment):  ROUNDS=3 SESSIONS=16 LOAD_SECONDS=15 COUNT=100000
#   RATE=0 (messages/s; 0 = as fast as the relay answers) SIZE=4096
#   PER_CONN_B=50 WARMUP=200 DRAIN_SECONDS=120 SOURCE_COUNT=3000
#   ONLY="a b c source"  RELAYS="trustnet postfix postfix-reuse"
#   CLIENT_CERT=0 (1: smtpload presents a client certificate of our CA)
#   BUILD=build  WORK=/tmp/trustnet-mailbench  TN_LOG_LEVEL=info
#   TRUSTNET=path: a trustnet binary built elsewhere (default: $BUILD/trustnet,
#   built here)
#   SUMMARY_ONLY=1: print the summary of the results already in $WORK
# Results: a summary on stdout; every raw output in $WORK/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
WORK=${WORK:-/tmp/trustnet-mailbench}
ROUNDS=${ROUNDS:-3}
# 16 sessions: Postfix's smtpd stalls about 40 ms per new TLS connection
# (Nagle against the client's delayed ACK after its session tickets), so with
# a handshake per message fewer sessions leave it waiting, not working
SESSIONS=${SESSIONS:-16}
LOAD_SECONDS=${LOAD_SECONDS:-15}
COUNT=${COUNT:-100000}
RATE=${RATE:-0}
SIZE=${SIZE:-4096}
PER_CONN_B=${PER_CONN_B:-50}
WARMUP=${WARMUP:-200}
DRAIN_SECONDS=${DRAIN_SECONDS:-120}
SOURCE_COUNT=${SOURCE_COUNT:-3000}
ONLY=${ONLY:-a b c source}
RELAYS=${RELAYS:-trustnet postfix postfix-reuse}
CLIENT_CERT=${CLIENT_CERT:-0}
TN_LOG_LEVEL=${TN_LOG_LEVEL:-info}
TN_PORT=12525
PF_PORT=12535
SINK_TLS_PORT=12526
SINK_PLAIN_PORT=12527
DOMAIN=corp.test
RELAY_NAME=mail1.$DOMAIN
PARTNER=partner.test
SINK_NAME=mx.$PARTNER
SENDER=load@$DOMAIN
NS=tnmail$$
BENCH_PKGS="postfix openssl iproute2 procps"

TN=${TRUSTNET:-$BUILD/trustnet}
SMTPLOAD=$BUILD/bench/smtpload
SMTPSINK=$BUILD/bench/smtpsink
RES=$WORK/results

say() { printf '%s\n' "$*"; }
die() { printf 'smtp.sh: %s\n' "$*" >&2; exit 1; }
wants() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
runs_relay() { case " $RELAYS " in *" $1 "*) return 0 ;; esac; return 1; }

val() { { grep -o "\b$2=[^ ]*" "$1" 2>/dev/null || true; } | tail -1 | cut -d= -f2; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
collect() { # GLOB KEY: median of KEY over the files (n/a if none)
    local f
    for f in $1; do if [ -f "$f" ]; then val "$f" "$2"; fi; done | { grep -v '^$' || true; } | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "n/a" && b != "n/a" && b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }

if [ -z "${SUMMARY_ONLY:-}" ]; then
[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, cgroup, packages, Postfix)"

# --- packages and binaries -----------------------------------------------------
./scripts/install-deps.sh $BENCH_PKGS
make --no-print-directory deps >/dev/null
make --no-print-directory BUILD="$BUILD" "$SMTPLOAD" "$SMTPSINK" >/dev/null
[ -n "${TRUSTNET:-}" ] || make --no-print-directory BUILD="$BUILD" "$TN" >/dev/null
[ -x "$TN" ] || die "no trustnet binary at $TN"

# --- CPU accounting: a cgroup per relay -----------------------------------------
# cgroup v2 (cpu.stat usage_usec; present without the cpu controller), or the
# v1 cpuacct controller (cpuacct.usage, ns).  Processes that exit during the
# run stay counted in both.
CG_ROOT=$(findmnt -n -t cgroup2 -o TARGET | head -1 || true)
CG_KIND=v2
if [ -z "$CG_ROOT" ]; then
    CG_ROOT=$(findmnt -n -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /cpuacct/ {print $1; exit}' || true)
    CG_KIND=v1
fi
[ -n "$CG_ROOT" ] || die "no cgroup v2 and no cgroup v1 cpuacct hierarchy: cannot account the relay's CPU"
CG=$CG_ROOT/trustnet-mailbench-$$
cg_usage_us() {
    if [ $CG_KIND = v2 ]; then awk '$1 == "usage_usec" {print $2}' "$CG/cpu.stat"
    else echo $(( $(cat "$CG/cpuacct.usage") / 1000 )); fi
}
cg_pids() { cat "$CG/cgroup.procs" 2>/dev/null || true; }
cg_run() { # CMD...: run CMD (and everything it starts) inside the relay's cgroup
    ( echo "$BASHPID" >"$CG/cgroup.procs"; exec "$@" )
}

# --- a namespace with nothing but loopback -------------------------------------
MAIN_PID=""     # trustnet, when it runs
PF_RUNNING=""   # config directory of the running Postfix instance
SINK_PIDS=""
cleanup() {
    set +e
    [ -n "$MAIN_PID" ] && kill "$MAIN_PID" 2>/dev/null
    [ -n "$PF_RUNNING" ] && postfix -c "$PF_RUNNING" stop >/dev/null 2>&1
    for p in $SINK_PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.5
    if [ -d "$CG" ]; then
        for p in $(cg_pids); do kill -KILL "$p" 2>/dev/null; done
        sleep 0.2
        rmdir "$CG" 2>/dev/null
    fi
    ip netns del "$NS" 2>/dev/null
    rm -rf "/etc/netns/$NS"
}
trap cleanup EXIT
mkdir "$CG"
mkdir -p "/etc/netns/$NS"
printf 'nameserver 127.0.0.1\n' >"/etc/netns/$NS/resolv.conf"
printf '127.0.0.1 localhost %s %s\n' "$RELAY_NAME" "$SINK_NAME" >"/etc/netns/$NS/hosts"
ip netns add "$NS"
ip -n "$NS" link set lo up
# a new connection per message: the whole port range, TIME_WAIT reused
ip netns exec "$NS" sysctl -q -w net.ipv4.ip_local_port_range="1024 65000"
ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_tw_reuse=1
inns() { ip netns exec "$NS" "$@"; }

wait_port() { # PORT [PID]: wait until something listens on it in the namespace
    for _ in $(seq 1 100); do
        inns ss -Hltn "sport = :$1" | grep -q . && return 0
        [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && return 1
        sleep 0.1
    done
    return 1
}

# --- PKI: our CA (relay), a partner's CA (sink) ------------------------------------
rm -rf "$WORK"
mkdir -p "$RES/stderr"
"$TN" ca init --dir "$WORK/ca" --name "Bench Enterprise CA" --org Bench >/dev/null
"$TN" ca issue --dir "$WORK/ca" "$RELAY_NAME" --san IP:127.0.0.1 --out "$WORK/mail1" >/dev/null
"$TN" ca issue --dir "$WORK/ca" "load.$DOMAIN" --client --out "$WORK/load" >/dev/null
"$TN" ca crl --dir "$WORK/ca" >/dev/null
"$TN" ca init --dir "$WORK/partner-ca" --name "Partner CA" --org Partner >/dev/null
"$TN" ca issue --dir "$WORK/partner-ca" "$SINK_NAME" --out "$WORK/sink" >/dev/null
chmod 0644 "$WORK/mail1.key" # Postfix reads it as root; the directory stays root's

# --- the trustnet relay ---------------------------------------------------------------
{
    cat <<YAML
# bench/smtp.sh: one mail relay on loopback; mail for $PARTNER goes to the
# sink.  trustnet relays for anyone only into its own mail domains (as a
# Postfix relay_domains gateway does): $PARTNER is one, its route names its
# mailbox host, the sink, reached with opportunistic TLS (the sink refuses
# MAIL without STARTTLS), as Postfix's "encrypt" does.
version: 1
organisation: Bench
mail:
  domains: [$DOMAIN, $PARTNER]
trust:
  ca: ca/ca.pem
  crls: [ca/crl.pem]
sites:
  - name: bench
    pools:
      - fqdn: pool1.$DOMAIN
        servers:
          - fqdn: $RELAY_NAME
            roles: [mail]
            smtp_listen: 127.0.0.1:$TN_PORT
            spool: spool
            certificate: mail1.pem
            key: mail1.key
YAML
    cat <<YAML
mail_routes:
  - domain: $PARTNER
    host: 127.0.0.1:$SINK_TLS_PORT
YAML
} >"$WORK/topology.yaml"
mkdir -m 0700 "$WORK/spool"

TN_SKIP=""
if runs_relay trustnet; then
    if ! "$TN" serve --help 2>&1 | grep -qi smtp; then
        TN_SKIP="this trustnet has no mail role yet ('trustnet serve --help' does not mention SMTP)"
    elif ! "$TN" topology check --server "$RELAY_NAME" "$WORK/topology.yaml" >"$WORK/topology-check.log" 2>&1; then
        TN_SKIP="'trustnet topology check' refuses the benchmark's topology (see $WORK/topology-check.log)"
    fi
    [ -n "$TN_SKIP" ] && say "note: skipping trustnet: $TN_SKIP; the Postfix part runs alone"
fi

# --- Postfix instances: one directory each --------------------------------------------
postfix_instance() { # NAME TLS(tls|plain) REUSE(yes|no)
    local d=$WORK/$1 sink_port=$SINK_TLS_PORT
    [ "$2" = plain ] && sink_port=$SINK_PLAIN_PORT
    mkdir -p "$d/etc" "$d/queue" "$d/data"
    chown postfix:postfix "$d/data"
    cat >"$d/etc/main.cf" <<EOF
# bench/smtp.sh: Postfix as the relay under test ($1)
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $RELAY_NAME
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
transport_maps = inline:{$PARTNER=smtp:[127.0.0.1]:$sink_port}
maillog_file = $d/maillog
maillog_file_prefixes = $d
EOF
    if [ "$2" = tls ]; then
        cat >>"$d/etc/main.cf" <<EOF
smtpd_tls_security_level = may
smtpd_tls_chain_files = $WORK/mail1.key, $WORK/mail1.pem
smtp_tls_security_level = encrypt
smtp_tls_CAfile = $WORK/partner-ca/ca.pem
smtp_tls_connection_reuse = $3
EOF
    else
        cat >>"$d/etc/main.cf" <<EOF
smtpd_tls_security_level = none
smtp_tls_security_level = none
EOF
    fi
    # the services of Debian's master.cf that a relay uses, no chroot
    cat >"$d/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
virtual    unix  -       n       n       -       -       virtual
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
tlsproxy   unix  -       -       n       -       0       tlsproxy
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
    postfix -c "$d/etc" check >"$d/check.log" 2>&1 ||
        { cat "$d/check.log" "$d/maillog" 2>/dev/null; die "Postfix refuses the $1 configuration"; }
}
postfix_instance postfix tls no
postfix_instance postfix-reuse tls yes
postfix_instance postfix-plain plain no

# --- the sinks (for the whole run) -------------------------------------------------------
start_sink() { # tls|plain PORT STATUS
    local args=(--listen 127.0.0.1:"$2" --status "$3" --name "$SINK_NAME" --lifetime 7200)
    if [ "$1" = tls ]; then args+=(--cert "$WORK/sink.pem" --key "$WORK/sink.key"); else args+=(--plain); fi
    ip netns exec "$NS" "$SMTPSINK" "${args[@]}" >>"$WORK/sink-$1.log" 2>&1 &
    SINK_PIDS="$SINK_PIDS $!"
    wait_port "$2" $! || die "smtpsink did not start (see $WORK/sink-$1.log)"
    echo $!
}
SINK_TLS_PID=$(start_sink tls $SINK_TLS_PORT "$WORK/sink-tls.status")
SINK_PLAIN_PID=$(start_sink plain $SINK_PLAIN_PORT "$WORK/sink-plain.status")
SINK_PIDS="$SINK_TLS_PID $SINK_PLAIN_PID"

# --- relays ------------------------------------------------------------------------------
start_relay() { # trustnet|postfix|postfix-reuse|postfix-plain; false if it cannot run
    case $1 in
    trustnet)
        [ -z "$TN_SKIP" ] || return 1
        # not through cg_run(): $! must be trustnet itself (the subshell execs ip, ip execs it)
        ( echo "$BASHPID" >"$CG/cgroup.procs"
          exec ip netns exec "$NS" "$TN" serve --topology "$WORK/topology.yaml" --server "$RELAY_NAME" \
              --log-level "$TN_LOG_LEVEL" ) >>"$WORK/trustnet.log" 2>&1 &
        MAIN_PID=$!
        if ! wait_port $TN_PORT "$MAIN_PID"; then
            say "warning: trustnet did not start (see $WORK/trustnet.log); skipping it"
            tail -3 "$WORK/trustnet.log" | sed 's/^/   /'
            stop_relay trustnet
            TN_SKIP="it did not start"
            return 1
        fi
        ;;
    postfix*)
        cg_run ip netns exec "$NS" postfix -c "$WORK/$1/etc" start >>"$WORK/$1/start.log" 2>&1 ||
            die "Postfix ($1) did not start (see $WORK/$1/maillog)"
        PF_RUNNING=$WORK/$1/etc
        wait_port $PF_PORT || die "Postfix ($1) does not listen (see $WORK/$1/maillog)"
        ;;
    esac
    return 0
}

stop_relay() {
    case $1 in
    trustnet)
        kill -TERM "$MAIN_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.1; done
        wait "$MAIN_PID" 2>/dev/null || true
        MAIN_PID=""
        ;;
    postfix*)
        postfix -c "$WORK/$1/etc" stop >/dev/null 2>&1 || true
        PF_RUNNING=""
        ;;
    esac
    for _ in $(seq 1 50); do [ -z "$(cg_pids)" ] && break; sleep 0.1; done
    for p in $(cg_pids); do kill -KILL "$p" 2>/dev/null || true; done
}

relay_port() { [ "$1" = trustnet ] && echo $TN_PORT || echo $PF_PORT; }

queue_left() { # RELAY: messages still in the relay's queue (Postfix), or n/a
    case $1 in
    postfix*) find "$WORK/$1/queue/incoming" "$WORK/$1/queue/active" "$WORK/$1/queue/deferred" \
                  "$WORK/$1/queue/maildrop" -type f 2>/dev/null | wc -l ;;
    *) echo n/a ;;
    esac
}

proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# busy ticks of the whole machine (user nice system irq softirq steal)
busy_ticks() { awk '$1 == "cpu" {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }

# Wait until the sink has RUN's N messages (or, RUN "-", N messages more than
# BASE in all), at most DRAIN_SECONDS.  Prints the seconds waited.
wait_delivered() { # STATUS RUN N BASE
    local t0 now
    t0=$(date +%s%N)
    while :; do
        if [ "$2" = - ]; then
            [ $(( $(val "$1" messages) - $4 )) -ge "$3" ] && break
        elif [ "$(val "$1" run)" = "$2" ] && [ "$(val "$1" run_messages)" -ge "$3" ]; then
            break
        fi
        now=$(date +%s%N)
        [ $(( (now - t0) / 1000000000 )) -ge "$DRAIN_SECONDS" ] && break
        sleep 0.05
    done
    awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f", (b-a)/1e9}'
}

# One measured run: the load, then the wait for delivery; CPU of the relay's
# cgroup and of the sink over the whole of it.
measure() { # RELAY PHASE OUTFILE SMTPLOAD-ARGS...
    local relay=$1 phase=$2 out=$3 mode=tls status sink_pid run cpu0 cpu1 s0 s1 m0 m1 t0 t1 base
    shift 3
    case " $* " in *" --plain "*) mode=plain ;; esac
    if [ $mode = tls ]; then status=$WORK/sink-tls.status sink_pid=$SINK_TLS_PID
    else status=$WORK/sink-plain.status sink_pid=$SINK_PLAIN_PID; fi
    run=$(openssl rand -hex 6)
    base=$(val "$status" messages)
    printf 'relay=%s phase=%s load_start=%s\n' "$relay" "$phase" "$(cut -d' ' -f1 /proc/loadavg)" >"$out"
    cpu0=$(cg_usage_us)
    s0=$(proc_ticks "$sink_pid")
    m0=$(busy_ticks)
    t0=$(date +%s%N)
    inns "$SMTPLOAD" --server 127.0.0.1:"$(relay_port "$relay")" --rcpt-domain $PARTNER \
        --from $SENDER --helo load.$DOMAIN --run "$run" --quiet "$@" >>"$out" 2>"$RES/stderr/${out##*/}" ||
        say "warning: smtpload reported failures (see $out)"
    local accepted drain
    accepted=$(val "$out" accepted)
    drain=$(wait_delivered "$status" "$run" "${accepted:-0}" "$base")
    cpu1=$(cg_usage_us)
    s1=$(proc_ticks "$sink_pid")
    m1=$(busy_ticks)
    t1=$(date +%s%N)
    local delivered last start hz
    delivered=$(val "$status" run_messages)
    [ "$(val "$status" run)" = "$run" ] || delivered=0
    last=$(val "$status" run_last_us)
    start=$(val "$out" start_unix_us)
    hz=$(getconf CLK_TCK)
    {
        echo "drain_s=$drain delivered=$delivered undelivered=$(( ${accepted:-0} - delivered ))" \
            "duplicates=$(val "$status" run_duplicates) queue_left=$(queue_left "$relay")"
        awk -v c0="$cpu0" -v c1="$cpu1" -v n="${accepted:-0}" -v s0="$s0" -v s1="$s1" -v hz="$hz" \
            -v d="$delivered" -v st="$start" -v la="$last" 'BEGIN {
            printf "relay_cpu_s=%.3f relay_cpu_us_per_msg=%.1f\n", (c1-c0)/1e6, (n > 0 ? (c1-c0)/n : 0)
            printf "sink_cpu_us_per_msg=%.1f\n", (d > 0 ? (s1-s0)/hz*1e6/d : 0)
            if (d > 0 && la > st) printf "e2e_s=%.3f e2e_msgs_per_s=%.1f\n", (la-st)/1e6, d/((la-st)/1e6)
            else print "e2e_s=0 e2e_msgs_per_s=0" }'
        # what the rest of the machine used meanwhile, in CPUs: other people's work
        awk -v m0="$m0" -v m1="$m1" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
            -v s0="$s0" -v s1="$s1" -v cl="$(val "$out" client_cpu_s)" 'BEGIN {
            w = (t1-t0)/1e9; busy = (m1-m0)/hz; o = (busy - (c1-c0)/1e6 - (s1-s0)/hz - cl)/w
            printf "machine_busy_cpus=%.2f others_cpus=%.2f\n", busy/w, (o > 0 ? o : 0) }'
        echo "plain_refused=$(val "$status" plain_refused) load_end=$(cut -d' ' -f1 /proc/loadavg)"
    } >>"$out"
    [ "$delivered" -ge "${accepted:-0}" ] ||
        say "warning: $relay/$phase: $((accepted - delivered)) accepted messages not delivered within ${DRAIN_SECONDS}s"
}

# Postfix's own generator against the plaintext instance: a cross-check of
# smtpload's plaintext figure (no latency: smtp-source does not measure it).
measure_source() { # OUTFILE
    local out=$1 cpu0 cpu1 base t0 t1 drain n status=$WORK/sink-plain.status
    base=$(val "$status" messages)
    printf 'relay=postfix-plain phase=source load_start=%s\n' "$(cut -d' ' -f1 /proc/loadavg)" >"$out"
    cpu0=$(cg_usage_us)
    t0=$(date +%s%N)
    inns timeout 600 smtp-source -4 -s "$SESSIONS" -m "$SOURCE_COUNT" -l "$SIZE" -f $SENDER \
        -t u0@$PARTNER -M load.$DOMAIN 127.0.0.1:$PF_PORT >>"$out" 2>&1 ||
        say "warning: smtp-source failed (see $out)"
    t1=$(date +%s%N)
    drain=$(wait_delivered "$status" - "$SOURCE_COUNT" "$base")
    cpu1=$(cg_usage_us)
    n=$(( $(val "$status" messages) - base ))
    awk -v c0="$cpu0" -v c1="$cpu1" -v n="$n" -v t0="$t0" -v t1="$t1" -v la="$(val "$status" last_us)" \
        -v m="$SOURCE_COUNT" -v dr="$drain" 'BEGIN {
        printf "accepted=%d delivered=%d drain_s=%s\n", m, n, dr
        printf "msgs_per_s=%.1f\n", m/((t1-t0)/1e9)
        printf "relay_cpu_s=%.3f relay_cpu_us_per_msg=%.1f\n", (c1-c0)/1e6, (n > 0 ? (c1-c0)/n : 0)
        if (n > 0) printf "e2e_msgs_per_s=%.1f\n", n/((la - t0/1000)/1e6) }' >>"$out"
    echo "load_end=$(cut -d' ' -f1 /proc/loadavg)" >>"$out"
}

drain_queue() { # RELAY: before a measurement, nothing left from the previous one
    [ "$(queue_left "$1")" = n/a ] && return 0
    for _ in $(seq 1 $((DRAIN_SECONDS * 10))); do [ "$(queue_left "$1")" -eq 0 ] && return 0; sleep 0.1; done
    say "warning: $1 still has $(queue_left "$1") queued messages"
}

tls_args=(--ca "$WORK/ca/ca.pem" --name "$RELAY_NAME")
[ "$CLIENT_CERT" = 1 ] && tls_args+=(--cert "$WORK/load.pem" --key "$WORK/load.key")
load_args=(--sessions "$SESSIONS" --rate "$RATE" --size "$SIZE" --count "$COUNT" --duration "$LOAD_SECONDS")

cat >"$RES/params" <<PARAMS
ROUNDS=$ROUNDS SESSIONS=$SESSIONS LOAD_SECONDS=$LOAD_SECONDS COUNT=$COUNT RATE=$RATE SIZE=$SIZE
PER_CONN_B=$PER_CONN_B WARMUP=$WARMUP SOURCE_COUNT=$SOURCE_COUNT
CLIENT_CERT=$CLIENT_CERT
PARAMS

# --- machine ------------------------------------------------------------------------------
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
say "== machine: $(nproc) CPUs ($cpu_model), $(uname -r), $(openssl version | cut -d' ' -f1-2)," \
    "Postfix $(postconf -d -h mail_version)"
say "   trustnet $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain -- src 2>/dev/null | grep -q . && echo ' (+ uncommitted changes in src/)')," \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); CPU accounting: cgroup $CG_KIND"

# --- rounds, alternating the order of the relays ------------------------------------------
order_all=""
for r in trustnet postfix postfix-reuse; do runs_relay $r && order_all="$order_all $r"; done
{ wants c || wants source; } && order_all="$order_all postfix-plain"
for ((round = 1; round <= ROUNDS; round++)); do
    order=$order_all
    [ $((round % 2)) -eq 0 ] && order=$(echo $order_all | tr ' ' '\n' | tac | tr '\n' ' ')
    for relay in $order; do
        if [ $relay = postfix-plain ]; then phases="c source"; mode=(--plain)
        else phases="a b"; mode=("${tls_args[@]}"); fi
        todo=""
        for p in $phases; do wants $p && todo="$todo $p"; done
        [ -n "$todo" ] || continue
        start_relay $relay || continue
        say "-- round $round/$ROUNDS: $relay ($todo )"
        # warm-up: every kind of process started, caches filled; not measured
        if [ "$WARMUP" -gt 0 ]; then
            measure $relay warmup "$RES/warmup.$relay.$round" "${mode[@]}" --sessions "$SESSIONS" \
                --count "$WARMUP" --duration 60 --size "$SIZE" --per-conn 1
            drain_queue $relay
        fi
        for p in $todo; do
            case $p in
            a) measure $relay a "$RES/a.$relay.$round" "${mode[@]}" "${load_args[@]}" --per-conn 1 ;;
            b) measure $relay b "$RES/b.$relay.$round" "${mode[@]}" "${load_args[@]}" --per-conn "$PER_CONN_B" ;;
            c) measure $relay c "$RES/c.$relay.$round" "${mode[@]}" "${load_args[@]}" --per-conn 1 ;;
            source) measure_source "$RES/source.$relay.$round" ;;
            esac
            drain_queue $relay
        done
        stop_relay $relay
    done
done
printf 'TN_SKIP=%q\n' "$TN_SKIP" >>"$RES/params" # also when trustnet failed to start

fi # SUMMARY_ONLY

# the knobs of the run being summarised
[ -f "$RES/params" ] && . "$RES/params"

# --- summary ------------------------------------------------------------------------------------
KEYS="relay_cpu_us_per_msg e2e_msgs_per_s msgs_per_s lat_us_p50 lat_us_p99 accepted failed undelivered sink_cpu_us_per_msg client_cpu_us_per_msg others_cpus"
table() { # PHASE RELAY...: one column per relay, then trustnet's ratios
    local phase=$1 k r a
    shift
    printf '   %-24s' ""
    for r in "$@"; do printf ' %14s' "$r"; done
    if [ "$1" = trustnet ]; then for r in "${@:2}"; do printf ' %14s' "tn/$r"; done; fi
    echo
    for k in $KEYS; do
        printf '   %-24s' "$k"
        for r in "$@"; do printf ' %14s' "$(collect "$RES/$phase.$r.*" $k)"; done
        if [ "$1" = trustnet ]; then
            a=$(collect "$RES/$phase.trustnet.*" $k)
            for r in "${@:2}"; do printf ' %14s' "$(ratio "$a" "$(collect "$RES/$phase.$r.*" $k)")"; done
        fi
        echo
    done
}
goal() { # PHASE: trustnet <= 0.5 x Postfix's CPU (the lower of the two variants), and ahead end to end
    local phase=$1 tn pf pfr e2e_tn e2e_pf
    tn=$(collect "$RES/$phase.trustnet.*" relay_cpu_us_per_msg)
    pf=$(collect "$RES/$phase.postfix.*" relay_cpu_us_per_msg)
    pfr=$(collect "$RES/$phase.postfix-reuse.*" relay_cpu_us_per_msg)
    e2e_tn=$(collect "$RES/$phase.trustnet.*" e2e_msgs_per_s)
    e2e_pf=$(for r in postfix postfix-reuse; do collect "$RES/$phase.$r.*" e2e_msgs_per_s; done |
        { grep -v n/a || true; } | sort -g | tail -1)
    [ "$tn" = n/a ] && { say "   goal: trustnet not measured"; return; }
    [ "$pf" = n/a ] && [ "$pfr" = n/a ] && { say "   goal: Postfix not measured"; return; }
    awk -v t="$tn" -v a="$pf" -v b="$pfr" -v et="$e2e_tn" -v ep="${e2e_pf:-0}" 'BEGIN {
        m = a; if (b != "n/a" && (m == "n/a" || b+0 < m+0)) m = b
        printf "   goal: trustnet CPU <= 0.5 x Postfix (%s us): %s; ahead end to end (%s vs %s msg/s): %s\n",
            m, (t+0 <= 0.5*m) ? "met" : "NOT met", et, ep, (et+0 > ep+0) ? "yes" : "no" }'
}
have() { ls $RES/$1.* >/dev/null 2>&1; }
pace() { if [ "$RATE" = 0 ]; then echo "as fast as answered"; else echo "$RATE messages/s"; fi; }

say
[ -n "${TN_SKIP:-}" ] && say "   trustnet was not measured: $TN_SKIP"
relays_in() { # PHASE: the relays with results for it, trustnet first
    local r out=""
    for r in trustnet postfix postfix-reuse postfix-plain; do have "$1.$r" && out="$out $r"; done
    echo $out
}
if have a; then
    say "== (a) one message per connection: TCP + STARTTLS + full TLS 1.3 handshake per message inbound"
    say "   $SESSIONS sessions, $(pace), $SIZE-byte messages, ${LOAD_SECONDS}s;" \
        "median of $ROUNDS rounds; CPU = all relay processes, load start to last delivery"
    table a $(relays_in a)
    goal a
fi
if have b; then
    say "== (b) $PER_CONN_B messages per inbound connection (PIPELINING), STARTTLS on both hops"
    say "   $SESSIONS sessions, $(pace), $SIZE-byte messages, ${LOAD_SECONDS}s;" \
        "median of $ROUNDS rounds"
    table b $(relays_in b)
    goal b
fi
if have c || have source; then
    say "== (c) plaintext on both hops, Postfix only: one message per connection"
    say "   smtpload --plain -> Postfix (TLS off) -> smtpsink --plain; and smtp-source -s $SESSIONS -m $SOURCE_COUNT"
    printf '   %-24s %14s %14s\n' "" smtpload smtp-source
    for k in relay_cpu_us_per_msg e2e_msgs_per_s msgs_per_s lat_us_p50 lat_us_p99 accepted delivered others_cpus; do
        printf '   %-24s %14s %14s\n' "$k" "$(collect "$RES/c.postfix-plain.*" $k)" \
            "$(collect "$RES/source.postfix-plain.*" $k)"
    done
fi
if have a.postfix || have b.postfix || have c; then
    say "   reference (this machine class): Postfix 4.5-5.5 ms CPU per message with a handshake per hop per"
    say "   message (3.7-4.3 ms with smtp_tls_connection_reuse=yes), about 2.2 ms in plaintext"
fi
say "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw results in $RES"
