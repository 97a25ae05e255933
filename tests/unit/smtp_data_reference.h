/*
 * smtp_data_reference.h - the rules of smtp_data.h written as plainly as
 * possible, over a whole input at once: the model that
 * tests/unit/test_smtp_data.c and fuzz/fuzz_smtp_data.c hold the
 * incremental scanner to.  Test code only.
 *
 * The input follows a 354, so a line starts at offset 0 and after every
 * CRLF.  Then:
 *   - the end is the first line-start ".\r\n"; consumed ends after it;
 *   - the output is the content before it with every line-start "."
 *     removed (and, with no end yet, a trailing line-start ".\r" still
 *     withheld: it may become the end);
 *   - bare_lf: the content holds an LF not preceded by CR;
 *     bare_cr: a CR followed by something other than LF.
 */
#ifndef TN_TEST_SMTP_DATA_REFERENCE_H
#define TN_TEST_SMTP_DATA_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct data_reference {
    size_t out_len;
    size_t consumed;
    bool end, bare_cr, bare_lf;
};

static inline bool reference_line_start(const char *in, size_t j)
{
    return j == 0 || (j >= 2 && in[j - 2] == '\r' && in[j - 1] == '\n');
}

/* Scan in[0, n) into out (room for n octets) and r. */
static inline void data_reference(const char *in, size_t n, char *out,
                                  struct data_reference *r)
{
    size_t limit = n; /* end of the message content */
    memset(r, 0, sizeof(*r));
    r->consumed = n;
    for (size_t e = 0; e + 3 <= n; e++)
        if (reference_line_start(in, e) && memcmp(in + e, ".\r\n", 3) == 0) {
            r->end = true;
            r->consumed = e + 3;
            limit = e;
            break;
        }
    for (size_t j = 0; j < limit; j++) {
        bool stuffing = in[j] == '.' && reference_line_start(in, j);
        bool held = !r->end && j == n - 1 && in[j] == '\r' && j >= 1 &&
                    in[j - 1] == '.' && reference_line_start(in, j - 1);
        if (!stuffing && !held)
            out[r->out_len++] = in[j];
        if (in[j] == '\n' && (j == 0 || in[j - 1] != '\r'))
            r->bare_lf = true;
        if (in[j] == '\r' && j + 1 < n && in[j + 1] != '\n')
            r->bare_cr = true;
    }
}

#endif
