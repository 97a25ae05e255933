/* tls_sip_user.c - SIP users named by a client certificate (see tls_sip_user.h). */
#include "tls/tls_sip_user.h"

#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "common/str.h"

struct sip_user_uri {
    const char *user, *domain;
    size_t user_len, domain_len;
};

/* Split a SAN URI of the plain form "sip:user@domain" (or "sips:");
 * false for anything else. */
static bool parse_user_uri(const ASN1_IA5STRING *uri, struct sip_user_uri *out)
{
    const char *p = (const char *)ASN1_STRING_get0_data(uri);
    size_t n = (size_t)ASN1_STRING_length(uri);
    size_t scheme = n > 4 && strncasecmp(p, "sip:", 4) == 0    ? 4
                    : n > 5 && strncasecmp(p, "sips:", 5) == 0 ? 5
                                                               : 0;
    if (scheme == 0)
        return false;
    const char *rest = p + scheme, *at = NULL;
    size_t rlen = n - scheme;
    for (size_t i = 0; i < rlen; i++) {
        unsigned char ch = (unsigned char)rest[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr(";?:<>\"[]", ch) != NULL)
            return false; /* NUL, spaces, password, port, params, headers */
        if (ch == '@') {
            if (at != NULL)
                return false;
            at = rest + i;
        }
    }
    if (at == NULL || at == rest || at == rest + rlen - 1)
        return false;
    *out = (struct sip_user_uri){.user = rest, .user_len = (size_t)(at - rest),
                                 .domain = at + 1, .domain_len = rlen - (size_t)(at - rest) - 1};
    return true;
}

/* Call fn for each SIP user URI among cert's subjectAltNames until it
 * returns true; returns how many it saw. */
static size_t each_user_uri(X509 *cert,
                            bool (*fn)(const ASN1_IA5STRING *uri, const struct sip_user_uri *u,
                                       void *ctx),
                            void *ctx)
{
    GENERAL_NAMES *gens = cert ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;
    size_t seen = 0;
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        struct sip_user_uri u;
        if (gn->type != GEN_URI || !parse_user_uri(gn->d.uniformResourceIdentifier, &u))
            continue;
        seen++;
        if (fn(gn->d.uniformResourceIdentifier, &u, ctx))
            break;
    }
    GENERAL_NAMES_free(gens);
    return seen;
}

struct wanted_user {
    const char *user, *domain;
    bool found;
};

static bool is_wanted(const ASN1_IA5STRING *uri, const struct sip_user_uri *u, void *ctx)
{
    (void)uri;
    struct wanted_user *w = ctx;
    w->found = u->user_len == strlen(w->user) && memcmp(u->user, w->user, u->user_len) == 0 &&
               tn_ascii_caseeq(u->domain, u->domain_len, w->domain, strlen(w->domain));
    return w->found;
}

bool tls_cert_names_sip_user(X509 *cert, const char *user, const char *domain)
{
    struct wanted_user w = {.user = user, .domain = domain};
    if (user == NULL || domain == NULL || user[0] == '\0' || domain[0] == '\0')
        return false;
    each_user_uri(cert, is_wanted, &w);
    return w.found;
}

struct joined {
    char *buf;
    size_t len;
};

static bool append_uri(const ASN1_IA5STRING *uri, const struct sip_user_uri *u, void *ctx)
{
    (void)u;
    struct joined *j = ctx;
    tn_appendf(j->buf, j->len, "%s%.*s", j->buf[0] ? ", " : "", ASN1_STRING_length(uri),
               (const char *)ASN1_STRING_get0_data(uri));
    return false;
}

size_t tls_cert_sip_users(X509 *cert, char *buf, size_t len)
{
    if (len == 0)
        return 0;
    buf[0] = '\0';
    struct joined j = {buf, len};
    return each_user_uri(cert, append_uri, &j);
}
