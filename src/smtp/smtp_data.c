/* smtp_data.c - the DATA-phase scanner (see smtp_data.h).
 *
 * A five-state machine over the octets, of which only one state (inside
 * a line) sees nearly all of them: there the scanner jumps from one CR
 * or LF to the next, eight octets at a time, and keeps going over whole
 * CRLF-ended lines until something needs a decision (a "." at a line
 * start, a chunk end).  Nothing is copied: the sink gets slices of the
 * caller's buffer, cut only where a stuffing dot is removed and at the
 * chunk end.
 */
#include "smtp/smtp_data.h"

#include <string.h>

enum {
    ST_LINE_START, /* after CRLF (or the 354): a "." here is stuffing */
    ST_TEXT,       /* inside a line */
    ST_CR,         /* a chunk ended on a CR inside a line */
    ST_DOT,        /* a line-start "." removed */
    ST_DOT_CR,     /* line-start "." CR: the end if LF comes next */
    ST_DONE,       /* CRLF.CRLF seen */
};

void smtp_data_init(struct smtp_data *d, uint64_t max_size,
                    smtp_data_sink sink, void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->sink = sink;
    d->ctx = ctx;
    d->max_size = max_size;
    d->state = ST_LINE_START;
}

/* Index of the first CR or LF in p[0, n), or n.  Eight octets per step:
 * a word holds octet b iff w ^ (b * 0x0101..) has a zero octet, and
 * (x - 0x0101..) & ~x & 0x8080.. is non-zero iff x has a zero octet. */
static size_t find_cr_lf(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull;
    const uint64_t high = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, a, b;
        memcpy(&w, p + i, 8); /* an unaligned load, done portably */
        a = w ^ (ones * '\r');
        b = w ^ (ones * '\n');
        if (((a - ones) & ~a & high) | ((b - ones) & ~b & high))
            break;
    }
    for (; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n')
            return i;
    return n;
}

/* Count n message octets and hand them to the sink while the message is
 * still within its limit and the sink still takes it. */
static void deliver(struct smtp_data *d, const char *p, size_t n)
{
    if (n == 0)
        return;
    d->size += n;
    if (d->max_size != 0 && d->size > d->max_size)
        d->too_big = true; /* the spool would be discarded: stop writing */
    if (d->too_big || d->sink_failed || !d->sink)
        return;
    d->pieces++;
    if (d->sink(d->ctx, p, n) < 0)
        d->sink_failed = true;
}

/* The hot loop, in ST_TEXT from buf[i]: run over whole lines and return
 * where the state machine must look (a line-start "."), or len. */
static size_t scan_text(struct smtp_data *d, const char *buf, size_t len,
                        size_t i)
{
    for (;;) {
        i += find_cr_lf(buf + i, len - i);
        if (i == len)
            return len;
        if (buf[i] == '\n') {
            d->bare_lf = true;
            i++;
            continue;
        }
        if (i + 1 == len) {
            d->state = ST_CR; /* the LF, if any, is in the next chunk */
            return len;
        }
        if (buf[i + 1] != '\n') {
            d->bare_cr = true;
            i++;
            continue;
        }
        i += 2;
        if (i == len || buf[i] == '.') {
            d->state = ST_LINE_START;
            return i;
        }
    }
}

/* One decision of the state machine at buf[i]; returns the next index.
 * *run is where the octets not yet delivered start. */
static size_t step(struct smtp_data *d, const char *buf, size_t len,
                   size_t i, size_t *run)
{
    char c = buf[i];
    switch (d->state) {
    case ST_TEXT:
        return scan_text(d, buf, len, i);
    case ST_CR:
        if (c == '\n') {
            d->state = ST_LINE_START;
            return i + 1;
        }
        d->bare_cr = true;
        d->state = ST_TEXT;
        return i;
    case ST_LINE_START:
        if (c != '.') {
            d->state = ST_TEXT;
            return i;
        }
        deliver(d, buf + *run, i - *run); /* everything before the dot */
        *run = i + 1;
        d->state = ST_DOT;
        return i + 1;
    case ST_DOT:
        d->state = c == '\r' ? ST_DOT_CR : ST_TEXT;
        return c == '\r' ? i + 1 : i;
    case ST_DOT_CR:
        if (c == '\n') {
            /* The undelivered run is just the terminator's CR. */
            d->held_cr = false;
            d->state = ST_DONE;
            return i + 1;
        }
        d->bare_cr = true; /* ".\r" then not LF: the CR is data */
        if (d->held_cr) {
            deliver(d, "\r", 1);
            d->held_cr = false;
        }
        d->state = ST_TEXT;
        return i;
    default:
        return len;
    }
}

enum smtp_data_result smtp_data_feed(struct smtp_data *d, const char *buf,
                                     size_t len, size_t *consumed)
{
    size_t i = 0, run = 0;
    *consumed = 0;
    if (d->state == ST_DONE)
        return SMTP_DATA_END;
    if (len == 0)
        return SMTP_DATA_MORE;
    while (i < len && d->state != ST_DONE)
        i = step(d, buf, len, i, &run);
    if (d->state == ST_DONE) {
        *consumed = i;
        return SMTP_DATA_END;
    }
    /* ".\r" at the chunk end: that CR (the last octet) is the end of data
     * if an LF comes next, so it is withheld until the next octet. */
    size_t end = len;
    if (d->state == ST_DOT_CR) {
        end = len - 1;
        d->held_cr = true;
    }
    deliver(d, buf + run, end - run);
    *consumed = len;
    return SMTP_DATA_MORE;
}

int smtp_data_verdict(const struct smtp_data *d,
                      struct smtp_parse_error *err)
{
    if (d->state != ST_DONE)
        return smtp_parse_fail(err, SMTP_FAULT_SYNTAX,
                               "Message not terminated");
    if (d->bare_cr || d->bare_lf)
        return smtp_parse_fail(err, SMTP_FAULT_DATA_BARE_CR_LF,
                               d->bare_lf ? "Bare LF in message, use CRLF"
                                          : "Bare CR in message, use CRLF");
    if (d->too_big)
        return smtp_parse_fail(err, SMTP_FAULT_TOO_BIG,
                               "Message size exceeds fixed maximum message "
                               "size");
    if (d->sink_failed)
        return smtp_parse_fail(err, SMTP_FAULT_DATA_SINK,
                               "Error storing message, try again later");
    return 0;
}
