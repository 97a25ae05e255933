/* ca_cert.c - building CA and end-entity certificates (see ca_cert.h). */
#include "pki/ca_cert.h"

#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/str.h"
#include "pki/ca_key.h"

static int ossl_fail(tn_err *err, const char *what)
{
    tn_errf(err, "%s", what);
    return tn_err_append_openssl(err);
}

ASN1_INTEGER *ca_cert_random_serial(tn_err *err)
{
    unsigned char bytes[CA_SERIAL_BYTES];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        ossl_fail(err, "cannot draw a random serial");
        return NULL;
    }
    bytes[0] &= 0x7F; /* positive */
    if (bytes[0] == 0)
        bytes[0] = 0x01; /* and exactly CA_SERIAL_BYTES long */
    BIGNUM *bn = BN_bin2bn(bytes, sizeof bytes, NULL);
    ASN1_INTEGER *serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    if (serial == NULL)
        ossl_fail(err, "cannot encode a serial");
    return serial;
}

int ca_cert_serial_hex(const ASN1_INTEGER *serial, char *buf, size_t len, tn_err *err)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = 0;
    if (hex == NULL)
        rc = ossl_fail(err, "cannot format a serial");
    else if (tn_strlcpy(buf, hex, len) < 0)
        rc = tn_errf(err, "serial too long");
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

static int add_name_entry(X509_NAME *name, const char *field, const char *value,
                          tn_err *err)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    (const unsigned char *)value, -1, -1, 0)) {
        tn_errf(err, "cannot put %s=%s in a name", field, value);
        return tn_err_append_openssl(err);
    }
    return 0;
}

/* Subject O=org, OU=ou, CN=cn (most general first, as in DER order). */
static int set_subject(X509 *cert, const char *cn, const char *org, const char *ou,
                       tn_err *err)
{
    X509_NAME *name = X509_NAME_new();
    if (name == NULL)
        return ossl_fail(err, "out of memory");
    int rc = add_name_entry(name, "O", org, err);
    if (rc == 0)
        rc = add_name_entry(name, "OU", ou, err);
    if (rc == 0)
        rc = add_name_entry(name, "CN", cn, err);
    if (rc == 0 && !X509_set_subject_name(cert, name))
        rc = ossl_fail(err, "cannot set the subject");
    X509_NAME_free(name);
    return rc;
}

/* A v3 certificate with serial, validity and public key, no extensions. */
static X509 *new_cert(const ASN1_INTEGER *serial, time_t not_before, time_t not_after,
                      EVP_PKEY *key, tn_err *err)
{
    X509 *cert = X509_new();
    if (cert == NULL || !X509_set_version(cert, X509_VERSION_3) ||
        !X509_set_serialNumber(cert, (ASN1_INTEGER *)serial) ||
        ASN1_TIME_set(X509_getm_notBefore(cert), not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(cert), not_after) == NULL ||
        !X509_set_pubkey(cert, key)) {
        ossl_fail(err, "cannot build a certificate");
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* Add an extension given in OpenSSL's config syntax (constant text only). */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value, tn_err *err)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) {
        tn_errf(err, "cannot add extension %s = %s", OBJ_nid2sn(nid), value);
        return tn_err_append_openssl(err);
    }
    return 0;
}

static int sign_cert(X509 *cert, EVP_PKEY *key, tn_err *err)
{
    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        return ossl_fail(err, "cannot sign the certificate");
    return 0;
}

X509 *ca_cert_make_root(const struct ca_root_req *req, EVP_PKEY *key, tn_err *err)
{
    X509 *cert = new_cert(req->serial, req->not_before, req->not_after, key, err);
    if (cert == NULL)
        return NULL;
    int rc = set_subject(cert, req->name, req->org, NULL, err);
    if (rc == 0 && !X509_set_issuer_name(cert, X509_get_subject_name(cert)))
        rc = ossl_fail(err, "cannot set the issuer");
    if (rc == 0)
        rc = add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE", err);
    if (rc == 0)
        rc = add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign", err);
    if (rc == 0)
        rc = add_ext(cert, cert, NID_subject_key_identifier, "hash", err);
    if (rc == 0)
        rc = sign_cert(cert, key, err);
    if (rc < 0) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* Append a DNS, URI or IP general name to gens. */
static int push_general_name(GENERAL_NAMES *gens, enum ca_san_type type,
                             const char *value, tn_err *err)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = NULL;
    if (gn != NULL && type == CA_SAN_IP) {
        s = a2i_IPADDRESS(value);
    } else if (gn != NULL) {
        s = ASN1_IA5STRING_new();
        if (s != NULL && !ASN1_STRING_set(s, value, -1)) {
            ASN1_IA5STRING_free(s);
            s = NULL;
        }
    }
    if (s == NULL) {
        GENERAL_NAME_free(gn);
        return tn_errf(err, "cannot encode %s:%s", ca_san_type_name(type), value);
    }
    int gtype = type == CA_SAN_DNS ? GEN_DNS : type == CA_SAN_URI ? GEN_URI : GEN_IPADD;
    GENERAL_NAME_set0_value(gn, gtype, s);
    if (!sk_GENERAL_NAME_push(gens, gn)) {
        GENERAL_NAME_free(gn);
        return tn_errf(err, "out of memory");
    }
    return 0;
}

static bool san_seen(const struct ca_leaf_req *req, size_t upto)
{
    const struct ca_san *s = &req->sans[upto];
    if (s->type == CA_SAN_DNS && strcasecmp(s->value, req->name) == 0)
        return true;
    for (size_t i = 0; i < upto; i++)
        if (req->sans[i].type == s->type && strcasecmp(req->sans[i].value, s->value) == 0)
            return true;
    return false;
}

static int add_sans(X509 *cert, const struct ca_leaf_req *req, tn_err *err)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL)
        return tn_errf(err, "out of memory");
    int rc = push_general_name(gens, CA_SAN_DNS, req->name, err);
    for (size_t i = 0; rc == 0 && i < req->nsans; i++)
        if (!san_seen(req, i))
            rc = push_general_name(gens, req->sans[i].type, req->sans[i].value, err);
    if (rc == 0 && !X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0,
                                      X509V3_ADD_DEFAULT))
        rc = ossl_fail(err, "cannot add subjectAltName");
    GENERAL_NAMES_free(gens);
    return rc;
}

/* One distribution point whose fullName is the URI url. */
static DIST_POINT *make_dist_point(const char *url, tn_err *err)
{
    DIST_POINT *dp = DIST_POINT_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (dp == NULL || gens == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL) {
        tn_errf(err, "out of memory");
        goto fail;
    }
    if (push_general_name(gens, CA_SAN_URI, url, err) < 0)
        goto fail;
    dp->distpoint->type = 0; /* fullName */
    dp->distpoint->name.fullname = gens;
    return dp;
fail:
    GENERAL_NAMES_free(gens);
    DIST_POINT_free(dp);
    return NULL;
}

/* crlDistributionPoints, built directly rather than from OpenSSL config
 * text, so that a comma in the URL cannot be taken for config syntax. */
static int add_crl_dp(X509 *cert, const char *url, tn_err *err)
{
    DIST_POINT *dp = make_dist_point(url, err);
    if (dp == NULL)
        return -1;
    CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
    if (dps == NULL || !sk_DIST_POINT_push(dps, dp)) {
        DIST_POINT_free(dp);
        sk_DIST_POINT_free(dps);
        return tn_errf(err, "out of memory");
    }
    int rc = 0;
    if (!X509_add1_ext_i2d(cert, NID_crl_distribution_points, dps, 0, X509V3_ADD_DEFAULT))
        rc = ossl_fail(err, "cannot add crlDistributionPoints");
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return rc;
}

static int add_leaf_exts(X509 *cert, const struct ca_leaf_req *req, EVP_PKEY *leaf_key,
                         X509 *ca, tn_err *err)
{
    const char *ku = ca_key_is_rsa(leaf_key) ? "critical,digitalSignature,keyEncipherment"
                                             : "critical,digitalSignature";
    const char *eku = req->client_only ? "clientAuth" : "serverAuth,clientAuth";
    if (add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE", err) < 0 ||
        add_ext(cert, ca, NID_key_usage, ku, err) < 0 ||
        add_ext(cert, ca, NID_ext_key_usage, eku, err) < 0 ||
        add_ext(cert, ca, NID_subject_key_identifier, "hash", err) < 0 ||
        add_ext(cert, ca, NID_authority_key_identifier, "keyid:always", err) < 0 ||
        add_sans(cert, req, err) < 0)
        return -1;
    if (req->crl_url != NULL && req->crl_url[0] != '\0')
        return add_crl_dp(cert, req->crl_url, err);
    return 0;
}

X509 *ca_cert_make_leaf(const struct ca_leaf_req *req, EVP_PKEY *leaf_key, X509 *ca,
                        EVP_PKEY *ca_key, tn_err *err)
{
    X509 *cert = new_cert(req->serial, req->not_before, req->not_after, leaf_key, err);
    if (cert == NULL)
        return NULL;
    int rc = set_subject(cert, req->name, req->org, req->ou, err);
    if (rc == 0 && !X509_set_issuer_name(cert, X509_get_subject_name(ca)))
        rc = ossl_fail(err, "cannot set the issuer");
    if (rc == 0)
        rc = add_leaf_exts(cert, req, leaf_key, ca, err);
    if (rc == 0)
        rc = sign_cert(cert, ca_key, err);
    if (rc < 0) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}
