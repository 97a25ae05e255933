/*
 * sip_server_internal.h - state shared by the files of the SIP server:
 * sip_server.c (life cycle, connections, dispatch), sip_reply.c,
 * sip_auth.c, sip_registrar.c and sip_proxy.c.
 */
#ifndef TN_SIP_SERVER_INTERNAL_H
#define TN_SIP_SERVER_INTERNAL_H

#include <stdio.h>

#include "common/idmap.h"
#include "common/metrics.h"
#include "net/worker.h"
#include "sip/sip_binding_writer.h"
#include "sip/sip_digest.h"
#include "sip/sip_ha1_cache.h"
#include "sip/sip_frame.h"
#include "sip/sip_location.h"
#include "sip/sip_peers.h"
#include "sip/sip_msg.h"
#include "sip/sip_server.h"
#include "store/store.h"
#include "tls/tls_conn.h"

#define SIP_OUT_MAX (SIP_MAX_MSG + 8192)

struct sip_server {
    struct sip_server_config cfg; /* cfg.topo: read with sip_server_topology() */
    store *store;
    struct binding_writer bindings; /* the location service's way to the store */
    struct sip_location loc;
    struct sip_digest_secret secret;
    struct worker_group group;
    tls_trust *trust;
    tls_config *tls;
    tls_config *client_tls;   /* our certificate, for MTLS to other servers */
    struct sip_peers peers;
    /* Edge: the listener for partners' edges (fed_listener 0: not an
     * edge) and what it trusts there, replaced as a whole on reload: read
     * it with sip_edge_trust_get(). */
    unsigned fed_listener;
    int fed_port;
    struct sip_edge_trust *edge;
    struct conn_handler handler;
    char sent_by[300];   /* our Via sent-by: "fe1.corp.test:5061" */
    char listen_host[160];
    int port;
};

/* Counted by each worker, summed for metrics (sip_server.c). */
struct sip_stats {
    tn_counter requests[SIP_PUBLISH + 1]; /* received, by method (0: other) */
    tn_counter responses;                 /* received (to forward) */
    tn_counter replies[7];                /* made here, by class: [2] is 2xx */
    tn_counter bad_messages;              /* unparseable or unframeable */
    tn_counter auth_refused;              /* wrong credentials: 403 */
};

struct sip_worker {
    struct sip_server *srv;
    struct worker *w;
    struct idmap txns;        /* our branch number -> struct proxy_txn */
    struct idmap txns_by_key; /* upstream branch hash -> struct proxy_txn */
    uint64_t next_txn;
    uint64_t ack_timer_serial;
    struct ha1_cache ha1s;    /* digest HA1s, per worker: no shared lock */
    struct sip_nonce_cache nonces; /* nonces whose MAC this worker checked */
    struct sip_msg msg;       /* parse scratch (large: not on the stack) */
    struct sip_msg msg2;      /* a second one, when two messages meet */
    char out[SIP_OUT_MAX];    /* build scratch */
    struct sip_stats stats;
};

/* sip_reply.c: answer a request from this server. */
void sip_reply(struct sip_worker *sw, struct conn *c, const struct sip_msg *req, int status,
               const char *reason, const char *extra_headers);

/* sip_reply.c: is req an ACK for a final response this server generated
 * (its To tag is the one sip_reply gave)?  Such an ACK ends here. */
bool sip_reply_acks_local(const struct sip_msg *req);

/* sip_auth.c: challenge or accept.  Returns 1 when the request carries
 * valid credentials for user@domain, 0 when a challenge or refusal was
 * sent (the caller stops). */
int sip_auth_check(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                   const char *user, const char *domain, bool proxy);

/* sip_registrar.c */
void sip_registrar_handle(struct sip_worker *sw, struct conn *c, const struct sip_msg *req);

/* sip_proxy.c */
void sip_proxy_request(struct sip_worker *sw, struct conn *c, const struct sip_msg *req);
void sip_proxy_response(struct sip_worker *sw, struct conn *c, const struct sip_msg *resp);
void sip_proxy_worker_init(struct sip_worker *sw);
void sip_proxy_worker_free(struct sip_worker *sw);

/* sip_server.c: a binding the location service dropped (its connection
 * died, or it made room for a new one) leaves the store at the next batch;
 * ctx is the server's binding writer.  A loc_gone_fn. */
void sip_binding_gone(const struct loc_binding *b, const char *why, void *ctx);

/* The store's name for a connection (flow) id. */
static inline void sip_flow_id(uint64_t conn_id, char *buf, size_t len)
{
    snprintf(buf, len, "%llx", (unsigned long long)conn_id);
}

/* Per-connection SIP state (conn->proto). */
struct sip_conn {
    struct sip_frame_state frame; /* keeps framing linear over the stream */
    char *server_peer;            /* FQDN of the topology server at the other
                                     end (mutual TLS), or NULL for a user */
    char *partner;                /* name of the federation partner whose edge
                                     is at the other end, or NULL */
    bool user_cert;               /* a user's client certificate, verified in
                                     the handshake, that names SIP users */
    unsigned auth_refused;        /* credentials refused in a row (sip_auth.c) */
};

struct topo_partner;

/* sip_edge.c: a connection to the edge of partner (open, opening, or 0
 * while backing off); only that partner's root can vouch for it. */
uint64_t sip_edge_partner_conn(struct sip_worker *sw, const struct topo_partner *partner);
/* Is fqdn the edge of a partner (then the partner), or NULL. */
const struct topo_partner *sip_edge_partner_named(const struct sip_server *srv,
                                                  const char *fqdn);

/* Our certificate as a TLS client, verifying peers against trust (which
 * must outlive the configuration). */
tls_config *sip_server_client_tls(const struct sip_server_config *cfg, tls_trust *trust,
                                  tn_err *err);

/* c's SIP state, made on first use; NULL (c closed) when out of memory. */
struct sip_conn *sip_conn_get(struct conn *c);

/* The federation partner whose edge is at the other end of c, or NULL. */
const struct topo_partner *sip_conn_partner(const struct sip_server *srv, const struct conn *c);

/* sip_server.c: the current topology (swapped on SIGHUP; old ones live on
 * until exit, so a pointer read here stays valid). */
const struct topology *sip_server_topology(const struct sip_server *srv);

/* A connection to the topology server s (open, opening, or 0 when it is
 * backing off after failures): requests queued on an opening connection
 * leave once the peer is verified. */
struct topo_server;
struct topo_addr;
uint64_t sip_server_peer_conn(struct sip_worker *sw, const struct topo_server *s);
/* The same for any peer: its verified name, address and TLS configuration
 * (whose trust store decides which CA may vouch for it), leaving from our
 * own address on the internal or the partner side. */
uint64_t sip_server_connect(struct sip_worker *sw, const char *fqdn,
                            const struct topo_addr *addr, tls_config *cfg, bool partner_side);

/* The topology server at the other end of c, or NULL for a user. */
const char *sip_conn_server_peer(const struct conn *c);

/* sip_server.c: helpers. */
bool sip_server_is_local_domain(const struct sip_server *srv, sip_str host);
bool sip_server_is_us(const struct sip_server *srv, const struct sip_uri *u);
/* Copy a slice into a C string; -1 if it does not fit. */
int sip_str_copy(char *dst, size_t size, sip_str s);
/* The user (non-empty) and the domain, in lowercase as the store keeps
 * it, of a SIP URI; -1 if either is missing or does not fit. */
int sip_uri_user_domain(const struct sip_uri *u, char *user, size_t ulen, char *domain,
                        size_t dlen);

#endif
