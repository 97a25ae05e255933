/* tls_config.c - shared TLS configurations: contexts, identities, SNI
 * selection (see tls_conn.h). */
#include "tls/tls_internal.h"

#include <stdlib.h>
#include <string.h>

#include "tls/tls_policy.h"
#include "tls/x509_load.h"

tls_config *tls_config_new(enum tls_side side, tn_err *err)
{
    tls_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    cfg->side = side;
    cfg->ctx = tls_policy_new_ctx(side == TLS_SIDE_SERVER, err);
    if (cfg->ctx == NULL) {
        free(cfg);
        return NULL;
    }
    if (side == TLS_SIDE_SERVER)
        tls_sni_install(cfg);
    return cfg;
}

void tls_config_free(tls_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_ids; i++) {
        if (cfg->ids[i].ctx != cfg->ctx)
            SSL_CTX_free(cfg->ids[i].ctx);
        X509_free(cfg->ids[i].leaf);
    }
    SSL_CTX_free(cfg->ctx);
    if (cfg->owns_trust)
        tls_trust_free(cfg->trust);
    free(cfg);
}

static int load_identity(SSL_CTX *ctx, const char *cert_file, const char *key_file,
                         tn_err *err)
{
    /* Read through the bounded loaders first, for clear errors. */
    STACK_OF(X509) *chain = x509_load_chain_file(cert_file, err);
    EVP_PKEY *key = chain ? x509_load_key_file(key_file, err) : NULL;
    int rc = -1;
    if (key == NULL)
        goto out;
    if (!SSL_CTX_use_cert_and_key(ctx, sk_X509_value(chain, 0), key, NULL, 1)) {
        tn_errf(err, "%s: certificate or key refused by the TLS policy", cert_file);
        tn_err_append_openssl(err);
        goto out;
    }
    rc = 0;
    for (int i = 1; i < sk_X509_num(chain) && rc == 0; i++)
        if (!SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i)))
            rc = tn_errf(err, "%s: cannot use chain certificate %d", cert_file, i + 1);
    if (rc == 0 && !SSL_CTX_check_private_key(ctx))
        rc = tn_errf(err, "%s does not hold the private key of %s", key_file, cert_file);
out:
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

STACK_OF(X509_NAME) *tls_ca_names(const tls_trust *trust)
{
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    const STACK_OF(X509) *cas = tls_trust_cas(trust);
    for (int i = 0; names != NULL && i < sk_X509_num(cas); i++) {
        X509_NAME *n = X509_NAME_dup(X509_get_subject_name(sk_X509_value(cas, i)));
        if (n == NULL || !sk_X509_NAME_push(names, n)) {
            X509_NAME_free(n);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return NULL;
        }
    }
    return names;
}

/* A server that asks for client certificates names the CAs it accepts;
 * the list goes on every identity's context once, so that no connection
 * copies it (SSL_new does not copy a context's list).  Called whenever
 * what it depends on is set; out of memory leaves it to each connection. */
static void advertise_cas(tls_config *cfg)
{
    cfg->ca_names_set = false;
    if (cfg->side != TLS_SIDE_SERVER || cfg->client_auth == TLS_CLIENT_CERT_NONE ||
        cfg->trust == NULL)
        return;
    SSL_CTX *ctxs[TLS_MAX_IDENTITIES + 1];
    size_t n = 0;
    ctxs[n++] = cfg->ctx;
    for (size_t i = 0; i < cfg->n_ids; i++)
        if (cfg->ids[i].ctx != cfg->ctx)
            ctxs[n++] = cfg->ids[i].ctx;
    for (size_t i = 0; i < n; i++) {
        STACK_OF(X509_NAME) *names = tls_ca_names(cfg->trust);
        if (names == NULL)
            return;
        SSL_CTX_set0_CA_list(ctxs[i], names);
    }
    cfg->ca_names_generation = tls_trust_generation(cfg->trust);
    cfg->ca_names_set = true;
}

int tls_config_add_identity(tls_config *cfg, const char *cert_file, const char *key_file,
                            tn_err *err)
{
    if (cfg->n_ids == TLS_MAX_IDENTITIES)
        return tn_errf(err, "too many certificates (limit %d)", TLS_MAX_IDENTITIES);
    if (cfg->side == TLS_SIDE_CLIENT && cfg->n_ids == 1)
        return tn_errf(err, "a client uses one certificate");
    /* The first identity lives in the base context; each further one gets
     * its own context with the same policy, selected by SNI. */
    SSL_CTX *ctx = cfg->n_ids == 0 ? cfg->ctx : tls_policy_new_ctx(1, err);
    if (ctx == NULL)
        return -1;
    if (load_identity(ctx, cert_file, key_file, err) < 0) {
        if (ctx != cfg->ctx)
            SSL_CTX_free(ctx);
        return -1;
    }
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    X509_up_ref(leaf);
    cfg->ids[cfg->n_ids].ctx = ctx;
    cfg->ids[cfg->n_ids].leaf = leaf;
    cfg->n_ids++;
    advertise_cas(cfg); /* the new context names them too */
    return 0;
}

void tls_config_set_trust(tls_config *cfg, tls_trust *trust)
{
    cfg->trust = trust;
    advertise_cas(cfg);
}

void tls_config_own_trust(tls_config *cfg, tls_trust *trust)
{
    cfg->trust = trust;
    cfg->owns_trust = true;
    advertise_cas(cfg);
}

void tls_config_set_client_auth(tls_config *cfg, enum tls_client_auth mode)
{
    cfg->client_auth = mode;
    advertise_cas(cfg);
}

void tls_config_set_verify_advisory(tls_config *cfg, bool advisory)
{
    cfg->verify_advisory = advisory;
}
