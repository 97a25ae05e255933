/*
 * tls_internal.h - state shared by the files of src/tls/ only.
 */
#ifndef TN_TLS_INTERNAL_H
#define TN_TLS_INTERNAL_H

#include <openssl/ssl.h>

#include "tls/tls_conn.h"

struct tls_identity {
    SSL_CTX *ctx; /* context presenting this certificate */
    X509 *leaf;   /* its leaf, for SNI matching */
};

struct tls_config {
    enum tls_side side;
    SSL_CTX *ctx; /* base context; holds the first identity */
    struct tls_identity ids[TLS_MAX_IDENTITIES];
    size_t n_ids;
    tls_trust *trust;
    bool owns_trust;
    enum tls_client_auth client_auth;
    bool verify_advisory; /* judge the peer, never refuse the handshake */
    /* The CA names a server asks client certificates of, set once on every
     * identity's context (cheaper than a copy per connection), from this
     * generation of the trust store; false: each connection sets its own. */
    bool ca_names_set;
    unsigned long ca_names_generation;
};

/* The names of the trusted CAs, for a CertificateRequest; NULL when out
 * of memory. */
STACK_OF(X509_NAME) *tls_ca_names(const tls_trust *trust);

/* What a handshake needs to decide and to explain itself; released once
 * the connection is up and logged, so an idle connection stays small. */
struct tls_diag {
    char expect_name[256];
    struct tls_verdict verdict;
    char peer_alert[64];          /* alert the peer sent, if any */
    char failure[TLS_REASON_MAX];
};

/* One connection; see tls_conn.h. */
struct tls_conn {
    SSL *ssl;
    struct tls_expect expect;
    struct tls_diag *diag;   /* NULL after tls_conn_release_diagnostics */
    bool trusted;            /* the verdict, kept after the release */
    bool advisory;           /* from the configuration: see tls_conn.h */
    bool established;        /* the handshake completed (OpenSSL's own state
                                says otherwise after a fatal error) */
    int peer_record_version; /* lowest record version the peer sent */
    int peer_hello_version;  /* a client's ClientHello legacy_version */
};

/* Make a server context pick its certificate by the client's SNI. */
void tls_sni_install(tls_config *cfg);

#endif
