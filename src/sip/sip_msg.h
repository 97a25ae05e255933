/*
 * sip_msg.h - RFC 3261 message parser for hostile input.
 *
 *     struct sip_msg m;                  (about 8 KB: keep it off hot stacks
 *     struct sip_parse_error e;           or reuse one per connection)
 *     if (sip_parse(&m, buf, len, &e) < 0)
 *         reply e.status with reason e.reason (if m.headers_ok, the Via,
 *         From, To, Call-ID and CSeq lines are there to build the reply)
 *
 * The parser receives exactly one framed message (sip_frame.h) and never
 * copies: every sip_str points into buf, which must outlive m.  It checks
 * the start line, splits headers into one entry per value, and checks the
 * mandatory headers, CSeq, Max-Forwards, Content-Length, the top Via, From
 * and To.  Lines must end in CRLF; folding (CRLF + SP/HT) is white space.
 */
#ifndef TN_SIP_MSG_H
#define TN_SIP_MSG_H

#include "sip/sip_hdr.h"
#include "sip/sip_str.h"
#include "sip/sip_uri.h"

#define SIP_MAX_MSG 65535       /* whole message, headers and body */
#define SIP_MAX_HEADERS 128     /* header values (list elements count) */
#define SIP_MAX_LINE 8192       /* start line or one (folded) header field */
#define SIP_MAX_FORWARDS_LIMIT 255

enum sip_method {
    SIP_METHOD_OTHER = 0,
    SIP_INVITE,
    SIP_ACK,
    SIP_BYE,
    SIP_CANCEL,
    SIP_REGISTER,
    SIP_OPTIONS,
    SIP_MESSAGE,
    SIP_SUBSCRIBE,
    SIP_NOTIFY,
    SIP_PRACK,
    SIP_UPDATE,
    SIP_INFO,
    SIP_REFER,
    SIP_PUBLISH,
};

/* Method for a token (case-sensitive, RFC 3261 7.1); OTHER if unknown. */
enum sip_method sip_method_lookup(sip_str token);
const char *sip_method_name(enum sip_method m); /* "" for OTHER */

struct sip_parse_error {
    int status;         /* 400, 505 (bad version), 513 (too large) */
    char reason[128];   /* SIP reason phrase naming the problem */
};

/* One header VALUE.  A list header written "Via: a, b" gives two entries
 * sharing the same line_start/line_end, the byte range of the whole field
 * (name to CRLF, folding included) so a builder can copy or drop it. */
struct sip_header {
    enum sip_hdr_id id;
    sip_str name;       /* as written, possibly compact ("v") */
    sip_str value;      /* trimmed; may contain folding CRLF+SP */
    size_t line_start, line_end;
};

struct sip_msg {
    const char *buf;
    size_t len;

    bool is_request;
    enum sip_method method;     /* requests */
    sip_str method_str;
    sip_str ruri;
    struct sip_uri ruri_uri;    /* valid when ruri_is_sip */
    bool ruri_is_sip;           /* sip:, sips: or tel: (else other scheme) */
    int status;                 /* responses */
    sip_str reason;

    size_t start_line_end;      /* offset just past the start line CRLF */
    size_t body_offset;         /* offset just past the blank line */

    size_t nhdrs;
    struct sip_header hdrs[SIP_MAX_HEADERS];
    int16_t first[SIP_HDR__COUNT];  /* index of first entry per id, -1 */
    bool headers_ok;            /* hdrs[] complete (even if m rejected) */

    uint32_t cseq_num;
    enum sip_method cseq_method;
    sip_str cseq_method_str;
    int max_forwards;           /* -1 when absent */
    long content_length;        /* -1 when absent (only on error paths) */
    sip_str body;
    sip_str call_id;
    struct sip_via via;         /* top Via */
    struct sip_name_addr from, to;
    sip_str from_tag, to_tag;   /* empty when absent */
};

int sip_parse(struct sip_msg *m, const char *buf, size_t len,
              struct sip_parse_error *err);

/* First entry with this id, or NULL. */
const struct sip_header *sip_msg_first(const struct sip_msg *m,
                                       enum sip_hdr_id id);
/* Next entry with the same id as h (for h from this message), or NULL. */
const struct sip_header *sip_msg_next(const struct sip_msg *m,
                                      const struct sip_header *h);
size_t sip_msg_count(const struct sip_msg *m, enum sip_hdr_id id);
/* First entry whose name equals name (case-insensitive): for headers
 * without an id.  NULL if none. */
const struct sip_header *sip_msg_find(const struct sip_msg *m,
                                      const char *name);

#endif
