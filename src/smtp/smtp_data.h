/*
 * smtp_data.h - the DATA phase: an incremental scanner for the message
 * that follows "354" (RFC 5321 4.1.1.4, 4.5.2), fed whatever the socket
 * delivers.
 *
 *     struct smtp_data d;
 *     smtp_data_init(&d, max_size, spool_write, spool);   after 354
 *     on every read:
 *         size_t used;
 *         if (smtp_data_feed(&d, buf, len, &used) == SMTP_DATA_END) {
 *             struct smtp_parse_error e;
 *             if (smtp_data_verdict(&d, &e) < 0) reply e and discard
 *             else commit the message, reply 250
 *             buf + used, len - used: the next pipelined command
 *         }
 *
 * What it does:
 *   - the message ends ONLY at CRLF "." CRLF (the CRLF that precedes the
 *     dot is part of the message; right after 354 a lone ".\r\n" is the
 *     empty message);
 *   - dot-stuffing is undone: a "." that starts a line is removed;
 *   - the unstuffed octets go to sink in as few pieces as possible: one
 *     per run between removed dots, per fed chunk (never one per line or
 *     octet); a sink that fails stops further delivery, but not scanning;
 *   - size counts the unstuffed octets (what RFC 1870 SIZE measures);
 *     past max_size delivery stops, scanning goes on.
 *
 * Why bare CR and bare LF are refused (SMTP smuggling, CVE-2023-51764
 * and friends): an attacker sends "\n.\n" or "\r\n.\n" inside a message;
 * a server that takes that for the end of data reads the rest as new
 * SMTP commands - a second, forged message - while one that does not
 * forwards it whole to a server that does.  We never end there, and any
 * CR not followed by LF or LF not preceded by CR sets bare_cr/bare_lf so
 * the server refuses the message (550 5.5.2).  The scanner still runs to
 * the real CRLF.CRLF, so the session stays in step with the client and
 * the 550 answers the right message; the same goes for "too big" (552
 * 5.3.4 after the final dot, as RFC 1870 asks of a server that finds a
 * message over its limit during transmission).
 *
 * After a bare LF no line is taken to start, so a following "." is kept
 * as data: the message is refused anyway, and this keeps the scanner's
 * idea of a line identical to CRLF-only servers'.
 */
#ifndef TN_SMTP_DATA_H
#define TN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_parse.h"

/* Receives unstuffed message octets, in order.  Returns 0, or -1 to
 * refuse (e.g. a failed write): no more pieces are delivered and the
 * verdict becomes 451 4.3.0. */
typedef int (*smtp_data_sink)(void *ctx, const char *p, size_t n);

enum smtp_data_result {
    SMTP_DATA_MORE,  /* all of the chunk consumed; the message goes on */
    SMTP_DATA_END,   /* CRLF.CRLF seen; *consumed ends just after it */
};

/* One message being received.  Fields are read-only for the caller. */
struct smtp_data {
    smtp_data_sink sink;
    void *ctx;
    uint64_t max_size;  /* 0: no limit */

    uint64_t size;      /* unstuffed octets so far (counted past max) */
    uint64_t pieces;    /* sink calls so far */
    bool bare_cr;       /* a CR not followed by LF */
    bool bare_lf;       /* an LF not preceded by CR */
    bool too_big;       /* size > max_size */
    bool sink_failed;   /* sink returned -1 */

    unsigned char state;  /* scanner state, private */
    bool held_cr;         /* a CR after "." withheld at a chunk end */
};

/* Start a message (just after the 354 reply).  sink may be NULL to
 * only scan (e.g. to skip a refused message). */
void smtp_data_init(struct smtp_data *d, uint64_t max_size,
                    smtp_data_sink sink, void *ctx);

/* Scan buf[0, len).  Returns SMTP_DATA_END once the end of data is seen,
 * with *consumed octets (through the final CRLF) used; the rest of buf
 * belongs to the next command.  Otherwise SMTP_DATA_MORE and *consumed
 * == len.  After END, further calls consume nothing and return END. */
enum smtp_data_result smtp_data_feed(struct smtp_data *d, const char *buf,
                                     size_t len, size_t *consumed);

/* The answer to the message once smtp_data_feed returned END: 0 if it
 * may be accepted, else -1 with err set, checked in this order:
 *   bare CR/LF    550 5.5.2 (SMTP_FAULT_DATA_BARE_CR_LF)
 *   too big       552 5.3.4 (SMTP_FAULT_TOO_BIG)
 *   sink failed   451 4.3.0 (SMTP_FAULT_DATA_SINK)
 * Called before END it also returns -1 (SMTP_FAULT_SYNTAX): the message
 * is not complete. */
int smtp_data_verdict(const struct smtp_data *d,
                      struct smtp_parse_error *err);

#endif
