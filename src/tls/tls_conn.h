/*
 * tls_conn.h - TLS configurations and connections: the only way trustnet
 * makes TLS.  Shaped after libtls: a shared configuration (tls_config) and
 * a per-connection object (tls_conn) that upgrades an existing socket, so
 * STARTTLS is the same call as a TLS listener.
 *
 * Secure by default: the policy of tls_policy.h, verification of the peer
 * on every client connection, a one-line reason for every verdict.
 * Non-blocking sockets work: calls return TLS_IO_WANT_READ/WRITE.
 */
#ifndef TN_TLS_CONN_H
#define TN_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "tls/tls_trust.h"
#include "tls/tls_verify.h"

#define TLS_MAX_IDENTITIES 16

typedef struct tls_config tls_config;
typedef struct tls_conn tls_conn;

enum tls_side { TLS_SIDE_CLIENT, TLS_SIDE_SERVER };

enum tls_client_auth {
    TLS_CLIENT_CERT_NONE,     /* do not ask clients for a certificate */
    TLS_CLIENT_CERT_OPTIONAL, /* ask; verify one if given (shared listener) */
    TLS_CLIENT_CERT_REQUIRED, /* mutual TLS: no valid certificate, no session */
};

/* TLS_IO_CLOSED: the peer ended the session (close_notify);
 * TLS_IO_TRUNCATED: after the handshake, the peer closed the TCP
 * connection without close_notify (careless clients do; so would an
 * attacker cutting the stream short). */
enum tls_io {
    TLS_IO_OK,
    TLS_IO_WANT_READ,
    TLS_IO_WANT_WRITE,
    TLS_IO_CLOSED,
    TLS_IO_TRUNCATED,
    TLS_IO_ERROR
};

tls_config *tls_config_new(enum tls_side side, tn_err *err);
void tls_config_free(tls_config *cfg);

/* Our certificate (PEM chain, leaf first) and key.  A server may have
 * several: the first is the default, the others are chosen when the
 * client's SNI names them.  A client uses one for mutual TLS. */
int tls_config_add_identity(tls_config *cfg, const char *cert_file, const char *key_file,
                            tn_err *err);

/* The store that peers are verified against (borrowed, must outlive cfg). */
void tls_config_set_trust(tls_config *cfg, tls_trust *trust);
/* The same, but cfg owns the store and frees it with itself. */
void tls_config_own_trust(tls_config *cfg, tls_trust *trust);
void tls_config_set_client_auth(tls_config *cfg, enum tls_client_auth mode);
/* Advisory verification (opportunistic TLS, RFC 7435): the peer is judged
 * as usual and the verdict with its reason is kept for the log and for the
 * caller's policy, but a peer that fails never fails the handshake.  The
 * caller then decides (tls_conn_peer_trusted) what the session may do. */
void tls_config_set_verify_advisory(tls_config *cfg, bool advisory);

/* Start TLS on a connected socket fd (not closed by tls_conn_free).  A
 * client sends expect->name as SNI (unless it is an IP literal) and checks
 * the server against it; a server checks client certificates with
 * expect (role TLS_PEER_CLIENT; name NULL to accept any name). */
tls_conn *tls_conn_new_client(tls_config *cfg, int fd, const struct tls_expect *expect,
                              tn_err *err);
tls_conn *tls_conn_new_server(tls_config *cfg, int fd, const struct tls_expect *expect,
                              tn_err *err);
void tls_conn_free(tls_conn *conn);

enum tls_io tls_conn_handshake(tls_conn *conn);
enum tls_io tls_conn_read(tls_conn *conn, void *buf, size_t len, size_t *got);
enum tls_io tls_conn_write(tls_conn *conn, const void *buf, size_t len, size_t *put);
/* After a client handshake: wait up to timeout_ms for the server's first
 * bytes or alert.  In TLS 1.3 a server judges our client certificate after
 * our handshake has finished, so its refusal arrives here.  TLS_IO_OK when
 * no refusal came (failure reason set otherwise). */
enum tls_io tls_conn_confirm(tls_conn *conn, int timeout_ms);
/* Bytes already read from the socket but not yet returned (read-ahead). */
bool tls_conn_has_pending(const tls_conn *conn);
/* Send close_notify (best effort). */
void tls_conn_close(tls_conn *conn);

/* Connection facts, valid after the handshake. */
const char *tls_conn_version(const tls_conn *conn);   /* "TLSv1.3" */
const char *tls_conn_cipher(const tls_conn *conn);    /* "TLS_AES_128_GCM_SHA256" */
const char *tls_conn_group(const tls_conn *conn);     /* "X25519" */
bool tls_conn_forward_secret(const tls_conn *conn);
/* The verdict on the peer's certificate (also after a failed handshake). */
const struct tls_verdict *tls_conn_verdict(const tls_conn *conn);
/* Why the handshake failed: the verdict's reason or the protocol problem,
 * e.g. "peer offered only TLS 1.1". */
const char *tls_conn_failure(const tls_conn *conn);
/* The peer's leaf certificate, or NULL (borrowed). */
X509 *tls_conn_peer_cert(const tls_conn *conn);

/* The chain the peer's certificate was verified along, leaf first and the
 * trust anchor last (borrowed; NULL when there was none). */
STACK_OF(X509) *tls_conn_verified_chain(const tls_conn *conn);

/* The certificates the peer presented, leaf first, as sent (unverified;
 * for judging against another trust store with tls_chain_check).  A new
 * stack the caller frees with sk_X509_pop_free(..., X509_free); NULL when
 * the peer sent none. */
STACK_OF(X509) *tls_conn_peer_chain(const tls_conn *conn);

/* The peer's certificate was verified and trusted (kept after release). */
bool tls_conn_peer_trusted(const tls_conn *conn);

/* Free what only the handshake and its log line need (verdict texts, the
 * verified chain): call once the connection is up and logged.  Afterwards
 * tls_conn_verdict() and tls_conn_failure() give short placeholders. */
void tls_conn_release_diagnostics(tls_conn *conn);

/* The one log line for this connection: peer address, TLS version,
 * cipher, peer certificate and verdict with its reason. */
void tls_conn_describe(const tls_conn *conn, const char *peer_addr, char *buf, size_t len);
/* The same with the final verdict decided above TLS (who the verified peer
 * is, or why it is refused), e.g. "refused: DNS:fe9.corp.example is not a
 * server in the topology"; NULL keeps the TLS verdict. */
void tls_conn_describe_as(const tls_conn *conn, const char *peer_addr, const char *verdict,
                          char *buf, size_t len);

#endif
