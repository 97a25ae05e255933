/*
 * fuzz_smtp_dotstuff.c - libFuzzer target for DATA transparency
 * (src/smtp/smtp_dotstuff.c): any message bytes, split into chunks at
 * places the input chooses.  Invariants that abort:
 *   - the output fits the room the header promises;
 *   - every CR is followed by LF and every LF preceded by CR (no bare
 *     line end reaches the wire: no SMTP smuggling);
 *   - the end marker CRLF.CRLF (or ".\r\n" alone) appears only at the end;
 *   - undoing the stuffing gives the input with its line ends made CRLF;
 *   - the result does not depend on where the chunks were cut.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_dotstuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STUFF_INPUT_MAX 8192

static size_t encode(const char *in, size_t len, size_t chunk, char *out)
{
    struct smtp_dotstuff st;
    size_t n = 0;
    smtp_dotstuff_init(&st);
    for (size_t off = 0; off < len; off += chunk) {
        size_t take = len - off < chunk ? len - off : chunk;
        size_t put = smtp_dotstuff_encode(&st, in + off, take, out + n);
        if (put > SMTP_DOTSTUFF_ROOM(take))
            abort();
        n += put;
    }
    size_t put = smtp_dotstuff_finish(&st, out + n);
    if (put > SMTP_DOTSTUFF_FINISH_ROOM)
        abort();
    return n + put;
}

/* The input with CRLF, bare CR and bare LF all made CRLF, plus a CRLF
 * for an unfinished last line. */
static size_t normalise(const char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                i++;
            out[n++] = '\r';
            out[n++] = '\n';
        } else {
            out[n++] = in[i];
        }
    }
    if (n > 0 && out[n - 1] != '\n') {
        out[n++] = '\r';
        out[n++] = '\n';
    }
    return n;
}

static void check_wire(const char *w, size_t n, const char *in, size_t len)
{
    if (n < 3 || memcmp(w + n - 3, ".\r\n", 3) != 0 || (n > 3 && (n < 5 || w[n - 5] != '\r')))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '\r' && (i + 1 == n || w[i + 1] != '\n'))
            abort();
        if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r'))
            abort();
    }
    /* Undo: drop one '.' at each line start, stop at the end marker. */
    static char back[2 * STUFF_INPUT_MAX + 8], want[2 * STUFF_INPUT_MAX + 8];
    size_t b = 0;
    bool line_start = true;
    for (size_t i = 0; i < n; i++) {
        if (line_start && w[i] == '.') {
            if (w[i + 1] == '\r') { /* the end marker: must be the end */
                if (i + 3 != n)
                    abort();
                break;
            }
            i++;
        }
        back[b++] = w[i];
        line_start = w[i] == '\n';
    }
    size_t m = normalise(in, len, want);
    if (b != m || memcmp(back, want, m) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char whole[2 * STUFF_INPUT_MAX + 8], split[2 * STUFF_INPUT_MAX + 8];
    if (size < 1 || size > STUFF_INPUT_MAX)
        return 0;
    /* The first byte chooses the chunk size, the rest is the message. */
    size_t chunk = 1 + data[0] % 17;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    size_t n = encode(in, len, len ? len : 1, whole);
    check_wire(whole, n, in, len);
    size_t k = encode(in, len, chunk, split);
    if (k != n || memcmp(whole, split, n) != 0)
        abort();
    return 0;
}
