/* sip_edge.c - the edge's partner side (see sip_edge.h). */
#include "sip/sip_edge.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"
#include "topology/topology.h"

static int load_partner_roots(struct sip_edge_trust *et, tn_err *err)
{
    for (size_t i = 0; i < et->n; i++) {
        STACK_OF(X509) *certs = x509_load_chain_file(et->topo->partners[i].root_ca.path, err);
        if (certs == NULL)
            return -1;
        /* The root: the last certificate of the file. */
        et->roots[i] = sk_X509_pop(certs);
        sk_X509_pop_free(certs, X509_free);
    }
    return 0;
}

static int make_partner_listen_tls(struct sip_edge_trust *et, const struct sip_server_config *cfg,
                                   tn_err *err)
{
    const char *roots[TLS_TRUST_MAX_CAS];
    if (et->n > TLS_TRUST_MAX_CAS)
        return tn_errf(err, "too many partners (limit %d)", TLS_TRUST_MAX_CAS);
    for (size_t i = 0; i < et->n; i++)
        roots[i] = et->topo->partners[i].root_ca.path;
    et->listen_trust = tls_trust_new_multi("federation partners", roots, et->n, NULL, 0, err);
    et->listen_tls = et->listen_trust ? tls_config_new(TLS_SIDE_SERVER, err) : NULL;
    if (et->listen_tls == NULL ||
        tls_config_add_identity(et->listen_tls, cfg->cert_file, cfg->key_file, err) < 0)
        return -1;
    tls_config_set_trust(et->listen_tls, et->listen_trust);
    tls_config_set_client_auth(et->listen_tls, TLS_CLIENT_CERT_REQUIRED);
    return 0;
}

/* Towards each partner: our certificate, and nothing but its root. */
static int make_partner_clients(struct sip_edge_trust *et, const struct sip_server_config *cfg,
                                tn_err *err)
{
    for (size_t i = 0; i < et->n; i++) {
        const struct topo_partner *p = &et->topo->partners[i];
        tls_trust *trust = tls_trust_new(p->name, p->root_ca.path, NULL, 0, err);
        tls_config *client = trust ? sip_server_client_tls(cfg, trust, err) : NULL;
        if (client == NULL) {
            tls_trust_free(trust);
            return -1;
        }
        /* The trust store lives as long as the configuration. */
        tls_config_own_trust(client, trust);
        et->client_tls[i] = client;
    }
    return 0;
}

void sip_edge_trust_free(struct sip_edge_trust *et)
{
    if (et == NULL)
        return;
    for (size_t i = 0; i < et->n; i++) {
        X509_free(et->roots[i]);
        tls_config_free(et->client_tls[i]);
    }
    free(et->roots);
    free(et->client_tls);
    tls_config_free(et->listen_tls);
    tls_trust_free(et->listen_trust);
    free(et);
}

static struct sip_edge_trust *edge_trust_new(const struct sip_server_config *cfg,
                                             const struct topology *topo, tn_err *err)
{
    struct sip_edge_trust *et = calloc(1, sizeof *et);
    if (et == NULL)
        return tn_errf(err, "out of memory"), NULL;
    et->topo = topo;
    et->n = topo->n_partners;
    et->roots = calloc(et->n + 1, sizeof *et->roots);
    et->client_tls = calloc(et->n + 1, sizeof *et->client_tls);
    if (et->roots == NULL || et->client_tls == NULL) {
        et->n = 0;
        sip_edge_trust_free(et);
        return tn_errf(err, "out of memory"), NULL;
    }
    if (load_partner_roots(et, err) < 0 || make_partner_listen_tls(et, cfg, err) < 0 ||
        make_partner_clients(et, cfg, err) < 0) {
        sip_edge_trust_free(et);
        return NULL;
    }
    return et;
}

static const struct sip_edge_trust *edge_trust_get(const struct sip_server *srv)
{
    return __atomic_load_n(&srv->edge, __ATOMIC_ACQUIRE);
}

int sip_edge_init(struct sip_server *srv, tn_err *err)
{
    const struct topology *topo = sip_server_topology(srv);
    const struct topo_server *me = topology_find_server(topo, srv->cfg.fqdn);
    if (me == NULL || !(me->roles & TOPO_ROLE_EDGE) || !me->federation_listen.set ||
        topo->n_partners == 0)
        return 0;
    if ((srv->edge = edge_trust_new(&srv->cfg, topo, err)) == NULL)
        return -1;
    int index = worker_group_add_listener(&srv->group, me->federation_listen.text,
                                          srv->edge->listen_tls, err);
    if (index < 0)
        return -1;
    srv->fed_listener = (unsigned)index;
    srv->fed_port = me->federation_listen.port;
    tn_log(TN_LOG_INFO, "edge", "partner edges connect on %s (mutual TLS, %zu partners)",
           me->federation_listen.text, topo->n_partners);
    return 0;
}

int sip_edge_reload(struct sip_server *srv, struct sip_edge_trust **old, tn_err *err)
{
    *old = NULL;
    if (srv->fed_listener == 0)
        return 0; /* becoming an edge takes a restart: it needs a listener */
    struct sip_edge_trust *et = edge_trust_new(&srv->cfg, sip_server_topology(srv), err);
    if (et == NULL)
        return -1;
    *old = srv->edge;
    __atomic_store_n(&srv->edge, et, __ATOMIC_RELEASE);
    if (et->n > 0)
        worker_group_set_tls(&srv->group, srv->fed_listener, et->listen_tls);
    /* With no partner left, the listener keeps its old configuration, but
     * no certificate matches a partner any more: every peer is refused. */
    tn_log(TN_LOG_INFO, "edge", "partner side rebuilt: %zu partners", et->n);
    return 0;
}

bool sip_edge_files_changed(const struct sip_server *srv)
{
    const struct sip_edge_trust *et = edge_trust_get(srv);
    return et != NULL && et->listen_trust != NULL && tls_trust_files_changed(et->listen_trust);
}

void sip_edge_free(struct sip_server *srv)
{
    sip_edge_trust_free(srv->edge);
    srv->edge = NULL;
}

/* The partner whose root anchors chain and whose edge name leaf carries;
 * else NULL with the reason. */
static const struct topo_partner *match_partner(struct sip_server *srv, X509 *leaf,
                                                STACK_OF(X509) *chain, char *why, size_t len)
{
    const struct sip_edge_trust *et = edge_trust_get(srv);
    X509 *anchor = chain ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
    char names[256], detail[320];
    x509_text_sans(leaf, names, sizeof names);
    tn_snprintf(why, len, "%s is not the edge of any federation partner", names);
    for (size_t i = 0; anchor != NULL && i < et->n; i++) {
        const struct topo_partner *p = &et->topo->partners[i];
        if (et->roots[i] == NULL || X509_cmp(anchor, et->roots[i]) != 0)
            continue;
        if (tls_name_check(leaf, p->edge, TLS_NAME_EXACT, detail, sizeof detail) == 0)
            return p;
        /* A partner's root vouches for that partner's edge only. */
        tn_snprintf(why, len, "certificate from partner %s's CA names %s, not its edge %s",
                    p->name, names, p->edge);
    }
    return NULL;
}

static int note_partner(struct conn *c, const struct topo_partner *p)
{
    struct sip_conn *sc = sip_conn_get(c);
    if (sc == NULL)
        return -1;
    if ((sc->partner = strdup(p->name)) == NULL) {
        conn_close(c, "out of memory");
        return -1;
    }
    return 0;
}

void sip_edge_connected(struct sip_server *srv, struct conn *c)
{
    const struct topo_partner *p = sip_edge_partner_named(srv, c->expect_name);
    if (p == NULL || note_partner(c, p) < 0)
        return;
    sip_peers_attach(&srv->peers, p->edge, c->id, true, true, ev_now_ms(c->worker->loop));
    conn_set_verdict(c, "trusted: connected to partner %s's edge %s (its root only)", p->name,
                     p->edge);
}

void sip_edge_identify(struct sip_server *srv, struct conn *c)
{
    tls_conn *tls = conn_tls(c);
    X509 *leaf = tls_conn_peer_cert(tls);
    char why[400] = "no client certificate";
    const struct topo_partner *p =
        leaf ? match_partner(srv, leaf, tls_conn_verified_chain(tls), why, sizeof why) : NULL;
    if (p == NULL) {
        conn_set_verdict(c, "refused: %s", why);
        conn_close(c, NULL);
        return;
    }
    if (note_partner(c, p) < 0)
        return;
    /* Either side's connection serves both directions. */
    sip_peers_attach(&srv->peers, p->edge, c->id, true, false, ev_now_ms(c->worker->loop));
    conn_set_verdict(c, "trusted: peer is the edge %s of partner %s", p->edge, p->name);
}

const struct topo_partner *sip_conn_partner(const struct sip_server *srv, const struct conn *c)
{
    const struct sip_conn *sc = c->proto;
    if (sc == NULL || sc->partner == NULL)
        return NULL;
    const struct topology *topo = sip_server_topology(srv);
    for (size_t i = 0; i < topo->n_partners; i++)
        if (strcmp(topo->partners[i].name, sc->partner) == 0)
            return &topo->partners[i];
    return NULL; /* the partner left the topology (SIGHUP) */
}

const struct topo_partner *sip_edge_partner_named(const struct sip_server *srv, const char *fqdn)
{
    const struct topology *topo = sip_server_topology(srv);
    return fqdn != NULL ? topology_find_partner_by_edge(topo, fqdn) : NULL;
}

uint64_t sip_edge_partner_conn(struct sip_worker *sw, const struct topo_partner *partner)
{
    struct sip_server *srv = sw->srv;
    const struct sip_edge_trust *et = edge_trust_get(srv);
    if (srv->fed_listener == 0 || et == NULL)
        return 0;
    /* By name: partner may come from a newer topology than et (during a
     * reload); the edge's name, address and root then all come from et. */
    for (size_t i = 0; i < et->n; i++) {
        const struct topo_partner *p = &et->topo->partners[i];
        if (strcmp(p->name, partner->name) == 0)
            return sip_server_connect(sw, p->edge, &p->edge_address, et->client_tls[i], true);
    }
    return 0;
}
