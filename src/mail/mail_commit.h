/*
 * mail_commit.h - the committer thread: received messages become durable
 * (spool_commit_many: data and envelope fdatasync'ed, renamed into the
 * queue, the queue directory fsync'ed) before the client hears 250.
 *
 * Event-loop workers never wait for the disk: they submit a job and go on
 * serving other connections; the committer takes every job waiting (a
 * group commit: one directory fsync for the whole batch, so many
 * concurrent sessions share the cost) and posts each result back to the
 * worker that submitted it, then hands the new message to the queue.
 */
#ifndef TN_MAIL_MAIL_COMMIT_H
#define TN_MAIL_MAIL_COMMIT_H

#include <stdint.h>

#include "common/err.h"
#include "mail/spool.h"
#include "net/evloop.h"

struct mail_commit_job;
struct mail_queue;

/* Runs on the submitting worker's loop once the job is done: id is the
 * queue id ("" when the commit failed, err says why).  Owns job. */
typedef void mail_commit_done_fn(struct mail_commit_job *job);

struct mail_commit_job {
    struct spool_writer *writer;      /* consumed by the commit */
    struct spool_envelope env;        /* strings owned by the submitter's ctx */
    ev_loop *loop;                    /* where done runs */
    mail_commit_done_fn *done;
    void *ctx;                        /* the submitter's */
    uint64_t conn_id;
    char id[SPOOL_ID_MAX];            /* result */
    tn_err err;                       /* result when id is "" */
    struct mail_commit_job *next;     /* the committer's list */
};

struct mail_committer;

struct mail_committer *mail_committer_start(spool *sp, struct mail_queue *queue, tn_err *err);
/* From any thread.  The job's done callback always runs, once. */
void mail_committer_submit(struct mail_committer *mc, struct mail_commit_job *job);
/* Commit what was submitted (results are posted to the submitters'
 * loops, which must still run: see mail_server_stop), then stop the
 * thread.  Jobs submitted from then on fail at once ("shutting down"). */
void mail_committer_stop(struct mail_committer *mc);
/* After every submitter has stopped. */
void mail_committer_free(struct mail_committer *mc);

#endif
