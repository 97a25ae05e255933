/* Unit tests: the CA's strict parsers (src/pki/ca_names.c, ca_settings.c,
 * ca_index.c): accepted forms and a negative case for each rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "pki/ca.h"
#include "pki/ca_index.h"
#include "pki/ca_names.h"
#include "pki/ca_settings.h"

static int dns(const char *name)
{
    tn_err err;
    return ca_check_dns_name(name, &err);
}

static void dns_names(void **state)
{
    assert_int_equal(dns("fe1.corp.example"), 0);
    assert_int_equal(dns("localhost"), 0);
    assert_int_equal(dns("*.corp.example"), 0);
    assert_int_equal(dns("a-b.c0rp.example"), 0);
    assert_int_equal(dns(""), -1);
    assert_int_equal(dns("a..b"), -1);
    assert_int_equal(dns(".a.b"), -1);
    assert_int_equal(dns("a.b."), -1);
    assert_int_equal(dns("-a.b"), -1);
    assert_int_equal(dns("a-.b"), -1);
    assert_int_equal(dns("a_b.c"), -1);
    assert_int_equal(dns("a b.c"), -1);
    assert_int_equal(dns("10.0.0.1"), -1);
    assert_int_equal(dns("*.com"), -1);
    assert_int_equal(dns("f*.corp.example"), -1);
    assert_int_equal(dns("a.*.example"), -1);
    assert_int_equal(dns("*"), -1);
    char label[80];
    memset(label, 'a', 63);
    strcpy(label + 63, ".b");
    assert_int_equal(dns(label), 0);
    memset(label, 'a', 64);
    strcpy(label + 64, ".b");
    assert_int_equal(dns(label), -1);
    char longname[300];
    for (int i = 0; i < 127; i++)
        memcpy(longname + 2 * i, "a.", 2);
    strcpy(longname + 254, "b"); /* 255 characters */
    assert_int_equal(dns(longname), -1);
}

static void sans(void **state)
{
    struct ca_san san;
    tn_err err;
    assert_int_equal(ca_parse_san("DNS:a.corp.example", &san, &err), 0);
    assert_int_equal(san.type, CA_SAN_DNS);
    assert_string_equal(san.value, "a.corp.example");
    assert_int_equal(ca_parse_san("URI:sip:corp.example", &san, &err), 0);
    assert_int_equal(san.type, CA_SAN_URI);
    assert_int_equal(ca_parse_san("IP:127.0.0.1", &san, &err), 0);
    assert_int_equal(san.type, CA_SAN_IP);
    assert_int_equal(ca_parse_san("IP:::1", &san, &err), 0);
    assert_int_equal(ca_parse_san("email:a@b", &san, &err), -1);
    assert_non_null(strstr(err.msg, "expected DNS:name"));
    assert_int_equal(ca_parse_san("dns:a.b", &san, &err), -1);
    assert_int_equal(ca_parse_san("DNS:", &san, &err), -1);
    assert_int_equal(ca_parse_san("URI:corp.example", &san, &err), -1);
    assert_int_equal(ca_parse_san("URI:sip:", &san, &err), -1);
    assert_int_equal(ca_parse_san("URI:sip:a b", &san, &err), -1);
    assert_int_equal(ca_parse_san("IP:1.2.3", &san, &err), -1);
    assert_int_equal(ca_parse_san("IP:1.2.3.4/24", &san, &err), -1);
}

static void times(void **state)
{
    time_t t;
    tn_err err;
    assert_int_equal(ca_parse_utc_time("1970-01-02", &t, &err), 0);
    assert_int_equal(t, 86400);
    assert_int_equal(ca_parse_utc_time("2024-02-29T23:59:59", &t, &err), 0);
    assert_int_equal(ca_parse_utc_time("2024-02-29T23:59:59Z", &t, &err), 0);
    assert_int_equal(ca_parse_utc_time("2023-02-29", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("2023-13-01", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("2023-01-01T24:00:00", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("2023-1-01", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("2023-01-01 12:00:00", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("2023-01-01T12:00", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("1949-12-31", &t, &err), -1);
    assert_int_equal(ca_parse_utc_time("", &t, &err), -1);
}

static void name_fields(void **state)
{
    tn_err err;
    assert_int_equal(ca_check_name_field("o", "Soci\xc3\xa9t\xc3\xa9", 64, &err), 0);
    assert_int_equal(ca_check_name_field("o", "", 64, &err), -1);
    assert_int_equal(ca_check_name_field("o", "a\tb", 64, &err), -1);
    assert_int_equal(ca_check_name_field("o", "a\xc3", 64, &err), -1);
    assert_int_equal(ca_check_name_field("o", "a\xff", 64, &err), -1);
    assert_int_equal(ca_check_name_field("o", "abcde", 4, &err), -1);
    assert_int_equal(ca_check_url("http://crl.corp.example/a.crl", &err), 0);
    assert_int_equal(ca_check_url("https://crl.corp.example/a,b.crl", &err), 0);
    assert_int_equal(ca_check_url("ftp://crl.corp.example/", &err), -1);
    assert_int_equal(ca_check_url("http://", &err), -1);
    assert_int_equal(ca_check_url("http://a b/", &err), -1);
}

static int settings(const char *text, struct ca_settings *s, tn_err *err)
{
    return ca_settings_parse("settings", text, s, err);
}

static void settings_file(void **state)
{
    struct ca_settings s;
    tn_err err;
    assert_int_equal(settings("# c\n\norg=Corp\ncrl_url=http://x/c.crl\ncrl_days=7\n",
                              &s, &err), 0);
    assert_string_equal(s.org, "Corp");
    assert_string_equal(s.crl_url, "http://x/c.crl");
    assert_int_equal(s.crl_days, 7);
    assert_int_equal(settings("crl_days=30", &s, &err), 0);
    assert_string_equal(s.org, "");
    assert_int_equal(settings("org=Corp\n", &s, &err), -1);
    assert_string_equal(err.msg, "settings: crl_days is missing");
    assert_int_equal(settings("crl_days=30\nfoo=1\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "settings:2: unknown setting 'foo'"));
    assert_int_equal(settings("crl_days=30\ncrl_days=31\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "settings:2:"));
    assert_int_equal(settings("crl_days = 30\n", &s, &err), -1);
    assert_int_equal(settings("crl_days=30 \n", &s, &err), -1);
    assert_int_equal(settings("crl_days=0\n", &s, &err), -1);
    assert_int_equal(settings("crl_days=9x\n", &s, &err), -1);
    assert_int_equal(settings("crl_days=-1\n", &s, &err), -1);
    assert_int_equal(settings("crl_days\n", &s, &err), -1);
    assert_int_equal(settings("crl_days=30\r\n", &s, &err), -1);
    assert_int_equal(settings("crl_days=30\ncrl_url=ftp://x\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "settings:2:"));
}

static void index_file(void **state)
{
    struct ca_index idx;
    tn_err err;
    const char *good =
        "V\t271127161303Z\t\t7BFC79F875BDE0512DE3121860D8435C\tunknown\t/O=Corp/CN=a.b\n"
        "R\t271127161303Z\t261127161307Z,keyCompromise\t0a\tunknown\t/CN=c.d\n"
        "E\t20510101000000Z\t\t0B\tunknown\t/CN=e.f\n";
    assert_int_equal(ca_index_parse("index.txt", good, &idx, &err), 0);
    assert_int_equal(idx.count, 3);
    assert_non_null(ca_index_find(&idx, "0x000A"));
    assert_non_null(ca_index_find(&idx, "7bfc79f875bde0512de3121860d8435c"));
    assert_null(ca_index_find(&idx, "0C"));
    assert_string_equal(idx.entries[1].reason, "keyCompromise");
    assert_string_equal(idx.entries[1].serial, "0A");
    char name[64];
    ca_index_entry_name(&idx.entries[0], name, sizeof name);
    assert_string_equal(name, "a.b");
    ca_index_free(&idx);

    static const char *const bad[] = {
        "X\t271127161303Z\t\t01\tunknown\t/CN=a\n",          /* status */
        "V\t2711271613Z\t\t01\tunknown\t/CN=a\n",            /* expiry */
        "V\t271127161303Z\t271127161303Z\t01\tunknown\t/CN=a\n", /* V revoked */
        "R\t271127161303Z\t\t01\tunknown\t/CN=a\n",          /* R without date */
        "R\t271127161303Z\t271127161303Z,tired\t01\tunknown\t/CN=a\n",
        "V\t271127161303Z\t\t0G\tunknown\t/CN=a\n",          /* serial */
        "V\t271127161303Z\t\t01\tunknown\n",                 /* 5 fields */
        "V\t271127161303Z\t\t01\tunknown\t/CN=a\textra\n",   /* 7 fields */
        "V\t271127161303Z\t\t01\tunknown\t/CN=a",            /* no newline */
        "V\t271127161303Z\t\t01\tunknown\t/CN=a\nV\t271127161303Z\t\t001\tunknown\t/CN=b\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ca_index_parse("index.txt", bad[i], &idx, &err), -1);
        assert_non_null(strstr(err.msg, "index.txt:"));
        assert_int_equal(idx.count, 0);
    }
}

static void reasons_and_serials(void **state)
{
    assert_int_equal(ca_reason_code("keyCompromise"), 1);
    assert_int_equal(ca_reason_code("cessationOfOperation"), 5);
    assert_int_equal(ca_reason_code("keycompromise"), -1);
    assert_int_equal(ca_reason_code("certificateHold"), -1);
    assert_true(ca_serial_syntax_ok("0x1A2b"));
    assert_true(ca_serial_syntax_ok("1A2B"));
    assert_false(ca_serial_syntax_ok("0x"));
    assert_false(ca_serial_syntax_ok("1A:2B"));
    assert_false(ca_serial_syntax_ok(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_names),     cmocka_unit_test(sans),
        cmocka_unit_test(times),         cmocka_unit_test(name_fields),
        cmocka_unit_test(settings_file), cmocka_unit_test(index_file),
        cmocka_unit_test(reasons_and_serials),
    };
    return cmocka_run_group_tests_name("ca_parsers", tests, NULL, NULL);
}
