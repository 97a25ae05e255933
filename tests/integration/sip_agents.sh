#!/bin/bash
# Real TLS user agents against the SIP front end, in a network namespace
# of our own (only loopback; /etc/netns/NS/hosts names the server
# fe1.corp.test; no name server answers, so nothing leaks):
#   linphone-daemon, which verifies the server certificate (CA and name):
#     alice and bob register over TLS and exchange MESSAGEs; the same
#     client refuses a server whose certificate is from another CA or
#     names another host;
#   baresip (does not check certificates) registers and sends a MESSAGE
#     to bob;
#   sipsak (GnuTLS, -vvv to check the certificate) sends OPTIONS: 200.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"
. "$(dirname "$0")/linphone_lib.sh"

for tool in linphone-daemon baresip sipsak ip; do
    if ! command -v "$tool" >/dev/null; then
        not_ok "$tool is installed" "install it (make deps)"
        exit 0
    fi
done

if ! ln_netns "127.0.0.22 fe1.corp.test" "127.0.0.22 wrong.corp.test"; then
    not_ok "a network namespace can be created (needs root)"
    exit 0
fi

sip_setup 127.0.0.22 5061 || exit 1
sip_user alice alice-pw
sip_user bob bob-pw
sip_user carol carol-pw
sip_start || { not_ok "trustnet serve starts"; sed 's/^/#   /' "$SIP_LOG"; exit 1; }
# Another enterprise's CA, which the clients must not accept for us.
"$TRUSTNET" ca init --dir "$TMP/other-ca" --name "Other CA" --org Other >/dev/null

# ---- linphone-daemon ------------------------------------------------------------
sip_log_mark
ln_start bob bob@corp.test "$SIP_CA" fe1.corp.test 17100
ln_start alice alice@corp.test "$SIP_CA" fe1.corp.test 17200
# Certificate checks: a server certificate from another CA; a name that
# is not in the certificate (wrong.corp.test is the same address).
ln_start badca alice@corp.test "$TMP/other-ca/ca.pem" fe1.corp.test 17300
ln_start badname alice@corp.test "$SIP_CA" wrong.corp.test 17400
for who in bob alice; do
    if sip_wait_log "registrar: .* $who@corp.test: [1-9] binding" 10; then
        ok "linphone: $who registers over TLS (server certificate verified)"
    else
        not_ok "linphone: $who registers over TLS (server certificate verified)"
    fi
done
for who in bob alice; do
    if ln_registered "$who"; then ok "linphone: $who reports LinphoneRegistrationOk"; else
        not_ok "linphone: $who reports LinphoneRegistrationOk" \
            "$(grep -o "State: LinphoneRegistration[A-Za-z]*" "$TMP/ln-$who/out" | tail -3)"
    fi
done
expect_grep "alice@corp.test authenticated \(SHA-256\)" "$SIP_LOG" \
    "linphone authenticates with SHA-256 digest (RFC 8760)"

ln_cmd alice "message sip:bob@corp.test hello-bob-from-linphone"
ln_check bob 'Content: "hello-bob-from-linphone"' 5 "linphone: bob receives alice's MESSAGE"
ln_check alice "LinphoneChatMessageStateDelivered" 5 "linphone: alice's MESSAGE is delivered (200)"
ln_cmd bob "message sip:alice@corp.test hello-alice-from-linphone"
ln_check alice 'Content: "hello-alice-from-linphone"' 5 "linphone: alice receives bob's answer"

# By now the two bad clients have tried (they started with the others).
for bad in badca badname; do
    ln_cmd "$bad" "register-status ALL"
done
sleep 0.5
if grep -q "LinphoneRegistrationOk" "$TMP/ln-badca/out"; then
    not_ok "linphone refuses a server certificate from another CA"
else
    ok "linphone refuses a server certificate from another CA"
fi
if grep -q "LinphoneRegistrationOk" "$TMP/ln-badname/out"; then
    not_ok "linphone refuses a server certificate that names another host"
else
    ok "linphone refuses a server certificate that names another host"
fi
# Only alice's and bob's clients registered: two REGISTER-answering
# connections; the bad ones ended in the handshake.
n=$(grep -c "verdict=refused: .*\(alert\|certificate\|closed\)" "$SIP_LOG")
if [ "$n" -ge 2 ]; then
    ok "server: the refused handshakes are logged ($n)"
else
    not_ok "server: the refused handshakes are logged" "$n lines"
    grep "tls: peer" "$SIP_LOG" | sed 's/^/#   /'
fi
for bad in badca badname; do ln_stop "$bad"; done

# ---- baresip: register and MESSAGE bob -----------------------------------------------
BS="$TMP/baresip"
mkdir -p "$BS"
cat >"$BS/config" <<EOF
module_path /usr/lib/baresip/modules
net_interface 127.0.0.1
sip_cafile $SIP_CA
audio_player aubridge,nil
audio_source aubridge,nil
module g711.so
module_app account.so
module_app contact.so
module_app menu.so
EOF
echo "<sip:carol@corp.test;transport=tls>;auth_pass=carol-pw;outbound=\"sip:127.0.0.22:5061;transport=tls\";regint=600" \
    >"$BS/accounts"
echo '"Bob" <sip:bob@corp.test>' >"$BS/contacts"
HOME="$BS" timeout 20 "${IN_NS[@]}" baresip -f "$BS" -e $'/message hello-bob-from-baresip\n' -t 3 \
    </dev/null >"$TMP/baresip.out" 2>&1
expect_grep "carol@corp.test: \{0/TLS/v4\} 200 OK" "$TMP/baresip.out" "baresip: carol registers over TLS"
ln_check bob 'Content: "hello-bob-from-baresip"' 5 "baresip: bob receives carol's MESSAGE"
expect_grep "From: sip:carol@corp.test" "$TMP/ln-bob/out" "baresip: the MESSAGE is from carol"
ln_stop alice
ln_stop bob

# ---- sipsak: OPTIONS over TLS ----------------------------------------------------------
# -vvv makes sipsak check the certificate; -r keeps the port out of the
# checked name.
expect_exit 0 "sipsak: OPTIONS over TLS with the certificate checked gets 200" -- \
    timeout 10 "${IN_NS[@]}" sipsak -vvv -s sip:fe1.corp.test -r 5061 --transport=tls \
    --tls-ca-cert="$SIP_CA"
expect_grep "SIP/2.0 200 OK" "$LAST_OUT" "sipsak: the answer is 200 OK"
# sipsak's exit status 3: an error other than a SIP answer.
expect_exit 3 "sipsak: a server certificate from another CA is refused" -- \
    timeout 10 "${IN_NS[@]}" sipsak -vvv -s sip:fe1.corp.test -r 5061 --transport=tls \
    --tls-ca-cert="$TMP/other-ca/ca.pem"
expect_grep "The certificate is not trustworthy" "$LAST_OUT" "sipsak: says why"

sip_stop TERM
if [ "$SIP_RC" = 0 ]; then ok "SIGTERM: the server exits 0"; else
    not_ok "SIGTERM: the server exits 0" "exit status $SIP_RC"; fi
