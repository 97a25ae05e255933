/* Unit tests: DATA transparency (src/smtp/smtp_dotstuff.c): dot-stuffing,
 * line ends normalised to CRLF (no bare CR or LF reaches the wire), the
 * end marker, and chunk borders anywhere (the same bytes however split). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_dotstuff.h"

#define OUT_MAX 4096

/* Encode in, cut into pieces of chunk bytes (0: whole), and finish. */
static size_t encode(const char *in, size_t len, size_t chunk, char *out)
{
    struct smtp_dotstuff st;
    size_t n = 0;
    smtp_dotstuff_init(&st);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t take = len - off < chunk ? len - off : chunk;
        n += smtp_dotstuff_encode(&st, in + off, take, out + n);
    }
    n += smtp_dotstuff_finish(&st, out + n);
    out[n] = '\0';
    return n;
}

static void expect_wire(const char *in, const char *want)
{
    char out[OUT_MAX];
    size_t len = strlen(in);
    for (size_t chunk = 0; chunk <= len; chunk++) {
        size_t n = encode(in, len, chunk, out);
        assert_true(n <= SMTP_DOTSTUFF_ROOM(len) + SMTP_DOTSTUFF_FINISH_ROOM);
        if (strcmp(out, want) != 0)
            fail_msg("chunk %zu: '%s' became '%s', wanted '%s'", chunk, in, out, want);
    }
}

static void plain_lines(void **state)
{
    expect_wire("", ".\r\n");
    expect_wire("a\r\n", "a\r\n.\r\n");
    expect_wire("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n");
}

static void dots_at_line_start_are_doubled(void **state)
{
    expect_wire(".\r\n", "..\r\n.\r\n");
    expect_wire("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
    expect_wire("..x\r\n", "...x\r\n.\r\n");
    expect_wire("a.b\r\n.c.\r\n", "a.b\r\n..c.\r\n.\r\n");
    expect_wire(".", "..\r\n.\r\n");
}

static void line_ends_become_crlf(void **state)
{
    expect_wire("a\nb\n", "a\r\nb\r\n.\r\n");
    expect_wire("a\rb\r", "a\r\nb\r\n.\r\n");
    expect_wire("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
    expect_wire("a\n\rb", "a\r\n\r\nb\r\n.\r\n");
    /* SMTP smuggling: "\n.\r\n" must not end the data early anywhere. */
    expect_wire("x\n.\r\nMAIL FROM:<evil>\r\n", "x\r\n..\r\nMAIL FROM:<evil>\r\n.\r\n");
    expect_wire("x\r.\rRCPT\r\n", "x\r\n..\r\nRCPT\r\n.\r\n");
    expect_wire("\r.", "\r\n..\r\n.\r\n");
}

static void unfinished_last_line(void **state)
{
    expect_wire("no newline", "no newline\r\n.\r\n");
    expect_wire("cr at end\r", "cr at end\r\n.\r\n");
}

static void worst_case_fits_the_room(void **state)
{
    /* Each chunk encoded alone, with a CR held over from the last one. */
    static const char worst[] = "\r.\r.\r.\r.";
    char out[SMTP_DOTSTUFF_ROOM(1) + 1];
    struct smtp_dotstuff st;
    smtp_dotstuff_init(&st);
    for (size_t i = 0; i < sizeof worst - 1; i++)
        assert_true(smtp_dotstuff_encode(&st, worst + i, 1, out) <= SMTP_DOTSTUFF_ROOM(1));
    assert_true(smtp_dotstuff_finish(&st, out) <= SMTP_DOTSTUFF_FINISH_ROOM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_lines),
        cmocka_unit_test(dots_at_line_start_are_doubled),
        cmocka_unit_test(line_ends_become_crlf),
        cmocka_unit_test(unfinished_last_line),
        cmocka_unit_test(worst_case_fits_the_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
