/* Unit tests: SIP sub-parsers (src/sip/sip_uri.c, sip_hdr.c): URIs,
 * name-addr, Via, CSeq, generic params, Digest credentials/challenges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_hdr.h"
#include "sip/sip_uri.h"

#define S(lit) sip_str_cstr(lit)

static int uri(const char *text, struct sip_uri *u)
{
    return sip_uri_parse(S(text), u);
}

static void uris(void **state)
{
    struct sip_uri u;
    assert_int_equal(uri("sip:alice:secret@corp.example:5061;transport=tls;lr"
                         "?subject=hi&priority=urgent", &u), 0);
    assert_int_equal(u.scheme, SIP_URI_SIP);
    assert_true(sip_str_eq_lit(u.user, "alice"));
    assert_true(u.has_password);
    assert_true(sip_str_eq_lit(u.password, "secret"));
    assert_true(sip_str_eq_lit(u.host, "corp.example"));
    assert_int_equal(u.port, 5061);
    assert_true(sip_str_eq_lit(u.transport, "tls"));
    assert_true(u.lr);
    assert_true(sip_str_eq_lit(u.headers, "subject=hi&priority=urgent"));
    sip_str v;
    assert_true(sip_uri_param(&u, "TRANSPORT", &v));
    assert_true(sip_str_eq_lit(v, "tls"));
    assert_false(sip_uri_param(&u, "maddr", NULL));

    assert_int_equal(uri("SIPS:corp.example", &u), 0);
    assert_int_equal(u.scheme, SIP_URI_SIPS);
    assert_int_equal(u.user.len, 0);
    assert_int_equal(u.port, 0);
    assert_int_equal(uri("sip:+1%20555;isub=1@gw.example;user=phone;ob", &u), 0);
    assert_true(sip_str_eq_lit(u.user, "+1%20555;isub=1"));
    assert_true(sip_str_eq_lit(u.user_param, "phone"));
    assert_true(u.ob);
    assert_int_equal(uri("sip:192.0.2.4", &u), 0);
    assert_int_equal(uri("sip:[::1]:5061;maddr=239.255.255.1", &u), 0);
    assert_true(u.host_is_ipv6);
    assert_true(sip_str_eq_lit(u.host, "::1"));
    assert_true(sip_str_eq_lit(u.maddr, "239.255.255.1"));
    assert_int_equal(uri("tel:+1-201-555-0123;phone-context=example.com", &u), 0);
    assert_int_equal(u.scheme, SIP_URI_TEL);
    assert_true(sip_str_eq_lit(u.user, "+1-201-555-0123"));

    static const char *const bad[] = {
        "", "sip:", "sip:@h", "sip:a@", "http://h", "sip:h:", "sip:h:0",
        "sip:h:65536", "sip:h:5x", "sip:[::1", "sip:[::1]x", "sip:[zz::1]",
        "sip:a b@h", "sip:a@h h", "sip:a%2@h", "sip:a%zz@h", "sip:h;=x",
        "sip:h;a=b=c", "sip:h?", "sip:-h", "sip:h-", "sip:a..b", "sip:.a",
        "sip:h_x", "tel:", "tel:12x", "sip:a\"@h", "sip:a<@h", "sip:h;a=\"b\"",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        if (uri(bad[k], &u) == 0)
            fail_msg("accepted bad URI \"%s\"", bad[k]);
    /* an embedded NUL never passes */
    assert_int_equal(sip_uri_parse(sip_str_make("sip:a\0b@h", 9), &u), -1);
    assert_int_equal(sip_uri_parse(sip_str_make("sip:h;a\0", 8), &u), -1);
}

static void params(void **state)
{
    sip_str rest = S(" ; a = 1 ;flag;q=\"x;y\\\"z\";h=[::1]");
    struct sip_param p;
    assert_int_equal(sip_param_next(&rest, &p), 1);
    assert_true(sip_str_eq_lit(p.name, "a") && sip_str_eq_lit(p.value, "1"));
    assert_int_equal(sip_param_next(&rest, &p), 1);
    assert_true(sip_str_eq_lit(p.name, "flag") && !p.has_value);
    assert_int_equal(sip_param_next(&rest, &p), 1);
    assert_true(p.quoted && sip_str_eq_lit(p.value, "x;y\\\"z"));
    char out[16];
    assert_int_equal(sip_unquote(p.value, out, sizeof(out)), 0);
    assert_string_equal(out, "x;y\"z");
    assert_int_equal(sip_unquote(p.value, out, 3), -1);
    assert_int_equal(sip_param_next(&rest, &p), 1);
    assert_true(sip_str_eq_lit(p.value, "[::1]"));
    assert_int_equal(sip_param_next(&rest, &p), 0);
    assert_int_equal(sip_param_find(S(";a=1;B=2"), "b", &p), 1);
    assert_true(sip_str_eq_lit(p.value, "2"));
    assert_int_equal(sip_param_find(S(";a=1"), "b", &p), 0);
    static const char *const bad[] = { "x", ";", ";=1", ";a=", ";a=\"x",
                                       ";a b", ";a=1 2", ";a=(" };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        rest = S(bad[k]);
        if (sip_param_next(&rest, &p) != -1)
            fail_msg("accepted bad params \"%s\"", bad[k]);
    }
}

static void name_addrs(void **state)
{
    struct sip_name_addr na;
    assert_int_equal(sip_name_addr_parse(S("\"A \\\"B\\\"\" <sip:a@h>;tag=x"),
                                         &na), 0);
    assert_true(sip_str_eq_lit(na.display, "A \\\"B\\\""));
    assert_true(sip_str_eq_lit(na.uri_text, "sip:a@h"));
    assert_true(sip_str_eq_lit(na.tag, "x"));
    assert_int_equal(sip_name_addr_parse(S("Bob Smith <sip:b@h>"), &na), 0);
    assert_true(sip_str_eq_lit(na.display, "Bob Smith"));
    assert_int_equal(sip_name_addr_parse(S("<sip:b@h;lr>"), &na), 0);
    assert_true(na.uri.lr);
    assert_int_equal(sip_name_addr_parse(S("sip:b@h;tag=7"), &na), 0);
    assert_true(sip_str_eq_lit(na.uri_text, "sip:b@h"));
    assert_true(sip_str_eq_lit(na.tag, "7")); /* addr-spec: a header param */
    assert_int_equal(sip_name_addr_parse(
        S("<sip:a@h;ob>;expires=3600;q=0.7;reg-id=2;"
          "+sip.instance=\"<urn:uuid:1>\""), &na), 0);
    assert_true(na.has_expires && na.expires == 3600);
    assert_true(sip_str_eq_lit(na.q, "0.7"));
    assert_true(na.has_reg_id && na.reg_id == 2);
    assert_true(sip_str_eq_lit(na.instance, "<urn:uuid:1>"));
    assert_int_equal(sip_name_addr_parse(S(" * "), &na), 0);
    assert_true(na.is_star);
    static const char *const bad[] = {
        "", "<>", "<sip:a@h", "\"x <sip:a@h>", "x@y <sip:a@h>", "<sip:a@h> x",
        "<sip:a@h>;tag", "<sip:a@h>;tag=1;tag=2", "<sip:a@h>;expires=-1",
        "<sip:a@h>;expires=99999999999", "<sip:a@h>;q=1.5", "<sip:a@h>;q=0.1234",
        "<sip:a@h>;reg-id=x", "<mailto:a@h>", "**",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        if (sip_name_addr_parse(S(bad[k]), &na) == 0)
            fail_msg("accepted bad name-addr \"%s\"", bad[k]);
}

static void vias(void **state)
{
    struct sip_via v;
    assert_int_equal(sip_via_parse(S("SIP / 2.0 / TLS  h.example:5061 ;branch="
                                     "z9hG4bKx;received=192.0.2.1;rport=1;"
                                     "maddr=224.0.0.1;ttl=1"), &v), 0);
    assert_true(sip_str_eq_lit(v.transport, "TLS"));
    assert_true(sip_str_eq_lit(v.host, "h.example"));
    assert_int_equal(v.port, 5061);
    assert_true(sip_str_eq_lit(v.branch, "z9hG4bKx"));
    assert_true(sip_str_eq_lit(v.received, "192.0.2.1"));
    assert_true(v.has_rport && sip_str_eq_lit(v.rport, "1"));
    assert_true(sip_str_eq_lit(v.maddr, "224.0.0.1"));
    assert_int_equal(sip_via_parse(S("SIP/2.0/TCP [2001:db8::1];rport"), &v), 0);
    assert_true(v.host_is_ipv6 && v.has_rport && v.rport.len == 0);
    static const char *const bad[] = {
        "", "SIP/2.0/TLS", "SIP/2.0 TLS h", "HTTP/2.0/TLS h", "SIP/2.1/TLS h",
        "SIP/2.0/ h", "SIP/2.0/TLSh", "SIP/2.0/TLS h:", "SIP/2.0/TLS h;branch",
        "SIP/2.0/TLS h;rport=x", "SIP/2.0/TLS h x", "SIP/2.0/TLS [::1]:99999",
        "SIP/2.0/TLS h;received", "SIP/2.0/TLS h;maddr=a;maddr=b",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        if (sip_via_parse(S(bad[k]), &v) == 0)
            fail_msg("accepted bad Via \"%s\"", bad[k]);
}

static void cseqs(void **state)
{
    uint32_t n;
    sip_str m;
    assert_int_equal(sip_cseq_parse(S(" 42\r\n INVITE "), &n, &m), 0);
    assert_int_equal(n, 42);
    assert_true(sip_str_eq_lit(m, "INVITE"));
    assert_int_equal(sip_cseq_parse(S("2147483647 X"), &n, &m), 0);
    static const char *const bad[] = { "", "1", "INVITE", "2147483648 X",
                                       "00000000001 X", "1 IN VITE", "1 (x)",
                                       "+1 X", "1.0 X" };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        if (sip_cseq_parse(S(bad[k]), &n, &m) == 0)
            fail_msg("accepted bad CSeq \"%s\"", bad[k]);
    size_t cl;
    assert_int_equal(sip_content_length_parse(S(" 12 "), 100, &cl), 0);
    assert_int_equal(cl, 12);
    assert_int_equal(sip_content_length_parse(S("101"), 100, &cl), -1);
    assert_int_equal(sip_content_length_parse(S("1 2"), 100, &cl), -1);
}

static void digest(void **state)
{
    struct sip_digest_params d;
    assert_int_equal(sip_digest_params_parse(S(
        "Digest username=\"al\\\"ice\", realm=\"corp.example\",\r\n "
        "nonce=\"abc\", uri=\"sip:corp.example\", response=\"0123\", "
        "algorithm=SHA-256, cnonce=\"xyz\", opaque=\"\", qop=auth, "
        "nc=0000000a, foo=bar"), &d), 0);
    assert_true(sip_str_eq_lit(d.username, "al\\\"ice"));
    assert_true(sip_str_eq_lit(d.realm, "corp.example"));
    assert_true(sip_str_eq_lit(d.algorithm, "SHA-256"));
    assert_true(sip_str_eq_lit(d.qop, "auth"));
    assert_true(sip_str_eq_lit(d.nc, "0000000a"));
    assert_non_null(d.opaque.p);
    assert_int_equal(d.opaque.len, 0);
    assert_null(d.stale.p);
    /* a challenge */
    assert_int_equal(sip_digest_params_parse(S(
        "digest realm=\"r\", qop=\"auth,auth-int\", nonce=\"n\", stale=TRUE"),
        &d), 0);
    assert_true(sip_str_eq_lit(d.qop, "auth,auth-int"));
    assert_true(sip_str_eq_lit(d.stale, "TRUE"));
    static const char *const bad[] = {
        "", "Digest", "Digest ", "Basic dXNlcjpwYXNz", "Digestusername=\"a\"",
        "Digest username=\"a\", username=\"b\"", "Digest username=\"a",
        "Digest username", "Digest username=", "Digest a=b c=d",
        "Digest nc=1", "Digest nc=0000000g", "Digest realm=\"r\" ,, x",
        "Digest response=\"a\", RESPONSE=\"b\"",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        if (sip_digest_params_parse(S(bad[k]), &d) == 0)
            fail_msg("accepted bad Digest \"%s\"", bad[k]);
}

/* Empty slices with a NULL pointer are plain "" to every parser. */
static void null_slices(void **state)
{
    struct sip_uri u;
    struct sip_name_addr na;
    struct sip_via v;
    struct sip_digest_params d;
    struct sip_param p;
    uint32_t n;
    size_t cl;
    sip_str m, rest = SIP_STR_NULL;
    assert_int_equal(sip_uri_parse(SIP_STR_NULL, &u), -1);
    assert_int_equal(sip_name_addr_parse(SIP_STR_NULL, &na), -1);
    assert_int_equal(sip_via_parse(SIP_STR_NULL, &v), -1);
    assert_int_equal(sip_cseq_parse(SIP_STR_NULL, &n, &m), -1);
    assert_int_equal(sip_digest_params_parse(SIP_STR_NULL, &d), -1);
    assert_int_equal(sip_content_length_parse(SIP_STR_NULL, 9, &cl), -1);
    assert_int_equal(sip_param_next(&rest, &p), 0);
    assert_int_equal(sip_param_find(SIP_STR_NULL, "x", &p), 0);
    assert_int_equal(sip_hdr_lookup(SIP_STR_NULL), SIP_HDR_OTHER);
}

static void names(void **state)
{
    assert_int_equal(sip_hdr_lookup(S("v")), SIP_HDR_VIA);
    assert_int_equal(sip_hdr_lookup(S("I")), SIP_HDR_CALL_ID);
    assert_int_equal(sip_hdr_lookup(S("call-id")), SIP_HDR_CALL_ID);
    assert_int_equal(sip_hdr_lookup(S("X-Foo")), SIP_HDR_OTHER);
    assert_int_equal(sip_hdr_lookup(S("q")), SIP_HDR_OTHER);
    assert_string_equal(sip_hdr_name(SIP_HDR_CSEQ), "CSeq");
    assert_true(sip_hdr_is_list(SIP_HDR_ROUTE));
    assert_false(sip_hdr_is_list(SIP_HDR_SUBJECT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uris),     cmocka_unit_test(params),
        cmocka_unit_test(name_addrs), cmocka_unit_test(vias),
        cmocka_unit_test(cseqs),    cmocka_unit_test(digest),
        cmocka_unit_test(null_slices), cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
