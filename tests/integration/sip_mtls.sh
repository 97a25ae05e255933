#!/bin/bash
# Mutual TLS on the front end's listener: a certificate for server use
# makes the peer one of our servers only when it names a server of the
# topology; a valid enterprise certificate for any other name is refused
# ("... is not a server in the topology"); a client-only certificate never
# makes a server (its holder still authenticates with digest).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sip_lib.sh"

cd "$TMP" || exit 1
sip_setup 127.0.0.31 || { not_ok "set up CA, certificate and topology"; exit 1; }
"$TRUSTNET" ca issue --dir ca fe2.corp.test --out fe2 >/dev/null
"$TRUSTNET" ca issue --dir ca fe9.corp.test --out fe9 >/dev/null
"$TRUSTNET" ca issue --dir ca alice.corp.test --client --out alice-cert >/dev/null
"$TRUSTNET" ca init --dir evil --name "Evil CA" >/dev/null
"$TRUSTNET" ca issue --dir evil fe2.corp.test --out evil-fe2 >/dev/null
cat >>"$SIP_TOPO" <<YAML
      - fqdn: pool2.corp.test
        servers:
          - fqdn: fe2.corp.test
            roles: [frontend]
            sip_listen: 127.0.0.32:5061
            certificate: fe2.pem
            key: fe2.key
YAML
sip_user alice alice-pw
sip_start || { not_ok "trustnet serve starts"; exit 1; }

MSG='MESSAGE sip:nobody@corp.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-m{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@corp.test>;tag=m{n}\r\nTo: <sip:nobody@corp.test>\r\nCall-ID: m{n}@test\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n'

sip_log_mark
expect_exit 0 "a topology server (fe2) is trusted without digest: 404, not 407" -- \
    sip_client --cert fe2.pem --key fe2.key "send:$MSG" 'expect:^SIP/2.0 404 '
expect_exit 0 "a user without a certificate is challenged: 407" -- \
    sip_client "send:$MSG" 'expect:^SIP/2.0 407 '
expect_exit 0 "a client-only certificate stays a user: 407" -- \
    sip_client --cert alice-cert.pem --key alice-cert.key "send:$MSG" 'expect:^SIP/2.0 407 '
expect_exit 0 "a valid enterprise server certificate not in the topology gets no SIP answer" -- \
    sip_client --cert fe9.pem --key fe9.key "send:$MSG" nosip:2
expect_exit 0 "fe2's name under another CA gets no SIP answer" -- \
    sip_client --cert evil-fe2.pem --key evil-fe2.key "send:$MSG" nosip:2
if sip_wait_log "is server fe2.corp.test of the topology \(mutual TLS\)"; then
    ok "the log says which topology server connected"
else
    not_ok "the log says which topology server connected"
fi
if sip_wait_log "verdict=refused: DNS:fe9.corp.test is not a server in the topology"; then
    ok "the log says fe9 is not a server in the topology"
else
    not_ok "the log says fe9 is not a server in the topology"
fi
if sip_wait_log 'cert="CN=fe2.corp.test".*verdict=refused: issuer not trusted: CN=Evil CA'; then
    ok "the log says the impostor's issuer is not trusted"
else
    not_ok "the log says the impostor's issuer is not trusted"
fi
sip_stop
