/* worker.c - worker threads, listeners and cross-worker sends (see worker.h). */
#include "net/worker.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "common/thread_name.h"
#include "net/net_connect.h"
#include "net/worker_internal.h"

static __thread struct worker *current;

struct worker *worker_current(void)
{
    return current;
}

/* SO_REUSEPORT would let a second server silently share the address and
 * take half the connections: first bind once without it, so an address
 * already in use is an error. */
static int check_address_free(const struct addrinfo *ai, const char *addr, tn_err *err)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        return tn_errf(err, "cannot listen on %s: %s", addr, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0
                 ? tn_errf(err, "cannot listen on %s: %s", addr, strerror(errno))
                 : 0;
    close(fd);
    return rc;
}

/* A TLS client speaks first: with TCP_DEFER_ACCEPT the kernel hands the
 * connection over only once its ClientHello is there, so accepting it and
 * answering the hello take one wake-up instead of two.  A client that
 * sends nothing stays in the kernel for about a second (one SYN-ACK
 * retransmission), then is accepted and meets the handshake deadline. */
static void defer_accept(int fd)
{
    int secs = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
}

static int listen_socket(const char *addr, bool first, tn_err *err)
{
    char host[256], port[8];
    if (net_split_host_port(addr, host, sizeof host, port, sizeof port, err) < 0)
        return -1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return tn_errf(err, "listen address %s: %s", addr, gai_strerror(gai));
    if (first && check_address_free(res, addr, err) < 0) {
        freeaddrinfo(res);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        tn_errf(err, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static bool take_connection_slot(struct worker_group *g)
{
    size_t now = __atomic_add_fetch(&g->connections, 1, __ATOMIC_RELAXED);
    if (now <= g->max_connections)
        return true;
    __atomic_sub_fetch(&g->connections, 1, __ATOMIC_RELAXED);
    return false;
}

void worker_release_slot(struct worker *w)
{
    __atomic_sub_fetch(&w->group->connections, 1, __ATOMIC_RELAXED);
}

void worker_conn_closed(struct worker *w, struct conn *c)
{
    struct worker_group *g = w->group;
    if (c->client_counted)
        client_limit_release(&g->per_client, &c->client);
    /* While being handed over, c already counts for its next owner. */
    unsigned owner = c->moving_to != 0 ? c->moving_to - 1u : w->index;
    idmap_del(&w->conns, c->id);
    __atomic_sub_fetch(&g->workers[owner].owned, 1, __ATOMIC_RELAXED);
    if (owner != (unsigned)(c->id >> 48))
        worker_forget_move(g, c->id);
    worker_release_slot(w);
}

static tls_config *current_tls(struct worker_group *g, unsigned listener)
{
    pthread_mutex_lock(&g->tls_lock);
    tls_config *cfg = g->tls_cfg[listener];
    pthread_mutex_unlock(&g->tls_lock);
    return cfg;
}

/* One more connection from key's address, or a log line and false. */
static bool take_client_share(struct worker_group *g, const struct sockaddr *sa,
                              const struct client_key *key)
{
    unsigned held = 0;
    if (client_limit_take(&g->per_client, key, &held))
        return true;
    char addr[64];
    conn_format_addr(sa, addr, sizeof addr);
    tn_counter_add(&g->stats.over_client_limit, 1);
    tn_log(TN_LOG_WARN, g->log_component,
           "refusing connection from %s: its address has %u open, the limit per client "
           "(limits.max_connections_per_client)", addr, held);
    return false;
}

static void accept_one(struct worker *w, int fd, const struct sockaddr *sa, unsigned listener)
{
    struct worker_group *g = w->group;
    /* TCP_NODELAY comes from the listening socket (Linux copies it). */
    if (!take_connection_slot(g)) {
        tn_counter_add(&g->stats.over_limit, 1);
        tn_log(TN_LOG_WARN, g->log_component, "refusing connection: limit of %zu reached",
               g->max_connections);
        close(fd);
        return;
    }
    struct client_key key;
    bool counted = client_key_of(sa, &key); /* IPv4 and IPv6 clients */
    if (counted && !take_client_share(g, sa, &key)) {
        worker_release_slot(w);
        close(fd);
        return;
    }
    /* On failure conn_new has closed fd and released the slot. */
    tls_config *tls = current_tls(g, listener);
    struct conn *c = conn_new(w, fd, sa, tls, g->handler, &g->limits);
    if (c == NULL) {
        if (counted)
            client_limit_release(&g->per_client, &key);
        return;
    }
    c->client = key;
    c->client_counted = counted;
    c->listener = listener;
    /* The ClientHello is most likely here already (defer_accept): answer
     * it now rather than after another round through epoll. */
    if (tls != NULL)
        conn_read_pending(c); /* may close (and free) c */
}

/* One connection per readiness event: the listener is level-triggered, so
 * epoll reports it again at once while more wait, and the usual single
 * connection costs no accept4 that only says EAGAIN. */
static void on_listen(ev_loop *loop, int lfd, unsigned events, void *ctx)
{
    struct worker_listener *l = ctx;
    struct worker *w = l->worker;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            tn_log(TN_LOG_WARN, w->group->log_component, "accept: %s", strerror(errno));
        return;
    }
    accept_one(w, fd, (struct sockaddr *)&ss, l->index);
}

/* Listener index on every worker: one socket each (SO_REUSEPORT). */
static int open_listener(struct worker_group *g, unsigned index, const char *addr, tn_err *err)
{
    for (unsigned i = 0; i < g->n; i++) {
        struct worker_listener *l = &g->workers[i].listeners[index];
        l->worker = &g->workers[i];
        l->index = index;
        if ((l->fd = listen_socket(addr, i == 0, err)) < 0 ||
            ev_io_set(g->workers[i].loop, l->fd, EV_READ, on_listen, l) < 0)
            return -1;
        if (g->tls_cfg[index] != NULL)
            defer_accept(l->fd);
    }
    return 0;
}

int worker_group_limit_per_client(struct worker_group *g, unsigned per_client,
                                  const struct sockaddr_storage *exempt, size_t n_exempt,
                                  tn_err *err)
{
    client_limit_free(&g->per_client);
    if (client_limit_init(&g->per_client, per_client) < 0)
        return tn_errf(err, "out of memory");
    for (size_t i = 0; per_client > 0 && i < n_exempt; i++)
        if (!client_limit_exempt(&g->per_client, (const struct sockaddr *)&exempt[i]))
            return tn_errf(err, "out of memory");
    return 0;
}

int worker_group_add_listener(struct worker_group *g, const char *addr, tls_config *tls_cfg,
                              tn_err *err)
{
    if (g->n_listeners == WORKER_MAX_LISTENERS)
        return tn_errf(err, "too many listening addresses (limit %d)", WORKER_MAX_LISTENERS);
    unsigned index = g->n_listeners++;
    g->tls_cfg[index] = tls_cfg;
    return open_listener(g, index, addr, err) < 0 ? -1 : (int)index;
}

int worker_group_init(struct worker_group *g, unsigned n, const char *addr, tls_config *tls_cfg,
                      const struct conn_handler *handler, const struct conn_limits *limits,
                      size_t max_connections, tn_err *err)
{
    memset(g, 0, sizeof *g);
    client_limit_init(&g->per_client, 0); /* no limit: allocates nothing */
    if (n == 0 || n > WORKER_MAX)
        return tn_errf(err, "workers must be 1-%d, not %u", WORKER_MAX, n);
    pthread_mutex_init(&g->tls_lock, NULL);
    pthread_mutex_init(&g->moved_lock, NULL);
    g->n = n;
    g->handler = handler;
    g->limits = *limits;
    g->max_connections = max_connections;
    g->log_component = "net";
    /* Every worker valid for worker_group_free before anything can fail. */
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &g->workers[i];
        w->index = i;
        w->group = g;
        for (unsigned j = 0; j < WORKER_MAX_LISTENERS; j++)
            w->listeners[j].fd = -1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &g->workers[i];
        if ((w->loop = ev_loop_new(err)) == NULL) {
            worker_group_free(g);
            return -1;
        }
    }
    /* addr NULL: outgoing connections only. */
    if (addr != NULL && worker_group_add_listener(g, addr, tls_cfg, err) < 0) {
        worker_group_free(g);
        return -1;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    current = w;
    tn_thread_name("%s-w%u", w->group->log_component, w->index);
    ev_loop_run(w->loop);
    return NULL;
}

int worker_group_start(struct worker_group *g, tn_err *err)
{
    for (unsigned i = 0; i < g->n; i++)
        if (pthread_create(&g->workers[i].thread, NULL, worker_main, &g->workers[i]) != 0)
            return tn_errf(err, "cannot start worker %u", i);
    return 0;
}

static void close_all(struct worker *w)
{
    current = w; /* handlers may look up their worker while closing */
    for (size_t i = 0; i < w->conns.cap; i++) {
        struct conn *c = w->conns.slots[i].value;
        if (w->conns.slots[i].id != 0 && c != NULL) {
            conn_close(c, "server shutting down");
            i = (size_t)-1; /* the map changed: rescan from the start */
        }
    }
    current = NULL;
}

/* What was posted to the stopped loops still runs (on this thread, as
 * each worker in turn): messages in flight are sent, connections being
 * handed over reach their new owner and are closed with the others.
 * Running posts may post more (a hand-over's steps): a few rounds. */
static void run_leftover_posts(struct worker_group *g)
{
    for (int round = 0; round < 16; round++) {
        size_t ran = 0;
        for (unsigned i = 0; i < g->n; i++) {
            current = &g->workers[i];
            ran += ev_loop_run_posts(g->workers[i].loop);
        }
        current = NULL;
        if (ran == 0)
            return;
    }
}

void worker_group_stop(struct worker_group *g)
{
    for (unsigned i = 0; i < g->n; i++)
        ev_loop_stop(g->workers[i].loop);
    for (unsigned i = 0; i < g->n; i++)
        pthread_join(g->workers[i].thread, NULL);
    run_leftover_posts(g);
    for (unsigned i = 0; i < g->n; i++)
        close_all(&g->workers[i]);
}

void worker_group_free(struct worker_group *g)
{
    for (unsigned i = 0; i < g->n; i++) {
        struct worker *w = &g->workers[i];
        for (unsigned j = 0; j < WORKER_MAX_LISTENERS; j++)
            if (w->listeners[j].fd >= 0)
                close(w->listeners[j].fd);
        ev_loop_free(w->loop);
        idmap_free(&w->conns);
    }
    idmap_free(&g->moved);
    client_limit_free(&g->per_client);
    pthread_mutex_destroy(&g->moved_lock);
    pthread_mutex_destroy(&g->tls_lock);
    g->n = 0;
}

void worker_group_set_tls(struct worker_group *g, unsigned listener, tls_config *cfg)
{
    if (listener >= WORKER_MAX_LISTENERS)
        return;
    pthread_mutex_lock(&g->tls_lock);
    g->tls_cfg[listener] = cfg;
    pthread_mutex_unlock(&g->tls_lock);
}

struct conn *worker_find_conn(struct worker *w, uint64_t conn_id)
{
    return idmap_get(&w->conns, conn_id);
}

static void deliver_posted(ev_loop *loop, void *arg)
{
    struct posted_send *p = arg;
    struct worker *w = worker_current();
    struct conn *c = worker_find_conn(w, p->conn_id);
    if (c != NULL)
        conn_send(c, p->data, p->len);
    else if (worker_park_send(w, p))
        return; /* the connection is on its way here */
    free(p);
}

int worker_send(struct worker_group *g, uint64_t conn_id, const void *buf, size_t len)
{
    struct worker *here = worker_current();
    struct conn *c = here != NULL ? worker_find_conn(here, conn_id) : NULL;
    if (c != NULL)
        return conn_send(c, buf, len);
    unsigned owner = worker_owner(g, conn_id);
    if (owner >= g->n)
        return -1;
    /* One allocation: the post's node travels inside the copy. */
    struct posted_send *p = malloc(sizeof *p + len);
    if (p == NULL)
        return -1;
    p->conn_id = conn_id;
    p->len = len;
    memcpy(p->data, buf, len);
    if (&g->workers[owner] != here) {
        ev_post_node(g->workers[owner].loop, &p->node, deliver_posted, p);
        return 0;
    }
    /* Ours but not here: on its way to us, or gone. */
    if (worker_park_send(here, p))
        return 0;
    free(p);
    return -1;
}

/* --- metrics ------------------------------------------------------------------ */

static void family_sample(struct tn_metrics_out *o, const char *prefix, const char *suffix,
                          const char *type, const char *help, uint64_t value)
{
    char name[128];
    tn_snprintf(name, sizeof name, "%s_%s", prefix, suffix);
    tn_metrics_single(o, name, type, help, value);
}

void worker_group_metrics(const struct worker_group *g, struct tn_metrics_out *o,
                          const char *prefix)
{
    const struct conn_stats *st = &g->stats;
    family_sample(o, prefix, "connections_open", "gauge", "TCP connections open now.",
                  __atomic_load_n(&g->connections, __ATOMIC_RELAXED));
    family_sample(o, prefix, "connections_over_limit_total", "counter",
                  "Connections refused at accept: the max_connections limit was reached.",
                  tn_counter_get(&st->over_limit));
    family_sample(o, prefix, "connections_over_client_limit_total", "counter",
                  "Connections refused at accept: their address had "
                  "max_connections_per_client open.",
                  tn_counter_get(&st->over_client_limit));
    char name[128];
    tn_snprintf(name, sizeof name, "%s_tls_handshakes_total", prefix);
    tn_metrics_family(o, name, "counter",
                      "TLS handshakes by direction (in: accepted, out: opened by us) and "
                      "verdict (refused includes timeouts and failed connects).");
    tn_metrics_sample(o, name, "direction=\"in\",verdict=\"trusted\"",
                      tn_counter_get(&st->trusted_in));
    tn_metrics_sample(o, name, "direction=\"in\",verdict=\"refused\"",
                      tn_counter_get(&st->refused_in));
    tn_metrics_sample(o, name, "direction=\"out\",verdict=\"trusted\"",
                      tn_counter_get(&st->trusted_out));
    tn_metrics_sample(o, name, "direction=\"out\",verdict=\"refused\"",
                      tn_counter_get(&st->refused_out));
}
