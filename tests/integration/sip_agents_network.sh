#!/bin/bash
# Real TLS user agents (linphone-daemon) across pools and organisations,
# each verifying its server's certificate (its own organisation's CA, the
# server's DNS name) in a network namespace of our own:
#   corp.test: pool1 (fe1: alice), pool2 (fe2: carol), an edge;
#   partner.test, with its own CA: fe (bob), an edge.
# alice and carol exchange MESSAGEs and make a call (fe1 <-> fe2 over
# mutual TLS); alice and bob do the same through both edges (corp's edge
# <-> partner's edge over federation mutual TLS).  The servers' logs show
# that every hop crossed the expected servers, with their verified
# certificate identities.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"
. "$(dirname "$0")/linphone_lib.sh"

for tool in linphone-daemon ip; do
    if ! command -v "$tool" >/dev/null; then
        not_ok "$tool is installed" "install it (make deps)"
        exit 0
    fi
done
C_FE1=127.0.0.141 C_FE2=127.0.0.142 C_EDGE=127.0.0.143 P_FE=127.0.0.145 P_EDGE=127.0.0.146
if ! ln_netns "$C_FE1 fe1.corp.test" "$C_FE2 fe2.corp.test" "$P_FE fe.partner.test"; then
    not_ok "a network namespace can be created (needs root)"
    exit 0
fi
cd "$TMP" || exit 1
T="$TRUSTNET"
sip_federation_pki fe1.corp.test fe2.corp.test edge.corp.test fe.partner.test edge.partner.test ||
    { not_ok "set up both organisations' CAs"; exit 1; }

# server FQDN ADDR [federation_listen]: one server entry of a topology.
server() {
    printf '          - fqdn: %s\n            roles: [%s]\n            sip_listen: %s:5061\n' \
        "$1" "$([ $# -gt 2 ] && echo edge || echo frontend)" "$2"
    [ $# -gt 2 ] && printf '            federation_listen: %s:5062\n' "$3"
    printf '            certificate: %s.pem\n            key: %s.key\n            workers: 2\n' \
        "${1%%.*}" "${1%%.*}"
}
# organisation DIR DOMAIN PARTNER-NAME PARTNER-DOMAIN PARTNER-EDGE-ADDR POOLS...:
# DIR/topology.yaml with these pools (from pool) and the users in $USERS
# ("ADDRESS:POOL ..."), federated with one partner.
organisation() {
    local dir=$1 domain=$2 pname=$3 pdomain=$4 paddr=$5
    shift 5
    {
        printf 'version: 1\norganisation: %s\nsip:\n  domains: [%s]\n' "$domain" "$domain"
        printf 'trust:\n  ca: ca/ca.pem\n  crls: [ca/crl.pem]\nstore: store.sqlite\n'
        printf 'sites:\n  - name: main\n    pools:\n'
        printf '%s\n' "$@"
        printf 'users:\n'
        local u
        for u in $USERS; do printf '  - address: %s\n    pool: %s\n' "${u%%:*}" "${u#*:}"; done
        printf 'federation:\n  - name: %s\n    domains: [%s]\n    edge: edge.%s\n' \
            "$pname" "$pdomain" "$pdomain"
        printf '    edge_address: %s:5062\n    root_ca: %s-root.pem\n' "$paddr" "$pname"
    } >"$dir/topology.yaml"
}
pool() { printf '      - fqdn: %s\n        servers:\n%s' "$1" "$2"; }
USERS="alice@corp.test:pool1.corp.test carol@corp.test:pool2.corp.test" organisation corp \
    corp.test partner partner.test $P_EDGE \
    "$(pool pool1.corp.test "$(server fe1.corp.test $C_FE1)")" \
    "$(pool pool2.corp.test "$(server fe2.corp.test $C_FE2)")" \
    "$(pool edgepool.corp.test "$(server edge.corp.test $C_EDGE $C_EDGE)")"
USERS="bob@partner.test:pool1.partner.test" organisation partner partner.test corp corp.test $C_EDGE \
    "$(pool pool1.partner.test "$(server fe.partner.test $P_FE)")" \
    "$(pool edgepool.partner.test "$(server edge.partner.test $P_EDGE $P_EDGE)")"
for org in corp partner; do
    "$T" ca crl --dir $org/ca >/dev/null
    expect_exit 0 "$org's topology is valid" -- "$T" topology check $org/topology.yaml
done
for u in alice@corp.test carol@corp.test; do
    printf '%s-pw\n' "${u%@*}" | "$T" user add --store corp/store.sqlite "$u" >/dev/null
done
printf 'bob-pw\n' | "$T" user add --store partner/store.sqlite bob@partner.test >/dev/null

sip_serve corp/topology.yaml fe1.corp.test $C_FE1
sip_serve corp/topology.yaml fe2.corp.test $C_FE2
sip_serve corp/topology.yaml edge.corp.test $C_EDGE
sip_serve partner/topology.yaml fe.partner.test $P_FE
sip_serve partner/topology.yaml edge.partner.test $P_EDGE

# hop LOG WHO REQUEST DESCRIPTION: the server of LOG got REQUEST ("MESSAGE
# sip:carol@") on a connection whose TLS line verified the peer as WHO (a
# regex on its verdict): the request crossed that mutual TLS hop.
hop() {
    local log="$TMP/$1.log" who=$2 req=$3 what=$4 peer
    for peer in $(grep -E "tls: peer=[^ ]+ .*verdict=trusted: ($who)" "$log" |
        sed -E 's/.*tls: peer=([^ ]+) .*/\1/'); do
        if grep -Fq "sip: peer=$peer -> $req" "$log"; then
            ok "$what"
            return
        fi
    done
    not_ok "$what" "$1 got no '$req' from a peer verified as: $who" \
        "$(grep -E "tls: peer=|sip: peer=.* -> " "$log" | grep -v REGISTER | tail -12)"
}
FE1="peer is server fe1.corp.test of the topology \(mutual TLS\)"
FE2="peer is server fe2.corp.test of the topology \(mutual TLS\)"
C_EDGE_IN="peer is server edge.corp.test of the topology \(mutual TLS\)"
P_EDGE_IN="peer is server edge.partner.test of the topology \(mutual TLS\)"
# Federation: whichever edge opened the connection, each verified the other.
edge_of() { # PARTNER: its edge, verified against its root by ours
    echo "peer is the edge edge.$1.test of partner $1|connected to partner $1's edge edge.$1.test"
}
CORP_EDGE=$(edge_of corp)
PARTNER_EDGE=$(edge_of partner)

# message FROM TO-AOR TEXT: FROM sends, the recipient gets exactly TEXT
# from FROM's address, and FROM sees it delivered.
message() {
    local from=$1 to=$2 text=$3 who=${2%@*} sender
    sender=$(sed -n 's/^reg_identity=//p' "$TMP/ln-$from/rc")
    ln_mark "$from"
    ln_mark "$who"
    ln_cmd "$from" "message sip:$to $text"
    ln_check "$who" "^Content: \"$text\"$" 5 "MESSAGE $from -> $who: received with the exact text"
    ln_check "$who" "^From: $sender$" 1 "MESSAGE $from -> $who: from $sender"
    ln_check "$from" "LinphoneChatMessageStateDelivered" 5 "MESSAGE $from -> $who: delivered (200)"
}

# call CALLER CALLEE-AOR HANGS-UP: answered, streams running on both
# sides, then HANGS-UP ends it and both see the end.
call() {
    local a=$1 b=${2%@*} bye=$3 other name
    other=$([ "$3" = "$a" ] && echo "$b" || echo "$a")
    name="call $a -> $b ($bye hangs up)"
    ln_mark "$a"
    ln_mark "$b"
    ln_cmd "$a" "call sip:$2"
    ln_check "$b" "Event: LinphoneCallIncomingReceived" 5 "$name: rings at $b"
    ln_cmd "$b" "answer"
    for who in "$a" "$b"; do
        ln_check "$who" "Event: LinphoneCallStreamsRunning" 5 \
            "$name: connected, streams running at $who"
    done
    ln_mark "$a"
    ln_mark "$b"
    ln_cmd "$bye" "terminate"
    for who in "$bye" "$other"; do
        ln_check "$who" "Event: LinphoneCallReleased" 5 "$name: ended at $who"
    done
    if grep -q "LinphoneCallError" "$TMP/ln-$a/out" "$TMP/ln-$b/out"; then
        not_ok "$name: no call error on either side"
    else
        ok "$name: no call error on either side"
    fi
}

# Every wait below ends by then, even when nothing works.
LN_DEADLINE=$((SECONDS + 45))
ln_start alice alice@corp.test "$TMP/corp/ca/ca.pem" fe1.corp.test 17500
ln_start carol carol@corp.test "$TMP/corp/ca/ca.pem" fe2.corp.test 17600
ln_start bob bob@partner.test "$TMP/partner/ca/ca.pem" fe.partner.test 17700
for ua in alice:fe1.corp.test carol:fe2.corp.test bob:fe.partner.test; do
    who=${ua%%:*} home=${ua#*:}
    if ln_registered "$who"; then
        ok "$who registers at $home over TLS (LinphoneRegistrationOk)"
    else
        not_ok "$who registers at $home over TLS (LinphoneRegistrationOk)" \
            "$(grep -o "State: LinphoneRegistration[A-Za-z]*" "$TMP/ln-$who/out" | tail -3)"
    fi
    expect_grep "registrar: peer=127.0.0.1:[0-9]+ $who@[a-z.]+: 1 binding" "$TMP/$home.log" \
        "$home holds $who's registration (the home pool's server)"
done

# ---- across pools: fe1 <-> fe2 ----------------------------------------------------------
message alice carol@corp.test "hello carol, alice from pool 1 here"
hop fe2.corp.test "$FE1" "MESSAGE sip:carol@corp.test" "alice's MESSAGE reached fe2 from fe1 (mutual TLS)"
message carol alice@corp.test "hi alice, carol from pool 2 answering"
hop fe1.corp.test "$FE2" "MESSAGE sip:alice@corp.test" "carol's MESSAGE reached fe1 from fe2 (mutual TLS)"
call alice carol@corp.test alice
hop fe2.corp.test "$FE1" "INVITE sip:carol@corp.test" "the INVITE reached fe2 from fe1"
hop fe2.corp.test "$FE1" "BYE sip:carol@" "the BYE followed the Record-Routes through fe1 to fe2"

# ---- across organisations: fe1 -> corp's edge -> partner's edge -> fe -------------------
message alice bob@partner.test "hello bob, alice from corp here"
hop edge.corp.test "$FE1" "MESSAGE sip:bob@partner.test" "alice's MESSAGE reached corp's edge from fe1"
hop edge.partner.test "$CORP_EDGE" "MESSAGE sip:bob@partner.test" \
    "... then partner's edge from corp's edge (federation MTLS, verified against corp's root)"
hop fe.partner.test "$P_EDGE_IN" "MESSAGE sip:bob@partner.test" "... then bob's server from partner's edge"
message bob alice@corp.test "hi alice, bob from partner answering"
hop edge.corp.test "$PARTNER_EDGE" "MESSAGE sip:alice@corp.test" \
    "bob's MESSAGE reached corp's edge from partner's edge (verified against partner's root)"
hop fe1.corp.test "$C_EDGE_IN" "MESSAGE sip:alice@corp.test" "... then fe1 from corp's edge"
# alice hangs up: her BYE follows the route set of the 200 she got, which
# the edge restored for the inside (fe1, then corp's edge, then partner's).
call alice bob@partner.test alice
hop edge.partner.test "$CORP_EDGE" "INVITE sip:bob@partner.test" "alice's INVITE crossed both edges"
hop fe.partner.test "$P_EDGE_IN" "INVITE sip:bob@partner.test" \
    "... then bob's server from partner's edge (INVITE)"
hop edge.corp.test "$FE1" "ACK sip:bob@" "alice's ACK went through fe1 to corp's edge"
hop fe.partner.test "$P_EDGE_IN" "ACK sip:bob@" "... and through partner's edge to bob's server"
hop edge.partner.test "$CORP_EDGE" "BYE sip:bob@" "alice's BYE crossed both edges"
hop fe.partner.test "$P_EDGE_IN" "BYE sip:bob@" "... then bob's server from partner's edge (BYE)"
# bob hangs up: his BYE reaches alice through the contacts the edge keeps.
call alice bob@partner.test bob
hop edge.corp.test "$PARTNER_EDGE" "BYE sip:alice@" "bob's BYE crossed partner's edge to corp's edge"
hop fe1.corp.test "$C_EDGE_IN" "BYE sip:alice@" "... then to alice's server"

for who in alice carol bob; do ln_stop "$who"; done
for s in fe1.corp.test fe2.corp.test edge.corp.test fe.partner.test edge.partner.test; do
    SIP_PID=${SIP_PIDS[$s]}
    sip_stop TERM
    if [ "$SIP_RC" = 0 ]; then ok "SIGTERM: $s exits 0"; else
        not_ok "SIGTERM: $s exits 0" "exit status $SIP_RC" "$(tail -5 "$s.log")"
    fi
done
