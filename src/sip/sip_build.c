/* sip_build.c - responses and forwarded messages (see sip_build.h). */
#include "sip/sip_build.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Bounded writer: the first overflow sticks, so callers check once. */
struct wbuf {
    char *p;
    size_t cap, len;
    bool overflow;
};

static void w_mem(struct wbuf *w, const char *s, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void w_str(struct wbuf *w, const char *s)
{
    w_mem(w, s, strlen(s));
}

static void w_slice(struct wbuf *w, sip_str s)
{
    w_mem(w, s.p, s.len);
}

/* Decimal digits without printf: every message carries a Content-Length. */
static void w_uint(struct wbuf *w, unsigned long v)
{
    char num[24];
    size_t i = sizeof num;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    w_mem(w, num + i, sizeof num - i);
}

static int w_done(const struct wbuf *w)
{
    return (w->overflow || w->len > INT_MAX) ? -1 : (int)w->len;
}

/* A value we put on one line must not carry CR, LF or NUL (header
 * injection through a reason, tag or URI). */
static bool one_line(const char *s)
{
    return s == NULL || strpbrk(s, "\r\n") == NULL;
}

/* Extra headers are whole lines: empty, or ending in CRLF with no bare
 * CR/LF and no blank line that would end the header block early. */
static bool lines_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return true;
    size_t n = strlen(s);
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n' || s[0] == '\r')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return false;
        if (s[i] == '\r' && (s[i + 1] != '\n' || s[i + 2] == '\r'))
            return false;
    }
    return true;
}

/* Emit hdrs[a..b), the entries of one field line, keeping those with
 * keep[k]: the raw line when all are kept, nothing when none is, else the
 * line rebuilt from the kept values. */
static void emit_field(struct wbuf *w, const struct sip_msg *m, size_t a,
                       size_t b, const bool *keep)
{
    size_t kept = 0;
    for (size_t k = a; k < b; k++)
        kept += keep[k];
    if (kept == 0)
        return;
    const struct sip_header *h = &m->hdrs[a];
    if (kept == b - a) {
        w_mem(w, m->buf + h->line_start, h->line_end - h->line_start);
        return;
    }
    w_slice(w, h->name);
    w_str(w, ": ");
    for (size_t k = a, n = 0; k < b; k++) {
        if (!keep[k])
            continue;
        if (n++)
            w_str(w, ", ");
        w_slice(w, m->hdrs[k].value);
    }
    w_str(w, "\r\n");
}

/* All header fields in order, each entry filtered through keep[]. */
static void emit_headers(struct wbuf *w, const struct sip_msg *m,
                         const bool *keep)
{
    size_t a = 0;
    while (a < m->nhdrs) {
        size_t b = a + 1;
        while (b < m->nhdrs && m->hdrs[b].line_start == m->hdrs[a].line_start)
            b++;
        emit_field(w, m, a, b, keep);
        a = b;
    }
}

static void emit_body(struct wbuf *w, const char *extra, const char *body,
                      size_t body_len)
{
    if (extra)
        w_str(w, extra);
    w_str(w, "Content-Length: ");
    w_uint(w, body_len);
    w_str(w, "\r\n\r\n");
    w_mem(w, body, body_len);
}

/* ----------------------------------------------------------- response */

static bool to_has_tag(const struct sip_msg *req, const struct sip_header *to)
{
    struct sip_name_addr na;
    if (req->to_tag.len)
        return true;
    /* req may have failed before To was checked: look for ourselves */
    return sip_name_addr_parse(to->value, &na) == 0 && na.tag.len > 0;
}

static void emit_to(struct wbuf *w, const struct sip_msg *req,
                    const char *to_tag)
{
    const struct sip_header *to = sip_msg_first(req, SIP_HDR_TO);
    if (!to)
        return;
    if (!to_tag || to_has_tag(req, to)) {
        w_mem(w, req->buf + to->line_start, to->line_end - to->line_start);
        return;
    }
    w_str(w, "To: ");
    w_slice(w, to->value);
    w_str(w, ";tag=");
    w_str(w, to_tag);
    w_str(w, "\r\n");
}

static void response_headers(struct wbuf *w, const struct sip_msg *req,
                             int status, const char *to_tag)
{
    bool keep[SIP_MAX_HEADERS];
    for (size_t k = 0; k < req->nhdrs; k++)
        keep[k] = req->hdrs[k].id == SIP_HDR_VIA;
    emit_headers(w, req, keep);
    static const enum sip_hdr_id copied[] = { SIP_HDR_FROM, SIP_HDR_TO,
        SIP_HDR_CALL_ID, SIP_HDR_CSEQ, SIP_HDR_TIMESTAMP };
    for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]); k++) {
        const struct sip_header *h = sip_msg_first(req, copied[k]);
        if (copied[k] == SIP_HDR_TO)
            emit_to(w, req, to_tag);
        else if (h && (copied[k] != SIP_HDR_TIMESTAMP || status == 100))
            w_mem(w, req->buf + h->line_start, h->line_end - h->line_start);
    }
}

int sip_build_response(char *out, size_t outlen, const struct sip_msg *req,
                       int status, const char *reason, const char *to_tag,
                       const char *extra_headers, const char *body,
                       size_t body_len, const char *content_type)
{
    struct wbuf w = { out, outlen, 0, false };
    if (status < 100 || status > 699 || !reason || !one_line(reason) ||
        !one_line(to_tag) || !one_line(content_type) ||
        !lines_ok(extra_headers) || (body_len && !body))
        return -1;
    w_str(&w, "SIP/2.0 ");
    w_uint(&w, (unsigned long)status);
    w_str(&w, " ");
    w_str(&w, reason);
    w_str(&w, "\r\n");
    response_headers(&w, req, status, to_tag);
    if (body_len && content_type) {
        w_str(&w, "Content-Type: ");
        w_str(&w, content_type);
        w_str(&w, "\r\n");
    }
    emit_body(&w, extra_headers, body, body_len);
    return w_done(&w);
}

/* ------------------------------------------------------------ forward */

static bool id_dropped(const struct sip_forward_edit *e, enum sip_hdr_id id)
{
    for (size_t k = 0; k < e->ndrop_ids; k++)
        if (e->drop_ids[k] == id)
            return true;
    return false;
}

/* Decide which entries survive; -1 when drop_routes is too large. */
static int forward_keep(const struct sip_msg *req,
                        const struct sip_forward_edit *e, bool *keep)
{
    size_t routes = 0;
    for (size_t k = 0; k < req->nhdrs; k++) {
        enum sip_hdr_id id = req->hdrs[k].id;
        keep[k] = id != SIP_HDR_CONTENT_LENGTH && id != SIP_HDR_MAX_FORWARDS &&
                  (id == SIP_HDR_OTHER || !id_dropped(e, id));
        if (id == SIP_HDR_ROUTE && routes++ < e->drop_routes)
            keep[k] = false;
    }
    return routes >= e->drop_routes ? 0 : -1;
}

static void forward_top(struct wbuf *w, const struct sip_msg *req,
                        const struct sip_forward_edit *e)
{
    w_slice(w, req->method_str);
    w_str(w, " ");
    if (e->ruri)
        w_str(w, e->ruri);
    else
        w_slice(w, req->ruri);
    w_str(w, " SIP/2.0\r\n");
    if (e->via) {
        w_str(w, "Via: ");
        w_str(w, e->via);
        w_str(w, "\r\n");
    }
    if (e->record_route) {
        w_str(w, "Record-Route: ");
        w_str(w, e->record_route);
        w_str(w, "\r\n");
    }
    w_str(w, "Max-Forwards: ");
    w_uint(w, req->max_forwards < 0 ? SIP_DEFAULT_MAX_FORWARDS
                                    : (unsigned long)(req->max_forwards - 1));
    w_str(w, "\r\n");
}

int sip_build_forward(char *out, size_t outlen, const struct sip_msg *req,
                      const struct sip_forward_edit *e)
{
    struct wbuf w = { out, outlen, 0, false };
    bool keep[SIP_MAX_HEADERS];
    if (!req->is_request || req->max_forwards == 0 || !one_line(e->ruri) ||
        !one_line(e->via) || !one_line(e->record_route) ||
        !lines_ok(e->extra_headers) || forward_keep(req, e, keep) < 0)
        return -1;
    forward_top(&w, req, e);
    emit_headers(&w, req, keep);
    emit_body(&w, e->extra_headers, req->body.p, req->body.len);
    return w_done(&w);
}

int sip_build_forward_response(char *out, size_t outlen,
                               const struct sip_msg *resp,
                               const char *extra_headers)
{
    struct wbuf w = { out, outlen, 0, false };
    bool keep[SIP_MAX_HEADERS];
    if (resp->is_request || !lines_ok(extra_headers))
        return -1;
    for (size_t k = 0; k < resp->nhdrs; k++)
        keep[k] = resp->hdrs[k].id != SIP_HDR_CONTENT_LENGTH;
    if (resp->first[SIP_HDR_VIA] >= 0)
        keep[resp->first[SIP_HDR_VIA]] = false;
    w_mem(&w, resp->buf, resp->start_line_end);
    emit_headers(&w, resp, keep);
    emit_body(&w, extra_headers, resp->body.p, resp->body.len);
    return w_done(&w);
}
