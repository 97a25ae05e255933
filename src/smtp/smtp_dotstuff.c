/* smtp_dotstuff.c - DATA transparency and line ends (see smtp_dotstuff.h). */
#include "smtp/smtp_dotstuff.h"

void smtp_dotstuff_init(struct smtp_dotstuff *st)
{
    st->line_start = true;
    st->held_cr = false;
}

static size_t line_end(struct smtp_dotstuff *st, char *out)
{
    out[0] = '\r';
    out[1] = '\n';
    st->line_start = true;
    return 2;
}

size_t smtp_dotstuff_encode(struct smtp_dotstuff *st, const char *in, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (st->held_cr) {
            /* CRLF or a bare CR: either way one line end. */
            st->held_cr = false;
            n += line_end(st, out + n);
            if (c == '\n')
                continue;
        }
        if (c == '\r') {
            st->held_cr = true;
            continue;
        }
        if (c == '\n') {
            n += line_end(st, out + n);
            continue;
        }
        if (c == '.' && st->line_start)
            out[n++] = '.';
        out[n++] = c;
        st->line_start = false;
    }
    return n;
}

size_t smtp_dotstuff_finish(struct smtp_dotstuff *st, char *out)
{
    size_t n = 0;
    if (st->held_cr || !st->line_start)
        n += line_end(st, out);
    st->held_cr = false;
    out[n++] = '.';
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}
