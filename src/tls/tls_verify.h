/*
 * tls_verify.h - the verdict on a peer's certificate, with its reason.
 *
 * A peer certificate is trusted only when all hold: it chains to the trust
 * store, every certificate of the chain is inside its validity period and
 * (when the store has CRLs) not revoked, keys and signatures meet the
 * security level, the leaf carries the extended key usage of its role, and
 * (when a name is expected) its subjectAltName names the expected peer.
 *
 * The checks run inside the handshake (OpenSSL's verify callback), so a
 * refused peer never gets past it.  Every verdict has a one-line reason.
 */
#ifndef TN_TLS_VERIFY_H
#define TN_TLS_VERIFY_H

#include <stdbool.h>
#include <openssl/ssl.h>

#include "tls/tls_name.h"

enum tls_peer_role {
    TLS_PEER_SERVER, /* the peer must hold serverAuth */
    TLS_PEER_CLIENT, /* the peer must hold clientAuth (MTLS) */
};

/* What the verifying side expects of its peer. */
struct tls_expect {
    const char *name;           /* NULL: no name check (inbound clients) */
    enum tls_name_rules rules;
    enum tls_peer_role role;
};

#define TLS_REASON_MAX 512

struct tls_verdict {
    bool decided;
    bool trusted;
    char reason[TLS_REASON_MAX];  /* refusal reason, or why it was trusted */
    char name_check[320];         /* "DNS:a.corp.test", or the mismatch */
    char revocation[256];         /* "not revoked (CRL of ...)", "not checked: ..." */
    int error_depth;              /* chain depth of the failing certificate */
    STACK_OF(X509) *chain;        /* the chain as verified (owned), may be NULL */
};

/* Reason text for an OpenSSL verification error at a chain position.
 * cert is the failing certificate, crl the CRL involved (may be NULL). */
void tls_verify_reason(int error, X509 *cert, int depth, X509_CRL *crl,
                       char *buf, size_t len);

/* Check the leaf's extended key usage for role; 0 ok, -1 with reason. */
int tls_verify_key_usage(X509 *leaf, enum tls_peer_role role, char *buf, size_t len);

/* Arm ssl so that the handshake verifies the peer against store as
 * expected; the verdict is filled in during the handshake.  verdict and
 * expect must outlive the handshake.  advisory: a peer that fails is
 * judged all the same but the handshake goes on (opportunistic TLS). */
int tls_verify_arm(SSL *ssl, X509_STORE *store, bool checks_revocation, bool advisory,
                   const struct tls_expect *expect, struct tls_verdict *verdict);

/* Undo tls_verify_arm's hold on the verdict (no verification follows). */
void tls_verify_disarm(SSL *ssl);

void tls_verdict_clear(struct tls_verdict *verdict);

#endif
