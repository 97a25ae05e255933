/* cert_info.c - a certificate's facts as field/value rows (see cert_info.h). */
#include "pki/cert_info.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/array.h"
#include "common/str.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"

#define VALUE_MAX 8192

static int add_row(struct cert_info *info, const char *field, const char *value,
                   tn_err *err)
{
    if (tn_array_reserve((void **)&info->rows, &info->cap, info->count + 1,
                         sizeof *info->rows) < 0)
        return tn_errf(err, "out of memory");
    struct cert_info_row *row = &info->rows[info->count];
    char *copy = strdup(value[0] ? value : "(none)");
    if (copy == NULL)
        return tn_errf(err, "out of memory");
    tn_strlcpy(row->field, field, sizeof row->field);
    row->value = copy;
    info->count++;
    return 0;
}

/* All values of one name attribute (O, OU, CN), joined by ", ". */
static void name_values(const X509_NAME *name, int nid, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = -1; (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0;) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        const char *sep = buf[0] ? ", " : "";
        if (n < 0 || memchr(utf8, '\0', (size_t)n) != NULL)
            tn_appendf(buf, len, "%s?", sep);
        else
            tn_appendf(buf, len, "%s%.*s", sep, n, (const char *)utf8);
        OPENSSL_free(utf8);
    }
}

static void root_issuer(STACK_OF(X509) *chain, char *buf, size_t len)
{
    X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    bool self_signed = X509_check_issued(top, top) == X509_V_OK;
    x509_text_name(self_signed ? X509_get_subject_name(top) : X509_get_issuer_name(top),
                   buf, len);
}

static void key_strength(X509 *cert, char *buf, size_t len)
{
    char key[64];
    x509_text_key(cert, key, sizeof key, NULL);
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    int bits = pub ? EVP_PKEY_get_security_bits(pub) : 0;
    if (bits > 0)
        tn_snprintf(buf, len, "%s (%d-bit security)", key, bits);
    else
        tn_snprintf(buf, len, "%s (security strength unknown)", key);
}

/* Decode an extension; *state is "" when absent, else why it is unreadable. */
static void *get_ext(const X509 *cert, int nid, const char **state)
{
    int crit = -1;
    void *ext = X509_get_ext_d2i(cert, nid, &crit, NULL);
    *state = ext != NULL || crit == -1 ? "" : crit == -2 ? "(present twice: invalid)"
                                                          : "(unreadable)";
    return ext;
}

static void ext_key_usage(X509 *cert, char *buf, size_t len)
{
    const char *state;
    EXTENDED_KEY_USAGE *eku = get_ext(cert, NID_ext_key_usage, &state);
    tn_strlcpy(buf, state, len);
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
        char oid[80];
        const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
        int nid = OBJ_obj2nid(obj);
        if (nid == NID_undef)
            OBJ_obj2txt(oid, sizeof oid, obj, 1);
        tn_appendf(buf, len, "%s%s", buf[0] ? ", " : "",
                   nid != NID_undef ? OBJ_nid2sn(nid) : oid);
    }
    EXTENDED_KEY_USAGE_free(eku);
}

static void append_uris(const GENERAL_NAMES *gens, char *buf, size_t len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        const char *sep = buf[0] ? ", " : "";
        if (gn->type != GEN_URI) {
            tn_appendf(buf, len, "%s(not a URI)", sep);
            continue;
        }
        const ASN1_STRING *s = gn->d.uniformResourceIdentifier;
        int n = ASN1_STRING_length(s);
        const unsigned char *data = ASN1_STRING_get0_data(s);
        if (memchr(data, '\0', (size_t)n) != NULL)
            tn_appendf(buf, len, "%s(URI with NUL byte)", sep);
        else
            tn_appendf(buf, len, "%s%.*s", sep, n, (const char *)data);
    }
}

static void crl_points(X509 *cert, char *buf, size_t len)
{
    const char *state;
    CRL_DIST_POINTS *dps = get_ext(cert, NID_crl_distribution_points, &state);
    tn_strlcpy(buf, state, len);
    for (int i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
        const DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint != NULL && dp->distpoint->type == 0)
            append_uris(dp->distpoint->name.fullname, buf, len);
        else
            tn_appendf(buf, len, "%s(relative name)", buf[0] ? ", " : "");
    }
    CRL_DIST_POINTS_free(dps);
}

static void ocsp_urls(X509 *cert, char *buf, size_t len)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    buf[0] = '\0';
    for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls); i++)
        tn_appendf(buf, len, "%s%s", buf[0] ? ", " : "", sk_OPENSSL_STRING_value(urls, i));
    X509_email_free(urls); /* frees a stack of strings, whatever they hold */
}

/* One line for a chain certificate: subject (issuer, key, expiry). */
static void brief(X509 *cert, char *buf, size_t len)
{
    char subject[512], issuer[512], key[64], until[16];
    x509_text_name(X509_get_subject_name(cert), subject, sizeof subject);
    x509_text_short_name(X509_get_issuer_name(cert), issuer, sizeof issuer);
    x509_text_key(cert, key, sizeof key, NULL);
    x509_text_date(X509_get0_notAfter(cert), until, sizeof until);
    bool self_signed = X509_check_issued(cert, cert) == X509_V_OK;
    tn_snprintf(buf, len, "%s (%s%s, %s, until %s)", subject,
                self_signed ? "self-signed" : "issued by ", self_signed ? "" : issuer,
                key, until);
}

typedef void (*fact_fn)(X509 *cert, char *buf, size_t len);

static void fact_cn(X509 *c, char *b, size_t n) { name_values(X509_get_subject_name(c), NID_commonName, b, n); }
static void fact_subject(X509 *c, char *b, size_t n) { x509_text_name(X509_get_subject_name(c), b, n); }
static void fact_issuer(X509 *c, char *b, size_t n) { x509_text_name(X509_get_issuer_name(c), b, n); }
static void fact_org(X509 *c, char *b, size_t n) { name_values(X509_get_subject_name(c), NID_organizationName, b, n); }
static void fact_ou(X509 *c, char *b, size_t n) { name_values(X509_get_subject_name(c), NID_organizationalUnitName, b, n); }
static void fact_from(X509 *c, char *b, size_t n) { x509_text_time(X509_get0_notBefore(c), b, n); }
static void fact_until(X509 *c, char *b, size_t n) { x509_text_time(X509_get0_notAfter(c), b, n); }
static void fact_sans(X509 *c, char *b, size_t n) { x509_text_sans(c, b, n); }
static void fact_sig(X509 *c, char *b, size_t n) { x509_text_sig_alg(c, b, n); }
static void fact_serial(X509 *c, char *b, size_t n) { x509_text_serial(c, b, n); }
static void fact_sha256(X509 *c, char *b, size_t n) { x509_text_fingerprint_sha256(c, b, n); }

/* The rows about the certificate itself, in display order. */
static const struct {
    const char *field;
    fact_fn fn;
} leaf_facts[] = {
    {"Certificate name", fact_cn},
    {"Subject", fact_subject},
    {"Issuer", fact_issuer},
    {"Subject alt names", fact_sans},
    {"Organisation", fact_org},
    {"Organisational unit", fact_ou},
    {"Key type and strength", key_strength},
    {"Signature algorithm", fact_sig},
    {"Valid from", fact_from},
    {"Valid until", fact_until},
    {"Serial", fact_serial},
    {"SHA-256 fingerprint", fact_sha256},
    {"Extended key usage", ext_key_usage},
    {"CRL distribution points", crl_points},
    {"OCSP URLs", ocsp_urls},
};

static int describe_chain(STACK_OF(X509) *chain, struct cert_info *info, char *buf,
                          tn_err *err)
{
    int n = sk_X509_num(chain);
    if (n == 1)
        return add_row(info, "Chain", "(none: the file holds only the certificate)", err);
    for (int i = 1; i < n; i++) {
        char field[40];
        tn_snprintf(field, sizeof field, "Chain certificate %d", i);
        brief(sk_X509_value(chain, i), buf, VALUE_MAX);
        if (add_row(info, field, buf, err) < 0)
            return -1;
    }
    return 0;
}

int cert_info_describe(STACK_OF(X509) *chain, struct cert_info *info, tn_err *err)
{
    memset(info, 0, sizeof *info);
    if (chain == NULL || sk_X509_num(chain) < 1)
        return tn_errf(err, "no certificate to describe");
    char *buf = malloc(VALUE_MAX);
    if (buf == NULL)
        return tn_errf(err, "out of memory");
    X509 *cert = sk_X509_value(chain, 0);
    root_issuer(chain, buf, VALUE_MAX);
    int rc = add_row(info, "Root issuer", buf, err);
    for (size_t i = 0; rc == 0 && i < sizeof leaf_facts / sizeof leaf_facts[0]; i++) {
        leaf_facts[i].fn(cert, buf, VALUE_MAX);
        rc = add_row(info, leaf_facts[i].field, buf, err);
    }
    if (rc == 0)
        rc = describe_chain(chain, info, buf, err);
    free(buf);
    if (rc < 0)
        cert_info_free(info);
    return rc;
}

int cert_info_load(const char *path, struct cert_info *info, tn_err *err)
{
    memset(info, 0, sizeof *info);
    STACK_OF(X509) *chain = x509_load_chain_file(path, err);
    if (chain == NULL)
        return -1;
    int rc = cert_info_describe(chain, info, err);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

void cert_info_print(const struct cert_info *info, FILE *out)
{
    int width = 0;
    for (size_t i = 0; i < info->count; i++) {
        int n = (int)strlen(info->rows[i].field) + 1;
        if (n > width)
            width = n;
    }
    for (size_t i = 0; i < info->count; i++) {
        char label[48];
        tn_snprintf(label, sizeof label, "%s:", info->rows[i].field);
        fprintf(out, "%-*s %s\n", width, label, info->rows[i].value);
    }
}

void cert_info_free(struct cert_info *info)
{
    for (size_t i = 0; i < info->count; i++)
        free(info->rows[i].value);
    free(info->rows);
    memset(info, 0, sizeof *info);
}
