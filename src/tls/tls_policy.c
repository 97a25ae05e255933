/* tls_policy.c - the TLS policy applied to every context (see tls_policy.h). */
#include "tls/tls_policy.h"

static int apply_policy(SSL_CTX *ctx, tn_err *err)
{
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
        return tn_errf(err, "cannot restrict TLS versions to 1.2-1.3");
    if (!SSL_CTX_set_cipher_list(ctx, TLS_POLICY_CIPHERS_TLS12) ||
        !SSL_CTX_set_ciphersuites(ctx, TLS_POLICY_SUITES_TLS13))
        return tn_errf(err, "cannot set the forward-secret AEAD cipher suites");
    if (!SSL_CTX_set1_groups_list(ctx, TLS_POLICY_GROUPS))
        return tn_errf(err, "cannot set key exchange groups %s", TLS_POLICY_GROUPS);
    SSL_CTX_set_security_level(ctx, TLS_POLICY_SECURITY_LEVEL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections give their read/write buffers back (SIP clients
     * hold thousands of mostly idle connections). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* A write that would block is retried later from the output queue,
     * whose buffer may have moved (and grown) meanwhile. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read whole socket chunks, not record by record: fewer system calls. */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* No session resumption: every connection is verified in full, so a
     * revoked certificate is refused on its very next connection. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    return 0;
}

SSL_CTX *tls_policy_new_ctx(int is_server, tn_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL) {
        tn_errf(err, "cannot create a TLS context");
        tn_err_append_openssl(err);
        return NULL;
    }
    if (apply_policy(ctx, err) < 0) {
        tn_err_append_openssl(err);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

const char *tls_policy_version_name(int wire_version)
{
    switch (wire_version) {
    case SSL3_VERSION: return "SSL 3.0";
    case TLS1_VERSION: return "TLS 1.0";
    case TLS1_1_VERSION: return "TLS 1.1";
    case TLS1_2_VERSION: return "TLS 1.2";
    case TLS1_3_VERSION: return "TLS 1.3";
    default: return wire_version < SSL3_VERSION ? "SSL 2 or older" : "an unknown version";
    }
}
