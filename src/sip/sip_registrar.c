/* sip_registrar.c - REGISTER (RFC 3261 10.3): authenticated users bind
 * contacts to their address of record, over the connection they use. */
#include "sip/sip_server_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "topology/topology.h"

struct reg_ctx {
    struct sip_worker *sw;
    struct conn *c;
    const struct sip_msg *req;
    char user[STORE_USER_MAX + 1];
    char domain[STORE_DOMAIN_MAX + 1];
    char aor[LOC_AOR_MAX];
    uint32_t header_expires;
    bool has_header_expires;
    bool outbound; /* the client supports RFC 5626 and gave a flow (reg-id) */
};

static int parse_q(sip_str q)
{
    /* "0.5" -> 500; absent or malformed -> 1000 */
    if (q.len == 0 || q.len > 5 || (q.p[0] != '0' && q.p[0] != '1'))
        return 1000;
    int v = (q.p[0] - '0') * 1000;
    int scale = 100;
    for (size_t i = 2; i < q.len && q.p[1] == '.'; i++, scale /= 10) {
        if (q.p[i] < '0' || q.p[i] > '9')
            return 1000;
        v += (q.p[i] - '0') * scale;
    }
    return v > 1000 ? 1000 : v;
}

static bool target_is_ours(struct reg_ctx *r)
{
    const struct sip_msg *req = r->req;
    const struct sip_uri *to = &req->to.uri;
    if (to->scheme == SIP_URI_TEL || !sip_server_is_local_domain(r->sw->srv, to->host)) {
        sip_reply(r->sw, r->c, req, 403, "Forbidden - not a domain of this server", NULL);
        return false;
    }
    if (sip_uri_user_domain(to, r->user, sizeof r->user, r->domain, sizeof r->domain) < 0) {
        sip_reply(r->sw, r->c, req, 400, "Bad Request - bad To user", NULL);
        return false;
    }
    tn_snprintf(r->aor, sizeof r->aor, "%s@%s", r->user, r->domain);
    return true;
}

static bool user_exists(struct reg_ctx *r)
{
    char ha1[DIGEST_HEX_MAX];
    tn_err err;
    int rc = ha1_cache_lookup(&r->sw->ha1s, r->sw->srv->store, r->user, r->domain,
                              DIGEST_SHA256, ev_now_ms(r->sw->w->loop), ha1, sizeof ha1, &err);
    if (rc == 0)
        return true;
    if (rc < 0)
        sip_reply(r->sw, r->c, r->req, 500, "Server Internal Error - store unavailable", NULL);
    else
        sip_reply(r->sw, r->c, r->req, 404, "Not Found - unknown user", NULL);
    return false;
}

/* The binding's lifetime in seconds, or -1 after answering 423. */
static long contact_expires(struct reg_ctx *r, const struct sip_name_addr *na)
{
    const struct sip_server_config *cfg = &r->sw->srv->cfg;
    long e = na->has_expires ? (long)na->expires
             : r->has_header_expires ? (long)r->header_expires : (long)cfg->default_expires;
    if (e > 0 && e < (long)cfg->min_expires) {
        char extra[64];
        tn_snprintf(extra, sizeof extra, "Min-Expires: %u\r\n", cfg->min_expires);
        sip_reply(r->sw, r->c, r->req, 423, "Interval Too Brief", extra);
        return -1;
    }
    return e > (long)cfg->max_expires ? (long)cfg->max_expires : e;
}

/* Recorded for the store's next batch (sip_binding_writer.h). */
static int persist(struct reg_ctx *r, const struct loc_binding *b, bool existed)
{
    struct binding_writer *bw = &r->sw->srv->bindings;
    if (b->expires_at <= time(NULL))
        return binding_writer_del(bw, b->aor, b->contact);
    struct store_binding sb = {.expires_at = b->expires_at, .q = b->q, .cseq = b->cseq};
    tn_strlcpy(sb.aor, b->aor, sizeof sb.aor);
    tn_strlcpy(sb.contact, b->contact, sizeof sb.contact);
    tn_strlcpy(sb.call_id, b->call_id, sizeof sb.call_id);
    tn_strlcpy(sb.received, r->c->peer, sizeof sb.received);
    sip_flow_id(r->c->id, sb.flow_id, sizeof sb.flow_id);
    tn_strlcpy(sb.instance, b->instance, sizeof sb.instance);
    sb.reg_id = b->reg_id;
    return binding_writer_put(bw, &sb, existed);
}

/* A binding sip_location_update dropped (a device's new registration
 * replaced it, or it made room): said, and gone from the store. */
static void evicted(const struct loc_binding *b, const char *why, void *ctx)
{
    tn_log(TN_LOG_INFO, "registrar", "%s: binding %s: %s", b->aor, b->contact, why);
    sip_binding_gone(b, why, ctx);
}

/* Whether the request lists option tag in Supported (a list header: one
 * entry per value). */
static bool supports(const struct sip_msg *req, const char *tag)
{
    size_t len = strlen(tag);
    for (const struct sip_header *h = sip_msg_first(req, SIP_HDR_SUPPORTED); h;
         h = sip_msg_next(req, h)) {
        sip_str v = sip_str_trim(h->value);
        if (v.len == len && strncasecmp(v.p, tag, len) == 0)
            return true;
    }
    return false;
}

/* The device and flow of a Contact (RFC 5626 6): reg-id counts only with
 * an instance and when the client supports outbound; the instance alone
 * still names the device (RFC 5627). */
static bool take_instance(struct reg_ctx *r, const struct sip_name_addr *na,
                          struct loc_binding *b)
{
    if (na->instance.len == 0)
        return true;
    if (sip_str_copy(b->instance, sizeof b->instance, na->instance) < 0) {
        sip_reply(r->sw, r->c, r->req, 400, "Bad Request - +sip.instance too long", NULL);
        return false;
    }
    if (na->has_reg_id && supports(r->req, "outbound")) {
        b->reg_id = na->reg_id;
        r->outbound = true;
    }
    return true;
}

static bool apply_contact(struct reg_ctx *r, const struct sip_name_addr *na)
{
    long expires = contact_expires(r, na);
    if (expires < 0)
        return false;
    struct loc_binding b = {.expires_at = time(NULL) + expires, .q = parse_q(na->q),
                            .cseq = r->req->cseq_num, .conn_id = r->c->id};
    tn_strlcpy(b.aor, r->aor, sizeof b.aor);
    if (sip_str_copy(b.contact, sizeof b.contact, na->uri_text) < 0 ||
        sip_str_copy(b.call_id, sizeof b.call_id, r->req->call_id) < 0) {
        sip_reply(r->sw, r->c, r->req, 400, "Bad Request - Contact or Call-ID too long", NULL);
        return false;
    }
    if (!take_instance(r, na, &b))
        return false;
    bool existed;
    enum loc_update_result u = sip_location_update(&r->sw->srv->loc, &b, &existed,
                                                   evicted, &r->sw->srv->bindings);
    if (u != LOC_UPDATED) {
        sip_reply(r->sw, r->c, r->req, u == LOC_TOO_MANY ? 403 : 500,
                  u == LOC_TOO_MANY ? "Forbidden - too many registered contacts"
                  : u == LOC_OUT_OF_ORDER ? "Server Internal Error - out of order REGISTER"
                                          : "Server Internal Error",
                  NULL);
        return false;
    }
    /* The store gets it within a second; a clean shutdown waits for it. */
    if (persist(r, &b, existed) < 0) {
        tn_log(TN_LOG_ERROR, "registrar", "%s: out of memory", r->aor);
        sip_reply(r->sw, r->c, r->req, 500, "Server Internal Error - out of memory", NULL);
        return false;
    }
    return true;
}

static bool remove_all(struct reg_ctx *r)
{
    if (!r->has_header_expires || r->header_expires != 0 ||
        sip_msg_count(r->req, SIP_HDR_CONTACT) != 1) {
        sip_reply(r->sw, r->c, r->req, 400,
                  "Bad Request - Contact: * needs Expires: 0 and no other Contact", NULL);
        return false;
    }
    sip_location_remove_aor(&r->sw->srv->loc, r->aor);
    if (binding_writer_wipe(&r->sw->srv->bindings, r->aor) < 0)
        tn_log(TN_LOG_ERROR, "registrar", "%s: out of memory", r->aor);
    return true;
}

static bool apply_contacts(struct reg_ctx *r)
{
    const struct sip_msg *req = r->req;
    for (const struct sip_header *h = sip_msg_first(req, SIP_HDR_CONTACT); h;
         h = sip_msg_next(req, h)) {
        struct sip_name_addr na;
        if (sip_name_addr_parse(h->value, &na) < 0) {
            sip_reply(r->sw, r->c, req, 400, "Bad Request - malformed Contact", NULL);
            return false;
        }
        if (na.is_star ? !remove_all(r) : !apply_contact(r, &na))
            return false;
    }
    return true;
}

/* 200 OK listing every current binding (RFC 3261 10.3 step 8). */
static void reply_bindings(struct reg_ctx *r)
{
    struct loc_binding found[LOC_MAX_BINDINGS_PER_AOR];
    time_t now = time(NULL);
    size_t n = sip_location_lookup(&r->sw->srv->loc, r->aor, now, found,
                                   LOC_MAX_BINDINGS_PER_AOR);
    char extra[LOC_MAX_BINDINGS_PER_AOR * (LOC_CONTACT_MAX + LOC_INSTANCE_MAX + 96) + 32] = "";
    /* RFC 5626 6: a registration that used outbound says so. */
    if (r->outbound)
        tn_appendf(extra, sizeof extra, "Require: outbound\r\n");
    for (size_t i = 0; i < n; i++) {
        tn_appendf(extra, sizeof extra, "Contact: <%s>;expires=%ld", found[i].contact,
                   (long)(found[i].expires_at - now));
        if (found[i].instance[0] != '\0')
            tn_appendf(extra, sizeof extra, ";+sip.instance=\"%s\"", found[i].instance);
        if (found[i].reg_id != 0)
            tn_appendf(extra, sizeof extra, ";reg-id=%u", (unsigned)found[i].reg_id);
        tn_appendf(extra, sizeof extra, "\r\n");
    }
    tn_log(TN_LOG_DEBUG, "registrar", "peer=%s %s: %zu binding(s)", r->c->peer, r->aor, n);
    sip_reply(r->sw, r->c, r->req, 200, "OK", extra);
}

/* A user registers at a server of its home pool.  Elsewhere the answer is
 * 302 to a server of that pool (a redirect, not a proxied REGISTER: the
 * client then holds its connection where its requests are routed). */
static bool homed_here(struct reg_ctx *r)
{
    const struct topology *topo = sip_server_topology(r->sw->srv);
    const struct topo_pool *ours = topology_server_pool(topo, r->sw->srv->cfg.fqdn);
    const struct topo_pool *home = topology_user_pool(topo, r->aor);
    if (home == NULL || home == ours || home->n_servers == 0)
        return true;
    const struct topo_server *s = &home->servers[0];
    char extra[600];
    tn_snprintf(extra, sizeof extra, "Contact: <sip:%s:%u;transport=tls>\r\n", s->fqdn,
                (unsigned)s->sip_listen.port);
    tn_log(TN_LOG_INFO, "registrar", "peer=%s %s is homed on pool %s: redirected to %s",
           r->c->peer, r->aor, home->fqdn, s->fqdn);
    sip_reply(r->sw, r->c, r->req, 302, "Moved Temporarily - the user's home pool", extra);
    return false;
}

void sip_registrar_handle(struct sip_worker *sw, struct conn *c, const struct sip_msg *req)
{
    struct reg_ctx r = {.sw = sw, .c = c, .req = req};
    const struct sip_header *exp = sip_msg_first(req, SIP_HDR_EXPIRES);
    if (exp != NULL) {
        if (sip_str_to_u32(sip_str_trim(exp->value), 0xFFFFFFFFu, &r.header_expires) < 0) {
            sip_reply(sw, c, req, 400, "Bad Request - malformed Expires", NULL);
            return;
        }
        r.has_header_expires = true;
    }
    if (!target_is_ours(&r) || !homed_here(&r) || !user_exists(&r) ||
        !sip_auth_check(sw, c, req, r.user, r.domain, false))
        return;
    if (apply_contacts(&r))
        reply_bindings(&r);
}
