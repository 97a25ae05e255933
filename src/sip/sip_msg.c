/* sip_msg.c - RFC 3261 message parser (see sip_msg.h).
 *
 * Three passes over one framed message, each linear and bounded:
 *   1. start line (request or status line);
 *   2. header fields split into entries (one per list value), recording
 *      the raw line range of each field;
 *   3. checks on the entries: single-instance headers, mandatory headers,
 *      CSeq, Max-Forwards, Content-Length against the body, Via/From/To/
 *      Contact/Route syntax.
 * After pass 2, m->headers_ok is set so a 400 can still echo Via, From...
 */
#include "sip/sip_msg.h"

#include <stdio.h>
#include <string.h>

static const char *const method_names[] = {
    [SIP_METHOD_OTHER] = "", [SIP_INVITE] = "INVITE", [SIP_ACK] = "ACK",
    [SIP_BYE] = "BYE", [SIP_CANCEL] = "CANCEL", [SIP_REGISTER] = "REGISTER",
    [SIP_OPTIONS] = "OPTIONS", [SIP_MESSAGE] = "MESSAGE",
    [SIP_SUBSCRIBE] = "SUBSCRIBE", [SIP_NOTIFY] = "NOTIFY",
    [SIP_PRACK] = "PRACK", [SIP_UPDATE] = "UPDATE", [SIP_INFO] = "INFO",
    [SIP_REFER] = "REFER", [SIP_PUBLISH] = "PUBLISH",
};
#define METHOD_COUNT (sizeof(method_names) / sizeof(method_names[0]))

enum sip_method sip_method_lookup(sip_str token)
{
    for (size_t k = 1; k < METHOD_COUNT; k++)
        if (sip_str_eq(token, sip_str_cstr(method_names[k])))
            return (enum sip_method)k;
    return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
    return ((size_t)m < METHOD_COUNT) ? method_names[m] : "";
}

static int fail(struct sip_parse_error *err, int status, const char *reason)
{
    if (err) {
        err->status = status;
        snprintf(err->reason, sizeof(err->reason), "%s", reason);
    }
    return -1;
}

/* "Bad Request - <what> <header name> header" */
static int fail_hdr(struct sip_parse_error *err, const char *what,
                    enum sip_hdr_id id)
{
    char reason[sizeof(err->reason)];
    snprintf(reason, sizeof(reason), "Bad Request - %s %s header", what,
             sip_hdr_name(id));
    return fail(err, 400, reason);
}

static const char *find_crlf(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return p + i;
    return NULL;
}

/* ---------------------------------------------------------- start line */

/* Printable ASCII, HT and UTF-8 bytes: what a start line may hold. */
static bool line_chars_ok(sip_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* "SIP/2.0" is compared case-insensitively (RFC 3261 7.1); any other
 * "SIP/x.y" is a version we do not support (505). */
static int check_version(sip_str v, struct sip_parse_error *err,
                         const char *what)
{
    if (sip_str_caseeq_lit(v, "SIP/2.0"))
        return 0;
    if (v.len > 4 && sip_str_caseeq_lit(sip_str_make(v.p, 4), "SIP/"))
        return fail(err, 505, "Version Not Supported");
    return fail(err, 400, what);
}

/* absoluteURI scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static bool other_uri_ok(sip_str u)
{
    size_t i = 0;
    while (i < u.len && u.p[i] != ':') {
        char c = sip_ascii_lower(u.p[i]);
        bool alpha = c >= 'a' && c <= 'z';
        if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' ||
                                  c == '-' || c == '.'))))
            return false;
        i++;
    }
    return i > 0 && i + 1 < u.len;
}

static int parse_ruri(struct sip_msg *m, struct sip_parse_error *err)
{
    const char *bad = "Bad Request - malformed Request-URI";
    const char *colon = memchr(m->ruri.p, ':', m->ruri.len);
    sip_str scheme = sip_str_make(m->ruri.p,
                                  colon ? (size_t)(colon - m->ruri.p) : 0);
    if (sip_str_caseeq_lit(scheme, "sip") ||
        sip_str_caseeq_lit(scheme, "sips") ||
        sip_str_caseeq_lit(scheme, "tel")) {
        if (sip_uri_parse(m->ruri, &m->ruri_uri) < 0)
            return fail(err, 400, bad);
        m->ruri_is_sip = true;
        return 0;
    }
    return other_uri_ok(m->ruri) ? 0 : fail(err, 400, bad);
}

/* Request-Line = Method SP Request-URI SP SIP-Version */
static int parse_request_line(struct sip_msg *m, sip_str line,
                              struct sip_parse_error *err)
{
    const char *bad = "Bad Request - malformed request line";
    const char *sp1 = memchr(line.p, ' ', line.len);
    if (!sp1)
        return fail(err, 400, bad);
    m->method_str = sip_str_make(line.p, (size_t)(sp1 - line.p));
    sip_str rest = sip_str_skip(line, m->method_str.len + 1);
    const char *sp2 = memchr(rest.p, ' ', rest.len);
    if (!sp2 || !sip_is_token(m->method_str))
        return fail(err, 400, bad);
    m->ruri = sip_str_make(rest.p, (size_t)(sp2 - rest.p));
    sip_str version = sip_str_skip(rest, m->ruri.len + 1);
    if (m->ruri.len == 0 || memchr(version.p, ' ', version.len) ||
        memchr(m->ruri.p, '\t', m->ruri.len))
        return fail(err, 400, bad);
    if (check_version(version, err, bad) < 0)
        return -1;
    m->is_request = true;
    m->method = sip_method_lookup(m->method_str);
    return parse_ruri(m, err);
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
static int parse_status_line(struct sip_msg *m, sip_str line,
                             struct sip_parse_error *err)
{
    const char *bad = "Bad Request - malformed status line";
    const char *sp = memchr(line.p, ' ', line.len);
    if (!sp)
        return fail(err, 400, bad);
    if (check_version(sip_str_make(line.p, (size_t)(sp - line.p)), err,
                      bad) < 0)
        return -1;
    sip_str rest = sip_str_skip(line, (size_t)(sp - line.p) + 1);
    uint32_t code;
    if (rest.len < 3 || sip_str_to_u32(sip_str_make(rest.p, 3), 999,
                                       &code) < 0 ||
        code < 100 || code > 699 || (rest.len > 3 && rest.p[3] != ' '))
        return fail(err, 400, bad);
    m->status = (int)code;
    m->reason = rest.len > 3 ? sip_str_skip(rest, 4) : sip_str_skip(rest, 3);
    return 0;
}

static int parse_start_line(struct sip_msg *m, struct sip_parse_error *err)
{
    const char *crlf = find_crlf(m->buf, m->len);
    if (!crlf)
        return fail(err, 400, "Bad Request - malformed request line");
    sip_str line = sip_str_make(m->buf, (size_t)(crlf - m->buf));
    m->start_line_end = line.len + 2;
    if (line.len > SIP_MAX_LINE)
        return fail(err, 400, "Bad Request - start line too long");
    if (line.len == 0 || !line_chars_ok(line))
        return fail(err, 400, "Bad Request - malformed request line");
    if (line.len > 4 && sip_str_caseeq_lit(sip_str_make(line.p, 4), "SIP/"))
        return parse_status_line(m, line, err);
    return parse_request_line(m, line, err);
}

/* ------------------------------------------------------- header fields */

static int add_entry(struct sip_msg *m, const struct sip_header *h,
                     struct sip_parse_error *err)
{
    if (m->nhdrs >= SIP_MAX_HEADERS)
        return fail(err, 400, "Bad Request - too many headers");
    if (h->id != SIP_HDR_OTHER && m->first[h->id] < 0)
        m->first[h->id] = (int16_t)m->nhdrs;
    m->hdrs[m->nhdrs++] = *h;
    return 0;
}

/* Split a list header's value on commas outside quotes and <>: each
 * element becomes one entry sharing the field's line range.  Empty
 * elements are skipped; an empty field still gives one (empty) entry so
 * "Supported:" is visible. */
static int split_list(struct sip_msg *m, struct sip_header h,
                      struct sip_parse_error *err)
{
    sip_str v = h.value;
    /* Most list fields hold one value and no quotes: then the walk below
     * would add the value as it is, and fail only when its last angle
     * bracket is an opening one.  Found with memchr (vectorised). */
    if (memchr(v.p, ',', v.len) == NULL && memchr(v.p, '"', v.len) == NULL) {
        const char *open = memrchr(v.p, '<', v.len), *close = memrchr(v.p, '>', v.len);
        if (open != NULL && (close == NULL || close < open))
            return fail_hdr(err, "malformed", h.id);
        return add_entry(m, &h, err); /* h.value is trimmed; "" gives one empty entry */
    }
    size_t start = 0, added = 0;
    bool in_quote = false, in_angle = false;
    for (size_t i = 0; i <= v.len; i++) {
        char c = i < v.len ? v.p[i] : ','; /* a virtual comma ends it */
        if (in_quote) {
            if (c == '\\' && i + 1 < v.len)
                i++;
            else if (c == '"')
                in_quote = false;
            continue;
        }
        if (c == '"' && !in_angle)
            in_quote = true;
        else if (c == '<')
            in_angle = true;
        else if (c == '>')
            in_angle = false;
        if (c != ',' || in_angle)
            continue;
        h.value = sip_str_trim(sip_str_make(v.p + start, i - start));
        start = i + 1;
        if (h.value.len == 0)
            continue;
        if (add_entry(m, &h, err) < 0)
            return -1;
        added++;
    }
    if (in_quote || in_angle)
        return fail_hdr(err, "malformed", h.id);
    h.value = sip_str_make(v.p, 0);
    return added ? 0 : add_entry(m, &h, err);
}

/* One field starts at pos: it ends at a CRLF not followed by SP/HT.  Any
 * other CR or LF is refused, so sub-parsers may treat CR/LF as LWS. */
static int field_end(const struct sip_msg *m, size_t pos, size_t hdr_end,
                     size_t *end, struct sip_parse_error *err)
{
    while (pos < hdr_end) {
        /* The next CR, and no LF before it (memchr: vectorised). */
        const char *cr = memchr(m->buf + pos, '\r', hdr_end - pos);
        size_t i = cr != NULL ? (size_t)(cr - m->buf) : hdr_end;
        if (memchr(m->buf + pos, '\n', i - pos) != NULL)
            return fail(err, 400, "Bad Request - bare LF in header");
        if (cr == NULL)
            break;
        if (i + 1 >= hdr_end || m->buf[i + 1] != '\n')
            return fail(err, 400, "Bad Request - bare CR in header");
        /* hdr_end always follows a CRLF, so i + 2 <= hdr_end */
        if (i + 2 == hdr_end || (m->buf[i + 2] != ' ' && m->buf[i + 2] != '\t')) {
            *end = i + 2;
            return 0;
        }
        pos = i + 2; /* a folded line goes on */
    }
    return fail(err, 400, "Bad Request - malformed header");
}

/* field = name *(SP/HT) ":" value, name a token. */
static int parse_field(struct sip_msg *m, size_t pos, size_t end,
                       struct sip_parse_error *err)
{
    struct sip_header h = { .line_start = pos, .line_end = end };
    sip_str f = sip_str_make(m->buf + pos, end - 2 - pos);
    size_t n = 0;
    while (n < f.len && f.p[n] != ':' && f.p[n] != ' ' && f.p[n] != '\t')
        n++;
    h.name = sip_str_make(f.p, n);
    while (n < f.len && (f.p[n] == ' ' || f.p[n] == '\t'))
        n++;
    if (n >= f.len || f.p[n] != ':')
        return fail(err, 400, "Bad Request - header without colon");
    if (!sip_is_token(h.name))
        return fail(err, 400, "Bad Request - malformed header name");
    h.id = sip_hdr_lookup(h.name);
    h.value = sip_str_trim(sip_str_skip(f, n + 1));
    if (sip_hdr_is_list(h.id))
        return split_list(m, h, err);
    return add_entry(m, &h, err);
}

static int parse_fields(struct sip_msg *m, size_t hdr_end,
                        struct sip_parse_error *err)
{
    size_t pos = m->start_line_end;
    while (pos < hdr_end) {
        size_t end;
        if (m->buf[pos] == ' ' || m->buf[pos] == '\t')
            return fail(err, 400, "Bad Request - folded line without header");
        if (field_end(m, pos, hdr_end, &end, err) < 0)
            return -1;
        if (end - pos > SIP_MAX_LINE)
            return fail(err, 400, "Bad Request - header line too long");
        if (parse_field(m, pos, end, err) < 0)
            return -1;
        pos = end;
    }
    return 0;
}

/* ------------------------------------------------------ header checks */

static bool callid_ok(sip_str v)
{
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.p[i] <= 0x20 || (unsigned char)v.p[i] >= 0x7f)
            return false;
    return true;
}

static bool single_instance(enum sip_hdr_id id)
{
    return id == SIP_HDR_FROM || id == SIP_HDR_TO || id == SIP_HDR_CALL_ID ||
           id == SIP_HDR_CSEQ || id == SIP_HDR_MAX_FORWARDS ||
           id == SIP_HDR_CONTENT_TYPE;
}

static int check_content_length(struct sip_msg *m, sip_str v,
                                struct sip_parse_error *err)
{
    size_t cl;
    if (sip_content_length_parse(v, SIP_MAX_MSG, &cl) < 0)
        return fail_hdr(err, "malformed", SIP_HDR_CONTENT_LENGTH);
    if (m->content_length >= 0 && m->content_length != (long)cl)
        return fail(err, 400, "Bad Request - conflicting Content-Length headers");
    m->content_length = (long)cl;
    return 0;
}

/* Addresses: From and To are one name-addr; Contact may be "*" alone;
 * Route, Record-Route and Path are name-addrs, never "*". */
static int check_address(struct sip_msg *m, const struct sip_header *h,
                         struct sip_parse_error *err)
{
    struct sip_name_addr na;
    if (sip_name_addr_parse(h->value, &na) < 0)
        return fail_hdr(err, "malformed", h->id);
    if (na.is_star && (h->id != SIP_HDR_CONTACT ||
                       sip_msg_count(m, SIP_HDR_CONTACT) != 1))
        return fail_hdr(err, "malformed", h->id);
    if (h->id == SIP_HDR_FROM) {
        m->from = na;
        m->from_tag = na.tag;
    } else if (h->id == SIP_HDR_TO) {
        m->to = na;
        m->to_tag = na.tag;
    }
    return 0;
}

static int check_via(struct sip_msg *m, const struct sip_header *h,
                     struct sip_parse_error *err)
{
    struct sip_via v;
    if (sip_via_parse(h->value, &v) < 0)
        return fail_hdr(err, "malformed", SIP_HDR_VIA);
    if (h == &m->hdrs[m->first[SIP_HDR_VIA]])
        m->via = v;
    return 0;
}

static int check_cseq(struct sip_msg *m, sip_str v,
                      struct sip_parse_error *err)
{
    if (sip_cseq_parse(v, &m->cseq_num, &m->cseq_method_str) < 0)
        return fail_hdr(err, "malformed", SIP_HDR_CSEQ);
    m->cseq_method = sip_method_lookup(m->cseq_method_str);
    return 0;
}

static int check_max_forwards(struct sip_msg *m, sip_str v,
                              struct sip_parse_error *err)
{
    uint32_t mf;
    if (v.len > 3 || sip_str_to_u32(v, SIP_MAX_FORWARDS_LIMIT, &mf) < 0)
        return fail_hdr(err, "malformed", SIP_HDR_MAX_FORWARDS);
    m->max_forwards = (int)mf;
    return 0;
}

static int check_entry(struct sip_msg *m, const struct sip_header *h,
                       struct sip_parse_error *err)
{
    if (single_instance(h->id) && h != &m->hdrs[m->first[h->id]])
        return fail_hdr(err, "duplicate", h->id);
    switch (h->id) {
    case SIP_HDR_VIA:
        return check_via(m, h, err);
    case SIP_HDR_FROM: case SIP_HDR_TO: case SIP_HDR_CONTACT:
    case SIP_HDR_ROUTE: case SIP_HDR_RECORD_ROUTE: case SIP_HDR_PATH:
        return check_address(m, h, err);
    case SIP_HDR_CALL_ID:
        m->call_id = h->value;
        return callid_ok(h->value) ? 0 : fail_hdr(err, "malformed", h->id);
    case SIP_HDR_CSEQ:
        return check_cseq(m, h->value, err);
    case SIP_HDR_MAX_FORWARDS:
        return check_max_forwards(m, h->value, err);
    case SIP_HDR_CONTENT_LENGTH:
        return check_content_length(m, h->value, err);
    default:
        return 0;
    }
}

static int check_mandatory(const struct sip_msg *m,
                           struct sip_parse_error *err)
{
    static const struct {
        enum sip_hdr_id id;
        const char *reason;
    } need[] = {
        { SIP_HDR_VIA, "Bad Request - missing Via" },
        { SIP_HDR_FROM, "Bad Request - missing From" },
        { SIP_HDR_TO, "Bad Request - missing To" },
        { SIP_HDR_CALL_ID, "Bad Request - missing Call-ID" },
        { SIP_HDR_CSEQ, "Bad Request - missing CSeq" },
        { SIP_HDR_CONTENT_LENGTH, "Bad Request - missing Content-Length" },
    };
    for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
        if (m->first[need[k].id] < 0)
            return fail(err, 400, need[k].reason);
    return 0;
}

static int check_headers(struct sip_msg *m, struct sip_parse_error *err)
{
    for (size_t k = 0; k < m->nhdrs; k++)
        if (check_entry(m, &m->hdrs[k], err) < 0)
            return -1;
    if (check_mandatory(m, err) < 0)
        return -1;
    if (m->is_request && !sip_str_eq(m->cseq_method_str, m->method_str))
        return fail(err, 400,
                    "Bad Request - CSeq method does not match request method");
    if ((size_t)m->content_length != m->body.len)
        return fail(err, 400,
                    "Bad Request - Content-Length does not match body length");
    return 0;
}

/* ------------------------------------------------------------- entry */

/* Clear everything but the header array (large, and bounded by nhdrs). */
static void msg_init(struct sip_msg *m, const char *buf, size_t len)
{
    size_t tail = offsetof(struct sip_msg, first);
    memset(m, 0, offsetof(struct sip_msg, hdrs));
    memset((char *)m + tail, 0, sizeof(*m) - tail);
    m->buf = buf;
    m->len = len;
    for (size_t k = 0; k < SIP_HDR__COUNT; k++)
        m->first[k] = -1;
    m->max_forwards = -1;
    m->content_length = -1;
}

int sip_parse(struct sip_msg *m, const char *buf, size_t len,
              struct sip_parse_error *err)
{
    msg_init(m, buf, len);
    if (len > SIP_MAX_MSG)
        return fail(err, 513, "Message Too Large");
    const char *blank = sip_find_blank_line(buf, len);
    if (!blank)
        return fail(err, 400, "Bad Request - no blank line after headers");
    size_t hdr_end = (size_t)(blank - buf) + 2;
    m->body_offset = hdr_end + 2;
    m->body = sip_str_make(buf + m->body_offset, len - m->body_offset);
    if (memchr(buf, '\0', hdr_end))
        return fail(err, 400, "Bad Request - NUL byte in header");
    if (parse_start_line(m, err) < 0)
        return -1;
    if (m->start_line_end < hdr_end && parse_fields(m, hdr_end, err) < 0)
        return -1;
    m->headers_ok = true;
    return check_headers(m, err);
}

/* ---------------------------------------------------------- accessors */

const struct sip_header *sip_msg_first(const struct sip_msg *m,
                                       enum sip_hdr_id id)
{
    if ((int)id <= 0 || id >= SIP_HDR__COUNT || m->first[id] < 0)
        return NULL;
    return &m->hdrs[m->first[id]];
}

const struct sip_header *sip_msg_next(const struct sip_msg *m,
                                      const struct sip_header *h)
{
    for (size_t k = (size_t)(h - m->hdrs) + 1; k < m->nhdrs; k++)
        if (m->hdrs[k].id == h->id &&
            (h->id != SIP_HDR_OTHER ||
             sip_str_caseeq(m->hdrs[k].name, h->name)))
            return &m->hdrs[k];
    return NULL;
}

size_t sip_msg_count(const struct sip_msg *m, enum sip_hdr_id id)
{
    size_t n = 0;
    for (size_t k = 0; k < m->nhdrs; k++)
        n += m->hdrs[k].id == id;
    return n;
}

const struct sip_header *sip_msg_find(const struct sip_msg *m,
                                      const char *name)
{
    sip_str want = sip_str_cstr(name);
    for (size_t k = 0; k < m->nhdrs; k++)
        if (sip_str_caseeq(m->hdrs[k].name, want))
            return &m->hdrs[k];
    /* a canonical name also finds the compact form */
    return sip_msg_first(m, sip_hdr_lookup(want));
}
