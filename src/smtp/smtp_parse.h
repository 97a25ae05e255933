/*
 * smtp_parse.h - how the SMTP parsers (smtp_cmd.h, smtp_path.h,
 * smtp_data.h) say "no": a fault class the server can act on, and a
 * ready-made reply it can send as it is.
 *
 *     struct smtp_parse_error e;
 *     if (smtp_cmd_parse(line, n, &cmd, &e) < 0) {
 *         char reply[SMTP_PARSE_REPLY_MAX];
 *         smtp_parse_error_reply(&e, reply, sizeof(reply));
 *         write "501 5.1.7 Bad sender address syntax: ...\r\n"
 *         if (e.fault == SMTP_FAULT_BARE_LF) maybe close: a client that
 *         ends commands in bare LF may be probing for SMTP smuggling
 *     }
 *
 * Codes follow RFC 5321 4.2.3 and the enhanced status codes RFC 3463;
 * the text is short, printable ASCII and never contains CR or LF, so it
 * cannot inject a second reply line.
 */
#ifndef TN_SMTP_PARSE_H
#define TN_SMTP_PARSE_H

#include <stddef.h>

enum smtp_fault {
    SMTP_FAULT_NONE = 0,
    SMTP_FAULT_SYNTAX,            /* 500 5.5.2 empty, control or 8-bit
                                     octet, no line end */
    SMTP_FAULT_LINE_TOO_LONG,     /* 500 5.5.2 command over 512 octets */
    SMTP_FAULT_BARE_LF,           /* 500 5.5.2 command ended in LF alone */
    SMTP_FAULT_ARGUMENT,          /* 501 5.5.4 argument missing, extra or
                                     malformed (also a bad SIZE/BODY) */
    SMTP_FAULT_SENDER,            /* 501 5.1.7 bad reverse-path */
    SMTP_FAULT_RECIPIENT,         /* 501 5.1.3 bad forward-path */
    SMTP_FAULT_PARAM_UNSUPPORTED, /* 555 5.5.4 MAIL/RCPT parameter we do
                                     not implement */
    SMTP_FAULT_TOO_BIG,           /* 552 5.3.4 SIZE= or message too big */
    SMTP_FAULT_DATA_BARE_CR_LF,   /* 550 5.5.2 message holds a bare CR or
                                     LF (SMTP smuggling risk) */
    SMTP_FAULT_DATA_SINK,         /* 451 4.3.0 the message could not be
                                     stored (the sink refused a piece) */
};

#define SMTP_PARSE_TEXT_MAX 112
/* "NNN X.Y.Z text\r\n" fits in this (with the NUL). */
#define SMTP_PARSE_REPLY_MAX (SMTP_PARSE_TEXT_MAX + 24)

struct smtp_parse_error {
    enum smtp_fault fault;
    int code;                       /* reply code: 451, 500, 501, 550... */
    char enhanced[12];              /* RFC 3463 code, e.g. "5.1.7" */
    char text[SMTP_PARSE_TEXT_MAX]; /* e.g. "Bad sender address syntax:
                                       local part longer than 64 octets" */
};

/* Fill err (may be NULL) with fault's code and enhanced code and with
 * text (cut to fit; CR/LF/control octets replaced by '?').  Returns -1,
 * so a parser can write `return smtp_parse_fail(err, ...)`. */
int smtp_parse_fail(struct smtp_parse_error *err, enum smtp_fault fault,
                    const char *text);

/* Format err as one reply line, "501 5.1.7 text\r\n".  Returns 0, or -1
 * if buf is too small (size SMTP_PARSE_REPLY_MAX always suffices). */
int smtp_parse_error_reply(const struct smtp_parse_error *err, char *buf,
                           size_t size);

#endif
