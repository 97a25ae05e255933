# lib.sh - shared helpers for integration tests (sourced, bash).
#
# Each test script starts its own peers on 127.0.0.1, stops them by PID at
# exit, and reports one line per check: "ok - NAME" or "not ok - NAME".
#
#   TRUSTNET        the binary under test (from $TRUSTNET_BUILD)
#   TMP             a private temporary directory, removed at exit
#   ok NAME / not_ok NAME DETAIL
#   expect_exit CODE NAME -- CMD...     run CMD, check its exit status
#   expect_grep PATTERN FILE NAME       check FILE contains PATTERN (grep -E)
#   start_bg NAME CMD...                run CMD in the background, killed at exit
#   wait_port HOST PORT                 wait (max 10 s) until a listener accepts
#   free_port                           print a free TCP port on 127.0.0.1

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TRUSTNET_BUILD=${TRUSTNET_BUILD:-build}
case $TRUSTNET_BUILD in /*) ;; *) TRUSTNET_BUILD="$ROOT/$TRUSTNET_BUILD" ;; esac
TRUSTNET="$TRUSTNET_BUILD/trustnet"
TOOLS="$TRUSTNET_BUILD/tests"
TMP=$(mktemp -d /tmp/trustnet-test.XXXXXX)
BG_PIDS=()
LAST_OUT="$TMP/last.out"

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }

not_ok() {
    echo "not ok - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
    if [ -s "$LAST_OUT" ]; then
        sed 's/^/#   | /' "$LAST_OUT" | head -40
    fi
    return 0
}

# expect_exit CODE NAME -- CMD...  (output of CMD goes to $LAST_OUT)
expect_exit() {
    local want=$1 name=$2
    shift 3
    "$@" >"$LAST_OUT" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else not_ok "$name" "exit status $rc, wanted $want: $*"; fi
}

# expect_grep PATTERN FILE NAME
expect_grep() {
    if grep -Eq -- "$1" "$2"; then
        ok "$3"
    else
        local saved=$LAST_OUT
        LAST_OUT=$2
        not_ok "$3" "no line matches: $1"
        LAST_OUT=$saved
    fi
}

start_bg() {
    local name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    BG_PIDS+=($!)
}

# stop_bg: stop the most recently started background process.
stop_last_bg() {
    local n=${#BG_PIDS[@]}
    [ "$n" -eq 0 ] && return 0
    local pid=${BG_PIDS[$((n - 1))]}
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "BG_PIDS[$((n - 1))]"
    BG_PIDS=("${BG_PIDS[@]}")
}

wait_port() {
    local host=$1 port=$2 i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "# nothing listens on $host:$port after 10 s" >&2
    return 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
