/* sip_proxy.c - what happens to a request (RFC 3261 16): checks, local
 * handling (REGISTER, OPTIONS to us), authentication of our users, route
 * processing, and the choice of the connection it goes out on. */
#include "sip/sip_txn.h"

#include <time.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/str.h"
#include "sip/sip_build.h"
#include "topology/topology.h"

#define ALLOW_METHODS "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, " \
                      "PRACK, UPDATE, INFO, REFER, REGISTER"

/* What identifies a request for loop detection (RFC 3261 16.6 step 8). */
static uint32_t loop_hash(const struct sip_msg *req, sip_str target)
{
    uint64_t h = TN_FNV1A64_INIT;
    sip_str parts[] = {target, req->from_tag, req->to_tag, req->call_id};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        h = tn_fnv1a64(h, parts[i].p, parts[i].len);
    h = tn_fnv1a64(h, &req->cseq_num, sizeof req->cseq_num);
    return (uint32_t)(h ^ (h >> 32));
}

static void answer_options(struct sip_worker *sw, struct conn *c, const struct sip_msg *req)
{
    sip_reply(sw, c, req, 200, "OK",
              "Allow: " ALLOW_METHODS "\r\nAccept: application/sdp, text/plain\r\n"
              "Supported: outbound, path\r\n");
}

/* How many top Route values name us (loose routing: we pop them). */
static size_t our_routes(const struct sip_server *srv, const struct sip_msg *req)
{
    size_t n = 0;
    for (const struct sip_header *h = sip_msg_first(req, SIP_HDR_ROUTE); h;
         h = sip_msg_next(req, h), n++) {
        struct sip_name_addr na;
        if (sip_name_addr_parse(h->value, &na) < 0 || !sip_server_is_us(srv, &na.uri))
            break;
    }
    return n;
}

/* The first Route value after ours, if any: the next hop. */
static bool next_route(const struct sip_msg *req, size_t skip, struct sip_name_addr *na)
{
    size_t i = 0;
    for (const struct sip_header *h = sip_msg_first(req, SIP_HDR_ROUTE); h;
         h = sip_msg_next(req, h), i++)
        if (i == skip)
            return sip_name_addr_parse(h->value, na) == 0;
    return false;
}

struct route {
    uint64_t conn;          /* where it goes, 0 when answered here */
    sip_str target;         /* the URI that decided */
    bool dialog_forming;
    bool to_partner;        /* out of the organisation: hide its insides */
};

/* Our own pool, and the home pool of aor (ours when the topology does not
 * list the user). */
static const struct topo_pool *home_pool(const struct sip_server *srv, const char *aor,
                                         const struct topo_pool **ours)
{
    const struct topology *topo = sip_server_topology(srv);
    *ours = topology_server_pool(topo, srv->cfg.fqdn);
    const struct topo_pool *home = topology_user_pool(topo, aor);
    return home != NULL ? home : *ours;
}

/* A user homed on another pool: over mutual TLS to one of its servers,
 * spread over them, skipping those that are backing off. */
static bool route_to_pool(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                          const struct topo_pool *pool, struct route *r)
{
    for (size_t i = 0; i < pool->n_servers; i++) {
        const struct topo_server *s = &pool->servers[(sw->next_txn + i) % pool->n_servers];
        if ((r->conn = sip_server_peer_conn(sw, s)) != 0)
            return true;
    }
    tn_log(TN_LOG_WARN, "sip", "no server of pool %s is reachable", pool->fqdn);
    sip_reply(sw, c, req, 503, "Service Unavailable - the user's pool is unreachable", NULL);
    return false;
}

/* A federated domain: an edge sends it to the partner's edge; any other
 * server to one of our edges. */
static bool route_to_partner(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                             const struct topo_partner *partner, struct route *r)
{
    if (sw->srv->fed_listener != 0) {
        r->conn = sip_edge_partner_conn(sw, partner);
        r->to_partner = true;
    } else {
        const struct topology *topo = sip_server_topology(sw->srv);
        for (size_t i = 0; i < topo->n_servers && r->conn == 0; i++) {
            const struct topo_server *s = &topo->servers[(sw->next_txn + i) % topo->n_servers];
            if ((s->roles & TOPO_ROLE_EDGE) && s->sip_listen.set)
                r->conn = sip_server_peer_conn(sw, s);
        }
    }
    if (r->conn != 0)
        return true;
    tn_log(TN_LOG_WARN, "sip", "no way to partner %s: %s", partner->name,
           sw->srv->fed_listener ? "its edge is unreachable" : "no edge server is reachable");
    sip_reply(sw, c, req, 503, "Service Unavailable - the partner is unreachable", NULL);
    return false;
}

/* A local user's request target: the best current binding with a flow. */
static bool route_to_user(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                          const struct sip_uri *u, struct route *r)
{
    char user[STORE_USER_MAX + 1], domain[STORE_DOMAIN_MAX + 1], aor[LOC_AOR_MAX], ha1[DIGEST_HEX_MAX];
    tn_err err;
    if (sip_uri_user_domain(u, user, sizeof user, domain, sizeof domain) < 0) {
        sip_reply(sw, c, req, 404, "Not Found - unknown user", NULL);
        return false;
    }
    /* user@domain; a pair too long for an address of record is no user of ours */
    size_t ul = strlen(user), dl = strlen(domain);
    if (ul + 1 + dl >= sizeof aor) {
        sip_reply(sw, c, req, 404, "Not Found - unknown user", NULL);
        return false;
    }
    memcpy(aor, user, ul);
    aor[ul] = '@';
    memcpy(aor + ul + 1, domain, dl + 1);
    const struct topo_pool *ours;
    const struct topo_pool *home = home_pool(sw->srv, aor, &ours);
    if (home != ours)
        return route_to_pool(sw, c, req, home, r);
    r->conn = sip_location_best_conn(&sw->srv->loc, aor, time(NULL));
    if (r->conn != 0)
        return true; /* registered, so the user exists */
    /* Only an unreachable user costs a store lookup: 404 or 480? */
    if (ha1_cache_lookup(&sw->ha1s, sw->srv->store, user, domain, DIGEST_SHA256,
                         ev_now_ms(sw->w->loop), ha1, sizeof ha1, &err) != 0)
        sip_reply(sw, c, req, 404, "Not Found - unknown user", NULL);
    else
        sip_reply(sw, c, req, 480, "Temporarily Unavailable - user not registered", NULL);
    return false;
}

/* Decide where req goes.  false when it was answered here. */
static bool route_request(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                          size_t pop, struct route *r)
{
    struct sip_server *srv = sw->srv;
    struct sip_name_addr na;
    const struct sip_uri *target = &req->ruri_uri;
    r->target = req->ruri;
    if (next_route(req, pop, &na)) {
        target = &na.uri;
        r->target = na.uri_text;
    }
    /* A contact we know a connection for: dialogs and registered flows. */
    r->conn = sip_location_conn_for_contact(&srv->loc, r->target.p, r->target.len, time(NULL));
    if (r->conn != 0)
        return true;
    if (target->scheme == SIP_URI_TEL) {
        sip_reply(sw, c, req, 404, "Not Found - no route for tel: URIs", NULL);
        return false;
    }
    /* Another server of the topology (its Record-Route, in a dialog). */
    char host[256] = "";
    const struct topo_server *peer = NULL;
    if (!sip_server_is_us(srv, target) && sip_str_copy(host, sizeof host, target->host) == 0)
        peer = topology_find_server(sip_server_topology(srv), host);
    if (peer != NULL) {
        r->conn = sip_server_peer_conn(sw, peer);
        if (r->conn != 0)
            return true;
        sip_reply(sw, c, req, 503, "Service Unavailable - next server unreachable", NULL);
        return false;
    }
    const struct topo_partner *partner =
        host[0] ? topology_find_partner_by_domain(sip_server_topology(srv), host) : NULL;
    if (partner == NULL && host[0])
        partner = sip_edge_partner_named(srv, host); /* its Record-Route, in a dialog */
    if (partner != NULL && !sip_server_is_local_domain(srv, target->host))
        return route_to_partner(sw, c, req, partner, r);
    if (sip_server_is_local_domain(srv, target->host) && target->user.len > 0)
        return route_to_user(sw, c, req, target, r);
    if (sip_server_is_us(srv, target) || sip_server_is_local_domain(srv, target->host)) {
        if (req->method == SIP_OPTIONS)
            answer_options(sw, c, req);
        else
            sip_reply(sw, c, req, 404, "Not Found", NULL);
        return false;
    }
    tn_log(TN_LOG_INFO, "sip", "peer=%s refused: no route to %.*s", c->peer,
           (int)r->target.len, r->target.p);
    sip_reply(sw, c, req, 403, "Forbidden - relaying to other domains is not allowed", NULL);
    return false;
}

static bool in_names(const struct topo_names *names, sip_str host)
{
    for (size_t i = 0; i < names->count; i++)
        if (sip_str_caseeq(host, sip_str_cstr(names->items[i])))
            return true;
    return false;
}

/* A partner's edge speaks for the partner's domains, to ours only. */
static bool partner_may_send(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                             const struct topo_partner *partner)
{
    if (!in_names(&partner->domains, req->from.uri.host)) {
        tn_log(TN_LOG_INFO, "edge", "peer=%s refused: partner %s sent From %.*s", c->peer,
               partner->name, (int)req->from.uri.host.len, req->from.uri.host.p);
        sip_reply(sw, c, req, 403, "Forbidden - sender domain is not federated with us", NULL);
        return false;
    }
    /* Out of a dialog a partner reaches our domains only; in a dialog the
     * Request-URI is one of our users' contacts. */
    bool in_dialog = req->to_tag.len > 0 || req->method == SIP_ACK;
    if (!in_dialog && !sip_server_is_local_domain(sw->srv, req->ruri_uri.host)) {
        sip_reply(sw, c, req, 403, "Forbidden - partners may reach our domains only", NULL);
        return false;
    }
    return true;
}

/* Initial requests from our users are authenticated as the From user. */
static bool authorised(struct sip_worker *sw, struct conn *c, const struct sip_msg *req)
{
    /* A partner's edge, in a dialog or not, speaks for its own users only. */
    const struct topo_partner *partner = sip_conn_partner(sw->srv, c);
    if (partner != NULL)
        return partner_may_send(sw, c, req, partner);
    if (req->to_tag.len > 0 || req->method == SIP_ACK || req->method == SIP_CANCEL)
        return true; /* in-dialog, or cannot be challenged (RFC 3261 22.1) */
    if (sip_conn_server_peer(c) != NULL)
        return true; /* one of our servers (mutual TLS) authenticated its user */
    const struct sip_uri *from = &req->from.uri;
    char user[STORE_USER_MAX + 1], domain[STORE_DOMAIN_MAX + 1];
    if (from->scheme == SIP_URI_TEL || !sip_server_is_local_domain(sw->srv, from->host)) {
        sip_reply(sw, c, req, 403, "Forbidden - sender is not a user of this domain", NULL);
        return false;
    }
    if (sip_uri_user_domain(from, user, sizeof user, domain, sizeof domain) < 0) {
        sip_reply(sw, c, req, 403, "Forbidden - bad From user", NULL);
        return false;
    }
    return sip_auth_check(sw, c, req, user, domain, true) == 1;
}

static bool is_dialog_forming(const struct sip_msg *req)
{
    return req->to_tag.len == 0 && (req->method == SIP_INVITE || req->method == SIP_SUBSCRIBE ||
                                    req->method == SIP_REFER);
}

/* The sender's Contact is reachable over this connection (for in-dialog
 * requests addressed to it). */
static void remember_sender(struct sip_worker *sw, struct conn *c, const struct sip_msg *req)
{
    const struct sip_header *h = sip_msg_first(req, SIP_HDR_CONTACT);
    struct sip_name_addr na;
    if (h != NULL && sip_name_addr_parse(h->value, &na) == 0 && !na.is_star)
        sip_location_alias(&sw->srv->loc, na.uri_text.p, na.uri_text.len, c->id);
}

/* ACK for a 2xx is its own transaction: forward without state. */
static void forward_stateless(struct sip_worker *sw, const struct sip_msg *req, uint64_t out,
                              struct sip_forward_edit *e, uint32_t loop)
{
    char via[400];
    if (sip_txn_via(sw, 0, loop, via, sizeof via) < 0)
        return;
    e->via = via;
    int n = sip_build_forward(sw->out, sizeof sw->out, req, e);
    if (n > 0)
        worker_send(&sw->srv->group, out, sw->out, (size_t)n);
}

static void forward(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                    size_t pop, const struct route *r, uint32_t loop)
{
    char rr[400];
    /* Towards a partner, our Record-Route names the partner side, and our
     * Vias and Record-Routes (internal names and addresses) stay inside:
     * responses get them back from the transaction, in-dialog requests
     * from the partner find their way by the contacts we remember. */
    static const enum sip_hdr_id drop_inside[] = {SIP_HDR_PROXY_AUTHORIZATION};
    static const enum sip_hdr_id drop_outside[] = {SIP_HDR_PROXY_AUTHORIZATION, SIP_HDR_VIA,
                                                   SIP_HDR_RECORD_ROUTE};
    if (r->dialog_forming)
        sip_txn_record_route(sw->srv, r->to_partner, rr, sizeof rr);
    struct sip_forward_edit e = {
        .record_route = r->dialog_forming ? rr : NULL,
        .drop_routes = pop,
        /* Our users' credentials stop here: they are for this realm. */
        .drop_ids = r->to_partner ? drop_outside : drop_inside,
        .ndrop_ids = r->to_partner ? 3 : 1,
    };
    if (r->dialog_forming || r->to_partner)
        remember_sender(sw, c, req);
    /* Steady partners end up on one worker: nothing crosses threads. */
    worker_note_forward(c, r->conn);
    if (req->method == SIP_ACK)
        forward_stateless(sw, req, r->conn, &e, loop);
    else
        sip_txn_forward(sw, c, req, r->conn, &e, loop, r->to_partner);
}

void sip_proxy_request(struct sip_worker *sw, struct conn *c, const struct sip_msg *req)
{
    tn_log(TN_LOG_DEBUG, "sip", "peer=%s -> %.*s %.*s", c->peer, (int)req->method_str.len,
           req->method_str.p, (int)req->ruri.len, req->ruri.p);
    /* ACKs of our own 4xx (407, 404...) and of forwarded non-2xx stop here. */
    if (req->method == SIP_ACK && (sip_reply_acks_local(req) || sip_txn_absorb_ack(sw, req)))
        return;
    if (req->method == SIP_CANCEL) {
        sip_txn_cancel(sw, c, req);
        return;
    }
    if (req->method == SIP_REGISTER) {
        sip_registrar_handle(sw, c, req);
        return;
    }
    if (req->max_forwards == 0) {
        if (req->method != SIP_ACK)
            sip_reply(sw, c, req, 483, "Too Many Hops", NULL);
        return;
    }
    size_t pop = our_routes(sw->srv, req);
    struct route r = {.dialog_forming = is_dialog_forming(req)};
    uint32_t loop = loop_hash(req, req->ruri);
    if (sip_txn_is_loop(sw->srv, req, loop)) {
        sip_reply(sw, c, req, 482, "Loop Detected", NULL);
        return;
    }
    bool to_us = req->method == SIP_OPTIONS && req->ruri_uri.user.len == 0 &&
                 (sip_server_is_us(sw->srv, &req->ruri_uri) ||
                  sip_server_is_local_domain(sw->srv, req->ruri_uri.host));
    if (to_us) {
        answer_options(sw, c, req); /* keep-alive probes need no credentials */
        return;
    }
    if (!authorised(sw, c, req) || !route_request(sw, c, req, pop, &r))
        return;
    forward(sw, c, req, pop, &r, loop);
}
