/* Unit tests: the SMTP reply parser (src/smtp/smtp_reply.c) and the reply
 * reader of the client transport (src/smtp/smtp_io.c) over a socketpair:
 * multi-line replies, enhanced status codes, EHLO keywords, limits, and
 * every way a hostile server can break a reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "smtp/smtp_io.h"
#include "smtp/smtp_reply.h"

/* Feed a whole reply (several CRLF lines in s); returns the last step. */
static enum smtp_reply_step feed_all(struct smtp_reply *r, const char *s, tn_err *err)
{
    enum smtp_reply_step step = SMTP_REPLY_MORE;
    smtp_reply_init(r);
    while (*s != '\0') {
        const char *lf = strchr(s, '\n');
        size_t len = lf ? (size_t)(lf - s) + 1 : strlen(s);
        step = smtp_reply_feed(r, s, len, err);
        if (step != SMTP_REPLY_MORE)
            return step;
        s += len;
    }
    return step;
}

static void single_line(void **state)
{
    struct smtp_reply r;
    tn_err err;
    assert_int_equal(feed_all(&r, "250 OK\r\n", &err), SMTP_REPLY_DONE);
    assert_int_equal(r.code, 250);
    assert_int_equal(smtp_reply_class(&r), 2);
    assert_string_equal(r.text, "OK");
    assert_string_equal(r.enhanced, "");
    assert_int_equal(r.n_lines, 1);
    assert_true(r.done);
    assert_int_equal(feed_all(&r, "354\r\n", &err), SMTP_REPLY_DONE);
    assert_int_equal(r.code, 354);
    assert_string_equal(r.text, "");
    assert_int_equal(feed_all(&r, "250-\r\n250 \r\n", &err), SMTP_REPLY_DONE);
    assert_int_equal(r.n_lines, 2);
}

static void ehlo_keywords(void **state)
{
    struct smtp_reply r;
    tn_err err;
    const char *ehlo = "250-mx.test Hello client.test\r\n"
                       "250-PIPELINING\r\n"
                       "250-SIZE 10240000\r\n"
                       "250-starttls\r\n"
                       "250-AUTH PLAIN LOGIN\r\n"
                       "250-8BITMIME\r\n"
                       "250-SMTPUTF8\r\n"
                       "250 ENHANCEDSTATUSCODES\r\n";
    assert_int_equal(feed_all(&r, ehlo, &err), SMTP_REPLY_DONE);
    assert_int_equal(r.n_lines, 8);
    assert_true(r.ehlo.pipelining);
    assert_true(r.ehlo.size);
    assert_true(r.ehlo.size_max == 10240000);
    assert_true(r.ehlo.starttls);
    assert_true(r.ehlo.eightbitmime);
    assert_true(r.ehlo.smtputf8);
    assert_true(r.ehlo.enhancedstatuscodes);
}

static void ehlo_keywords_not_fooled(void **state)
{
    struct smtp_reply r;
    tn_err err;
    /* The first line is the server's name, never a keyword. */
    assert_int_equal(feed_all(&r, "250 STARTTLS\r\n", &err), SMTP_REPLY_DONE);
    assert_false(r.ehlo.starttls);
    assert_int_equal(feed_all(&r, "250-mx\r\n250-STARTTLSX\r\n250-X STARTTLS\r\n"
                                  "250 PIPELINING2\r\n", &err), SMTP_REPLY_DONE);
    assert_false(r.ehlo.starttls);
    assert_false(r.ehlo.pipelining);
    /* SIZE without a number, or one we cannot hold: no fixed limit. */
    assert_int_equal(feed_all(&r, "250-mx\r\n250 SIZE\r\n", &err), SMTP_REPLY_DONE);
    assert_true(r.ehlo.size);
    assert_true(r.ehlo.size_max == 0);
    assert_int_equal(feed_all(&r, "250-mx\r\n250 SIZE 99999999999999999999999\r\n", &err),
                     SMTP_REPLY_DONE);
    assert_true(r.ehlo.size_max == 0);
    assert_int_equal(feed_all(&r, "250-mx\r\n250 SIZE 18446744073709551615\r\n", &err),
                     SMTP_REPLY_DONE);
    assert_true(r.ehlo.size_max == UINT64_MAX);
    assert_int_equal(feed_all(&r, "250-mx\r\n250 SIZE 12x\r\n", &err), SMTP_REPLY_DONE);
    assert_true(r.ehlo.size_max == 0);
}

static void enhanced_codes(void **state)
{
    struct smtp_reply r;
    tn_err err;
    char line[128];
    feed_all(&r, "550 5.1.1 <x@y.test>: no such user\r\n", &err);
    assert_string_equal(r.enhanced, "5.1.1");
    assert_string_equal(r.text, "<x@y.test>: no such user");
    smtp_reply_describe(&r, line, sizeof line);
    assert_string_equal(line, "550 5.1.1 <x@y.test>: no such user");
    feed_all(&r, "451 4.3.0\r\n", &err);
    assert_string_equal(r.enhanced, "4.3.0");
    assert_string_equal(r.text, "");
    feed_all(&r, "552 5.123.456 big\r\n", &err);
    assert_string_equal(r.enhanced, "5.123.456");
    feed_all(&r, "550-5.7.1 first line\r\n550 5.7.1 second line\r\n", &err);
    assert_string_equal(r.enhanced, "5.7.1");
    assert_string_equal(r.text, "first line second line");
    /* Not an enhanced code: the class differs, too many digits, cut off. */
    static const char *const not_codes[] = {
        "250 5.1.1 weird\r\n", "550 5.1.1234 x\r\n", "550 5.1. x\r\n", "550 5.1.1x\r\n",
        "550 5..1 x\r\n", "550 51.1.1 x\r\n", "354 3.0.0 go\r\n",
    };
    for (size_t i = 0; i < sizeof not_codes / sizeof not_codes[0]; i++) {
        feed_all(&r, not_codes[i], &err);
        assert_string_equal(r.enhanced, "");
        assert_memory_equal(r.text, not_codes[i] + 4, strlen(not_codes[i]) - 6);
    }
}

static void text_is_printable_and_bounded(void **state)
{
    struct smtp_reply r;
    tn_err err;
    feed_all(&r, "250 caf\xc3\xa9\tok\r\n", &err);
    assert_string_equal(r.text, "caf?? ok");
    smtp_reply_init(&r);
    char line[SMTP_REPLY_LINE_MAX];
    memset(line, 'a', sizeof line);
    memcpy(line, "250-", 4);
    memcpy(line + sizeof line - 2, "\r\n", 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(smtp_reply_feed(&r, line, sizeof line, &err), SMTP_REPLY_MORE);
    line[3] = ' ';
    assert_int_equal(smtp_reply_feed(&r, line, sizeof line, &err), SMTP_REPLY_DONE);
    assert_true(r.text_truncated);
    assert_true(strlen(r.text) < sizeof r.text);
}

/* Each of these breaks the reply; err names why. */
static void malformed(void **state)
{
    static const struct {
        const char *reply;
        const char *reason;
    } cases[] = {
        {"250 OK\n", "not ended by CRLF"},
        {"250 OK", "not ended by CRLF"},
        {"250 O\rK\r\n", "control character 0x0d"},
        {"250 O\x01K\r\n", "control character 0x01"},
        {"250 O\x7fK\r\n", "control character 0x7f"},
        {"25\r\n", "too short"},
        {"199 x\r\n", "does not start with a reply code"},
        {"600 x\r\n", "does not start with a reply code"},
        {"260 x\r\n", "does not start with a reply code"},
        {"2a0 x\r\n", "does not start with a reply code"},
        {"250xOK\r\n", "not followed by space or '-'"},
        {"250-a\r\n251 b\r\n", "changes its code from 250 to 251"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct smtp_reply r;
        tn_err err = {""};
        assert_int_equal(feed_all(&r, cases[i].reply, &err), SMTP_REPLY_ERROR);
        if (strstr(err.msg, cases[i].reason) == NULL)
            fail_msg("%s: got '%s'", cases[i].reply, err.msg);
    }
    struct smtp_reply r;
    tn_err err;
    smtp_reply_init(&r);
    assert_int_equal(smtp_reply_feed(&r, "250 O\0K\r\n", 9, &err), SMTP_REPLY_ERROR);
    assert_int_equal(feed_all(&r, "250 OK\r\n", &err), SMTP_REPLY_DONE);
    assert_int_equal(smtp_reply_feed(&r, "250 OK\r\n", 8, &err), SMTP_REPLY_ERROR);
    assert_non_null(strstr(err.msg, "after the end"));
}

static void line_and_line_count_limits(void **state)
{
    struct smtp_reply r;
    tn_err err;
    char line[SMTP_REPLY_LINE_MAX + 1];
    memset(line, 'a', sizeof line);
    memcpy(line, "250 ", 4);
    memcpy(line + SMTP_REPLY_LINE_MAX - 2, "\r\n", 2);
    smtp_reply_init(&r);
    assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX, &err), SMTP_REPLY_DONE);
    memcpy(line + SMTP_REPLY_LINE_MAX - 2, "a\r\n", 3);
    smtp_reply_init(&r);
    assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1, &err), SMTP_REPLY_ERROR);
    assert_non_null(strstr(err.msg, "longer than 512"));
    smtp_reply_init(&r);
    for (int i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
        assert_int_equal(smtp_reply_feed(&r, "250-x\r\n", 7, &err), SMTP_REPLY_MORE);
    assert_int_equal(smtp_reply_feed(&r, "250 x\r\n", 7, &err), SMTP_REPLY_DONE);
    smtp_reply_init(&r);
    for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
        assert_int_equal(smtp_reply_feed(&r, "250-x\r\n", 7, &err), SMTP_REPLY_MORE);
    assert_int_equal(smtp_reply_feed(&r, "250 x\r\n", 7, &err), SMTP_REPLY_ERROR);
    assert_non_null(strstr(err.msg, "more than 64 lines"));
}

/* ---- the reader over a socketpair ------------------------------------------ */

struct pair {
    int ours, theirs;
    struct smtp_io io;
};

static void pair_open(struct pair *p, int timeout_ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->ours = sv[0];
    p->theirs = sv[1];
    smtp_io_init(&p->io, p->ours, timeout_ms);
}

static void pair_close(struct pair *p)
{
    close(p->theirs);
    smtp_io_close(&p->io);
}

static void server_says(struct pair *p, const char *s)
{
    assert_int_equal(write(p->theirs, s, strlen(s)), (ssize_t)strlen(s));
}

static void reader_pipelined_replies(void **state)
{
    struct pair p;
    struct smtp_reply r;
    tn_err err;
    pair_open(&p, 1000);
    server_says(&p, "250 2.1.0 ok\r\n250-2.1.5 a\r\n250 2.1.5 b\r\n354 go\r\n");
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), 0);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.enhanced, "2.1.0");
    assert_true(smtp_io_has_unread(&p.io));
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), 0);
    assert_string_equal(r.text, "a b");
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), 0);
    assert_int_equal(r.code, 354);
    assert_false(smtp_io_has_unread(&p.io));
    server_says(&p, "2");
    assert_true(smtp_io_has_unread(&p.io)); /* on the socket, not yet read */
    server_says(&p, "21 bye\r\n");
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), 0);
    assert_int_equal(r.code, 221);
    close(p.theirs);
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), -1);
    assert_non_null(strstr(err.msg, "closed the connection"));
    smtp_io_close(&p.io);
}

static void reader_refuses_endless_line(void **state)
{
    struct pair p;
    struct smtp_reply r;
    tn_err err;
    char junk[4000];
    pair_open(&p, 1000);
    memset(junk, 'x', sizeof junk);
    memcpy(junk, "250 ", 4);
    assert_int_equal(write(p.theirs, junk, sizeof junk), (ssize_t)sizeof junk);
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 512"));
    pair_close(&p);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A server that drips a reply never finishing it is cut off at the
 * deadline of the whole reply, not of each byte. */
static void reader_deadline_is_per_reply(void **state)
{
    struct pair p;
    struct smtp_reply r;
    tn_err err;
    pair_open(&p, 300);
    server_says(&p, "250-a\r\n250-b\r\n2");
    long start = now_ms();
    assert_int_equal(smtp_io_read_reply(&p.io, &r, &err), -1);
    long took = now_ms() - start;
    assert_true(took >= 250 && took < 2000);
    assert_non_null(strstr(err.msg, "timed out after 300 ms"));
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_line),
        cmocka_unit_test(ehlo_keywords),
        cmocka_unit_test(ehlo_keywords_not_fooled),
        cmocka_unit_test(enhanced_codes),
        cmocka_unit_test(text_is_printable_and_bounded),
        cmocka_unit_test(malformed),
        cmocka_unit_test(line_and_line_count_limits),
        cmocka_unit_test(reader_pipelined_replies),
        cmocka_unit_test(reader_refuses_endless_line),
        cmocka_unit_test(reader_deadline_is_per_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
