/* Unit tests: bounded string helpers (src/common/str.c).  Every helper
 * must report truncation and never write past the buffer it was given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "common/str.h"

/* A buffer with a guard byte after the part the helper may use. */
#define GUARD 0x5a

static void strlcpy_reports_truncation(void **state)
{
    char buf[6];
    buf[5] = GUARD;
    assert_int_equal(tn_strlcpy(buf, "abcd", 5), 0);
    assert_string_equal(buf, "abcd");
    assert_int_equal(tn_strlcpy(buf, "abcde", 5), -1);
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], GUARD);
    assert_int_equal(tn_strlcpy(buf, "x", 0), -1);
}

static void snprintf_and_appendf_report_truncation(void **state)
{
    char buf[8];
    assert_int_equal(tn_snprintf(buf, sizeof buf, "%s-%d", "ab", 12), 0);
    assert_string_equal(buf, "ab-12");
    assert_int_equal(tn_appendf(buf, sizeof buf, "%s", "xy"), 0);
    assert_string_equal(buf, "ab-12xy");
    assert_int_equal(tn_appendf(buf, sizeof buf, "%s", "z"), -1);
    assert_int_equal(tn_snprintf(buf, sizeof buf, "%s", "12345678"), -1);
}

static void hex_encode_writes_lower_case_digits(void **state)
{
    const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff, 0x10};
    char out[11];
    assert_int_equal(tn_hex_encode(out, sizeof out, in, sizeof in), 0);
    assert_string_equal(out, "000fa5ff10");
    assert_int_equal(tn_hex_encode(out, 1, in, 0), 0);
    assert_string_equal(out, "");
}

static void hex_encode_refuses_a_short_buffer(void **state)
{
    const unsigned char in[] = {0xde, 0xad, 0xbe, 0xef};
    char out[9];
    memset(out, GUARD, sizeof out);
    /* 2n digits without room for the NUL: nothing but an empty string */
    assert_int_equal(tn_hex_encode(out, 8, in, sizeof in), -1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], GUARD);
    assert_int_equal(out[8], GUARD);
    assert_int_equal(tn_hex_encode(out, 0, in, sizeof in), -1);
    assert_int_equal(tn_hex_encode(out, sizeof out, in, sizeof in), 0);
    assert_string_equal(out, "deadbeef");
}

static void append_printable_escapes_control_bytes(void **state)
{
    char buf[64] = "CN=";
    const char text[] = "a\r\nb\x1b\x7f\xc3\xa9 (ok)";
    assert_int_equal(tn_append_printable(buf, sizeof buf, text, sizeof text - 1), 0);
    assert_string_equal(buf, "CN=a\\x0d\\x0ab\\x1b\\x7f\xc3\xa9 (ok)");
    char nul[16] = "";
    assert_int_equal(tn_append_printable(nul, sizeof nul, "a\0b", 3), 0);
    assert_string_equal(nul, "a\\x00b");
}

static void append_printable_cuts_between_characters(void **state)
{
    char buf[7] = "ab";
    /* "abc" fits; "\x0a" after it would need 4 of the 3 bytes left */
    assert_int_equal(tn_append_printable(buf, sizeof buf, "c\nd", 3), -1);
    assert_string_equal(buf, "abc");
    char full[4] = "abc";
    assert_int_equal(tn_append_printable(full, sizeof full, "d", 1), -1);
    assert_string_equal(full, "abc");
    assert_int_equal(tn_append_printable(full, sizeof full, "", 0), 0);
    assert_int_equal(tn_append_printable(full, 0, "d", 1), -1);
}

static void ascii_caseeq_compares_lengths_and_ascii_only(void **state)
{
    assert_true(tn_ascii_caseeq("Corp.TEST", 9, "corp.test", 9));
    assert_false(tn_ascii_caseeq("corp.test", 9, "corp.tes", 8));
    assert_false(tn_ascii_caseeq("\xc3\x89", 2, "\xc3\xa9", 2)); /* É, é: not ASCII */
    assert_true(tn_ascii_caseeq("", 0, "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strlcpy_reports_truncation),
        cmocka_unit_test(snprintf_and_appendf_report_truncation),
        cmocka_unit_test(hex_encode_writes_lower_case_digits),
        cmocka_unit_test(hex_encode_refuses_a_short_buffer),
        cmocka_unit_test(append_printable_escapes_control_bytes),
        cmocka_unit_test(append_printable_cuts_between_characters),
        cmocka_unit_test(ascii_caseeq_compares_lengths_and_ascii_only),
    };
    return cmocka_run_group_tests_name("str", tests, NULL, NULL);
}
