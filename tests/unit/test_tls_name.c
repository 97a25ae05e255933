/* Unit tests: certificate name matching rules (src/tls/tls_name.c) and the
 * SIP users a client certificate names (src/tls/tls_sip_user.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/x509v3.h>

#include "tls/tls_name.h"
#include "tls/tls_sip_user.h"

static enum tls_name_match m(const char *pattern, const char *wanted, bool wild)
{
    return tls_name_match_dns(pattern, strlen(pattern), wanted, strlen(wanted), wild);
}

static void exact_names(void **state)
{
    assert_int_equal(m("a.corp.test", "a.corp.test", false), TLS_NAME_MATCH);
    assert_int_equal(m("A.Corp.TEST", "a.corp.test", false), TLS_NAME_MATCH);
    assert_int_equal(m("a.corp.test.", "a.corp.test", false), TLS_NAME_MATCH);
    assert_int_equal(m("a.corp.test", "a.corp.test.", false), TLS_NAME_MATCH);
    assert_int_equal(m("a.corp.test", "b.corp.test", false), TLS_NAME_NO_MATCH);
    assert_int_equal(m("a.corp.test", "a.corp.tes", false), TLS_NAME_NO_MATCH);
    assert_int_equal(m("", "a.corp.test", false), TLS_NAME_NO_MATCH);
}

static void wildcard_whole_left_label(void **state)
{
    assert_int_equal(m("*.corp.test", "a.corp.test", true), TLS_NAME_MATCH);
    assert_int_equal(m("*.corp.test", "A.CORP.test", true), TLS_NAME_MATCH);
    assert_int_equal(m("*.corp.test", "a.corp.test", false), TLS_NAME_WILDCARD_REFUSED);
    assert_int_equal(m("*.corp.test", "a.b.corp.test", true), TLS_NAME_NO_MATCH);
    assert_int_equal(m("*.corp.test", "corp.test", true), TLS_NAME_NO_MATCH);
    assert_int_equal(m("*.corp.test", ".corp.test", true), TLS_NAME_NO_MATCH);
}

static void wildcard_forms_never_accepted(void **state)
{
    assert_int_equal(m("f*.corp.test", "fe1.corp.test", true), TLS_NAME_BAD_PATTERN);
    assert_int_equal(m("*e1.corp.test", "fe1.corp.test", true), TLS_NAME_BAD_PATTERN);
    assert_int_equal(m("a.*.test", "a.corp.test", true), TLS_NAME_BAD_PATTERN);
    assert_int_equal(m("*.*.test", "a.b.test", true), TLS_NAME_BAD_PATTERN);
    assert_int_equal(m("*.test", "corp.test", true), TLS_NAME_BAD_PATTERN);
    assert_int_equal(m("*", "corp", true), TLS_NAME_BAD_PATTERN);
    /* A reference name never carries a wildcard. */
    assert_int_equal(m("*.corp.test", "*.corp.test", true), TLS_NAME_NO_MATCH);
}

static void reference_name_syntax(void **state)
{
    assert_true(tls_name_is_valid_reference("fe1.corp.test"));
    assert_true(tls_name_is_valid_reference("127.0.0.1"));
    assert_true(tls_name_is_valid_reference("::1"));
    assert_false(tls_name_is_valid_reference(""));
    assert_false(tls_name_is_valid_reference("-a.corp.test"));
    assert_false(tls_name_is_valid_reference("a-.corp.test"));
    assert_false(tls_name_is_valid_reference("a..test"));
    assert_false(tls_name_is_valid_reference("a b.test"));
    assert_false(tls_name_is_valid_reference("*.corp.test"));
    char long_label[80];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".test");
    assert_false(tls_name_is_valid_reference(long_label));
}

/* A certificate carrying the given SAN entries ("DNS:x,URI:sip:y"), or
 * none when sans is NULL; the CN is always "cn.corp.test". */
static X509 *cert_with(const char *sans)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"cn.corp.test",
                               -1, -1, 0);
    if (sans != NULL) {
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    return x;
}

static void check(const char *sans, const char *wanted, enum tls_name_rules rules,
                  int want_rc, const char *want_text)
{
    X509 *x = cert_with(sans);
    char detail[400];
    int rc = tls_name_check(x, wanted, rules, detail, sizeof detail);
    X509_free(x);
    if (rc != want_rc || strcmp(detail, want_text) != 0)
        fail_msg("%s vs %s: rc %d '%s', wanted rc %d '%s'", sans ? sans : "(no SAN)", wanted,
                 rc, detail, want_rc, want_text);
}

static void cert_dns_names(void **state)
{
    check("DNS:fe1.corp.example", "fe1.corp.example", TLS_NAME_EXACT, 0,
          "DNS:fe1.corp.example");
    check("DNS:fe9.corp.example", "fe2.corp.example", TLS_NAME_EXACT, -1,
          "name mismatch: wanted fe2.corp.example, certificate names fe9.corp.example");
    check("DNS:x.corp.test,DNS:y.corp.test", "z.corp.test", TLS_NAME_EXACT, -1,
          "name mismatch: wanted z.corp.test, certificate names x.corp.test, y.corp.test");
    check("DNS:x.corp.test,DNS:y.corp.test", "Y.corp.test", TLS_NAME_EXACT, 0,
          "DNS:y.corp.test");
}

static void cert_cn_is_never_used(void **state)
{
    check(NULL, "cn.corp.test", TLS_NAME_EXACT, -1,
          "name mismatch: wanted cn.corp.test, certificate has no subjectAltName "
          "(name only in CN=cn.corp.test; the CN is never used)");
    check("URI:https://cn.corp.test", "cn.corp.test", TLS_NAME_EXACT, -1,
          "name mismatch: wanted cn.corp.test, certificate names URI:https://cn.corp.test");
}

static void cert_wildcards(void **state)
{
    check("DNS:*.corp.test", "a.corp.test", TLS_NAME_WILDCARD, 0, "DNS:*.corp.test");
    check("DNS:*.corp.test", "a.corp.test", TLS_NAME_EXACT, -1,
          "wildcard not allowed: wanted a.corp.test, certificate names *.corp.test");
    check("DNS:*.corp.test", "a.corp.test", TLS_NAME_SIP, -1,
          "wildcard not allowed for SIP: wanted a.corp.test, certificate names *.corp.test");
    check("DNS:*.corp.test", "a.b.corp.test", TLS_NAME_WILDCARD, -1,
          "name mismatch: wanted a.b.corp.test, certificate names *.corp.test");
    check("DNS:f*.corp.test", "fe1.corp.test", TLS_NAME_WILDCARD, -1,
          "name mismatch: wanted fe1.corp.test, certificate names f*.corp.test (a wildcard "
          "must be the whole left-most label of a name with at least two more labels)");
}

static void required_pattern_any_under(void **state)
{
    /* An SMTP connector's "*.bank.test": any one host directly under it. */
    check("DNS:mx1.bank.test", "*.bank.test", TLS_NAME_ANY_UNDER, 0, "DNS:mx1.bank.test");
    check("DNS:*.bank.test", "*.bank.test", TLS_NAME_ANY_UNDER, 0, "DNS:*.bank.test");
    check("DNS:MX1.Bank.Test.", "*.bank.test", TLS_NAME_ANY_UNDER, 0, "DNS:MX1.Bank.Test.");
    check("DNS:a.mx.bank.test", "*.bank.test", TLS_NAME_ANY_UNDER, -1,
          "name mismatch: wanted *.bank.test, certificate names a.mx.bank.test");
    check("DNS:bank.test", "*.bank.test", TLS_NAME_ANY_UNDER, -1,
          "name mismatch: wanted *.bank.test, certificate names bank.test");
    check("DNS:mx.evilbank.test", "*.bank.test", TLS_NAME_ANY_UNDER, -1,
          "name mismatch: wanted *.bank.test, certificate names mx.evilbank.test");
    check("DNS:*.test", "*.bank.test", TLS_NAME_ANY_UNDER, -1,
          "name mismatch: wanted *.bank.test, certificate names *.test");
    check("DNS:mx1.bank.test", "mx1.bank.test", TLS_NAME_EXACT, 0, "DNS:mx1.bank.test");
}

static void cert_sip_identities(void **state)
{
    /* RFC 5922 7.1: sip URIs, when present, are the only identities. */
    check("URI:sip:corp.example,DNS:fe1.corp.example", "corp.example", TLS_NAME_SIP, 0,
          "URI:corp.example");
    check("URI:sip:corp.example,DNS:fe1.corp.example", "fe1.corp.example", TLS_NAME_SIP, -1,
          "name mismatch: wanted fe1.corp.example, certificate names corp.example");
    check("DNS:fe1.corp.example", "fe1.corp.example", TLS_NAME_SIP, 0, "DNS:fe1.corp.example");
    /* A URI with a user part is not a domain identity. */
    check("URI:sip:alice@corp.example,DNS:fe1.corp.example", "fe1.corp.example",
          TLS_NAME_SIP, 0, "DNS:fe1.corp.example");
}

static void cert_ip_addresses(void **state)
{
    check("IP:127.0.0.1", "127.0.0.1", TLS_NAME_EXACT, 0, "IP:127.0.0.1");
    check("DNS:127.0.0.1", "127.0.0.1", TLS_NAME_EXACT, -1,
          "name mismatch: wanted IP 127.0.0.1, certificate names DNS:127.0.0.1");
    check("IP:::1", "::1", TLS_NAME_EXACT, 0, "IP:::1");
}

/* A certificate whose one SAN of type gtype is the len bytes at bytes
 * (which X509V3_EXT_conf would not write: an embedded NUL). */
static X509 *cert_with_raw_san(int gtype, const char *bytes, int len)
{
    X509 *x = cert_with(NULL);
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    assert_true(gens != NULL && gn != NULL && s != NULL);
    ASN1_STRING_set(s, bytes, len);
    GENERAL_NAME_set0_value(gn, gtype, s);
    sk_GENERAL_NAME_push(gens, gn);
    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
    GENERAL_NAMES_free(gens);
    return x;
}

static void cert_embedded_nul_refused(void **state)
{
    X509 *x = cert_with_raw_san(GEN_DNS, "good.test\0.evil.test", 20);
    char detail[300];
    assert_int_equal(tls_name_check(x, "good.test", TLS_NAME_EXACT, detail, sizeof detail), -1);
    X509_free(x);
}

/* A SIP user URI names user@domain: user exact, domain in any case, sip:
 * or sips:; nothing with a password, port, parameters, headers, spaces,
 * a second '@', an empty side or a NUL counts, and never the CN. */
static void cert_sip_users(void **state)
{
    static const struct {
        const char *sans, *user, *domain;
        bool names;
    } cases[] = {
        {"URI:sip:alice@corp.test", "alice", "corp.test", true},
        {"URI:SIP:alice@CORP.Test", "alice", "corp.test", true},
        {"URI:sips:alice@corp.test", "alice", "corp.test", true},
        {"DNS:fe1.corp.test,URI:sip:bob@corp.test,URI:sip:alice@corp.test", "alice",
         "corp.test", true},
        {"URI:sip:Alice@corp.test", "alice", "corp.test", false},
        {"URI:sip:alice@corp.test", "alice", "other.test", false},
        {"URI:sip:alice@corp.test", "bob", "corp.test", false},
        {"URI:sip:alice@corp.test.evil", "alice", "corp.test", false},
        {"URI:sip:alice@corp.test;transport=tls", "alice", "corp.test", false},
        {"URI:sip:alice@corp.test:5061", "alice", "corp.test", false},
        {"URI:sip:alice:secret@corp.test", "alice", "corp.test", false},
        {"URI:sip:alice@corp.test?subject=x", "alice", "corp.test", false},
        {"URI:sip:alice@bob@corp.test", "alice", "corp.test", false},
        {"URI:sip:corp.test", "", "corp.test", false},
        {"URI:sip:@corp.test", "", "corp.test", false},
        {"URI:tel:+15551234", "alice", "corp.test", false},
        {"URI:mailto:alice@corp.test", "alice", "corp.test", false},
        {"email:alice@corp.test", "alice", "corp.test", false},
        {"DNS:alice.corp.test", "alice", "corp.test", false},
        {NULL, "alice", "corp.test", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        X509 *x = cert_with(cases[i].sans);
        if (tls_cert_names_sip_user(x, cases[i].user, cases[i].domain) != cases[i].names)
            fail_msg("%s, user %s@%s: wanted %s", cases[i].sans ? cases[i].sans : "(no SAN)",
                     cases[i].user, cases[i].domain, cases[i].names ? "named" : "not named");
        X509_free(x);
    }
    assert_false(tls_cert_names_sip_user(NULL, "alice", "corp.test"));

    /* The log line's list: user URIs only, cut to the buffer. */
    X509 *x = cert_with("DNS:fe1.corp.test,URI:sip:alice@corp.test,URI:sip:corp.test,"
                        "URI:sips:bob@corp.test");
    char buf[64];
    assert_int_equal(tls_cert_sip_users(x, buf, sizeof buf), 2);
    assert_string_equal(buf, "sip:alice@corp.test, sips:bob@corp.test");
    char small[12];
    assert_int_equal(tls_cert_sip_users(x, small, sizeof small), 2);
    assert_true(strlen(small) < sizeof small);
    X509_free(x);
    x = cert_with("DNS:fe1.corp.test");
    assert_int_equal(tls_cert_sip_users(x, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    X509_free(x);

    /* "alice@corp.test" followed by a NUL and more is no name at all */
    x = cert_with_raw_san(GEN_URI, "sip:alice@corp.test\0x", 21);
    assert_false(tls_cert_names_sip_user(x, "alice", "corp.test"));
    assert_int_equal(tls_cert_sip_users(x, buf, sizeof buf), 0);
    X509_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_names),
        cmocka_unit_test(wildcard_whole_left_label),
        cmocka_unit_test(wildcard_forms_never_accepted),
        cmocka_unit_test(reference_name_syntax),
        cmocka_unit_test(cert_dns_names),
        cmocka_unit_test(cert_cn_is_never_used),
        cmocka_unit_test(cert_wildcards),
        cmocka_unit_test(cert_sip_identities),
        cmocka_unit_test(required_pattern_any_under),
        cmocka_unit_test(cert_ip_addresses),
        cmocka_unit_test(cert_embedded_nul_refused),
        cmocka_unit_test(cert_sip_users),
    };
    return cmocka_run_group_tests_name("tls_name", tests, NULL, NULL);
}
