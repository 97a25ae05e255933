/* Unit tests: the DATA-phase scanner (src/smtp/smtp_data.c): end of data,
 * dot-unstuffing, SMTP smuggling sequences, size limit, sink failure,
 * split delivery at every offset, and an exhaustive comparison with a
 * naive reference over every short string of CR, LF, "." and "a". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_data.h"
#include "smtp_data_reference.h"

#define OUT_MAX 4096

/* What a scan produced, from the sink and the scanner's fields. */
struct result {
    char out[OUT_MAX];
    size_t out_len;
    bool end;
    size_t consumed;    /* total over all feeds */
    struct smtp_data d;
};

static int collect(void *ctx, const char *p, size_t n)
{
    struct result *r = ctx;
    assert_true(n > 0); /* the sink never gets empty pieces */
    assert_true(r->out_len + n <= sizeof(r->out));
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    return 0;
}

/* Feed s[0, n) in pieces cut at the offsets in cuts[] (ascending), or
 * whole if ncuts is 0; stop at the end of data, as a server would. */
static void scan_cuts(const char *s, size_t n, const size_t *cuts,
                      size_t ncuts, uint64_t max, struct result *r)
{
    memset(r, 0, sizeof(*r));
    smtp_data_init(&r->d, max, collect, r);
    size_t from = 0;
    for (size_t k = 0; k <= ncuts && !r->end; k++) {
        size_t to = k < ncuts ? cuts[k] : n, used;
        r->end = smtp_data_feed(&r->d, s + from, to - from, &used) ==
                 SMTP_DATA_END;
        if (!r->end)
            assert_int_equal(used, to - from);
        r->consumed += used;
        from = to;
    }
}

static void scan(const char *s, uint64_t max, struct result *r)
{
    scan_cuts(s, strlen(s), NULL, 0, max, r);
}

static void assert_same(const struct result *a, const struct result *b)
{
    assert_int_equal(a->end, b->end);
    assert_int_equal(a->consumed, b->consumed);
    assert_int_equal(a->out_len, b->out_len);
    assert_memory_equal(a->out, b->out, a->out_len);
    assert_int_equal(a->d.size, b->d.size);
    assert_int_equal(a->d.bare_cr, b->d.bare_cr);
    assert_int_equal(a->d.bare_lf, b->d.bare_lf);
    assert_int_equal(a->d.too_big, b->d.too_big);
}

/* Expect end of data after `consumed` octets with output `want`. */
static void expect_message(const char *in, size_t consumed, const char *want,
                           bool bare_cr, bool bare_lf)
{
    struct result r;
    scan(in, 0, &r);
    if (!r.end || r.consumed != consumed || r.out_len != strlen(want) ||
        memcmp(r.out, want, r.out_len) != 0 || r.d.bare_cr != bare_cr ||
        r.d.bare_lf != bare_lf)
        fail_msg("input \"%s\": end %d consumed %zu (want %zu) bare cr %d "
                 "lf %d, output \"%.*s\"", in, r.end, r.consumed, consumed,
                 r.d.bare_cr, r.d.bare_lf, (int)r.out_len, r.out);
    assert_int_equal(r.d.size, strlen(want));
}

static void simple_message(void **state)
{
    const char *m = "Subject: hi\r\n\r\nhello\r\n.\r\n";
    expect_message(m, strlen(m), "Subject: hi\r\n\r\nhello\r\n", false, false);
    struct result r;
    scan(m, 0, &r);
    assert_int_equal(r.d.pieces, 1); /* one chunk, no dots: one piece */
    assert_int_equal(smtp_data_verdict(&r.d, NULL), 0);
}

static void empty_message(void **state)
{
    expect_message(".\r\n", 3, "", false, false);
    struct result r;
    scan(".\r\n", 0, &r);
    assert_int_equal(r.d.pieces, 0);
    assert_int_equal(r.d.size, 0);
    /* one empty line is not empty */
    expect_message("\r\n.\r\n", 5, "\r\n", false, false);
}

static void pipelined_after_end(void **state)
{
    const char *m = "a\r\n.\r\nQUIT\r\n";
    expect_message(m, strlen(m) - 6, "a\r\n", false, false);
    /* feeding after the end consumes nothing */
    struct result r;
    size_t used = 99;
    scan(m, 0, &r);
    assert_int_equal(smtp_data_feed(&r.d, "x\r\n.\r\n", 6, &used),
                     SMTP_DATA_END);
    assert_int_equal(used, 0);
    /* a zero-length feed changes nothing */
    struct smtp_data d;
    smtp_data_init(&d, 0, NULL, NULL);
    assert_int_equal(smtp_data_feed(&d, "", 0, &used), SMTP_DATA_MORE);
    assert_int_equal(used, 0);
}

static void dot_unstuffing(void **state)
{
    expect_message("..a\r\n..\r\n...\r\n.\r\n", 17, ".a\r\n.\r\n..\r\n",
                   false, false);
    /* a dot inside a line is data */
    expect_message("a.b\r\n a\r\n.\r\n", 12, "a.b\r\n a\r\n", false, false);
    /* a line-start dot before other text is removed (RFC 5321 4.5.2) */
    expect_message(".x\r\n.\r\n", 7, "x\r\n", false, false);
    /* dots cut the delivery into runs, nothing more */
    struct result r;
    scan("a\r\n..b\r\nc\r\n..d\r\n.\r\n", 0, &r);
    assert_int_equal(r.d.pieces, 3);
    assert_int_equal(r.out_len, strlen("a\r\n.b\r\nc\r\n.d\r\n"));
}

/* Only CRLF "." CRLF ends the data; each look-alike is flagged and the
 * scan goes on to the real end, where the next command begins. */
static void smuggling_sequences(void **state)
{
    expect_message("a\n.\nMAIL FROM:<x@y>\r\n.\r\n", 24,
                   "a\n.\nMAIL FROM:<x@y>\r\n", false, true);
    expect_message("a\r\n.\nRCPT TO:<x@y>\r\n.\r\n", 23,
                   "a\r\n\nRCPT TO:<x@y>\r\n", false, true);
    expect_message("a\n.\r\nDATA\r\n.\r\n", 14, "a\n.\r\nDATA\r\n", false,
                   true);
    expect_message("a\r.\r\nb\r\n.\r\n", 11, "a\r.\r\nb\r\n", true, false);
    expect_message("a\r\n.\rb\r\n.\r\n", 11, "a\r\n\rb\r\n", true, false);
    expect_message("a\r\n.\r\r\n.\r\n", 10, "a\r\n\r\r\n", true, false);
    expect_message("a\rb\r\n.\r\n", 8, "a\rb\r\n", true, false);
    expect_message("a\nb\r\n.\r\n", 8, "a\nb\r\n", false, true);
    expect_message("\n.\r\n.\r\n", 7, "\n.\r\n", false, true);
    /* after a bare LF no line starts: the dot stays data */
    expect_message("a\n..\r\n.\r\n", 9, "a\n..\r\n", false, true);

    struct result r;
    struct smtp_parse_error e;
    scan("a\n.\nb\r\n.\r\n", 0, &r);
    assert_int_equal(smtp_data_verdict(&r.d, &e), -1);
    assert_int_equal(e.fault, SMTP_FAULT_DATA_BARE_CR_LF);
    assert_int_equal(e.code, 550);
    assert_string_equal(e.enhanced, "5.5.2");
    assert_string_equal(e.text, "Bare LF in message, use CRLF");
    scan("a\rb\r\n.\r\n", 0, &r);
    assert_int_equal(smtp_data_verdict(&r.d, &e), -1);
    assert_string_equal(e.text, "Bare CR in message, use CRLF");
    /* never ended by look-alikes alone */
    scan("a\n.\n", 0, &r);
    assert_false(r.end);
    scan("a\r\n.\n\n.\r\r\n\r.\r\n", 0, &r);
    assert_false(r.end);
    assert_int_equal(smtp_data_verdict(&r.d, &e), -1);
    assert_int_equal(e.fault, SMTP_FAULT_SYNTAX);
}

static void size_limit(void **state)
{
    struct result r;
    struct smtp_parse_error e;
    /* exactly at the limit: accepted */
    scan("12345678\r\n.\r\n", 10, &r);
    assert_true(r.end);
    assert_false(r.d.too_big);
    assert_int_equal(smtp_data_verdict(&r.d, &e), 0);
    assert_int_equal(r.out_len, 10);
    /* one more: too big, consumed to the end, delivery stopped */
    scan("123456789\r\n.\r\nQUIT\r\n", 10, &r);
    assert_true(r.end);
    assert_int_equal(r.consumed, 14);
    assert_true(r.d.too_big);
    assert_int_equal(r.d.size, 11);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(smtp_data_verdict(&r.d, &e), -1);
    assert_int_equal(e.fault, SMTP_FAULT_TOO_BIG);
    assert_int_equal(e.code, 552);
    assert_string_equal(e.enhanced, "5.3.4");
    /* the pieces before the one that crossed the limit were delivered */
    scan("abc\r\n..\r\n123456789\r\n.\r\n", 10, &r);
    assert_true(r.end);
    assert_true(r.d.too_big);
    assert_int_equal(r.out_len, 5);
    assert_memory_equal(r.out, "abc\r\n", 5);
    /* 0 means no limit */
    scan("123456789\r\n.\r\n", 0, &r);
    assert_false(r.d.too_big);
}

static int refuse(void *ctx, const char *p, size_t n)
{
    int *calls = ctx;
    (*calls)++;
    return -1;
}

static void sink_failure(void **state)
{
    struct smtp_data d;
    struct smtp_parse_error e;
    int calls = 0;
    size_t used;
    const char *m = "a\r\n..b\r\n.\r\nNOOP\r\n";
    smtp_data_init(&d, 0, refuse, &calls);
    assert_int_equal(smtp_data_feed(&d, m, strlen(m), &used), SMTP_DATA_END);
    assert_int_equal(used, strlen(m) - 6);
    assert_int_equal(calls, 1); /* no piece after the refusal */
    assert_true(d.sink_failed);
    assert_int_equal(d.size, 7); /* still counted */
    assert_int_equal(smtp_data_verdict(&d, &e), -1);
    assert_int_equal(e.fault, SMTP_FAULT_DATA_SINK);
    assert_int_equal(e.code, 451);
    assert_string_equal(e.enhanced, "4.3.0");
    /* a NULL sink only scans */
    smtp_data_init(&d, 0, NULL, NULL);
    assert_int_equal(smtp_data_feed(&d, m, strlen(m), &used), SMTP_DATA_END);
    assert_int_equal(d.size, 7);
    assert_int_equal(d.pieces, 0);
    assert_int_equal(smtp_data_verdict(&d, &e), 0);
}

/* Verdict order: smuggling, then size, then storage. */
static void verdict_order(void **state)
{
    struct smtp_data d;
    struct smtp_parse_error e;
    int calls = 0;
    size_t used;
    const char *m = "aaaaaaaaaa\nbbbb\r\n.\r\n";
    smtp_data_init(&d, 4, refuse, &calls);
    assert_int_equal(smtp_data_feed(&d, m, strlen(m), &used), SMTP_DATA_END);
    assert_true(d.bare_lf && d.too_big);
    assert_int_equal(smtp_data_verdict(&d, &e), -1);
    assert_int_equal(e.code, 550);
    smtp_data_init(&d, 4, refuse, &calls);
    assert_int_equal(smtp_data_feed(&d, "abcdef\r\n.\r\n", 11, &used),
                     SMTP_DATA_END);
    assert_int_equal(smtp_data_verdict(&d, &e), -1);
    assert_int_equal(e.code, 552);
}

/* The "." CR of a possible terminator straddling a chunk end: the CR is
 * withheld, then delivered if no LF follows. */
static void held_cr(void **state)
{
    const char *m = "a\r\n.\rb\r\n.\r\n";
    size_t cuts[] = { 5, 6 }; /* "a\r\n.\r" | "b..." and "\r" alone */
    struct result whole, split;
    scan(m, 0, &whole);
    scan_cuts(m, strlen(m), cuts, 1, 0, &split);
    assert_same(&whole, &split);
    scan_cuts(m, strlen(m), cuts, 2, 0, &split);
    assert_same(&whole, &split);
    scan_cuts(m, strlen(m), (size_t[]){ 4, 5 }, 2, 0, &split);
    assert_same(&whole, &split);
    assert_memory_equal(split.out, "a\r\n\rb\r\n", 7);
    /* and withheld for good when the LF does come */
    scan_cuts("a\r\n.\r\nX", 7, (size_t[]){ 5 }, 1, 0, &split);
    assert_true(split.end);
    assert_int_equal(split.consumed, 6);
    assert_int_equal(split.out_len, 3);
}

static const char *const samples[] = {
    "From: a@b.example\r\nSubject: x\r\n\r\nline one\r\n..stuffed\r\n.\r\n"
    "\r\n.x\r\n...\r\n.\r\nQUIT\r\n",
    "a\n.\nMAIL FROM:<x@y>\r\n\r\n.\r\n",
    "a\r\n.\nb\r\n.\r\r\n.\r\n",
    "\n.\r\n\r.\r\n.\r.\r\n.\r\n",
    ".\r\n",
    ".",
    "abc\r",
    "abc\r\n.\r",
};

/* Cut each sample at every offset, then at every pair of offsets: the
 * result must not depend on how the stream was delivered. */
static void every_split(void **state)
{
    for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
        const char *s = samples[k];
        size_t n = strlen(s);
        struct result whole, split;
        scan(s, 0, &whole);
        for (size_t a = 0; a <= n; a++) {
            scan_cuts(s, n, (size_t[]){ a }, 1, 0, &split);
            assert_same(&whole, &split);
            for (size_t b = a; b <= n; b++) {
                scan_cuts(s, n, (size_t[]){ a, b }, 2, 0, &split);
                assert_same(&whole, &split);
            }
        }
        /* and octet by octet */
        size_t cuts[128];
        assert_true(n <= sizeof(cuts) / sizeof(cuts[0]));
        for (size_t a = 0; a < n; a++)
            cuts[a] = a + 1;
        scan_cuts(s, n, cuts, n, 0, &split);
        assert_same(&whole, &split);
    }
}

/* The reference model (smtp_data_reference.h) in a struct result. */
static void reference(const char *in, size_t n, struct result *r)
{
    struct data_reference ref;
    memset(r, 0, sizeof(*r));
    data_reference(in, n, r->out, &ref);
    r->out_len = ref.out_len;
    r->consumed = ref.consumed;
    r->end = ref.end;
    r->d.bare_cr = ref.bare_cr;
    r->d.bare_lf = ref.bare_lf;
    r->d.size = ref.out_len;
}

/* Every string of up to 8 octets over CR, LF, "." and "a", whole and cut
 * at every offset, against the reference. */
static void exhaustive_against_reference(void **state)
{
    static const char alphabet[4] = { '\r', '\n', '.', 'a' };
    char s[8];
    struct result want, got;
    for (size_t n = 0; n <= sizeof(s); n++) {
        size_t count = (size_t)1 << (2 * n);
        for (size_t code = 0; code < count; code++) {
            for (size_t i = 0; i < n; i++)
                s[i] = alphabet[(code >> (2 * i)) & 3];
            reference(s, n, &want);
            for (size_t cut = 0; cut <= n; cut++) {
                scan_cuts(s, n, (size_t[]){ cut }, 1, 0, &got);
                assert_same(&want, &got);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_message),
        cmocka_unit_test(empty_message),
        cmocka_unit_test(pipelined_after_end),
        cmocka_unit_test(dot_unstuffing),
        cmocka_unit_test(smuggling_sequences),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(sink_failure),
        cmocka_unit_test(verdict_order),
        cmocka_unit_test(held_cr),
        cmocka_unit_test(every_split),
        cmocka_unit_test(exhaustive_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
