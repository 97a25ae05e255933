# linphone_lib.sh - linphone-daemon user agents in a network namespace of
# their own (sourced after lib.sh and sip_lib.sh, bash).
#
# linphone asks the system name server even when a hosts entry answers, and
# nothing may leave loopback here: the agents, and the servers they talk
# to, run in a namespace that has only loopback and whose resolv.conf names
# a server that does not answer.
#
#   ln_netns HOSTS-LINES...      create the namespace ($LN_NS, commands run
#                                in it with "${IN_NS[@]}"), its hosts file
#                                localhost plus these lines ("ADDR NAME");
#                                deleted at exit, after every process in it
#                                is stopped; sets SIP_EXEC so that sip_start
#                                runs the server in it
#   ln_start NAME USER@DOMAIN CA PROXYHOST RTPPORT
#                                a daemon for USER (password USER-pw, realm
#                                DOMAIN) registering over TLS at
#                                PROXYHOST:5061, verifying its certificate
#                                against CA and the name PROXYHOST; it reads
#                                commands from a FIFO held open by this
#                                shell, its events go to $TMP/ln-NAME/out
#   ln_cmd NAME COMMAND          one command on its standard input
#   ln_mark NAME                 remember where its output ends now
#   ln_wait NAME REGEX SECS      wait until its output after the mark has a
#                                matching line
#   ln_registered NAME           ask until it reports LinphoneRegistrationOk
#                                (max 15 s)
#   ln_check NAME REGEX SECS DESCRIPTION
#                                ok, or not_ok with its last events
#   ln_stop NAME                 quit (killed after 5 s)
#
# LN_DEADLINE (a $SECONDS value), when set, bounds every wait: a broken
# run still ends in bounded time, each check then failing at once.

# Sourced only: run on its own (tests/run.sh runs every *.sh) it does nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0

declare -A LN_FD LN_PID LN_MARK
LN_NS=
IN_NS=()

ln_netns() {
    LN_NS="tnsip$$"
    ip netns add "$LN_NS" 2>/dev/null || return 1
    ip -n "$LN_NS" link set lo up
    mkdir -p "/etc/netns/$LN_NS"
    printf 'nameserver 127.0.0.1\n' >"/etc/netns/$LN_NS/resolv.conf"
    { printf '127.0.0.1 localhost %s\n' "$(hostname)"; printf '%s\n' "$@"; } >"/etc/netns/$LN_NS/hosts"
    trap ln_exit EXIT
    IN_NS=(ip netns exec "$LN_NS")
    SIP_EXEC=("${IN_NS[@]}")
}

ln_exit() {
    if [ -n "${SIP_KEEP:-}" ]; then
        rm -rf "$SIP_KEEP"
        cp -r "$TMP" "$SIP_KEEP"
    fi
    cleanup
    ip netns del "$LN_NS" 2>/dev/null
    rm -rf "/etc/netns/$LN_NS"
}

ln_start() {
    local name=$1 user=${2%@*} domain=${2#*@} ca=$3 host=$4 rtp=$5 d="$TMP/ln-$1"
    mkdir -p "$d/home/.local/share/linphone"
    cat >"$d/rc" <<EOF
[sip]
root_ca=$ca
verify_server_certs=1
verify_server_cn=1
sip_port=-1
sip_tcp_port=-1
sip_tls_port=-1
default_proxy=0
[rtp]
audio_rtp_port=$rtp
video_rtp_port=$((rtp + 2))
text_rtp_port=$((rtp + 4))
[sound]
playback_dev_id=null
capture_dev_id=null
[proxy_0]
reg_proxy=<sip:$host:5061;transport=tls>
reg_route=<sip:$host:5061;transport=tls;lr>
reg_identity=sip:$user@$domain
reg_expires=600
reg_sendregister=1
[auth_info_0]
username=$user
passwd=$user-pw
realm=$domain
domain=$domain
EOF
    mkfifo "$d/in"
    HOME="$d/home" "${IN_NS[@]}" linphone-daemon --config "$d/rc" --log "$d/log" <"$d/in" >"$d/out" 2>&1 &
    LN_PID[$name]=$!
    LN_MARK[$name]=0
    BG_PIDS+=("$!")
    local fd
    exec {fd}>"$d/in"
    LN_FD[$name]=$fd
}

ln_cmd() { echo "$2" >&"${LN_FD[$1]}"; }

ln_mark() { LN_MARK[$1]=$(wc -l <"$TMP/ln-$1/out"); }

# How many 0.1 s steps a wait of SECS may take (one at least).
ln_steps() {
    local secs=$1
    if [ -n "${LN_DEADLINE:-}" ] && [ $((LN_DEADLINE - SECONDS)) -lt "$secs" ]; then
        secs=$((LN_DEADLINE - SECONDS))
    fi
    [ "$secs" -lt 0 ] && secs=0
    echo $((secs * 10 + 1))
}

ln_wait() {
    local i
    for i in $(seq 1 "$(ln_steps "$3")"); do
        tail -n +$((${LN_MARK[$1]:-0} + 1)) "$TMP/ln-$1/out" | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

ln_stop() {
    local name=$1 pid=${LN_PID[$1]} i
    ln_cmd "$name" quit 2>/dev/null
    exec {LN_FD[$name]}>&-
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# The server's log line comes before its 200 is read: ask the daemon.
ln_registered() {
    local i
    for i in $(seq 1 $(($(ln_steps 15) / 5 + 1))); do
        ln_cmd "$1" "register-status ALL"
        sleep 0.5
        [ "$(grep -o "State: LinphoneRegistration[A-Za-z]*" "$TMP/ln-$1/out" | tail -1)" = \
            "State: LinphoneRegistrationOk" ] && return 0
    done
    return 1
}

ln_check() {
    if ln_wait "$1" "$2" "$3"; then ok "$4"; else
        LAST_OUT="$TMP/ln-$1/events"
        grep -v "soundcard\|127.0.0.1:53\|^$" "$TMP/ln-$1/out" | tail -30 >"$LAST_OUT"
        not_ok "$4" "no line matches: $2"
        LAST_OUT="$TMP/last.out"
    fi
}
