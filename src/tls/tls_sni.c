/* tls_sni.c - a listener with several certificates picks one by the name
 * the client asks for (SNI); no SNI or an unknown name gets the first. */
#include "tls/tls_internal.h"

#include "tls/tls_name.h"

static int select_identity(SSL *ssl, int *alert, void *arg)
{
    tls_config *cfg = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (sni == NULL)
        return SSL_TLSEXT_ERR_OK;
    char detail[320];
    for (size_t i = 1; i < cfg->n_ids; i++) {
        if (tls_name_check(cfg->ids[i].leaf, sni, TLS_NAME_WILDCARD, detail,
                           sizeof detail) == 0) {
            SSL_set_SSL_CTX(ssl, cfg->ids[i].ctx);
            break;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

void tls_sni_install(tls_config *cfg)
{
    SSL_CTX_set_tlsext_servername_callback(cfg->ctx, select_identity);
    SSL_CTX_set_tlsext_servername_arg(cfg->ctx, cfg);
}
