/*
 * smtp_reply.h - a strict, bounded parser for SMTP replies (RFC 5321 4.2).
 *
 * A reply is one or more lines "250-text" ... "250 text", each ended by
 * CRLF, all with the same three-digit code.  The parser is fed one whole
 * line at a time (the reader finds the line ends) and keeps no pointer
 * into the input, so a hostile server can make it do nothing worse than
 * say "malformed".  Limits:
 *   - a line is at most SMTP_REPLY_LINE_MAX octets, code and CRLF included
 *     (RFC 5321 4.5.3.1.5);
 *   - a reply has at most SMTP_REPLY_LINES_MAX lines;
 *   - the text is kept up to SMTP_REPLY_TEXT_MAX bytes, in printable ASCII
 *     (other bytes become '?'), so it can go into a log line as it is.
 *
 * The enhanced status code (RFC 3463, "5.1.1") at the start of the text is
 * picked out when its class matches the reply code, and EHLO keywords
 * (RFC 5321 4.1.1.1) are recognised on every line after the first.
 */
#ifndef TN_SMTP_REPLY_H
#define TN_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SMTP_REPLY_LINE_MAX 512 /* octets per line, code and CRLF included */
#define SMTP_REPLY_LINES_MAX 64
#define SMTP_REPLY_TEXT_MAX 512
#define SMTP_ENHANCED_MAX 16    /* "5.123.456" and its NUL fit */

/* The service extensions an EHLO reply offers that the client uses. */
struct smtp_ehlo_ext {
    bool starttls;            /* RFC 3207 */
    bool pipelining;          /* RFC 2920 */
    bool size;                /* RFC 1870 */
    uint64_t size_max;        /* SIZE n: the fixed limit; 0 when none given */
    bool eightbitmime;        /* RFC 6152 */
    bool enhancedstatuscodes; /* RFC 2034 */
    bool smtputf8;            /* RFC 6531 */
};

struct smtp_reply {
    int code;                         /* 200..559; 0 until the first line */
    char enhanced[SMTP_ENHANCED_MAX]; /* "2.0.0", or "" when none */
    char text[SMTP_REPLY_TEXT_MAX];   /* the lines' texts joined by " ",
                                         enhanced codes removed */
    bool text_truncated;
    unsigned n_lines;
    bool done;                        /* the last line has been fed */
    struct smtp_ehlo_ext ehlo;        /* meaningful for an EHLO reply only */
};

enum smtp_reply_step {
    SMTP_REPLY_ERROR = -1, /* malformed: err says why; the reply is void */
    SMTP_REPLY_MORE = 0,   /* a continuation line: feed the next one */
    SMTP_REPLY_DONE = 1,   /* the last line: the reply is complete */
};

void smtp_reply_init(struct smtp_reply *reply);

/* Feed one line: len bytes ending in CRLF, with no other CR or LF.  A
 * line after the reply is done is an error. */
enum smtp_reply_step smtp_reply_feed(struct smtp_reply *reply, const char *line, size_t len,
                                     tn_err *err);

/* 2, 3, 4 or 5: the first digit of the code (0 before the first line). */
int smtp_reply_class(const struct smtp_reply *reply);

/* "550 5.1.1 text" (or "550 text") for messages and logs. */
void smtp_reply_describe(const struct smtp_reply *reply, char *buf, size_t len);

#endif
