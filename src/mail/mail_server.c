/* mail_server.c - the mail role's life cycle (see mail_server.h). */
#include "mail/mail_server.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/signals.h"
#include "common/str.h"
#include "mail/mail_commit.h"
#include "mail/mail_queue.h"
#include "mail/mail_server_internal.h"
#include "smtp/smtp_server.h"

#define MAIL_MAX_INPUT (64 * 1024)     /* commands pipelined while the disk works */
#define MAIL_MAX_OUTPUT (1024 * 1024)
#define MAIL_IDLE_MS (300 * 1000)      /* RFC 5321 4.5.3.2.7: 5 minutes */
#define MAIL_MAX_RCPTS 1000            /* Postfix's smtpd_recipient_limit */
#define MAIL_MAX_ERRORS 20             /* Postfix's smtpd_hard_error_limit */

const mail_policy *mail_server_policy(const struct mail_server *ms)
{
    return __atomic_load_n(&ms->policy, __ATOMIC_ACQUIRE);
}

const struct topology *mail_server_topology(const struct mail_server *ms)
{
    return __atomic_load_n(&ms->topo, __ATOMIC_ACQUIRE);
}

uint64_t mail_server_max_message_bytes(const struct mail_server *ms)
{
    return mail_server_topology(ms)->mail.max_message_bytes;
}

/* The topology a mail role is started or reloaded with: it must make
 * fqdn a mail server.  Returns a hold on topo, or NULL with err. */
static struct topology *hold_mail_topology(struct topology *topo, const char *fqdn, tn_err *err)
{
    const struct topo_server *me = topology_find_server(topo, fqdn);
    if (me == NULL || !(me->roles & TOPO_ROLE_MAIL)) {
        tn_errf(err, "%s: %s is not a mail server of the topology", topo->file, fqdn);
        return NULL;
    }
    return topology_hold(topo);
}

static int start_listener(struct mail_server *ms, tn_err *err)
{
    const struct topology *t = ms->topo;
    const struct topo_server *me = topology_find_server(t, ms->fqdn);
    struct conn_limits limits = {
        .max_buffer = MAIL_MAX_INPUT,
        .max_queue = MAIL_MAX_OUTPUT,
        .handshake_ms = t->limits.handshake_timeout_ms,
        .idle_ms = MAIL_IDLE_MS,
    };
    ms->handler = smtp_server_handler(ms);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = me->workers ? me->workers : cpus > 0 && cpus <= 64 ? (unsigned)cpus : 2;
    /* Plaintext first: TLS starts with STARTTLS, per session. */
    if (worker_group_init(&ms->group, workers, me->smtp_listen.text, NULL, &ms->handler,
                          &limits, t->limits.max_connections, err) < 0)
        return -1;
    ms->group_ready = true;
    ms->group.log_component = "smtp";
    size_t n_ours = 0; /* our servers and partners' edges are exempt */
    const struct sockaddr_storage *ours = topology_server_addresses(t, &n_ours);
    if (worker_group_limit_per_client(&ms->group, t->limits.max_connections_per_client, ours,
                                      n_ours, err) < 0)
        return -1;
    if (worker_group_start(&ms->group, err) < 0)
        return -1;
    ms->listening = true;
    tn_log(TN_LOG_INFO, "smtp", "%s: SMTP with STARTTLS on %s, queue in %s", ms->fqdn,
           me->smtp_listen.text, me->spool.path);
    return 0;
}

static int init(struct mail_server *ms, struct topology *topo, tn_err *err)
{
    if ((ms->topo = hold_mail_topology(topo, ms->fqdn, err)) == NULL)
        return -1;
    const struct topo_server *me = topology_find_server(ms->topo, ms->fqdn);
    ms->max_rcpts = MAIL_MAX_RCPTS;
    ms->max_errors = MAIL_MAX_ERRORS;
    if ((ms->policy = mail_policy_new(ms->topo, ms->fqdn, err)) == NULL ||
        (ms->spool = spool_open(me->spool.path, true, err)) == NULL ||
        (ms->queue = mail_queue_start(ms, err)) == NULL ||
        (ms->committer = mail_committer_start(ms->spool, ms->queue, err)) == NULL)
        return -1;
    return start_listener(ms, err);
}

static void mail_metrics(struct tn_metrics_out *o, void *ctx)
{
    struct mail_server *ms = ctx;
    worker_group_metrics(&ms->group, o, "trustnet_smtp");
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"trustnet_mail_accepted_total", "Messages accepted into the queue (250 after DATA).",
         offsetof(struct mail_stats, accepted)},
        {"trustnet_mail_refused_total",
         "MAIL FROM, RCPT TO or message data refused by policy or syntax.",
         offsetof(struct mail_stats, refused)},
        {"trustnet_mail_delivered_total", "Recipients delivered to the next hop.",
         offsetof(struct mail_stats, delivered)},
        {"trustnet_mail_deferred_total", "Recipient delivery attempts that failed for now.",
         offsetof(struct mail_stats, deferred)},
        {"trustnet_mail_bounced_total",
         "Recipients given up: permanent failure or queue lifetime over.",
         offsetof(struct mail_stats, bounced)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        tn_metrics_single(o, counters[i].name, "counter", counters[i].help,
                          tn_counter_get((const tn_counter *)((const char *)&ms->stats +
                                                              counters[i].offset)));
    tn_metrics_single(o, "trustnet_mail_queue_messages", "gauge",
                      "Messages in the queue: waiting, or being delivered now.",
                      mail_queue_size(ms->queue));
}

mail_server *mail_server_start(struct topology *topo, const char *fqdn, tn_err *err)
{
    struct mail_server *ms = calloc(1, sizeof *ms);
    if (ms == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    if (tn_strlcpy(ms->fqdn, fqdn, sizeof ms->fqdn) < 0) {
        free(ms);
        tn_errf(err, "server name too long");
        return NULL;
    }
    if (init(ms, topo, err) < 0) {
        mail_server_stop(ms);
        return NULL;
    }
    tn_err merr;
    ms->counted = tn_metrics_add_source(mail_metrics, ms, &merr) == 0;
    if (!ms->counted)
        tn_log(TN_LOG_ERROR, "metrics", "%s", merr.msg);
    return ms;
}

int mail_server_reload(mail_server *ms, struct topology *next, tn_err *err)
{
    if (ms->n_retired == MAIL_RETIRED_MAX)
        return tn_errf(err, "too many reloads: restart the server");
    struct topology *topo = hold_mail_topology(next, ms->fqdn, err);
    mail_policy *policy = topo ? mail_policy_new(topo, ms->fqdn, err) : NULL;
    if (policy == NULL) {
        topology_free(topo);
        return -1;
    }
    /* Sessions and deliveries under way keep the old ones until exit. */
    ms->retired_topo[ms->n_retired] = ms->topo;
    ms->retired_policy[ms->n_retired++] = ms->policy;
    __atomic_store_n(&ms->policy, policy, __ATOMIC_RELEASE);
    __atomic_store_n(&ms->topo, topo, __ATOMIC_RELEASE);
    tn_log(TN_LOG_INFO, "smtp", "topology, certificates, connectors and routes reloaded "
           "(listen address and spool need a restart)");
    return 0;
}

/* Every loop has run what was posted to it before this returns. */
struct barrier {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned left;
};

static void barrier_reached(ev_loop *loop, void *arg)
{
    struct barrier *b = arg;
    pthread_mutex_lock(&b->lock);
    b->left--;
    pthread_cond_signal(&b->done);
    pthread_mutex_unlock(&b->lock);
}

static void drain_loops(struct worker_group *g)
{
    struct barrier b = {.left = 0};
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.done, NULL);
    for (unsigned i = 0; i < g->n; i++) {
        pthread_mutex_lock(&b.lock);
        b.left++;
        pthread_mutex_unlock(&b.lock);
        if (ev_post(g->workers[i].loop, barrier_reached, &b) < 0)
            barrier_reached(NULL, &b);
    }
    pthread_mutex_lock(&b.lock);
    while (b.left > 0)
        pthread_cond_wait(&b.done, &b.lock);
    pthread_mutex_unlock(&b.lock);
    pthread_cond_destroy(&b.done);
    pthread_mutex_destroy(&b.lock);
}

void mail_server_stop(mail_server *ms)
{
    if (ms == NULL)
        return;
    /* Commit what was received, let the sessions hear the results, then
     * close the connections. */
    mail_committer_stop(ms->committer);
    if (ms->listening) {
        drain_loops(&ms->group);
        worker_group_stop(&ms->group);
    }
    mail_queue_stop(ms->queue);
    if (ms->counted)
        tn_metrics_remove_source(mail_metrics, ms); /* after the last count */
    if (ms->group_ready)
        worker_group_free(&ms->group);
    mail_committer_free(ms->committer);
    mail_queue_free(ms->queue);
    spool_close(ms->spool);
    for (size_t i = 0; i < ms->n_retired; i++) {
        mail_policy_free(ms->retired_policy[i]);
        topology_free(ms->retired_topo[i]);
    }
    mail_policy_free(ms->policy);
    topology_free(ms->topo);
    free(ms);
}

/* SIGHUP: read the topology file again and apply it. */
static void reload_file(mail_server *ms, const char *file)
{
    tn_err err;
    struct topology *topo = NULL;
    if (topology_load_server(file, ms->fqdn, &topo, &err) < 0 ||
        mail_server_reload(ms, topo, &err) < 0)
        tn_log(TN_LOG_ERROR, "smtp", "SIGHUP: configuration not reloaded: %s", err.msg);
    topology_free(topo);
}

int mail_server_run(struct topology *topo, const char *fqdn, tn_err *err)
{
    /* Before any thread starts, so only this one takes the signals. */
    sigset_t set;
    tn_signals_block(&set);
    mail_server *ms = mail_server_start(topo, fqdn, err);
    if (ms == NULL)
        return -1;
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP) {
            reload_file(ms, topo->file);
        } else if (sig == SIGTERM || sig == SIGINT) {
            tn_log(TN_LOG_INFO, "smtp", "%s: shutting down",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
    }
    mail_server_stop(ms);
    return 0;
}
