/*
 * smtp_cmd.h - the server's reading of SMTP command lines (RFC 5321 4.1,
 * with the SIZE (RFC 1870) and 8BITMIME (RFC 6152) MAIL parameters).
 *
 *     struct smtp_line_reader lr = { 0 };   (one per connection)
 *     size_t n; struct smtp_cmd cmd; struct smtp_parse_error e;
 *     switch (smtp_line_next(&lr, buf, len, &n)) {
 *     case SMTP_LINE_READY:
 *         if (smtp_cmd_parse(buf, n, &cmd, &e) < 0) reply e; else act;
 *         drop n bytes
 *     case SMTP_LINE_TOO_LONG: reply 500 5.5.2 Line too long; drop n bytes
 *     case SMTP_LINE_NEED_MORE: drop n bytes (a long line being skipped);
 *         read more
 *     }
 *
 * What a command line must be, and why:
 *   - at most 512 octets including CRLF (4.5.3.1.4): the limit bounds the
 *     buffer a peer can make us hold;
 *   - ended by CRLF.  A line ended by a bare LF is refused on its own
 *     (SMTP_FAULT_BARE_LF) because servers that disagree on line ends are
 *     what SMTP smuggling exploits; the server may choose to hang up;
 *   - printable ASCII and SP only (2.4: commands are ASCII; we offer no
 *     SMTPUTF8): NUL, HT, a stray CR, DEL or an 8-bit octet is a syntax
 *     error, so no later log line or header can carry them;
 *   - the verb is matched without regard to case and followed by exactly
 *     one SP before its argument.  Trailing SPs are ignored (harmless and
 *     sent by some clients).
 * Per verb:
 *   HELO/EHLO SP name   one printable token of at most 255 octets; any
 *                       token is accepted (clients send odd names) and
 *                       arg_is_domain says if it is a proper Domain or
 *                       address literal.  Missing or two tokens: 501.
 *   MAIL FROM:<path> [SP params]   RCPT TO:<path> [SP params]
 *                       "FROM:"/"TO:" in any case, then at most one SP
 *                       (as Postfix allows), then the path as strict as
 *                       smtp_path.h says, then parameters separated by SP:
 *                       keyword[=value] (RFC 5321 esmtp-param).  MAIL
 *                       knows SIZE=1*20DIGIT (above 2^64-1: 552 5.3.4)
 *                       and BODY=7BIT|8BITMIME; each at most once.  Any
 *                       other parameter, and any on RCPT: 555 5.5.4.
 *   DATA, RSET, QUIT, STARTTLS   no argument (501 otherwise)
 *   NOOP, HELP [SP text]  VRFY SP text   text kept as arg
 *   anything else       verb SMTP_VERB_UNKNOWN (the server answers
 *                       500 5.5.1), never an error from the parser
 * Nothing is allocated; cmd's strings are copies into its own bounded
 * fields, except arg/word, which point into the caller's line.
 */
#ifndef TN_SMTP_CMD_H
#define TN_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_parse.h"
#include "smtp/smtp_path.h"

#define SMTP_CMD_LINE_MAX 512   /* octets including CRLF (4.5.3.1.4) */

/* ------------------------------------------------- cutting lines out */

enum smtp_line_result {
    SMTP_LINE_NEED_MORE, /* no complete line yet; *consumed octets (of a
                            too-long line being skipped) may be dropped */
    SMTP_LINE_READY,     /* one line of *consumed octets, up to and
                            including the first LF: give it to
                            smtp_cmd_parse, then drop it */
    SMTP_LINE_TOO_LONG,  /* the end of a line longer than 512 octets:
                            drop *consumed octets, answer 500 5.5.2 */
};

/* Per-connection state: zero it once.  A too-long line is skipped to its
 * LF across reads, so one reply answers it and the next pipelined
 * command is read in step. */
struct smtp_line_reader {
    bool skipping;
};

/* Find the next command line at the start of buf[0, len).  Never looks
 * further than 512 octets for a line end, so a peer that sends no LF
 * cannot make the caller buffer more than that. */
enum smtp_line_result smtp_line_next(struct smtp_line_reader *r,
                                     const char *buf, size_t len,
                                     size_t *consumed);

/* ------------------------------------------------------ parsing one */

enum smtp_verb {
    SMTP_VERB_UNKNOWN = 0,
    SMTP_VERB_HELO,
    SMTP_VERB_EHLO,
    SMTP_VERB_MAIL,
    SMTP_VERB_RCPT,
    SMTP_VERB_DATA,
    SMTP_VERB_RSET,
    SMTP_VERB_NOOP,
    SMTP_VERB_QUIT,
    SMTP_VERB_VRFY,
    SMTP_VERB_HELP,
    SMTP_VERB_STARTTLS,
};

/* "MAIL", "STARTTLS"...; "" for SMTP_VERB_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb verb);

enum smtp_body {
    SMTP_BODY_UNSPECIFIED = 0,  /* no BODY= given: 7BIT (RFC 6152) */
    SMTP_BODY_7BIT,
    SMTP_BODY_8BITMIME,
};

struct smtp_cmd {
    enum smtp_verb verb;
    const char *word;       /* the verb as sent (into the line) */
    size_t word_len;
    const char *arg;        /* the text after the verb and its SP,
                               trailing SPs cut (into the line; arg_len
                               0 if none): HELO name, VRFY/NOOP/HELP
                               text, an unknown command's argument */
    size_t arg_len;
    bool arg_is_domain;     /* HELO/EHLO: arg is a Domain or literal */
    struct smtp_path path;  /* MAIL, RCPT */
    bool has_size;          /* MAIL: SIZE= given */
    uint64_t size;          /* its value */
    enum smtp_body body;    /* MAIL: BODY= */
};

/* Parse one command line line[0, len) as cut by smtp_line_next (it must
 * end in CRLF; longer than SMTP_CMD_LINE_MAX is LINE_TOO_LONG).  Returns
 * 0 with cmd filled, or -1 with err holding the reply to send.  cmd is
 * reset first, so after -1 its verb says which command was refused (or
 * UNKNOWN if the line was unreadable). */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd,
                   struct smtp_parse_error *err);

#endif
