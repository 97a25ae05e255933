/* ca_crl.c - building the CRL and keeping its counter (see ca_crl.h). */
#include "pki/ca_crl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/str.h"
#include "pki/ca_fs.h"

#define CRLNUMBER_MAX_BYTES 256

static int ossl_fail(tn_err *err, const char *what)
{
    tn_errf(err, "%s", what);
    return tn_err_append_openssl(err);
}

static ASN1_INTEGER *serial_from_hex(const char *hex)
{
    BIGNUM *bn = NULL;
    if (BN_hex2bn(&bn, hex) != (int)strlen(hex)) {
        BN_free(bn);
        return NULL;
    }
    ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return serial;
}

static int add_reason(X509_REVOKED *rev, const char *reason)
{
    int code = reason[0] ? ca_reason_code(reason) : -1;
    /* RFC 5280 5.3.1: "unspecified" SHOULD be expressed by leaving it out. */
    if (code <= CRL_REASON_UNSPECIFIED)
        return 1;
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    int ok = e != NULL && ASN1_ENUMERATED_set(e, code) &&
             X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1;
    ASN1_ENUMERATED_free(e);
    return ok;
}

static int add_revoked(X509_CRL *crl, const struct ca_index_entry *e, tn_err *err)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *serial = serial_from_hex(e->serial);
    ASN1_TIME *when = ASN1_TIME_new();
    int ok = rev != NULL && serial != NULL && when != NULL &&
             ASN1_TIME_set_string(when, e->revoked) == 1 &&
             X509_REVOKED_set_serialNumber(rev, serial) &&
             X509_REVOKED_set_revocationDate(rev, when) && add_reason(rev, e->reason) &&
             X509_CRL_add0_revoked(crl, rev);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    if (!ok) {
        X509_REVOKED_free(rev);
        tn_errf(err, "cannot add serial %s to the CRL", e->serial);
        return tn_err_append_openssl(err);
    }
    return 0;
}

static int set_times(X509_CRL *crl, time_t now, int days, tn_err *err)
{
    ASN1_TIME *last = ASN1_TIME_set(NULL, now);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, now, days, 0);
    int ok = last != NULL && next != NULL && X509_CRL_set1_lastUpdate(crl, last) &&
             X509_CRL_set1_nextUpdate(crl, next);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    return ok ? 0 : ossl_fail(err, "cannot set the CRL times");
}

static int add_crl_exts(X509_CRL *crl, X509 *ca, const BIGNUM *number, tn_err *err)
{
    ASN1_INTEGER *num = BN_to_ASN1_INTEGER(number, NULL);
    int ok = num != NULL && X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
    ASN1_INTEGER_free(num);
    if (!ok)
        return ossl_fail(err, "cannot add crlNumber to the CRL");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
    X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
                                              "keyid:always");
    ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1);
    X509_EXTENSION_free(aki);
    return ok ? 0 : ossl_fail(err, "cannot add authorityKeyIdentifier to the CRL");
}

static int fill_crl(X509_CRL *crl, X509 *ca, const struct ca_index *idx, time_t now,
                    int days, tn_err *err)
{
    if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
        !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)))
        return ossl_fail(err, "cannot build the CRL");
    if (set_times(crl, now, days, err) < 0)
        return -1;
    for (size_t i = 0; i < idx->count; i++)
        if (idx->entries[i].status == 'R' && add_revoked(crl, &idx->entries[i], err) < 0)
            return -1;
    return 0;
}

X509_CRL *ca_crl_build(X509 *ca, EVP_PKEY *key, const struct ca_index *idx,
                       const BIGNUM *number, time_t now, int days, tn_err *err)
{
    X509_CRL *crl = X509_CRL_new();
    if (crl == NULL) {
        ossl_fail(err, "out of memory");
        return NULL;
    }
    int rc = fill_crl(crl, ca, idx, now, days, err);
    if (rc == 0)
        rc = add_crl_exts(crl, ca, number, err);
    if (rc == 0 && (!X509_CRL_sort(crl) || X509_CRL_sign(crl, key, EVP_sha256()) <= 0))
        rc = ossl_fail(err, "cannot sign the CRL");
    if (rc < 0) {
        X509_CRL_free(crl);
        return NULL;
    }
    return crl;
}

BIGNUM *ca_crl_number_load(const char *path, tn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ca_fs_read(path, CRLNUMBER_MAX_BYTES, &text, &len, err) < 0)
        return NULL;
    if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    BIGNUM *bn = NULL;
    size_t digits = strspn(text, "0123456789abcdefABCDEF");
    if (len == 0 || digits != len || len > 40 || BN_hex2bn(&bn, text) != (int)len) {
        tn_errf(err, "%s: expected one hexadecimal number", path);
        BN_free(bn);
        bn = NULL;
    }
    free(text);
    return bn;
}

int ca_crl_number_save(const char *path, const BIGNUM *number, int create, tn_err *err)
{
    char *hex = BN_bn2hex(number);
    char text[64];
    int rc = 0;
    if (hex == NULL || tn_snprintf(text, sizeof text, "%s\n", hex) < 0)
        rc = tn_errf(err, "%s: cannot format the CRL number", path);
    else if (create)
        rc = ca_fs_write_new(path, 0644, text, strlen(text), err);
    else
        rc = ca_fs_replace(path, 0644, text, strlen(text), err);
    OPENSSL_free(hex);
    return rc;
}
