/* tls_probe_insecure.c - diagnostic handshake (see the header). */
#include "tls/tls_probe_insecure.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/str.h"
#include "tls/tls_policy.h"

static SSL_CTX *insecure_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
}

static bool cipher_is_aead(const SSL_CIPHER *c)
{
    return SSL_CIPHER_is_aead(c) != 0;
}

int tls_probe_insecure(int fd, const char *sni, struct tls_probe_result *out)
{
    memset(out, 0, sizeof *out);
    SSL_CTX *ctx = insecure_ctx();
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    int rc = -1;
    if (ssl == NULL || !SSL_set_fd(ssl, fd))
        goto out;
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    if (SSL_connect(ssl) != 1)
        goto out;
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    tn_strlcpy(out->version, SSL_get_version(ssl), sizeof out->version);
    tn_strlcpy(out->cipher, c ? SSL_CIPHER_get_name(c) : "?", sizeof out->cipher);
    out->wire_version = SSL_version(ssl);
    int kx = c ? SSL_CIPHER_get_kx_nid(c) : NID_undef;
    out->forward_secret = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any;
    out->aead = c != NULL && cipher_is_aead(c);
    SSL_shutdown(ssl);
    rc = 0;
out:
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return rc;
}

bool tls_probe_explain(const struct tls_probe_result *r, char *buf, size_t len)
{
    if (r->wire_version < TLS1_2_VERSION) {
        tn_snprintf(buf, len, "peer offered only %s",
                    tls_policy_version_name(r->wire_version));
        return true;
    }
    if (!r->forward_secret) {
        tn_snprintf(buf, len, "peer offered only %s, which has no forward secrecy",
                    r->cipher);
        return true;
    }
    if (!r->aead) {
        tn_snprintf(buf, len, "peer offered only %s, which is not an AEAD cipher",
                    r->cipher);
        return true;
    }
    return false;
}
