/* sip_txn.c - proxy transactions: forwarding, responses, CANCEL, ACK and
 * timeouts (see sip_txn.h). */
#include "sip/sip_txn.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/str.h"
#include "sip/sip_build.h"

#define TIMER_F_MS (64 * 500)   /* non-INVITE: no final answer in 32 s */
#define TIMER_C_MS (180 * 1000) /* INVITE: no final answer in 3 min */
#define TIMER_H_MS (64 * 500)   /* wait for the ACK of a non-2xx final */

struct proxy_txn {
    struct sip_worker *sw;
    uint64_t id;   /* our branch number */
    uint64_t key;  /* upstream branch + sent-by, for CANCEL and ACK */
    uint64_t in_conn, out_conn;
    enum sip_method method;
    bool final_sent;
    bool hide_inside; /* the request went to a partner with our Via and
                         Record-Route only */
    ev_timer_id timer;
    char *orig;    /* the request as received (to answer it) */
    size_t orig_len;
    char *fwd;     /* an INVITE as forwarded (to cancel or ACK it), else NULL */
    size_t fwd_len;
};

/* --- keys ------------------------------------------------------------------ */

/* Upstream transaction key: branch and sent-by of the top Via (RFC 3261
 * 17.2.3); CANCEL and ACK match the INVITE they refer to. */
static uint64_t upstream_key(const struct sip_msg *m)
{
    uint64_t h = tn_fnv1a64(TN_FNV1A64_INIT, m->via.branch.p, m->via.branch.len);
    h = tn_fnv1a64(h, m->via.host.p, m->via.host.len);
    h = tn_fnv1a64(h, &m->via.port, sizeof m->via.port);
    return h ? h : 1;
}

/* v in lower-case hex, at least min digits, at p; returns the end. */
static char *put_hex(char *p, uint64_t v, int min)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v != 0 || n < min);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* "SIP/2.0/TLS sent-by;branch=z9hG4bK-tn<worker>.<txn>.<loop hash>", all
 * hex, as "%x.%" PRIx64 ".%08x" would write it, without printf on the
 * path of every forwarded request. */
int sip_txn_via(struct sip_worker *sw, uint64_t txn_id, uint32_t loop_hash, char *out,
                size_t len)
{
    static const char head[] = "SIP/2.0/TLS ", branch[] = ";branch=" SIP_BRANCH_PREFIX;
    size_t host = strlen(sw->srv->sent_by);
    /* head, host, branch, 8 + 1 + 16 + 1 + 8 hex digits and dots, NUL */
    if (len < sizeof head - 1 + host + sizeof branch - 1 + 34 + 1)
        return -1;
    char *p = out;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    memcpy(p, sw->srv->sent_by, host);
    p += host;
    memcpy(p, branch, sizeof branch - 1);
    p += sizeof branch - 1;
    p = put_hex(p, sw->w->index, 1);
    *p++ = '.';
    p = put_hex(p, txn_id, 1);
    *p++ = '.';
    p = put_hex(p, loop_hash, 8);
    *p = '\0';
    return 0;
}

/* Parse our branch back: worker, transaction id and loop hash. */
static bool parse_our_branch(sip_str branch, unsigned *worker, uint64_t *id, uint32_t *loop)
{
    char text[96];
    size_t plen = sizeof SIP_BRANCH_PREFIX - 1;
    if (branch.len <= plen || branch.len >= sizeof text ||
        memcmp(branch.p, SIP_BRANCH_PREFIX, plen) != 0)
        return false;
    memcpy(text, branch.p + plen, branch.len - plen);
    text[branch.len - plen] = '\0';
    char *end;
    unsigned long w = strtoul(text, &end, 16);
    if (*end != '.')
        return false;
    unsigned long long i = strtoull(end + 1, &end, 16);
    if (*end != '.')
        return false;
    unsigned long l = strtoul(end + 1, &end, 16);
    if (*end != '\0')
        return false;
    *worker = (unsigned)w;
    *id = i;
    *loop = (uint32_t)l;
    return true;
}

bool sip_txn_is_loop(const struct sip_server *srv, const struct sip_msg *req, uint32_t loop_hash)
{
    for (const struct sip_header *h = sip_msg_first(req, SIP_HDR_VIA); h; h = sip_msg_next(req, h)) {
        struct sip_via v;
        unsigned w;
        uint64_t id;
        uint32_t loop;
        if (sip_via_parse(h->value, &v) < 0 || !parse_our_branch(v.branch, &w, &id, &loop))
            continue;
        bool ours = sip_str_caseeq(v.host, sip_str_cstr(srv->cfg.fqdn)) && v.port == srv->port;
        if (ours && loop == loop_hash)
            return true;
    }
    return false;
}

int sip_txn_record_route(const struct sip_server *srv, bool partner_side, char *out, size_t len)
{
    if (partner_side)
        return tn_snprintf(out, len, "<sip:%s:%d;transport=tls;lr>", srv->cfg.fqdn, srv->fed_port);
    return tn_snprintf(out, len, "<sip:%s;transport=tls;lr>", srv->sent_by);
}

/* --- life cycle ---------------------------------------------------------------- */

static void txn_free(struct proxy_txn *t)
{
    struct sip_worker *sw = t->sw;
    idmap_del(&sw->txns, t->id);
    if (idmap_get(&sw->txns_by_key, t->key) == t)
        idmap_del(&sw->txns_by_key, t->key);
    ev_timer_cancel(sw->w->loop, t->timer);
    free(t->orig);
    free(t->fwd);
    free(t);
}

static char *copy_bytes(const char *p, size_t len)
{
    char *c = malloc(len + 1);
    if (c != NULL) {
        memcpy(c, p, len);
        c[len] = '\0';
    }
    return c;
}

/* Answer the original request of t upstream (timeouts, failures). */
static void answer_upstream(struct proxy_txn *t, int status, const char *reason)
{
    struct sip_worker *sw = t->sw;
    struct sip_msg *m = &sw->msg;
    struct sip_parse_error perr;
    if (t->final_sent || sip_parse(m, t->orig, t->orig_len, &perr) < 0)
        return;
    int n = sip_build_response(sw->out, sizeof sw->out, m, status, reason, NULL,
                               "Server: trustnet\r\n", NULL, 0, NULL);
    if (n > 0)
        worker_send(&sw->srv->group, t->in_conn, sw->out, (size_t)n);
    t->final_sent = true;
}

static void on_timeout(ev_loop *loop, void *ctx)
{
    struct proxy_txn *t = ctx;
    t->timer = 0;
    if (!t->final_sent) {
        tn_log(TN_LOG_INFO, "sip", "transaction %" PRIx64 ": no final answer from downstream",
               t->id);
        answer_upstream(t, 408, "Request Timeout");
    }
    txn_free(t);
}

static struct proxy_txn *txn_new(struct sip_worker *sw, struct conn *in, const struct sip_msg *req,
                                 uint64_t out_conn)
{
    struct proxy_txn *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->sw = sw;
    t->id = ++sw->next_txn;
    t->key = upstream_key(req);
    t->in_conn = in->id;
    t->out_conn = out_conn;
    t->method = req->method;
    t->orig = copy_bytes(req->buf, req->len);
    t->orig_len = req->len;
    if (t->orig == NULL || idmap_put(&sw->txns, t->id, t) < 0) {
        free(t->orig);
        free(t);
        return NULL;
    }
    if (req->method == SIP_INVITE)
        idmap_put(&sw->txns_by_key, t->key, t);
    t->timer = ev_timer_add(sw->w->loop, req->method == SIP_INVITE ? TIMER_C_MS : TIMER_F_MS,
                            on_timeout, t);
    return t;
}

void sip_txn_forward(struct sip_worker *sw, struct conn *in, const struct sip_msg *req,
                     uint64_t out_conn, struct sip_forward_edit *e, uint32_t loop_hash,
                     bool hide_inside)
{
    char via[400];
    struct proxy_txn *t = txn_new(sw, in, req, out_conn);
    if (t != NULL)
        t->hide_inside = hide_inside;
    if (t == NULL || sip_txn_via(sw, t->id, loop_hash, via, sizeof via) < 0) {
        sip_reply(sw, in, req, 500, "Server Internal Error - out of memory", NULL);
        if (t != NULL)
            txn_free(t);
        return;
    }
    e->via = via;
    int n = sip_build_forward(sw->out, sizeof sw->out, req, e);
    if (n < 0) {
        txn_free(t);
        sip_reply(sw, in, req, 513, "Message Too Large - cannot forward", NULL);
        return;
    }
    if (req->method != SIP_INVITE) {
        /* Only an INVITE is cancelled or acknowledged by us: no copy. */
        if (worker_send(&sw->srv->group, out_conn, sw->out, (size_t)n) < 0) {
            answer_upstream(t, 480, "Temporarily Unavailable - the user's connection is gone");
            txn_free(t);
        }
        return;
    }
    t->fwd = copy_bytes(sw->out, (size_t)n);
    t->fwd_len = (size_t)n;
    /* The 100 is built in sw->out too: from here on send the copy. */
    sip_reply(sw, in, req, 100, "Trying", NULL);
    if (t->fwd == NULL || worker_send(&sw->srv->group, out_conn, t->fwd, t->fwd_len) < 0) {
        answer_upstream(t, 480, "Temporarily Unavailable - the user's connection is gone");
        txn_free(t);
    }
}

/* --- requests derived from the forwarded one: CANCEL and ACK ---------------------- */

/* Copy every value of one header of m as "Name: value" lines. */
static void copy_headers(const struct sip_msg *m, enum sip_hdr_id id, char *out, size_t len)
{
    for (const struct sip_header *h = sip_msg_first(m, id); h; h = sip_msg_next(m, h))
        tn_appendf(out, len, "%s: %.*s\r\n", sip_hdr_name(id), (int)h->value.len, h->value.p);
}

/* "CANCEL" or "ACK" for the forwarded INVITE of t (RFC 3261 9.1, 17.1.1.3):
 * same Request-URI, top Via, Route, From, Call-ID and CSeq number; the To
 * of the response for an ACK. */
static int build_derived(struct proxy_txn *t, const char *method, sip_str to, char *out,
                         size_t len)
{
    struct sip_msg *f = &t->sw->msg;
    struct sip_parse_error perr;
    if (t->fwd == NULL || sip_parse(f, t->fwd, t->fwd_len, &perr) < 0)
        return -1;
    const struct sip_header *via = sip_msg_first(f, SIP_HDR_VIA);
    const struct sip_header *from = sip_msg_first(f, SIP_HDR_FROM);
    const struct sip_header *f_to = sip_msg_first(f, SIP_HDR_TO);
    if (via == NULL || from == NULL || f_to == NULL)
        return -1;
    if (to.len == 0)
        to = f_to->value;
    char routes[4096] = "";
    copy_headers(f, SIP_HDR_ROUTE, routes, sizeof routes);
    if (tn_snprintf(out, len,
                    "%s %.*s SIP/2.0\r\nVia: %.*s\r\n%sMax-Forwards: 70\r\nFrom: %.*s\r\n"
                    "To: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
                    method, (int)f->ruri.len, f->ruri.p, (int)via->value.len, via->value.p,
                    routes, (int)from->value.len, from->value.p, (int)to.len, to.p,
                    (int)f->call_id.len, f->call_id.p, f->cseq_num, method) < 0)
        return -1;
    return (int)strlen(out);
}

void sip_txn_cancel(struct sip_worker *sw, struct conn *in, const struct sip_msg *cancel)
{
    struct proxy_txn *t = idmap_get(&sw->txns_by_key, upstream_key(cancel));
    if (t == NULL || t->method != SIP_INVITE) {
        sip_reply(sw, in, cancel, 481, "Call/Transaction Does Not Exist", NULL);
        return;
    }
    sip_reply(sw, in, cancel, 200, "OK", NULL);
    if (t->final_sent)
        return;
    char out[8192];
    int n = build_derived(t, "CANCEL", SIP_STR_NULL, out, sizeof out);
    if (n > 0)
        worker_send(&sw->srv->group, t->out_conn, out, (size_t)n);
    /* The 487 to the INVITE comes back from downstream and goes up. */
}

bool sip_txn_absorb_ack(struct sip_worker *sw, const struct sip_msg *ack)
{
    struct proxy_txn *t = idmap_get(&sw->txns_by_key, upstream_key(ack));
    if (t == NULL || !t->final_sent)
        return false;
    txn_free(t); /* the non-2xx final was acknowledged: done */
    return true;
}

/* --- responses from downstream -------------------------------------------------- */

static void remember_contact(struct sip_worker *sw, const struct sip_msg *resp, uint64_t conn_id)
{
    const struct sip_header *h = sip_msg_first(resp, SIP_HDR_CONTACT);
    struct sip_name_addr na;
    if (h != NULL && sip_name_addr_parse(h->value, &na) == 0 && !na.is_star)
        sip_location_alias(&sw->srv->loc, na.uri_text.p, na.uri_text.len, conn_id);
}

/* A Record-Route value of a partner's response as it goes back inside.
 * Ours names the partner side, which our users and servers do not reach:
 * it becomes our inside value followed by the Record-Routes the request
 * had when we received it, which the partner never saw (a proxy may
 * rewrite its own value, RFC 3261 16.7 step 4).  Appends to out. */
static int restore_record_route(struct proxy_txn *t, const struct sip_msg *orig, sip_str value,
                                char *out, size_t len)
{
    struct sip_name_addr na;
    char rr[400];
    if (sip_name_addr_parse(value, &na) < 0 || !sip_server_is_us(t->sw->srv, &na.uri))
        return tn_appendf(out, len, "Record-Route: %.*s\r\n", (int)value.len, value.p);
    if (sip_txn_record_route(t->sw->srv, false, rr, sizeof rr) < 0 ||
        tn_appendf(out, len, "Record-Route: %s\r\n", rr) < 0)
        return -1;
    for (const struct sip_header *h = sip_msg_first(orig, SIP_HDR_RECORD_ROUTE); h;
         h = sip_msg_next(orig, h))
        if (tn_appendf(out, len, "Record-Route: %.*s\r\n", (int)h->value.len, h->value.p) < 0)
            return -1;
    return 0;
}

/* A partner's response to a request we sent with our Via and Record-Route
 * only: its status line, the Vias of the request as we received it, its
 * Record-Routes with ours restored for the inside, and its other headers
 * and body as they came. */
static int restore_inside(struct proxy_txn *t, const struct sip_msg *resp, char *out, size_t len)
{
    struct sip_msg *orig = &t->sw->msg2;
    struct sip_parse_error perr;
    if (sip_parse(orig, t->orig, t->orig_len, &perr) < 0 || resp->start_line_end >= len)
        return -1;
    memcpy(out, resp->buf, resp->start_line_end);
    out[resp->start_line_end] = '\0';
    for (const struct sip_header *h = sip_msg_first(orig, SIP_HDR_VIA); h; h = sip_msg_next(orig, h))
        if (tn_appendf(out, len, "Via: %.*s\r\n", (int)h->value.len, h->value.p) < 0)
            return -1;
    size_t n = strlen(out);
    size_t last_line = (size_t)-1;
    for (size_t i = 0; i < resp->nhdrs; i++) {
        const struct sip_header *h = &resp->hdrs[i];
        if (h->id == SIP_HDR_RECORD_ROUTE) {
            if (restore_record_route(t, orig, h->value, out + n, len - n) < 0)
                return -1;
            n += strlen(out + n);
            continue;
        }
        /* Values split from one line share it: copy each line once. */
        if (h->id == SIP_HDR_VIA || h->line_start == last_line)
            continue;
        last_line = h->line_start;
        size_t l = h->line_end - h->line_start;
        if (n + l >= len)
            return -1;
        memcpy(out + n, resp->buf + h->line_start, l);
        n += l;
        out[n] = '\0';
    }
    size_t rest = resp->len - (resp->body_offset - 2); /* blank line and body */
    if (n + rest > len)
        return -1;
    memcpy(out + n, resp->buf + resp->body_offset - 2, rest);
    return (int)(n + rest);
}

static void ack_downstream(struct proxy_txn *t, const struct sip_msg *resp)
{
    char out[8192];
    /* resp lives in sw->msg, which build_derived reuses: copy To first. */
    const struct sip_header *to = sip_msg_first(resp, SIP_HDR_TO);
    char to_text[1024];
    if (to == NULL || sip_str_copy(to_text, sizeof to_text, to->value) < 0)
        return;
    int n = build_derived(t, "ACK", sip_str_cstr(to_text), out, sizeof out);
    if (n > 0)
        worker_send(&t->sw->srv->group, t->out_conn, out, (size_t)n);
}

static void handle_response(struct sip_worker *sw, struct conn *from, const struct sip_msg *resp,
                            struct proxy_txn *t)
{
    if (resp->cseq_method == SIP_CANCEL || resp->status == 100)
        return; /* answers to our CANCEL and hop-by-hop 100s stop here */
    if (t->final_sent)
        return;
    if (t->method == SIP_INVITE && resp->status < 300 && from != NULL)
        remember_contact(sw, resp, from->id);
    int n = t->hide_inside ? restore_inside(t, resp, sw->out, sizeof sw->out)
                           : sip_build_forward_response(sw->out, sizeof sw->out, resp, NULL);
    if (n > 0)
        worker_send(&sw->srv->group, t->in_conn, sw->out, (size_t)n);
    if (resp->status < 200)
        return;
    t->final_sent = true;
    if (t->method == SIP_INVITE && resp->status >= 300) {
        ack_downstream(t, resp);
        /* Keep the transaction a while to absorb the upstream ACK. */
        ev_timer_cancel(sw->w->loop, t->timer);
        t->timer = ev_timer_add(sw->w->loop, TIMER_H_MS, on_timeout, t);
        return;
    }
    txn_free(t);
}

struct posted_response {
    struct ev_post_node node;
    uint64_t from_conn;
    size_t len;
    char data[];
};

static void dispatch_response(struct sip_worker *sw, struct conn *from, const struct sip_msg *resp)
{
    unsigned w;
    uint64_t id;
    uint32_t loop;
    if (!parse_our_branch(resp->via.branch, &w, &id, &loop)) {
        tn_log(TN_LOG_DEBUG, "sip", "response %d with a Via that is not ours: dropped",
               resp->status);
        return;
    }
    struct proxy_txn *t = idmap_get(&sw->txns, id);
    if (t == NULL) {
        tn_log(TN_LOG_DEBUG, "sip", "response %d for no transaction: dropped", resp->status);
        return;
    }
    handle_response(sw, from, resp, t);
}

static void on_posted_response(ev_loop *loop, void *arg)
{
    struct posted_response *p = arg;
    struct sip_worker *sw = worker_current()->app;
    struct sip_parse_error perr;
    if (sip_parse(&sw->msg, p->data, p->len, &perr) == 0) {
        struct conn *from = worker_find_conn(sw->w, p->from_conn);
        dispatch_response(sw, from, &sw->msg);
    }
    free(p);
}

void sip_proxy_response(struct sip_worker *sw, struct conn *c, const struct sip_msg *resp)
{
    unsigned w;
    uint64_t id;
    uint32_t loop;
    if (parse_our_branch(resp->via.branch, &w, &id, &loop) && w != sw->w->index &&
        w < sw->srv->group.n) {
        /* The transaction lives on another worker: hand the bytes over. */
        struct posted_response *p = malloc(sizeof *p + resp->len);
        if (p == NULL)
            return;
        p->from_conn = c->id;
        p->len = resp->len;
        memcpy(p->data, resp->buf, resp->len);
        ev_post_node(sw->srv->group.workers[w].loop, &p->node, on_posted_response, p);
        return;
    }
    dispatch_response(sw, c, resp);
}

void sip_proxy_worker_init(struct sip_worker *sw)
{
    memset(&sw->txns, 0, sizeof sw->txns);
    memset(&sw->txns_by_key, 0, sizeof sw->txns_by_key);
}

void sip_txn_conn_gone(struct sip_worker *sw, uint64_t conn_id, const char *why)
{
    /* Collect first: answering frees transactions, which edits the map. */
    struct proxy_txn *dead[64];
    size_t n = 0;
    for (size_t i = 0; i < sw->txns.cap && n < sizeof dead / sizeof dead[0]; i++) {
        struct proxy_txn *t = sw->txns.slots[i].value;
        if (sw->txns.slots[i].id != 0 && t != NULL && t->out_conn == conn_id && !t->final_sent)
            dead[n++] = t;
    }
    for (size_t i = 0; i < n; i++) {
        answer_upstream(dead[i], 503, why);
        txn_free(dead[i]);
    }
}

void sip_proxy_worker_free(struct sip_worker *sw)
{
    for (size_t i = 0; i < sw->txns.cap; i++) {
        struct proxy_txn *t = sw->txns.slots[i].value;
        if (sw->txns.slots[i].id != 0 && t != NULL) {
            free(t->orig);
            free(t->fwd);
            free(t);
        }
    }
    idmap_free(&sw->txns);
    idmap_free(&sw->txns_by_key);
}
