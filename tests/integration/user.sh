#!/bin/bash
# trustnet user add|passwd|del|list against a store file: passwords from a
# file, from a pipe and from a terminal (a python pty); duplicates, unknown
# users and bad addresses; the store's file mode and its contents.
. "$(dirname "$0")/lib.sh"

STORE="$TMP/store.db"
printf 'correct horse\n' >"$TMP/pw"

# ---- help
for sub in "" add passwd del list; do
    # shellcheck disable=SC2086
    expect_exit 0 "trustnet user $sub --help" -- "$TRUSTNET" user $sub --help
    for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES; do
        expect_grep "^$section" "$LAST_OUT" "trustnet user $sub --help has $section"
    done
done
expect_exit 0 "trustnet user add --help" -- "$TRUSTNET" user add --help
expect_grep "^OPTIONS" "$LAST_OUT" "trustnet user add --help has OPTIONS"
expect_exit 0 "trustnet --help" -- "$TRUSTNET" --help
expect_grep "^    user add" "$LAST_OUT" "trustnet --help lists user"

# ---- add
expect_exit 0 "add with --password-file" -- \
    "$TRUSTNET" user add --store "$STORE" alice@Corp.Test --password-file "$TMP/pw"
expect_grep "added alice@corp.test" "$LAST_OUT" "add names the user, domain in lowercase"
mode=$(stat -c %a "$STORE")
if [ "$mode" = 600 ]; then ok "store file mode is 0600"; else not_ok "store file mode is 0600" "mode $mode"; fi
printf 'hunter2\n' >"$TMP/in"
expect_exit 0 "add with the password on stdin" -- \
    bash -c '"$1" user add --store "$2" bob@corp.test <"$3"' _ "$TRUSTNET" "$STORE" "$TMP/in"
expect_exit 1 "add an existing user" -- \
    "$TRUSTNET" user add --store "$STORE" alice@corp.test --password-file "$TMP/pw"
expect_grep "already exists" "$LAST_OUT" "the duplicate is named"

# ---- list
expect_exit 0 "list" -- "$TRUSTNET" user list --store "$STORE"
expect_grep "^ADDRESS +ALGORITHMS +CREATED +REGISTRATIONS" "$LAST_OUT" "list has a header"
expect_grep "^alice@corp.test +SHA-256,MD5 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +0$" \
    "$LAST_OUT" "list shows alice with both algorithms"
expect_grep "^bob@corp.test " "$LAST_OUT" "list shows bob"

# ---- the store holds the right HA1s and never the password
if command -v sqlite3 >/dev/null; then
    want=$(printf '%s' 'alice:corp.test:correct horse' | sha256sum | cut -d' ' -f1)
    got=$(sqlite3 "$STORE" "SELECT ha1_sha256 FROM users WHERE user='alice'")
    if [ "$want" = "$got" ]; then ok "stored SHA-256 HA1 is H(user:domain:password)"; else
        not_ok "stored SHA-256 HA1 is H(user:domain:password)" "want $want got $got"; fi
    want=$(printf '%s' 'bob:corp.test:hunter2' | md5sum | cut -d' ' -f1)
    got=$(sqlite3 "$STORE" "SELECT ha1_md5 FROM users WHERE user='bob'")
    if [ "$want" = "$got" ]; then ok "stored MD5 HA1 from stdin"; else
        not_ok "stored MD5 HA1 from stdin" "want $want got $got"; fi
fi
if grep -rqa "correct horse" "$TMP"/store.db*; then not_ok "the password is not in the store"; else
    ok "the password is not in the store"; fi

# ---- passwd
printf 'new one\n' >"$TMP/pw2"
expect_exit 0 "passwd" -- "$TRUSTNET" user passwd --store "$STORE" alice@corp.test --password-file "$TMP/pw2"
if command -v sqlite3 >/dev/null; then
    want=$(printf '%s' 'alice:corp.test:new one' | sha256sum | cut -d' ' -f1)
    got=$(sqlite3 "$STORE" "SELECT ha1_sha256 FROM users WHERE user='alice'")
    if [ "$want" = "$got" ]; then ok "passwd changed the HA1"; else not_ok "passwd changed the HA1"; fi
fi
expect_exit 1 "passwd of an unknown user" -- \
    "$TRUSTNET" user passwd --store "$STORE" nobody@corp.test --password-file "$TMP/pw2"

# ---- a terminal: asked twice without echo
if python3 -c 'import pty' 2>/dev/null; then
    cat >"$TMP/answer_prompt.py" <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:-1])
out = b""
def read_until(token):
    global out
    while token not in out:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out += chunk
read_until(b"Password for carol@corp.test: ")
os.write(fd, sys.argv[-1].encode() + b"\n")
read_until(b"Again: ")
os.write(fd, b"tty secret\n")
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 99)
EOF
    expect_exit 0 "add on a terminal" -- \
        timeout 20 python3 "$TMP/answer_prompt.py" "$TRUSTNET" user add --store "$STORE" carol@corp.test "tty secret"
    if grep -q "tty secret" "$LAST_OUT"; then not_ok "the terminal does not echo the password"; else
        ok "the terminal does not echo the password"; fi
    expect_exit 1 "add on a terminal: passwords that differ" -- \
        timeout 20 python3 "$TMP/answer_prompt.py" "$TRUSTNET" user add --store "$STORE" carol@corp.test "other"
    expect_grep "do not match" "$LAST_OUT" "the mismatch is named"
fi

# ---- del
expect_exit 0 "del" -- "$TRUSTNET" user del --store "$STORE" bob@CORP.test
expect_exit 1 "del again" -- "$TRUSTNET" user del --store "$STORE" bob@corp.test
expect_grep "no user bob@corp.test" "$LAST_OUT" "the unknown user is named"
expect_exit 0 "list after del" -- "$TRUSTNET" user list --store "$STORE"
if grep -q "^bob@" "$LAST_OUT"; then not_ok "bob is gone"; else ok "bob is gone"; fi

# ---- bad usage
for addr in alice "@corp.test" "alice@" "a b@corp.test" "alice@corp..test" \
    "alice@*.corp.test" "al:ice@corp.test" "$(printf 'u%.0s' {1..65})@corp.test" "a%4@corp.test"; do
    expect_exit 2 "bad address '$addr'" -- \
        "$TRUSTNET" user add --store "$STORE" "$addr" --password-file "$TMP/pw"
done
expect_grep "bad address" "$LAST_OUT" "the bad address is named"
expect_exit 0 "escaped user part" -- \
    "$TRUSTNET" user add --store "$STORE" "d%41n.o'k@corp.test" --password-file "$TMP/pw"
expect_exit 2 "no --store" -- "$TRUSTNET" user add alice@corp.test --password-file "$TMP/pw"
expect_exit 2 "no address" -- "$TRUSTNET" user add --store "$STORE"
expect_exit 2 "unknown subcommand" -- "$TRUSTNET" user frobnicate
expect_exit 2 "no subcommand" -- "$TRUSTNET" user
expect_exit 2 "unknown option" -- "$TRUSTNET" user list --store "$STORE" --bogus
expect_exit 2 "extra argument" -- "$TRUSTNET" user list --store "$STORE" extra
expect_exit 2 "unreadable password file" -- \
    "$TRUSTNET" user add --store "$STORE" erin@corp.test --password-file "$TMP/missing"
: >"$TMP/empty"
expect_exit 2 "empty password" -- \
    "$TRUSTNET" user add --store "$STORE" erin@corp.test --password-file "$TMP/empty"
head -c 2000 /dev/zero | tr '\0' x >"$TMP/long"
expect_exit 2 "password too long" -- \
    "$TRUSTNET" user add --store "$STORE" erin@corp.test --password-file "$TMP/long"
expect_exit 1 "list of a missing store" -- "$TRUSTNET" user list --store "$TMP/none.db"
if [ -e "$TMP/none.db" ]; then not_ok "list does not create a store"; else ok "list does not create a store"; fi

# ---- a store others can read is refused
cp "$STORE" "$TMP/open.db"
chmod 644 "$TMP/open.db"
expect_exit 1 "a world-readable store is refused" -- "$TRUSTNET" user list --store "$TMP/open.db"
expect_grep "chmod 600" "$LAST_OUT" "the refusal says how to fix it"
printf 'not a database, just some text that is long enough to matter.....\n' >"$TMP/text.db"
chmod 600 "$TMP/text.db"
expect_exit 1 "a file that is not a store is refused" -- "$TRUSTNET" user list --store "$TMP/text.db"
