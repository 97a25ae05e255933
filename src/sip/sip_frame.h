/*
 * sip_frame.h - cut SIP messages out of a TLS/TCP byte stream.
 *
 * A stream carries messages back to back: headers up to the blank line,
 * then exactly Content-Length bytes of body (mandatory on streams, RFC
 * 3261 18.3).  Between messages, RFC 5626 3.5.1 keep-alives: a client's
 * CRLFCRLF "ping" (answer with CRLF) and a lone CRLF "pong".
 *
 *     size_t used; struct sip_parse_error e;
 *     switch (sip_frame_resume(buf, len, SIP_MAX_MSG, &conn->fs, &used, &e)) {
 *     case SIP_FRAME_MESSAGE:  sip_parse(&m, buf, used, ...); drop used bytes
 *     case SIP_FRAME_KEEPALIVE_PING: write "\r\n"; drop 4 bytes
 *     ...
 *
 * After SIP_FRAME_ERROR the stream cannot be resynchronised (the body
 * length is unknown): answer e.status / e.reason and close.
 */
#ifndef TN_SIP_FRAME_H
#define TN_SIP_FRAME_H

#include "sip/sip_msg.h"

enum sip_frame_result {
    SIP_FRAME_NEED_MORE,
    SIP_FRAME_MESSAGE,          /* one message of *consumed bytes */
    SIP_FRAME_KEEPALIVE_PING,   /* CRLFCRLF, *consumed = 4: send CRLF */
    SIP_FRAME_KEEPALIVE_PONG,   /* CRLF then not CR, *consumed = 2: nothing
                                   to send (a lone "\r\n" waits: it may be
                                   the first half of a ping) */
    SIP_FRAME_ERROR,            /* err filled: 513 too large, 400 bad CL */
};

/* Frame the next message at the start of buf.  Rescans the header bytes
 * on every call: O(len) per call, so a peer trickling one byte per TLS
 * record costs O(n^2) up to max_msg.  Servers use sip_frame_resume. */
enum sip_frame_result sip_frame(const char *buf, size_t len, size_t max_msg,
                                size_t *consumed,
                                struct sip_parse_error *err);

/* Per-connection framing state: zero it once; sip_frame_resume resets it
 * itself after every result other than NEED_MORE.  The caller keeps the
 * unconsumed bytes at the start of buf between calls. */
struct sip_frame_state {
    size_t scanned;   /* blank-line search done up to here */
    size_t msg_len;   /* whole message length once headers are complete */
};

/* The same, linear over a connection's life: the header block is searched
 * once and Content-Length read once per message. */
enum sip_frame_result sip_frame_resume(const char *buf, size_t len,
                                       size_t max_msg,
                                       struct sip_frame_state *st,
                                       size_t *consumed,
                                       struct sip_parse_error *err);

#endif
