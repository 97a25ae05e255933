/*
 * smtp_dotstuff.h - the message as it goes on the wire after DATA
 * (RFC 5321 4.5.2): CRLF line ends, a '.' that starts a line doubled, and
 * the end marker CRLF.CRLF.  Streaming: the message is encoded chunk by
 * chunk, the state carries line starts and a CR across chunk borders.
 *
 * Every line end of the input - CRLF, a bare LF or a bare CR - becomes
 * CRLF.  A bare LF or CR left alone could end the data early on a
 * receiver that accepts them as line ends ("SMTP smuggling", 2023): the
 * receiver would then read the rest of our message as commands.
 */
#ifndef TN_SMTP_DOTSTUFF_H
#define TN_SMTP_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

/* Output room for encoding len input bytes (every byte at most doubles,
 * plus a CR held over from the previous chunk). */
#define SMTP_DOTSTUFF_ROOM(len) (2 * (len) + 2)
/* Output room for smtp_dotstuff_finish: CRLF (an unfinished last line)
 * and ".\r\n". */
#define SMTP_DOTSTUFF_FINISH_ROOM 5

struct smtp_dotstuff {
    bool line_start; /* the next byte starts a line */
    bool held_cr;    /* the last byte was a CR: CRLF, or a bare CR? */
};

void smtp_dotstuff_init(struct smtp_dotstuff *st);

/* Encode in[0..len) into out, which has room for SMTP_DOTSTUFF_ROOM(len)
 * bytes; returns the bytes written. */
size_t smtp_dotstuff_encode(struct smtp_dotstuff *st, const char *in, size_t len, char *out);

/* End the data: finish an unfinished last line, then ".\r\n".  out has
 * room for SMTP_DOTSTUFF_FINISH_ROOM bytes; returns the bytes written. */
size_t smtp_dotstuff_finish(struct smtp_dotstuff *st, char *out);

#endif
