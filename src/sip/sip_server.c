/* sip_server.c - the SIP front end's life cycle, connections and
 * dispatch (see sip_server.h). */
#include "sip/sip_server_internal.h"

#include <errno.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/signals.h"
#include "common/str.h"
#include "net/net_connect.h"
#include "sip/sip_edge.h"
#include "sip/sip_frame.h"
#include "sip/sip_txn.h"
#include "tls/tls_sip_user.h"
#include "tls/x509_text.h"
#include "topology/topology.h"

#define RETIRED_MAX 64
#define TRUST_CHECK_MS 5000
#define BINDING_FLUSH_MS 1000 /* what a crash can lose (sip_binding_writer.h) */

void sip_server_config_defaults(struct sip_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cpus > 0 && cpus <= 64 ? (unsigned)cpus : 2;
    cfg->max_connections = 10000;
    cfg->max_message_bytes = SIP_MAX_MSG;
    cfg->handshake_timeout_ms = 5000;
    cfg->idle_timeout_ms = 3600 * 1000;
    cfg->min_expires = 60;
    cfg->max_expires = 3600;
    cfg->default_expires = 3600;
}

int sip_str_copy(char *dst, size_t size, sip_str s)
{
    if (s.len >= size || memchr(s.p, '\0', s.len) != NULL)
        return -1;
    memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';
    return 0;
}

int sip_uri_user_domain(const struct sip_uri *u, char *user, size_t ulen, char *domain,
                        size_t dlen)
{
    if (u->user.len == 0 || sip_str_copy(user, ulen, u->user) < 0 ||
        sip_str_copy(domain, dlen, u->host) < 0)
        return -1;
    for (char *p = domain; *p; p++)
        *p = (char)sip_ascii_lower(*p);
    return 0;
}

bool sip_server_is_local_domain(const struct sip_server *srv, sip_str host)
{
    for (size_t i = 0; i < srv->cfg.n_domains; i++)
        if (sip_str_caseeq(host, sip_str_cstr(srv->cfg.domains[i])))
            return true;
    return false;
}

/* Does this URI name this very server (its FQDN or listen address)? */
bool sip_server_is_us(const struct sip_server *srv, const struct sip_uri *u)
{
    bool host = sip_str_caseeq(u->host, sip_str_cstr(srv->cfg.fqdn)) ||
                sip_str_caseeq(u->host, sip_str_cstr(srv->listen_host));
    /* An edge is also us on its partner side (its Record-Route there). */
    return host && (u->port == 0 || u->port == srv->port ||
                    (srv->fed_listener != 0 && u->port == srv->fed_port));
}

const struct topology *sip_server_topology(const struct sip_server *srv)
{
    return __atomic_load_n(&srv->cfg.topo, __ATOMIC_ACQUIRE);
}

struct sip_conn *sip_conn_get(struct conn *c)
{
    if (c->proto == NULL && (c->proto = calloc(1, sizeof(struct sip_conn))) == NULL)
        conn_close(c, "out of memory");
    return c->proto;
}

const char *sip_conn_server_peer(const struct conn *c)
{
    const struct sip_conn *sc = c->proto;
    return sc != NULL ? sc->server_peer : NULL;
}

/* --- who is at the other end ------------------------------------------------ */

/* The topology server a certificate names (SAN dNSName, exact), or NULL. */
static const char *topology_server_named(const struct topology *topo, X509 *cert)
{
    char detail[320];
    for (size_t i = 0; i < topo->n_servers; i++)
        if (tls_name_check(cert, topo->servers[i].fqdn, TLS_NAME_EXACT, detail,
                           sizeof detail) == 0)
            return topo->servers[i].fqdn;
    return NULL;
}

/* A client-only certificate makes no server: its holder is a user.  One
 * that names SIP users ("sip:alice@corp.test") authenticates this
 * connection's requests as those users (sip_auth.c); any other user
 * still needs digest. */
static void accept_user_cert(struct conn *c, X509 *peer)
{
    char users[256];
    struct sip_conn *sc = sip_conn_get(c);
    if (sc == NULL)
        return;
    if (tls_cert_sip_users(peer, users, sizeof users) == 0) {
        conn_set_verdict(c, "accepted: a user with a client-only certificate naming no SIP "
                            "user (digest still required)");
        return;
    }
    sc->user_cert = true;
    conn_set_verdict(c, "accepted: a user's client certificate naming %s (authenticates that "
                        "user; digest for any other)", users);
}

/* After the handshake: a verified certificate for server use (serverAuth)
 * makes the peer one of our servers only when it names a server of the
 * topology; otherwise the connection is refused.  No certificate, or a
 * client-only one, is a user (accept_user_cert). */
static void on_secure(struct conn *c, void *ctx)
{
    struct sip_server *srv = ctx;
    if (!c->outgoing && srv->fed_listener != 0 && c->listener == srv->fed_listener) {
        sip_edge_identify(srv, c);
        return;
    }
    if (c->outgoing && sip_edge_partner_named(srv, c->expect_name) != NULL) {
        sip_edge_connected(srv, c); /* the handshake proved it is their edge */
        return;
    }
    X509 *peer = tls_conn_peer_cert(conn_tls(c));
    if (peer == NULL || !tls_conn_peer_trusted(conn_tls(c)))
        return;
    if (!(X509_get_extended_key_usage(peer) & XKU_SSL_SERVER)) {
        accept_user_cert(c, peer);
        return;
    }
    /* We called it: the handshake checked it is the server we wanted. */
    const char *fqdn = c->outgoing ? c->expect_name
                                   : topology_server_named(sip_server_topology(srv), peer);
    if (fqdn == NULL) {
        char names[256];
        x509_text_sans(peer, names, sizeof names);
        conn_set_verdict(c, "refused: %s is not a server in the topology", names);
        conn_close(c, NULL);
        return;
    }
    struct sip_conn *sc = sip_conn_get(c);
    if (sc == NULL)
        return;
    if ((sc->server_peer = strdup(fqdn)) == NULL) {
        conn_close(c, "out of memory");
        return;
    }
    sip_peers_attach(&srv->peers, fqdn, c->id, true, c->outgoing, ev_now_ms(c->worker->loop));
    conn_set_verdict(c, "trusted: peer is server %s of the topology (mutual TLS)", fqdn);
}

uint64_t sip_server_connect(struct sip_worker *sw, const char *fqdn,
                            const struct topo_addr *addr, tls_config *cfg, bool partner_side)
{
    struct sip_server *srv = sw->srv;
    uint64_t id = 0;
    enum sip_peer_state st = sip_peers_lookup(&srv->peers, fqdn, ev_now_ms(sw->w->loop), &id);
    if (st != PEER_MUST_CONNECT)
        return st == PEER_CONNECTED ? id : 0;
    if (!addr->is_ip)
        return 0; /* static addresses only, for now: no DNS lookups */
    /* Leave from our own address on that side, as peers expect. */
    const struct topo_server *me = topology_find_server(sip_server_topology(srv), srv->cfg.fqdn);
    const struct topo_addr *src = me == NULL ? NULL
                                  : partner_side ? &me->federation_listen : &me->sip_listen;
    bool bind_src = src != NULL && src->set && src->is_ip;
    tn_err err;
    struct tls_expect expect = {.name = fqdn, .rules = TLS_NAME_EXACT, .role = TLS_PEER_SERVER};
    struct conn *c = conn_connect(sw->w, (const struct sockaddr *)&addr->sa, addr->sa_len,
                                  bind_src ? (const struct sockaddr *)&src->sa : NULL,
                                  bind_src ? src->sa_len : 0, cfg, &expect, &srv->handler,
                                  &srv->group.limits, &err);
    if (c == NULL) {
        tn_log(TN_LOG_WARN, "sip", "cannot connect to %s (%s): %s", fqdn, addr->text, err.msg);
        return 0;
    }
    sip_peers_attach(&srv->peers, fqdn, c->id, false, true, ev_now_ms(sw->w->loop));
    return c->id;
}

uint64_t sip_server_peer_conn(struct sip_worker *sw, const struct topo_server *s)
{
    return sip_server_connect(sw, s->fqdn, &s->sip_listen,
                              __atomic_load_n(&sw->srv->client_tls, __ATOMIC_ACQUIRE), false);
}

/* --- one framed message ---------------------------------------------------- */

static void handle_message(struct sip_worker *sw, struct conn *c, const char *buf, size_t len)
{
    struct sip_parse_error perr;
    struct sip_msg *m = &sw->msg;
    c->messages_in++;
    if (sip_parse(m, buf, len, &perr) < 0) {
        tn_counter_add(&sw->stats.bad_messages, 1);
        tn_log(TN_LOG_INFO, "sip", "peer=%s bad message: %d %s", c->peer, perr.status,
               perr.reason);
        /* A request we can answer gets the reason; a bad response is dropped. */
        if (m->is_request && m->headers_ok && m->method != SIP_ACK)
            sip_reply(sw, c, m, perr.status, perr.reason, NULL);
        return;
    }
    if (m->is_request) {
        tn_counter_add(&sw->stats.requests[m->method], 1);
        sip_proxy_request(sw, c, m);
    } else {
        tn_counter_add(&sw->stats.responses, 1);
        sip_proxy_response(sw, c, m);
    }
}

/* The stream cannot be framed any more: answer what we can, then close.
 * When the header block is complete (a too-large or bad Content-Length),
 * the sender still learns why (513 / 400). */
static void refuse_stream(struct sip_worker *sw, struct conn *c, const char *buf, size_t len,
                          const struct sip_parse_error *why)
{
    const char *end = sip_find_blank_line(buf, len);
    struct sip_parse_error ignored;
    tn_counter_add(&sw->stats.bad_messages, 1);
    tn_log(TN_LOG_INFO, "sip", "peer=%s unframeable input: %d %s", c->peer, why->status,
           why->reason);
    if (end != NULL) {
        struct sip_msg *m = &sw->msg;
        sip_parse(m, buf, (size_t)(end - buf) + 4, &ignored);
        if (m->is_request && m->headers_ok)
            sip_reply(sw, c, m, why->status, why->reason, NULL);
    }
    conn_close(c, why->reason);
}

static size_t on_data(struct conn *c, const char *buf, size_t len, void *ctx)
{
    struct sip_worker *sw = c->worker->app;
    struct sip_conn *sc = sip_conn_get(c);
    if (sc == NULL)
        return len;
    size_t used = 0;
    while (used < len && c->state != CONN_CLOSED) {
        size_t consumed = 0;
        struct sip_parse_error perr;
        enum sip_frame_result r = sip_frame_resume(buf + used, len - used,
                                                   sw->srv->cfg.max_message_bytes, &sc->frame,
                                                   &consumed, &perr);
        if (r == SIP_FRAME_NEED_MORE)
            break;
        if (r == SIP_FRAME_ERROR) {
            refuse_stream(sw, c, buf + used, len - used, &perr);
            return len;
        }
        if (r == SIP_FRAME_KEEPALIVE_PING)
            conn_send(c, "\r\n", 2); /* RFC 5626 3.5.1 pong */
        else if (r == SIP_FRAME_MESSAGE)
            handle_message(sw, c, buf + used, consumed);
        used += consumed;
    }
    return used;
}


/* Set while the server shuts down: the connections it closes then did not
 * die, their registrations stay in the store for the next start. */
static atomic_bool shutting_down;

struct gone_notice {
    uint64_t conn_id;
};

static void on_peer_gone(ev_loop *loop, void *arg)
{
    struct gone_notice *g = arg;
    sip_txn_conn_gone(worker_current()->app, g->conn_id,
                      "Service Unavailable - the next server could not be reached");
    free(g);
}

/* Requests waiting on a connection that died are answered now.  A
 * connection to another server may carry any worker's requests: tell all. */
static void fail_waiting_requests(struct sip_worker *sw, struct conn *c)
{
    if (atomic_load(&shutting_down))
        return; /* the loops are stopped: nobody is waiting any more */
    if (!c->outgoing && sip_conn_server_peer(c) == NULL) {
        sip_txn_conn_gone(sw, c->id, "Service Unavailable - the user's connection closed");
        return;
    }
    struct worker_group *g = &sw->srv->group;
    for (unsigned i = 0; i < g->n; i++) {
        struct gone_notice *n = malloc(sizeof *n);
        if (n == NULL)
            continue;
        n->conn_id = c->id;
        if (&g->workers[i] == c->worker)
            on_peer_gone(g->workers[i].loop, n);
        else if (ev_post(g->workers[i].loop, on_peer_gone, n) < 0)
            free(n);
    }
}

void sip_binding_gone(const struct loc_binding *b, const char *why, void *ctx)
{
    (void)why;
    struct binding_writer *bw = ctx;
    if (binding_writer_del(bw, b->aor, b->contact) < 0)
        tn_log(TN_LOG_ERROR, "registrar", "%s: out of memory", b->aor);
}

static void on_close(struct conn *c, void *ctx, char *note, size_t note_size)
{
    struct sip_worker *sw = c->worker->app;
    fail_waiting_requests(sw, c);
    struct sip_conn *sc = c->proto;
    sip_peers_detach(&sw->srv->peers, c->id, ev_now_ms(c->worker->loop));
    if (sc != NULL) {
        free(sc->server_peer);
        free(sc->partner);
    }
    free(sc);
    c->proto = NULL;
    /* Closed by a shutdown, the connection did not die: the store keeps its
     * bindings for the next start. */
    bool keep = atomic_load(&shutting_down);
    size_t dropped = sip_location_drop_conn(&sw->srv->loc, c->id, keep ? NULL : sip_binding_gone,
                                            &sw->srv->bindings);
    if (dropped > 0 && keep)
        tn_log(TN_LOG_DEBUG, "registrar", "peer=%s %zu binding(s) kept for the next start",
               c->peer, dropped);
    else if (dropped > 0)
        tn_snprintf(note, note_size, "%zu binding%s dropped", dropped, dropped == 1 ? "" : "s");
}

/* Only a user's connection moves to the worker of the connection its
 * messages go to: a connection to another server or a partner's edge
 * carries every worker's traffic, and is found through the peer table. */
static bool may_move(struct conn *c, void *ctx)
{
    const struct sip_conn *sc = c->proto;
    return !c->outgoing && sc != NULL && sc->server_peer == NULL && sc->partner == NULL;
}

/* --- start-up ---------------------------------------------------------------- */

/* Our certificate as a client, for mutual TLS to the other servers. */
tls_config *sip_server_client_tls(const struct sip_server_config *cfg, tls_trust *trust,
                                   tn_err *err)
{
    tls_config *client = tls_config_new(TLS_SIDE_CLIENT, err);
    if (client == NULL || tls_config_add_identity(client, cfg->cert_file, cfg->key_file, err) < 0) {
        tls_config_free(client);
        return NULL;
    }
    tls_config_set_trust(client, trust);
    return client;
}

static int make_tls(const struct sip_server_config *cfg, tls_trust **trust, tls_config **tls,
                    tn_err *err)
{
    const char *crls[SIP_SERVER_MAX_CRLS];
    for (size_t i = 0; i < cfg->n_crls; i++)
        crls[i] = cfg->crl_files[i];
    *trust = tls_trust_new("enterprise", cfg->ca_file, crls, cfg->n_crls, err);
    *tls = *trust ? tls_config_new(TLS_SIDE_SERVER, err) : NULL;
    if (*tls == NULL || tls_config_add_identity(*tls, cfg->cert_file, cfg->key_file, err) < 0) {
        tls_config_free(*tls);
        tls_trust_free(*trust);
        return -1;
    }
    tls_config_set_trust(*tls, *trust);
    /* Users need no certificate (they authenticate by digest); our other
     * servers present theirs (mutual TLS), judged in on_secure. */
    tls_config_set_client_auth(*tls, TLS_CLIENT_CERT_OPTIONAL);
    return 0;
}

static int init_workers(struct sip_server *srv, tn_err *err)
{
    struct conn_limits limits = {
        .max_buffer = srv->cfg.max_message_bytes + 4096,
        .max_queue = 4 * 1024 * 1024,
        .handshake_ms = srv->cfg.handshake_timeout_ms,
        .idle_ms = srv->cfg.idle_timeout_ms,
    };
    srv->handler = (struct conn_handler){
        .on_data = on_data,
        .on_secure = on_secure,
        .on_close = on_close,
        .may_move = may_move,
        .ctx = srv};
    if (worker_group_init(&srv->group, srv->cfg.workers, srv->cfg.listen, srv->tls,
                          &srv->handler, &limits, srv->cfg.max_connections, err) < 0)
        return -1;
    srv->group.log_component = "sip";
    const struct topology *topo = sip_server_topology(srv);
    size_t n_ours = 0; /* our servers and partners' edges are exempt */
    const struct sockaddr_storage *ours = topo ? topology_server_addresses(topo, &n_ours) : NULL;
    if (topo != NULL && worker_group_limit_per_client(&srv->group,
                                                      topo->limits.max_connections_per_client,
                                                      ours, n_ours, err) < 0)
        return -1;
    for (unsigned i = 0; i < srv->group.n; i++) {
        struct sip_worker *sw = calloc(1, sizeof *sw);
        if (sw == NULL)
            return tn_errf(err, "out of memory");
        sw->srv = srv;
        sw->w = &srv->group.workers[i];
        sip_proxy_worker_init(sw);
        srv->group.workers[i].app = sw;
    }
    return 0;
}

static int load_bindings(const struct store_binding *b, void *ctx)
{
    /* Registrations survive a restart; their old flows do not. */
    struct sip_server *srv = ctx;
    struct loc_binding lb = {.expires_at = (time_t)b->expires_at, .q = b->q, .cseq = b->cseq};
    tn_strlcpy(lb.aor, b->aor, sizeof lb.aor);
    tn_strlcpy(lb.contact, b->contact, sizeof lb.contact);
    tn_strlcpy(lb.call_id, b->call_id, sizeof lb.call_id);
    tn_strlcpy(lb.instance, b->instance, sizeof lb.instance);
    lb.reg_id = b->reg_id;
    sip_location_update(&srv->loc, &lb, NULL, sip_binding_gone, &srv->bindings);
    return 0;
}

static int server_init(struct sip_server *srv, const struct sip_server_config *cfg, tn_err *err)
{
    char port[8];
    srv->cfg = *cfg;
    if (net_split_host_port(cfg->listen, srv->listen_host, sizeof srv->listen_host, port,
                            sizeof port, err) < 0)
        return -1;
    srv->port = atoi(port);
    tn_snprintf(srv->sent_by, sizeof srv->sent_by, "%s:%d", cfg->fqdn, srv->port);
    if (sip_digest_secret_init(&srv->secret, err) < 0 || sip_location_init(&srv->loc, err) < 0)
        return -1;
    srv->store = store_open(cfg->store_path, err);
    if (srv->store == NULL)
        return -1;
    binding_writer_init(&srv->bindings, srv->store);
    if (store_bindings_load_all(srv->store, time(NULL), load_bindings, srv, err) < 0)
        return -1;
    if (make_tls(cfg, &srv->trust, &srv->tls, err) < 0 ||
        (srv->client_tls = sip_server_client_tls(cfg, srv->trust, err)) == NULL)
        return -1;
    sip_peers_init(&srv->peers, cfg->fqdn);
    if (init_workers(srv, err) < 0)
        return -1;
    return sip_edge_init(srv, err);
}

/* --- running: signals, reloads ------------------------------------------------- */

struct retired {
    tls_trust *trust[RETIRED_MAX];
    tls_config *tls[RETIRED_MAX];
    tls_config *client_tls[RETIRED_MAX];
    struct sip_edge_trust *edge[RETIRED_MAX];
    size_t n;
    struct topology *topo[RETIRED_MAX];
    size_t n_topo;
};

/* New TLS material for new connections; established ones keep theirs.
 * The old objects may still be in a handshake: keep them until exit. */
static void swap_tls(struct sip_server *srv, struct retired *old, const char *why)
{
    tn_err err;
    tls_trust *trust;
    tls_config *tls, *client;
    if (old->n == RETIRED_MAX) {
        tn_log(TN_LOG_ERROR, "tls", "%s: too many reloads: restart the server", why);
        return;
    }
    if (make_tls(&srv->cfg, &trust, &tls, &err) < 0) {
        tn_log(TN_LOG_ERROR, "tls", "%s: keeping the current certificates: %s", why, err.msg);
        return;
    }
    if ((client = sip_server_client_tls(&srv->cfg, trust, &err)) == NULL) {
        tls_config_free(tls);
        tls_trust_free(trust);
        tn_log(TN_LOG_ERROR, "tls", "%s: keeping the current certificates: %s", why, err.msg);
        return;
    }
    /* The partner side carries our certificate too; a failure there keeps
     * it as it was, the internal side still takes the new material. */
    if (sip_edge_reload(srv, &old->edge[old->n], &err) < 0)
        tn_log(TN_LOG_ERROR, "edge", "%s: keeping the partner side as it was: %s", why, err.msg);
    old->trust[old->n] = srv->trust;
    old->client_tls[old->n] = srv->client_tls;
    old->tls[old->n++] = srv->tls;
    srv->trust = trust;
    srv->tls = tls;
    /* Workers read it when they open a connection to another server. */
    __atomic_store_n(&srv->client_tls, client, __ATOMIC_RELEASE);
    worker_group_set_tls(&srv->group, 0, tls);
    tn_log(TN_LOG_INFO, "tls", "%s: certificates, CA and CRLs reloaded", why);
}

static void reload(struct sip_server *srv, struct retired *old, sip_server_reload_fn fn,
                   void *ctx)
{
    tn_err err;
    struct sip_server_config next = srv->cfg;
    if (fn != NULL && fn(&next, ctx, &err) < 0) {
        tn_log(TN_LOG_ERROR, "sip", "SIGHUP: configuration not reloaded: %s", err.msg);
        return;
    }
    /* The new topology serves new messages; readers of the old one may
     * still hold it: it is freed at exit. */
    if (old->n_topo == RETIRED_MAX) {
        tn_log(TN_LOG_ERROR, "sip", "SIGHUP: too many reloads: restart the server");
        topology_free(next.topo);
        return;
    }
    old->topo[old->n_topo++] = srv->cfg.topo;
    __atomic_store_n(&srv->cfg.topo, next.topo, __ATOMIC_RELEASE);
    /* Listen address, workers and store need a restart; the rest applies. */
    memcpy(srv->cfg.domains, next.domains, sizeof next.domains);
    srv->cfg.n_domains = next.n_domains;
    memcpy(srv->cfg.cert_file, next.cert_file, sizeof next.cert_file);
    memcpy(srv->cfg.key_file, next.key_file, sizeof next.key_file);
    memcpy(srv->cfg.ca_file, next.ca_file, sizeof next.ca_file);
    memcpy(srv->cfg.crl_files, next.crl_files, sizeof next.crl_files);
    srv->cfg.n_crls = next.n_crls;
    swap_tls(srv, old, "SIGHUP");
}

/* The registrations recorded since the last batch go to the store. */
static void flush_bindings(struct sip_server *srv)
{
    tn_err err;
    if (binding_writer_flush(&srv->bindings, &err) < 0)
        tn_log(TN_LOG_ERROR, "store", "registrations not written yet (tried again in %d ms): %s",
               BINDING_FLUSH_MS, err.msg);
}

static void wait_for_signals(struct sip_server *srv, const sigset_t *set,
                             sip_server_reload_fn fn, void *ctx)
{
    struct retired old = {0};
    struct timespec tick = {.tv_sec = BINDING_FLUSH_MS / 1000,
                            .tv_nsec = (BINDING_FLUSH_MS % 1000) * 1000000L};
    uint64_t next_trust_check = ev_clock_ms() + TRUST_CHECK_MS;
    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            tn_log(TN_LOG_INFO, "sip", "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP)
            reload(srv, &old, fn, ctx);
        if (ev_clock_ms() >= next_trust_check) {
            next_trust_check = ev_clock_ms() + TRUST_CHECK_MS;
            if (tls_trust_files_changed(srv->trust) || sip_edge_files_changed(srv))
                swap_tls(srv, &old, "CA, CRL or partner root file changed");
        }
        flush_bindings(srv);
    }
    atomic_store(&shutting_down, true);
    worker_group_stop(&srv->group);
    flush_bindings(srv); /* a clean shutdown loses no registration */
    for (size_t i = 0; i < old.n; i++) {
        tls_config_free(old.tls[i]);
        tls_config_free(old.client_tls[i]);
        tls_trust_free(old.trust[i]);
        sip_edge_trust_free(old.edge[i]);
    }
    for (size_t i = 0; i < old.n_topo; i++)
        topology_free(old.topo[i]);
}

static void server_free(struct sip_server *srv)
{
    for (unsigned i = 0; i < srv->group.n; i++) {
        struct sip_worker *sw = srv->group.workers[i].app;
        if (sw != NULL)
            sip_proxy_worker_free(sw);
        free(sw);
    }
    worker_group_free(&srv->group);
    sip_edge_free(srv);
    tls_config_free(srv->tls);
    tls_config_free(srv->client_tls);
    tls_trust_free(srv->trust);
    sip_peers_free(&srv->peers);
    if (srv->store != NULL)
        binding_writer_free(&srv->bindings);
    store_close(srv->store);
    topology_free(srv->cfg.topo);
    if (srv->loc.buckets != NULL)
        sip_location_free(&srv->loc);
}

/* --- metrics -------------------------------------------------------------------- */

static uint64_t sum_workers(const struct sip_server *srv, size_t offset)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < srv->group.n; i++) {
        const struct sip_worker *sw = srv->group.workers[i].app;
        if (sw != NULL)
            sum += tn_counter_get((const tn_counter *)((const char *)&sw->stats + offset));
    }
    return sum;
}

#define STAT(field) sum_workers(srv, offsetof(struct sip_stats, field))

static void sip_metrics(struct tn_metrics_out *o, void *ctx)
{
    struct sip_server *srv = ctx;
    char labels[64];
    worker_group_metrics(&srv->group, o, "trustnet_sip");
    tn_metrics_family(o, "trustnet_sip_requests_total", "counter",
                      "SIP requests received, by method.");
    for (int m = 0; m <= SIP_PUBLISH; m++) {
        tn_snprintf(labels, sizeof labels, "method=\"%s\"",
                    m == SIP_METHOD_OTHER ? "other" : sip_method_name((enum sip_method)m));
        tn_metrics_sample(o, "trustnet_sip_requests_total", labels, STAT(requests[m]));
    }
    tn_metrics_single(o, "trustnet_sip_responses_total", "counter",
                      "SIP responses received from other hops.", STAT(responses));
    tn_metrics_family(o, "trustnet_sip_replies_total", "counter",
                      "SIP responses this server made itself, by class.");
    for (int k = 1; k <= 6; k++) {
        tn_snprintf(labels, sizeof labels, "class=\"%dxx\"", k);
        tn_metrics_sample(o, "trustnet_sip_replies_total", labels, STAT(replies[k]));
    }
    tn_metrics_single(o, "trustnet_sip_bad_messages_total", "counter",
                      "SIP messages refused as malformed or too large.", STAT(bad_messages));
    tn_metrics_single(o, "trustnet_sip_auth_refused_total", "counter",
                      "Digest credentials refused (403).", STAT(auth_refused));
    tn_metrics_single(o, "trustnet_sip_registered_contacts", "gauge",
                      "Contacts bound to users now (registrations).",
                      sip_location_count(&srv->loc, time(NULL)));
}

int sip_server_run(const struct sip_server_config *cfg, sip_server_reload_fn fn, void *ctx,
                   tn_err *err)
{
    struct sip_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return tn_errf(err, "out of memory");
    /* Workers inherit this mask: only the main thread takes the signals. */
    sigset_t set;
    tn_signals_block(&set);
    atomic_store(&shutting_down, false);
    int rc = server_init(srv, cfg, err);
    if (rc == 0)
        rc = worker_group_start(&srv->group, err);
    if (rc == 0) {
        tn_log(TN_LOG_INFO, "sip", "%s listening on %s (TLS only), %u workers", cfg->fqdn,
               cfg->listen, srv->group.n);
        tn_err merr;
        bool counted = tn_metrics_add_source(sip_metrics, srv, &merr) == 0;
        if (!counted)
            tn_log(TN_LOG_ERROR, "metrics", "%s", merr.msg);
        wait_for_signals(srv, &set, fn, ctx);
        if (counted)
            tn_metrics_remove_source(sip_metrics, srv); /* after the last count */
    }
    server_free(srv);
    free(srv);
    return rc;
}
