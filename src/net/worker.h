/*
 * worker.h - worker threads: each has its own event loop and its own
 * listening socket on the shared address (SO_REUSEPORT lets the kernel
 * spread new connections), and owns the connections it accepted.
 *
 * A connection belongs to one worker at a time; other workers reach it by
 * id through worker_send(), which posts a copy to the owner's loop.  A
 * connection whose messages keep going to a connection on another worker
 * is handed over to that worker (handover.c), so that the two are served
 * by one thread and their messages stop crossing threads.
 */
#ifndef TN_NET_WORKER_H
#define TN_NET_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "common/idmap.h"
#include "common/metrics.h"
#include "net/conn.h"

#define WORKER_MAX 64
#define WORKER_READ_SCRATCH 16384
#define WORKER_MAX_LISTENERS 4

struct worker;

/* One listening socket of one worker. */
struct worker_listener {
    struct worker *worker;
    unsigned index; /* which of the group's listeners */
    int fd;
};

struct worker_group;
struct handover;

struct worker {
    unsigned index;
    struct worker_group *group;
    ev_loop *loop;
    pthread_t thread;
    struct worker_listener listeners[WORKER_MAX_LISTENERS];
    struct idmap conns;
    uint64_t next_serial;
    void *app; /* the protocol layer's per-worker state */
    size_t owned; /* connections owned now (atomic: others read it) */
    struct handover *expecting; /* connections on their way here (moved_lock) */
    /* Reads land here first, so idle connections keep no buffer. */
    char read_scratch[WORKER_READ_SCRATCH];
};

/* What the group's connections did, for metrics (any worker adds).  A
 * handshake counts as trusted when the connection is still open after the
 * protocol judged its peer (a server certificate must also name a server
 * of the topology), else as refused; timeouts and failed connects are
 * refused too. */
struct conn_stats {
    tn_counter trusted_in, refused_in;   /* accepted connections */
    tn_counter trusted_out, refused_out; /* connections we opened */
    tn_counter over_limit;               /* refused at accept: max_connections */
    tn_counter over_client_limit;        /* refused at accept: per client address */
};

struct worker_group {
    struct worker workers[WORKER_MAX];
    unsigned n;
    unsigned n_listeners;
    tls_config *tls_cfg[WORKER_MAX_LISTENERS]; /* per listener; swapped under tls_lock */
    pthread_mutex_t tls_lock;
    const struct conn_handler *handler;
    struct conn_limits limits;
    size_t max_connections;
    size_t connections; /* atomic */
    struct client_limit per_client;
    const char *log_component;
    struct conn_stats stats;
    /* Connections no longer owned by the worker their id names: id -> new
     * owner + 1.  n_moved (atomic) lets worker_owner skip the lock while
     * nothing has moved. */
    pthread_mutex_t moved_lock;
    struct idmap moved;
    size_t n_moved;
};

/* Create n workers listening on addr ("host:port"; NULL: no listener,
 * outgoing connections only); not yet running. */
int worker_group_init(struct worker_group *g, unsigned n, const char *addr,
                      tls_config *tls_cfg, const struct conn_handler *handler,
                      const struct conn_limits *limits, size_t max_connections, tn_err *err);
int worker_group_start(struct worker_group *g, tn_err *err);
/* The group's connection metrics, named prefix_* ("trustnet_sip"). */
void worker_group_metrics(const struct worker_group *g, struct tn_metrics_out *o,
                          const char *prefix);
/* Stop every loop, join the threads, close every connection. */
void worker_group_stop(struct worker_group *g);
void worker_group_free(struct worker_group *g);
/* At most per_client connections open from one client address (0: no
 * limit), except from the n_exempt addresses of exempt (our servers,
 * partners' edges); before worker_group_start. */
int worker_group_limit_per_client(struct worker_group *g, unsigned per_client,
                                  const struct sockaddr_storage *exempt, size_t n_exempt,
                                  tn_err *err);
/* Another listening address with its own TLS configuration (an edge's
 * side towards partners, say); before worker_group_start.  Connections
 * accepted there carry its index in conn->listener.  Returns the index. */
int worker_group_add_listener(struct worker_group *g, const char *addr, tls_config *tls_cfg,
                              tn_err *err);
/* New TLS configuration of a listener for new connections (old ones keep
 * theirs); listener 0 is the one given to worker_group_init. */
void worker_group_set_tls(struct worker_group *g, unsigned listener, tls_config *cfg);

/* The worker whose thread is running, or NULL. */
struct worker *worker_current(void);
struct conn *worker_find_conn(struct worker *w, uint64_t conn_id);
/* Send on any connection of the group, from any worker thread.  Returns
 * -1 when the connection is gone (or, owned here, its queue is full). */
int worker_send(struct worker_group *g, uint64_t conn_id, const void *buf, size_t len);

/* The worker that owns conn_id now (from any thread). */
unsigned worker_owner(struct worker_group *g, uint64_t conn_id);

/* Affinity (handover.c), from c's worker: a message that arrived on c was
 * forwarded to the connection to_id.  After enough messages in a row to
 * the same connection on another worker, c is handed over to that worker
 * when the handler allows it (may_move) and the other worker owns fewer
 * connections (on a tie, the lower-numbered worker takes it), so that of
 * two connections talking to each other exactly one moves. */
void worker_note_forward(struct conn *c, uint64_t to_id);

/* Used by conn.c. */
void worker_conn_closed(struct worker *w, struct conn *c);
void worker_release_slot(struct worker *w);

#endif
