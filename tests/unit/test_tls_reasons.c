/* Unit tests: the one-line reasons of verdicts (src/tls/tls_verify.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "tls/tls_verify.h"

static void set_name(X509_NAME *name, const char *cn)
{
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
}

/* A certificate for cn issued by issuer_cn, valid between two fixed
 * dates, with serial 0x1A and an optional extended key usage. */
static X509 *make_cert(const char *cn, const char *issuer_cn, const char *eku)
{
    X509 *x = X509_new();
    assert_non_null(x);
    set_name(X509_get_subject_name(x), cn);
    set_name(X509_get_issuer_name(x), issuer_cn);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1A);
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20250101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20260101120000Z");
    if (eku != NULL) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, eku);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    return x;
}

static void expect_reason(int error, X509 *cert, int depth, X509_CRL *crl, const char *want)
{
    char buf[TLS_REASON_MAX];
    tls_verify_reason(error, cert, depth, crl, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("error %d: got '%s', wanted '%s'", error, buf, want);
}

static void validity_reasons(void **state)
{
    X509 *x = make_cert("a.corp.test", "Corp Enterprise CA", NULL);
    expect_reason(X509_V_ERR_CERT_HAS_EXPIRED, x, 0, NULL,
                  "expired on 2026-01-01 (not after 2026-01-01 12:00:00 UTC)");
    expect_reason(X509_V_ERR_CERT_NOT_YET_VALID, x, 0, NULL,
                  "not yet valid: valid from 2025-01-01 00:00:00 UTC");
    expect_reason(X509_V_ERR_CERT_HAS_EXPIRED, x, 1, NULL,
                  "expired on 2026-01-01 (not after 2026-01-01 12:00:00 UTC) "
                  "(chain certificate CN=a.corp.test at depth 1)");
    X509_free(x);
}

static void issuer_reasons(void **state)
{
    X509 *x = make_cert("a.corp.test", "Evil CA", NULL);
    expect_reason(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, x, 0, NULL,
                  "issuer not trusted: CN=Evil CA");
    X509 *self = make_cert("self.corp.test", "self.corp.test", NULL);
    expect_reason(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, self, 0, NULL,
                  "self-signed certificate not trusted: CN=self.corp.test");
    X509_free(self);
    X509_free(x);
}

static void revocation_reasons(void **state)
{
    X509 *x = make_cert("a.corp.test", "Corp Enterprise CA", NULL);
    X509_CRL *crl = X509_CRL_new();
    X509_NAME *issuer = X509_NAME_new();
    set_name(issuer, "Corp Enterprise CA");
    X509_CRL_set_issuer_name(crl, issuer);
    X509_NAME_free(issuer);
    expect_reason(X509_V_ERR_CERT_REVOKED, x, 0, crl,
                  "certificate revoked (serial 0x1A, CRL of Corp Enterprise CA)");
    expect_reason(X509_V_ERR_UNABLE_TO_GET_CRL, x, 0, NULL,
                  "no CRL of issuer CN=Corp Enterprise CA: revocation cannot be checked");
    X509_CRL_free(crl);
    X509_free(x);
}

static void strength_reasons(void **state)
{
    X509 *x = make_cert("a.corp.test", "Corp Enterprise CA", NULL);
    /* The outer signature algorithm is what the certificate was signed with. */
    X509_ALGOR *outer;
    X509_get0_signature(NULL, (const X509_ALGOR **)&outer, x);
    X509_ALGOR_set0(outer, OBJ_nid2obj(NID_sha1WithRSAEncryption), V_ASN1_NULL, NULL);
    expect_reason(X509_V_ERR_CA_MD_TOO_WEAK, x, 0, NULL,
                  "weak signature algorithm sha1WithRSAEncryption (SHA-1 and MD5 "
                  "signatures are refused)");
    EVP_PKEY *rsa1024 = EVP_RSA_gen(1024);
    assert_non_null(rsa1024);
    X509_set_pubkey(x, rsa1024);
    EVP_PKEY_free(rsa1024);
    expect_reason(X509_V_ERR_EE_KEY_TOO_SMALL, x, 0, NULL,
                  "key too small: RSA 1024 (1024 bits; security level 2 requires RSA >= "
                  "2048, EC >= 224)");
    X509_free(x);
}

static void key_usage_reasons(void **state)
{
    char buf[TLS_REASON_MAX];
    X509 *server = make_cert("fe1.corp.test", "Corp Enterprise CA", "serverAuth,clientAuth");
    X509 *client = make_cert("alice", "Corp Enterprise CA", "clientAuth");
    X509 *none = make_cert("old.corp.test", "Corp Enterprise CA", NULL);
    assert_int_equal(tls_verify_key_usage(server, TLS_PEER_SERVER, buf, sizeof buf), 0);
    assert_int_equal(tls_verify_key_usage(server, TLS_PEER_CLIENT, buf, sizeof buf), 0);
    assert_int_equal(tls_verify_key_usage(client, TLS_PEER_CLIENT, buf, sizeof buf), 0);
    assert_int_equal(tls_verify_key_usage(client, TLS_PEER_SERVER, buf, sizeof buf), -1);
    assert_string_equal(buf, "missing extended key usage serverAuth (certificate is for: "
                             "clientAuth)");
    assert_int_equal(tls_verify_key_usage(none, TLS_PEER_SERVER, buf, sizeof buf), -1);
    assert_string_equal(buf, "certificate has no extended key usage: serverAuth required");
    X509_free(server);
    X509_free(client);
    X509_free(none);
}

static void reasons_fit_small_buffers(void **state)
{
    X509 *x = make_cert("a.corp.test", "Corp Enterprise CA", NULL);
    char small[16];
    tls_verify_reason(X509_V_ERR_CERT_HAS_EXPIRED, x, 3, NULL, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validity_reasons),
        cmocka_unit_test(issuer_reasons),
        cmocka_unit_test(revocation_reasons),
        cmocka_unit_test(strength_reasons),
        cmocka_unit_test(key_usage_reasons),
        cmocka_unit_test(reasons_fit_small_buffers),
    };
    return cmocka_run_group_tests_name("tls_reasons", tests, NULL, NULL);
}
