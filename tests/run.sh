#!/bin/bash
# run.sh BUILD_DIR... - run every unit and integration test against each
# build (normally build/ and build/asan/) and print "N passed, N failed".
#
# Unit tests are cmocka binaries (TAP output); integration tests are
# tests/integration/*.sh scripts that print "ok - NAME" / "not ok - NAME"
# through tests/integration/lib.sh.  A test program that dies without
# reporting counts as one failure.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()

count_tap() { # LABEL OUTPUT_FILE RC
    local label=$1 out=$2 rc=$3 p f
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $label exited with status $rc without reporting a failure"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -gt 0 ] && failures+=("$label")
    return 0
}

# Sanitizer reports must never pass for a refusal (exit 1): give them
# their own exit status and also write them to files that are checked
# after each build's run.
SAN_LOGS=$(mktemp -d /tmp/trustnet-san.XXXXXX)
export ASAN_OPTIONS="exitcode=99:detect_leaks=1:log_path=$SAN_LOGS/asan"
export UBSAN_OPTIONS="exitcode=99:print_stacktrace=1:log_path=$SAN_LOGS/ubsan"

check_sanitizer_logs() { # BUILD
    local f
    for f in "$SAN_LOGS"/*; do
        [ -e "$f" ] || continue
        echo "not ok - sanitizer report in $1: $(basename "$f")"
        sed 's/^/#   /' "$f" | head -30
        failed=$((failed + 1))
        failures+=("sanitizer report ($1)")
        rm -f "$f"
    done
}

for build in "$@"; do
    echo "=== tests against $build"
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        out=$(mktemp)
        CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
        rc=$?
        sed "s|^|  |" "$out" | grep -v '^  #' 
        count_tap "$t" "$out" "$rc"
        rm -f "$out"
    done
    for t in tests/integration/*.sh; do
        [ -f "$t" ] || continue
        case $(basename "$t") in *lib.sh) continue ;; esac
        echo "--- $t ($build)"
        out=$(mktemp)
        TRUSTNET_BUILD="$build" timeout 600 bash "$t" >"$out" 2>&1
        rc=$?
        cat "$out"
        count_tap "$t ($build)" "$out" "$rc"
        rm -f "$out"
    done
    check_sanitizer_logs "$build"
done
rm -rf "$SAN_LOGS"

if [ ${#failures[@]} -gt 0 ]; then
    echo "failing test programs:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
