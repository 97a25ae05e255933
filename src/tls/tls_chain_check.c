/* tls_chain_check.c - offline chain verdict (see tls_chain_check.h). */
#include "tls/tls_chain_check.h"

#include "common/str.h"
#include "tls/tls_verify.h"

int tls_chain_check(const tls_trust *trust, STACK_OF(X509) *chain, char *reason, size_t len)
{
    if (sk_X509_num(chain) < 1) {
        tn_snprintf(reason, len, "no certificate");
        return -1;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, tls_trust_store(trust), leaf, chain) != 1) {
        X509_STORE_CTX_free(ctx);
        tn_snprintf(reason, len, "out of memory");
        return -1;
    }
    /* Security level 2, as in every handshake (tls_policy.c). */
    X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), 2);
    int rc = 0;
    if (X509_verify_cert(ctx) != 1) {
        X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
        tls_verify_reason(X509_STORE_CTX_get_error(ctx), cert ? cert : leaf,
                          X509_STORE_CTX_get_error_depth(ctx),
                          X509_STORE_CTX_get0_current_crl(ctx), reason, len);
        rc = -1;
    }
    X509_STORE_CTX_free(ctx);
    return rc;
}
