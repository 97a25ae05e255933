#!/bin/bash
# Users who authenticate with a client certificate instead of a password:
# a certificate from the enterprise CA for client use (clientAuth only)
# whose subjectAltName is the user's SIP URI (URI:sip:alice@corp.test).
#   baresip presents alice's certificate and REGISTERs alice without a
#     password: 200; the log names the certificate's user;
#   the same certificate does not make its holder bob (401), nor any user
#     its URI does not name exactly (another domain, a port, a parameter);
#   a MESSAGE from alice on her certificate's connection is not challenged,
#     one from bob on it is;
#   no certificate, a revoked one, one from another CA, one naming a user
#     not in the store, and alice's after `trustnet user del`: no 200.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

if ! command -v baresip >/dev/null; then
    not_ok "baresip is installed" "install it (make deps)"
    exit 0
fi

sip_setup 127.0.0.24 5061 || exit 1
sip_user alice alice-pw
sip_user bob bob-pw

# user_cert CADIR NAME SAN...: a client certificate NAME.pem/.key in $TMP,
# and NAME.both (certificate then key: baresip reads both from one file).
user_cert() {
    local ca=$1 name=$2 san=() s
    shift 2
    for s in "$@"; do san+=(--san "$s"); done
    "$TRUSTNET" ca issue --dir "$ca" "$name.users.corp.test" --client "${san[@]}" \
        --out "$TMP/$name" >/dev/null &&
        cat "$TMP/$name.pem" "$TMP/$name.key" >"$TMP/$name.both"
}
user_cert "$TMP/ca" alice URI:sip:alice@corp.test
user_cert "$TMP/ca" alice-revoked URI:sip:alice@corp.test
user_cert "$TMP/ca" alice-elsewhere URI:sip:alice@other.test
user_cert "$TMP/ca" alice-port URI:sip:alice@corp.test:5061
user_cert "$TMP/ca" alice-param "URI:sip:alice@corp.test;transport=tls"
user_cert "$TMP/ca" carol URI:sip:carol@corp.test
"$TRUSTNET" ca revoke --dir "$TMP/ca" "$TMP/alice-revoked.pem" >/dev/null
"$TRUSTNET" ca init --dir "$TMP/other-ca" --name "Other CA" --org Other >/dev/null
user_cert "$TMP/other-ca" alice-other URI:sip:alice@corp.test
sip_start || { not_ok "trustnet serve starts"; sed 's/^/#   /' "$SIP_LOG"; exit 1; }

# register USER [CERT]: REGISTER for USER@corp.test without credentials
# over TLS (Python's ssl, i.e. OpenSSL), presenting $TMP/CERT.pem if
# given; STATUS is the answer's status code, or "none".
register() {
    local args=()
    [ -n "${2:-}" ] && args=(--cert "$TMP/$2.pem" --key "$TMP/$2.key")
    LAST_OUT="$TMP/register-$1-${2:-nocert}.out"
    sip_client "${args[@]}" \
        "send:REGISTER sip:corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK-$RANDOM$RANDOM\r\nFrom: <sip:$1@corp.test>;tag=$RANDOM\r\nTo: <sip:$1@corp.test>\r\nCall-ID: reg-$RANDOM$RANDOM@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:$1@127.0.0.1:5099;transport=tls>\r\nExpires: 60\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n" \
        "expect:SIP/2.0 [0-9]{3} " >"$LAST_OUT" 2>&1
    STATUS=$(grep -o -m1 "matched: b\\?'SIP/2.0 [0-9]*" "$LAST_OUT" | grep -o "[0-9]*$")
    STATUS=${STATUS:-none}
}

status_is() { # CODES DESCRIPTION: STATUS is one of CODES ("401" or "401|none")
    if [[ "$STATUS" =~ ^($1)$ ]]; then ok "$2"; else
        not_ok "$2" "answer $STATUS; $(grep -m2 -E 'failed|cannot' "$LAST_OUT")"
    fi
}

# baresip_register USER CERT: baresip registers USER@corp.test presenting
# $TMP/CERT.both and no password (this baresip never checks the server's
# certificate: other tests prove that part); its output in $LAST_OUT.
baresip_register() {
    local bs="$TMP/baresip-$1"
    mkdir -p "$bs"
    printf '%s\n' "module_path /usr/lib/baresip/modules" "net_interface 127.0.0.1" \
        "sip_cafile $SIP_CA" "sip_certificate $TMP/$2.both" "audio_player aubridge,nil" \
        "audio_source aubridge,nil" "module g711.so" "module_app account.so" \
        "module_app menu.so" >"$bs/config"
    echo "<sip:$1@corp.test;transport=tls>;outbound=\"sip:127.0.0.24:5061;transport=tls\";regint=600" \
        >"$bs/accounts"
    LAST_OUT="$TMP/baresip-$1.out"
    HOME="$bs" timeout 20 baresip -f "$bs" -t 2 </dev/null >"$LAST_OUT" 2>&1
}

# ---- alice's certificate authenticates alice -------------------------------------
sip_log_mark
baresip_register alice alice
expect_grep "alice@corp.test: \{0/TLS/v4\} 200 OK" "$LAST_OUT" \
    "baresip: alice's client certificate registers alice without a password"
if sip_wait_log "accepted: a user's client certificate naming sip:alice@corp.test" 5; then
    ok "the connection's log line names the certificate's SIP user"
else
    not_ok "the connection's log line names the certificate's SIP user" \
        "$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" | grep -m3 'tls:')"
fi
expect_grep "alice@corp.test authenticated \(client certificate\)" "$SIP_LOG" \
    "the log says alice was authenticated by her certificate"
register alice alice
status_is 200 "OpenSSL client: alice's certificate registers alice too"
expect_exit 0 "trustnet user list runs" -- "$TRUSTNET" user list --store "$SIP_STORE"
expect_grep "^alice@corp.test .* [12]$" "$LAST_OUT" "the store holds alice's registrations"

# ---- it names alice and nobody else ----------------------------------------------------
# (baresip answers the 401 with an empty password: 403)
baresip_register bob alice
expect_grep "sip:bob@corp.test: 40[13] " "$LAST_OUT" \
    "baresip: alice's certificate does not register bob"
register bob alice
status_is 401 "alice's certificate does not register bob: 401"
register alice alice-elsewhere
status_is 401 "a certificate for sip:alice@other.test is not alice@corp.test: 401"
register alice alice-port
status_is 401 "a certificate URI with a port names no user: 401"
register alice alice-param
status_is 401 "a certificate URI with parameters names no user: 401"
register alice
status_is 401 "without a certificate alice is challenged: 401"

# ---- a MESSAGE on the certificate's connection ------------------------------------------
# bob has no binding: a MESSAGE that passed authentication gets 480.
expect_exit 0 "a MESSAGE from alice on her certificate's connection is not challenged (480, bob offline)" -- \
    sip_client --cert "$TMP/alice.pem" --key "$TMP/alice.key" \
    "send:MESSAGE sip:bob@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5098;branch=z9hG4bK-m$RANDOM\r\nFrom: <sip:alice@corp.test>;tag=m$RANDOM\r\nTo: <sip:bob@corp.test>\r\nCall-ID: m$RANDOM@test\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi" \
    "expect:SIP/2.0 480 "
expect_exit 0 "a MESSAGE from bob on alice's certificate's connection is challenged (407)" -- \
    sip_client --cert "$TMP/alice.pem" --key "$TMP/alice.key" \
    "send:MESSAGE sip:alice@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5098;branch=z9hG4bK-b$RANDOM\r\nFrom: <sip:bob@corp.test>;tag=b$RANDOM\r\nTo: <sip:alice@corp.test>\r\nCall-ID: b$RANDOM@test\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi" \
    "expect:SIP/2.0 407 "

# ---- certificates that must not authenticate ------------------------------------------
sip_log_mark
register alice alice-revoked
status_is "401|none" "a revoked certificate for alice does not register her"
if sip_wait_log "tls: .*verdict=refused: .*revoked" 5; then
    ok "the revoked certificate's handshake is refused and logged as revoked"
else
    not_ok "the revoked certificate's handshake is refused and logged as revoked" \
        "$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" | grep -m3 'tls:')"
fi
sip_log_mark
register alice alice-other
status_is "401|none" "a certificate for alice from another CA does not register her"
if sip_wait_log "tls: .*verdict=refused: issuer not trusted" 5; then
    ok "the other CA's certificate is refused and logged (issuer not trusted)"
else
    not_ok "the other CA's certificate is refused and logged (issuer not trusted)" \
        "$(tail -n +$((SIP_LOG_MARK + 1)) "$SIP_LOG" | grep -m3 'tls:')"
fi
register carol carol
status_is "401|403|404" "a certificate for carol, who is not in the store, does not register carol"
"$TRUSTNET" user del --store "$SIP_STORE" alice@corp.test >/dev/null
sleep 6 # the server's credential cache keeps an entry 5 s
register alice alice
status_is "401|403|404" "after 'trustnet user del alice' her certificate no longer registers her"

sip_stop TERM
if [ "$SIP_RC" = 0 ]; then ok "SIGTERM: the server exits 0"; else
    not_ok "SIGTERM: the server exits 0" "exit status $SIP_RC"; fi
