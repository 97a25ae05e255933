#!/bin/bash
# The command line itself: help on stdout with exit 0 for every command,
# short errors on stderr with exit 2 for bad usage.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "trustnet --help" -- "$TRUSTNET" --help
expect_grep "^SYNOPSIS" "$LAST_OUT" "trustnet --help has a synopsis"
for cmd in ca cert check "ca init" "ca issue" "ca revoke" "ca crl" "ca list" "cert info"; do
    # shellcheck disable=SC2086
    expect_exit 0 "trustnet $cmd --help" -- "$TRUSTNET" $cmd --help
    expect_grep "^SYNOPSIS" "$LAST_OUT" "trustnet $cmd --help has a synopsis"
    expect_grep "EXIT STATUS|Exit status" "$LAST_OUT" "trustnet $cmd --help documents the exit status"
done
expect_exit 2 "no command" -- "$TRUSTNET"
expect_exit 2 "unknown command" -- "$TRUSTNET" bogus
expect_grep "unknown command 'bogus'" "$LAST_OUT" "unknown command is named"
expect_exit 2 "check with an unknown option" -- "$TRUSTNET" check --bogus 127.0.0.1:1
