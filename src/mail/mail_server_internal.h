/*
 * mail_server_internal.h - state shared by the files of the mail role:
 * mail_server.c (life cycle), src/smtp/smtp_server.c (receiving),
 * mail_commit.c (durability before 250) and mail_queue.c (sending).
 */
#ifndef TN_MAIL_MAIL_SERVER_INTERNAL_H
#define TN_MAIL_MAIL_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "mail/mail_policy.h"
#include "mail/mail_server.h"
#include "mail/spool.h"
#include "net/worker.h"
#include "topology/topology.h"

struct mail_committer;
struct mail_queue;

#define MAIL_RETIRED_MAX 64

/* What the mail role did, for metrics (any thread adds). */
struct mail_stats {
    tn_counter accepted;        /* messages queued (250 after DATA) */
    tn_counter refused;         /* MAIL, RCPT or DATA refused by policy or syntax */
    tn_counter delivered;       /* recipients delivered */
    tn_counter deferred;        /* recipient attempts that failed for now */
    tn_counter bounced;         /* recipients given up (permanent error or expired) */
};

struct mail_server {
    char fqdn[256];
    struct topology *topo;    /* current: read with mail_server_policy() */
    mail_policy *policy;      /* built from topo; swapped whole on reload */
    /* Replaced ones: connections may still use them; freed at stop. */
    struct topology *retired_topo[MAIL_RETIRED_MAX];
    mail_policy *retired_policy[MAIL_RETIRED_MAX];
    size_t n_retired;
    spool *spool;
    struct mail_committer *committer;
    struct mail_queue *queue;
    struct worker_group group;
    bool group_ready, listening;
    struct conn_handler handler;
    unsigned max_rcpts;
    unsigned max_errors;      /* per session, then 421 */
    uint64_t data_timeout_ms;
    struct mail_stats stats;
    bool counted;             /* a metrics source */
};

/* The policy and topology in force now (a reload swaps them; the old
 * ones live on until the server stops). */
const mail_policy *mail_server_policy(const struct mail_server *ms);
const struct topology *mail_server_topology(const struct mail_server *ms);
/* The SIZE limit in force now (mail.max_message_bytes; SIGHUP changes it). */
uint64_t mail_server_max_message_bytes(const struct mail_server *ms);

#endif
