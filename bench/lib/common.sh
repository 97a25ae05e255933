# bench/lib/common.sh - what the benchmark scripts share; sourced by
# bench/sip.sh and bench/sip_network.sh from the repository's top folder.
#
#   say, die, wants WORD        output, fatal error, "is WORD in \$ONLY"
#   val FILE KEY                the first KEY=value of a sipload output
#   median                      median of the numbers on stdin ("n/a" if none)
#   collect 'GLOB' KEY          median of KEY over the files of GLOB
#   ratio A B                   A/B with 2 decimals, "n/a" when it has no sense
#   bench_build PKG...          as root: packages, trustnet and sipload in $BUILD
#   bench_netns                 namespace $NS with only loopback, deleted on exit
#   inns CMD...                 run CMD in the namespace
#   bench_started PID           a server to stop when the script ends
#   bench_stop PID              SIGTERM, then SIGKILL after 5 s
#   wait_listen ADDR PORT       wait (10 s at most) until something listens there
#   run_sipload OUT ARGS...     sipload in the namespace, its key=value lines in OUT
#                               (started through "${SIPLOAD_WRAP[@]}" if set, e.g. taskset)
#   bench_machine [TEXT]        the machine, trustnet's commit, the load average
#
# The script sets BUILD, WORK and NS before sourcing this file.

TN=$BUILD/trustnet
SIPLOAD=$BUILD/bench/sipload
RES=$WORK/results
BENCH_NAME=${0##*/}
BENCH_PIDS=" "   # servers running now, space-separated
SIPLOAD_WRAP=()   # a command sipload is started through (taskset -c 0)

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
wants() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

val() { { grep -o "\b$2=[^ ]*" "$1" || true; } | head -1 | cut -d= -f2; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'; }
collect() { # GLOB KEY: median of KEY over the files
    for f in $1; do [ -f "$f" ] && val "$f" "$2"; done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0 && a != "n/a" && a != "") printf "%.2f", a/b; else print "n/a" }'; }

bench_build() { # PKG...: what the benchmark needs besides trustnet's own packages
    [ "$(id -u)" -eq 0 ] || die "run as root (network namespace, packages, ulimit)"
    ./scripts/install-deps.sh "$@"
    make --no-print-directory deps >/dev/null
    make --no-print-directory BUILD="$BUILD" "$TN" "$SIPLOAD" >/dev/null
}

bench_cleanup() {
    for pid in $BENCH_PIDS; do kill "$pid" 2>/dev/null; done
    sleep 0.3
    ip netns del "$NS" 2>/dev/null || true
}

bench_netns() {
    trap bench_cleanup EXIT
    ip netns add "$NS"
    ip -n "$NS" link set lo up
}

inns() { ip netns exec "$NS" "$@"; }

bench_started() { BENCH_PIDS="$BENCH_PIDS$1 "; }

bench_stop() { # PID
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    BENCH_PIDS=${BENCH_PIDS/ $1 / }
}

wait_listen() { # ADDR PORT
    for _ in $(seq 1 100); do
        inns ss -Hltn "src $1:$2" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

run_sipload() { # OUT ARGS...: the load average, then sipload's output, in OUT
    local out=$1
    shift
    printf 'load %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >"$out"
    mkdir -p "$RES/stderr"
    inns "${SIPLOAD_WRAP[@]}" "$SIPLOAD" --quiet "$@" >>"$out" 2>"$RES/stderr/${out##*/}" ||
        { cat "$out" >&2; say "warning: sipload reported failures (see $out)"; }
}

bench_machine() { # [TEXT]: appended to the first line
    local cpu_model
    cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    say "== machine: $(nproc) CPUs ($cpu_model), $(uname -r), $(openssl version | cut -d' ' -f1-2)${1:+, $1}"
    say "   trustnet $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain -- src 2>/dev/null | grep -q . && echo ' (+ uncommitted changes in src/)')," \
        "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}
