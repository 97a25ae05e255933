/*
 * fuzz_smtp_data.c - libFuzzer target for the DATA-phase scanner.
 *
 * Input layout: byte 0 picks how many of the next bytes are chunk sizes
 * (1-8), then those sizes (each 1-256, used in turn), then one byte for
 * the size limit (0: none, else 1-255 octets), then the stream.  The
 * stream is scanned whole and again in those chunks; both must agree
 * with the naive reference of tests/unit/smtp_data_reference.h (end,
 * consumed, output, size, bare CR/LF), and over the limit what was
 * delivered must be a prefix of the reference output.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"
#include "../tests/unit/smtp_data_reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    char *out;
    size_t out_len, cap, consumed;
    bool end;
    struct smtp_data d;
};

static int collect(void *ctx, const char *p, size_t n)
{
    struct result *r = ctx;
    if (n == 0 || r->out_len + n > r->cap)
        abort(); /* never empty, never more than the input */
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    return 0;
}

static void scan(const char *s, size_t n, const uint8_t *sizes,
                 size_t nsizes, uint64_t max, struct result *r)
{
    r->out_len = r->consumed = 0;
    r->end = false;
    smtp_data_init(&r->d, max, collect, r);
    size_t off = 0, k = 0;
    while (off < n && !r->end) {
        size_t chunk = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : n;
        size_t len = chunk < n - off ? chunk : n - off, used;
        r->end = smtp_data_feed(&r->d, s + off, len, &used) == SMTP_DATA_END;
        if (used > len || (!r->end && used != len))
            abort();
        r->consumed += used;
        off += len;
    }
}

/* The reference model (shared with the unit test) in a struct result. */
static void reference(const char *in, size_t n, struct result *r)
{
    struct data_reference ref;
    data_reference(in, n, r->out, &ref);
    r->out_len = ref.out_len;
    r->consumed = ref.consumed;
    r->end = ref.end;
    r->d.bare_cr = ref.bare_cr;
    r->d.bare_lf = ref.bare_lf;
    r->d.size = ref.out_len;
}

/* got against want (the reference); out is compared in full only when
 * the limit did not stop delivery. */
static void compare(const struct result *want, const struct result *got,
                    uint64_t max)
{
    if (got->end != want->end || got->consumed != want->consumed ||
        got->d.size != want->d.size || got->d.bare_cr != want->d.bare_cr ||
        got->d.bare_lf != want->d.bare_lf ||
        got->d.too_big != (max != 0 && want->d.size > max))
        abort();
    if (got->out_len > want->out_len ||
        memcmp(got->out, want->out, got->out_len) != 0)
        abort();
    if (!got->d.too_big && got->out_len != want->out_len)
        abort();
    if (got->d.too_big && got->out_len > max)
        abort();
    struct smtp_parse_error e;
    int v = smtp_data_verdict(&got->d, &e);
    bool bad = !got->end || got->d.bare_cr || got->d.bare_lf ||
               got->d.too_big;
    if ((v < 0) != bad)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t nsizes = (size_t)(data[0] % 8) + 1;
    if (size < 2 + nsizes)
        return 0;
    const uint8_t *sizes = data + 1;
    uint64_t max = data[1 + nsizes];
    const char *s = (const char *)data + 2 + nsizes;
    size_t n = size - 2 - nsizes;

    char *bufs = malloc(3 * (n + 1));
    if (!bufs)
        return 0;
    struct result want = { .out = bufs, .cap = n };
    struct result whole = { .out = bufs + n + 1, .cap = n };
    struct result split = { .out = bufs + 2 * (n + 1), .cap = n };
    reference(s, n, &want);
    scan(s, n, NULL, 0, max, &whole);
    scan(s, n, sizes, nsizes, max, &split);
    compare(&want, &whole, max);
    compare(&want, &split, max);
    free(bufs);
    return 0;
}
