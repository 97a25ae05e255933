/* sip_frame.c - stream framing and RFC 5626 keep-alives (see sip_frame.h). */
#include "sip/sip_frame.h"

#include <stdio.h>
#include <string.h>

static enum sip_frame_result frame_error(struct sip_parse_error *err,
                                         struct sip_frame_state *st,
                                         int status, const char *reason)
{
    if (err) {
        err->status = status;
        snprintf(err->reason, sizeof(err->reason), "%s", reason);
    }
    *st = (struct sip_frame_state){ 0, 0 };
    return SIP_FRAME_ERROR;
}

/* CRLFCRLF is a ping, a CRLF followed by anything but CR a pong.  A lone
 * "\r\n" or "\r\n\r" may still become a ping split across reads, so
 * wait: a pong needs no answer, so holding it back costs nothing. */
static enum sip_frame_result keepalive(const char *buf, size_t len,
                                       size_t *consumed)
{
    if (len < 2)
        return SIP_FRAME_NEED_MORE;
    if (buf[1] != '\n')
        return SIP_FRAME_MESSAGE; /* not a keep-alive: frame as a message */
    if (len >= 4 && buf[2] == '\r' && buf[3] == '\n') {
        *consumed = 4;
        return SIP_FRAME_KEEPALIVE_PING;
    }
    if (len == 2 || (len == 3 && buf[2] == '\r'))
        return SIP_FRAME_NEED_MORE;
    *consumed = 2;
    return SIP_FRAME_KEEPALIVE_PONG;
}

/* Offset just past the field starting at pos (a CRLF not followed by
 * SP/HT ends it), or hdr_end. */
static size_t field_end(const char *buf, size_t pos, size_t hdr_end)
{
    while (pos + 1 < hdr_end) {
        const char *cr = memchr(buf + pos, '\r', hdr_end - 1 - pos); /* vectorised */
        if (cr == NULL)
            break;
        size_t i = (size_t)(cr - buf);
        if (buf[i + 1] == '\n' &&
            (i + 2 >= hdr_end || (buf[i + 2] != ' ' && buf[i + 2] != '\t')))
            return i + 2;
        pos = i + 1;
    }
    return hdr_end;
}

enum cl_result { CL_OK, CL_MISSING, CL_MALFORMED, CL_CONFLICT };

/* Read one field's Content-Length value into *cl (agreeing with any
 * earlier one). */
static enum cl_result field_content_length(const char *buf, size_t pos,
                                           size_t end, size_t *cl,
                                           bool *found)
{
    size_t n = pos, v;
    while (n < end && buf[n] != ':' && buf[n] != ' ' && buf[n] != '\t')
        n++;
    sip_str name = sip_str_make(buf + pos, n - pos);
    /* Only "Content-Length" or its compact "l" can be it: skip the lookup
     * for every other field. */
    if (name.len != 14 && name.len != 1)
        return CL_OK;
    while (n < end && buf[n] != ':')
        n++;
    if (n >= end || sip_hdr_lookup(name) != SIP_HDR_CONTENT_LENGTH)
        return CL_OK;
    if (sip_content_length_parse(sip_str_make(buf + n + 1, end - n - 1),
                                 SIZE_MAX, &v) < 0)
        return CL_MALFORMED;
    if (*found && v != *cl)
        return CL_CONFLICT;
    *cl = v;
    *found = true;
    return CL_OK;
}

/* Content-Length of the header block [0, hdr_end), with the same rules
 * as the parser (sip_content_length_parse, duplicates must agree). */
static enum cl_result find_content_length(const char *buf, size_t hdr_end,
                                          size_t *cl)
{
    size_t pos = field_end(buf, 0, hdr_end); /* skip the start line */
    bool found = false;
    while (pos < hdr_end) {
        size_t end = field_end(buf, pos, hdr_end);
        enum cl_result r = field_content_length(buf, pos, end, cl, &found);
        if (r != CL_OK)
            return r;
        pos = end;
    }
    return found ? CL_OK : CL_MISSING;
}

/* The header block is complete at hdr_end: work out the message length. */
static enum sip_frame_result headers_complete(const char *buf, size_t hdr_end,
                                              size_t max_msg,
                                              struct sip_frame_state *st,
                                              struct sip_parse_error *err)
{
    size_t cl = 0;
    switch (find_content_length(buf, hdr_end, &cl)) {
    case CL_MISSING:
        return frame_error(err, st, 400,
                           "Bad Request - missing Content-Length");
    case CL_MALFORMED:
        return frame_error(err, st, 400,
                           "Bad Request - malformed Content-Length header");
    case CL_CONFLICT:
        return frame_error(err, st, 400,
                           "Bad Request - conflicting Content-Length headers");
    case CL_OK:
        break;
    }
    if (cl > max_msg || hdr_end + 2 + cl > max_msg)
        return frame_error(err, st, 513, "Message Too Large");
    st->msg_len = hdr_end + 2 + cl;
    return SIP_FRAME_NEED_MORE;
}

/* Search for the blank line from where the last call stopped (backing up
 * 3 bytes in case CRLFCRLF straddles two reads). */
static enum sip_frame_result find_headers(const char *buf, size_t len,
                                          size_t max_msg,
                                          struct sip_frame_state *st,
                                          struct sip_parse_error *err)
{
    size_t limit = len < max_msg ? len : max_msg;
    size_t from = st->scanned > 3 ? st->scanned - 3 : 0;
    const char *blank = NULL;
    if (limit >= from + 4)
        blank = sip_find_blank_line(buf + from, limit - from);
    if (blank)
        return headers_complete(buf, (size_t)(blank - buf) + 2, max_msg, st,
                                err);
    if (len >= max_msg)
        return frame_error(err, st, 513, "Message Too Large");
    st->scanned = limit;
    return SIP_FRAME_NEED_MORE;
}

enum sip_frame_result sip_frame_resume(const char *buf, size_t len,
                                       size_t max_msg,
                                       struct sip_frame_state *st,
                                       size_t *consumed,
                                       struct sip_parse_error *err)
{
    *consumed = 0;
    if (len == 0)
        return SIP_FRAME_NEED_MORE;
    if (st->scanned == 0 && st->msg_len == 0 && buf[0] == '\r') {
        enum sip_frame_result r = keepalive(buf, len, consumed);
        if (r != SIP_FRAME_MESSAGE)
            return r;
    }
    if (st->msg_len == 0) {
        enum sip_frame_result r = find_headers(buf, len, max_msg, st, err);
        if (r == SIP_FRAME_ERROR || st->msg_len == 0)
            return r;
    }
    if (len < st->msg_len)
        return SIP_FRAME_NEED_MORE;
    *consumed = st->msg_len;
    *st = (struct sip_frame_state){ 0, 0 };
    return SIP_FRAME_MESSAGE;
}

enum sip_frame_result sip_frame(const char *buf, size_t len, size_t max_msg,
                                size_t *consumed,
                                struct sip_parse_error *err)
{
    struct sip_frame_state st = { 0, 0 };
    return sip_frame_resume(buf, len, max_msg, &st, consumed, err);
}
