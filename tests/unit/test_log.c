/* Unit tests: log records (src/common/log.c) stay one line each, whatever
 * a peer put in the text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"

/* Run one tn_log call with stderr sent to a file; its output in out. */
static void capture(char *out, size_t len, const char *text)
{
    char path[] = "/tmp/tn-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    tn_log(TN_LOG_INFO, "test", "peer said: %s", text);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    ssize_t n = pread(fd, out, len - 1, 0);
    close(fd);
    assert_true(n > 0);
    out[n] = '\0';
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void plain_text_is_kept(void **state)
{
    char out[4096];
    capture(out, sizeof out, "CN=fe1.corp.test, O=Corp \xc3\xa9t\xc3\xa9");
    assert_non_null(strstr(out, " info test: peer said: CN=fe1.corp.test, O=Corp \xc3\xa9t\xc3\xa9\n"));
    assert_int_equal(count_char(out, '\n'), 1);
}

static void line_breaks_cannot_forge_a_record(void **state)
{
    char out[4096];
    capture(out, sizeof out,
            "evil\n2026-11-28T10:00:00Z info tls: verdict=accepted\r\x1b[2J\x7f");
    assert_int_equal(count_char(out, '\n'), 1);
    assert_non_null(strstr(out, "peer said: evil\\x0a2026-11-28T10:00:00Z info tls: "
                                "verdict=accepted\\x0d\\x1b[2J\\x7f\n"));
}

static void escaped_text_stays_bounded(void **state)
{
    static char text[5000], out[16384];
    memset(text, '\n', sizeof text - 1);
    capture(out, sizeof out, text);
    assert_int_equal(count_char(out, '\n'), 1);
    size_t len = strlen(out);
    assert_true(len < 128 + 2048 + 1);
    assert_int_equal(out[len - 1], '\n');
    /* cut between escapes, never inside one */
    assert_non_null(strstr(out, "\\x0a\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_is_kept),
        cmocka_unit_test(line_breaks_cannot_forge_a_record),
        cmocka_unit_test(escaped_text_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
