/* Unit tests: stream framing and RFC 5626 keep-alives (src/sip/sip_frame.c),
 * whole and split delivery. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_frame.h"

#define MSG1 "OPTIONS sip:a@corp.example SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n" \
             "l: 5\r\n\r\nhello"
#define MSG2 "MESSAGE sip:b@corp.example SIP/2.0\r\nContent-Length:\r\n 0\r\n\r\n"

static enum sip_frame_result frame(const char *s, size_t *used,
                                   struct sip_parse_error *e)
{
    return sip_frame(s, strlen(s), SIP_MAX_MSG, used, e);
}

static void whole_messages(void **state)
{
    struct sip_parse_error e;
    size_t used;
    assert_int_equal(frame(MSG1 MSG2, &used, &e), SIP_FRAME_MESSAGE);
    assert_int_equal(used, strlen(MSG1));
    assert_int_equal(frame(MSG2, &used, &e), SIP_FRAME_MESSAGE);
    assert_int_equal(used, strlen(MSG2));
    assert_int_equal(frame("", &used, &e), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nl: 5\r\n\r\nhell", &used,
                           &e), SIP_FRAME_NEED_MORE);
    assert_int_equal(used, 0);
}

static void keepalives(void **state)
{
    struct sip_parse_error e;
    size_t used;
    assert_int_equal(frame("\r\n\r\n", &used, &e), SIP_FRAME_KEEPALIVE_PING);
    assert_int_equal(used, 4);
    assert_int_equal(frame("\r\n\r\n" MSG1, &used, &e), SIP_FRAME_KEEPALIVE_PING);
    assert_int_equal(used, 4);
    assert_int_equal(frame("\r\n", &used, &e), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame("\r\n" MSG1, &used, &e), SIP_FRAME_KEEPALIVE_PONG);
    assert_int_equal(used, 2);
    assert_int_equal(frame("\r", &used, &e), SIP_FRAME_NEED_MORE);
    assert_int_equal(frame("\r\n\r", &used, &e), SIP_FRAME_NEED_MORE);
}

static void errors(void **state)
{
    struct sip_parse_error e;
    size_t used;
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", &used, &e),
                     SIP_FRAME_ERROR);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.reason, "Bad Request - missing Content-Length");
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nContent-Length: x1\r\n\r\n",
                           &used, &e), SIP_FRAME_ERROR);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.reason, "Bad Request - malformed Content-Length header");
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab",
                           &used, &e), SIP_FRAME_ERROR);
    assert_string_equal(e.reason, "Bad Request - conflicting Content-Length headers");
    /* Content-Length in the start line or a folded value is not a header */
    assert_int_equal(frame("l: 3\r\nl: 1\r\n\r\na", &used, &e), SIP_FRAME_MESSAGE);
    /* a body that would pass max_msg */
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nl: 65535\r\n\r\n",
                           &used, &e), SIP_FRAME_ERROR);
    assert_int_equal(e.status, 513);
    assert_int_equal(frame("OPTIONS sip:a SIP/2.0\r\nl: 99999999999\r\n\r\n",
                           &used, &e), SIP_FRAME_ERROR);
    assert_int_equal(e.status, 400);
    /* headers that never end */
    char *big = malloc(SIP_MAX_MSG + 1);
    assert_non_null(big);
    memset(big, 'a', SIP_MAX_MSG);
    assert_int_equal(sip_frame(big, SIP_MAX_MSG - 1, SIP_MAX_MSG, &used, &e),
                     SIP_FRAME_NEED_MORE);
    assert_int_equal(sip_frame(big, SIP_MAX_MSG + 1, SIP_MAX_MSG, &used, &e),
                     SIP_FRAME_ERROR);
    assert_int_equal(e.status, 513);
    assert_string_equal(e.reason, "Message Too Large");
    free(big);
    /* smaller limit from the caller */
    assert_int_equal(sip_frame(MSG1, strlen(MSG1), 20, &used, &e), SIP_FRAME_ERROR);
    assert_int_equal(e.status, 513);
}

/* Deliver a stream in pieces of every size through one resume state and
 * check that exactly the expected units come out. */
static void split_delivery(void **state)
{
    const char stream[] = "\r\n\r\n" MSG1 "\r\n" MSG2 MSG1;
    const enum sip_frame_result want[] = {
        SIP_FRAME_KEEPALIVE_PING, SIP_FRAME_MESSAGE, SIP_FRAME_KEEPALIVE_PONG,
        SIP_FRAME_MESSAGE, SIP_FRAME_MESSAGE };
    size_t total = sizeof(stream) - 1;
    for (size_t chunk = 1; chunk <= total; chunk++) {
        struct sip_frame_state st = { 0, 0 };
        size_t have = 0, start = 0, n = 0;
        while (start < total) {
            size_t used;
            struct sip_parse_error e;
            enum sip_frame_result r = sip_frame_resume(
                stream + start, have - start, SIP_MAX_MSG, &st, &used, &e);
            if (r == SIP_FRAME_NEED_MORE) {
                assert_true(have < total);
                have = have + chunk > total ? total : have + chunk;
                continue;
            }
            assert_true(n < 5);
            /* a ping split after its first CRLF must not become a pong */
            assert_int_equal(r, want[n]);
            n++;
            start += used;
        }
        assert_int_equal(n, 5);
    }
}

/* The resume state keeps the blank-line search linear: feed a large
 * header block one byte at a time. */
static void resume_is_linear(void **state)
{
    size_t n = 60000;
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    memcpy(buf, "OPTIONS sip:a SIP/2.0\r\n", 23);
    for (size_t i = 23; i + 7 < n; i += 7)
        memcpy(buf + i, "X: y\r\n ", 7); /* folded lines, never blank */
    size_t len = n - (n - 23) % 7;
    memcpy(buf + len, "\r\nl: 0\r\n\r\n", 10);
    len += 10;
    struct sip_frame_state st = { 0, 0 };
    struct sip_parse_error e;
    size_t used = 0;
    enum sip_frame_result r = SIP_FRAME_NEED_MORE;
    for (size_t have = 1; have <= len && r == SIP_FRAME_NEED_MORE; have++)
        r = sip_frame_resume(buf, have, SIP_MAX_MSG, &st, &used, &e);
    assert_int_equal(r, SIP_FRAME_MESSAGE);
    assert_int_equal(used, len);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_messages), cmocka_unit_test(keepalives),
        cmocka_unit_test(errors),         cmocka_unit_test(split_delivery),
        cmocka_unit_test(resume_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
