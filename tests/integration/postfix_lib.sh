# postfix_lib.sh - private Postfix instances as test peers (sourced, bash;
# needs root, the postfix package and lib.sh's wait_port).
#
# An instance lives in one directory and touches nothing else: its own
# config_directory (DIR/etc, owned by root), queue (DIR/queue), data
# (DIR/data) and log file (DIR/postfix.log, written by postlogd: no
# syslog).  It receives on one address, never looks up DNS or client
# names, and hands every accepted message to the discard transport, so no
# mail ever leaves it.  Each instance is stopped through its own master
# pid, never by name.  The postfix user must be able to reach DIR: a
# parent made by mktemp -d (mode 0700) needs chmod 755 first.
#
#   postfix_instance DIR NAME ADDR:PORT [MAIN_CF_LINE]...
#       write the instance (myhostname NAME, smtpd on ADDR:PORT); the extra
#       lines set main.cf parameters, replacing the defaults (postconf -e:
#       "smtpd_tls_cert_file = ...", "message_size_limit = 10000")
#   postfix_start DIR        start it and wait until ADDR:PORT accepts
#   postfix_stop DIR         stop it (master pid), wait until it is gone
#   postfix_log DIR          print the log file's path
#   postfix_stop_all         stop every instance this shell started (for
#                            an EXIT trap)

POSTFIX_DIRS=()

postfix_log() { echo "$1/postfix.log"; }

# Every daemon runs unchrooted (the queue is not /var/spool/postfix); the
# rest is Debian's master.cf, less the services a sink does not use (smtp
# stays, for an instance told to send: default_transport = smtp).
_postfix_master_cf() {
    local listen=$1
    cat <<EOF
$listen inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

_postfix_main_cf() {
    local dir=$1 name=$2
    cat <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $name
mydomain = test
myorigin = \$myhostname
inet_protocols = ipv4
inet_interfaces = loopback-only
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
# Loopback only: no DNS, no reverse lookups of clients, nothing delivered.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
default_transport = discard:test sink
local_transport = discard:test sink
relay_transport = discard:test sink
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
EOF
}

postfix_instance() {
    local dir=$1 name=$2 listen=$3 line
    shift 3
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
    chown root:root "$dir/etc" "$dir/queue"
    chown postfix "$dir/data"
    _postfix_master_cf "$listen" >"$dir/etc/master.cf"
    _postfix_main_cf "$dir" "$name" >"$dir/etc/main.cf"
    # An override replaces the default in place: a parameter set twice
    # makes every Postfix program warn as it starts, through postlogd's
    # datagram socket, and postlogd, logging its own such warnings into
    # that socket while it is full (10 datagrams in a fresh netns), blocks
    # for good (seen: a test that hung until its time limit).
    for line in "$@"; do
        postconf -c "$dir/etc" -e "$line" || return 1
    done
    echo "$listen" >"$dir/listen"
    if ! runuser -u postfix -- test -w "$dir/data"; then
        echo "postfix_instance: user postfix cannot reach $dir (a parent mode 0700?)" >&2
        return 1
    fi
    # Creates the queue's subdirectories with their owners and modes.
    postfix -c "$dir/etc" set-permissions >>"$dir/setup.log" 2>&1 ||
        postfix -c "$dir/etc" post-install create-missing >>"$dir/setup.log" 2>&1
    postfix -c "$dir/etc" check >>"$dir/setup.log" 2>&1
}

postfix_start() {
    local dir=$1 listen
    listen=$(cat "$dir/listen")
    if ! postfix -c "$dir/etc" start >>"$dir/setup.log" 2>&1; then
        tail -5 "$(postfix_log "$dir")" >>"$dir/setup.log" 2>/dev/null
        return 1
    fi
    POSTFIX_DIRS+=("$dir")
    wait_port "${listen%:*}" "${listen##*:}"
}

_postfix_master_pid() {
    local f="$1/queue/pid/master.pid"
    [ -s "$f" ] && tr -dc '0-9' <"$f"
}

postfix_stop() {
    local dir=$1 pid i
    pid=$(_postfix_master_pid "$dir")
    postfix -c "$dir/etc" stop >>"$dir/setup.log" 2>&1
    [ -n "$pid" ] || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}

postfix_stop_all() {
    local dir
    for dir in "${POSTFIX_DIRS[@]}"; do postfix_stop "$dir"; done
    POSTFIX_DIRS=()
}
