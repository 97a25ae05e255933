/* mail_commit.c - the committer thread (see mail_commit.h). */
#include "mail/mail_commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/str.h"
#include "common/thread_name.h"
#include "mail/mail_queue.h"

/* Commits per batch: bounds the arrays below; a busier moment simply
 * takes several batches. */
#define COMMIT_BATCH 64

struct mail_committer {
    spool *spool;
    struct mail_queue *queue;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct mail_commit_job *head, *tail; /* waiting, in order */
    bool stopping;                       /* no new jobs; drain and end */
};

static void run_done(ev_loop *loop, void *arg)
{
    struct mail_commit_job *job = arg;
    job->done(job);
}

/* Take up to COMMIT_BATCH jobs, waiting for the first; 0 when stopping
 * and nothing is left. */
static size_t take_batch(struct mail_committer *mc, struct mail_commit_job **jobs)
{
    size_t n = 0;
    pthread_mutex_lock(&mc->lock);
    while (mc->head == NULL && !mc->stopping)
        pthread_cond_wait(&mc->wake, &mc->lock);
    while (mc->head != NULL && n < COMMIT_BATCH) {
        jobs[n++] = mc->head;
        mc->head = mc->head->next;
    }
    if (mc->head == NULL)
        mc->tail = NULL;
    pthread_mutex_unlock(&mc->lock);
    return n;
}

static void commit_batch(struct mail_committer *mc, struct mail_commit_job **jobs, size_t n)
{
    struct spool_writer *writers[COMMIT_BATCH] = {0};
    const struct spool_envelope *envs[COMMIT_BATCH] = {0};
    char ids[COMMIT_BATCH][SPOOL_ID_MAX];
    tn_err errs[COMMIT_BATCH];
    for (size_t i = 0; i < n; i++) {
        writers[i] = jobs[i]->writer;
        envs[i] = &jobs[i]->env;
        jobs[i]->writer = NULL; /* consumed whatever happens */
    }
    spool_commit_many(mc->spool, writers, envs, n, ids, errs);
    for (size_t i = 0; i < n; i++) {
        struct mail_commit_job *job = jobs[i];
        tn_strlcpy(job->id, ids[i], sizeof job->id);
        job->err = errs[i];
        if (job->id[0] != '\0')
            mail_queue_add(mc->queue, job->id);
        else
            tn_log(TN_LOG_ERROR, "smtp", "message not queued: %s", job->err.msg);
        if (ev_post(job->loop, run_done, job) < 0)
            job->done(job); /* out of memory: answer from here rather than never */
    }
}

static void *committer_main(void *arg)
{
    struct mail_committer *mc = arg;
    tn_thread_name("mail-commit");
    struct mail_commit_job *jobs[COMMIT_BATCH];
    size_t n;
    while ((n = take_batch(mc, jobs)) > 0)
        commit_batch(mc, jobs, n);
    return NULL;
}

struct mail_committer *mail_committer_start(spool *sp, struct mail_queue *queue, tn_err *err)
{
    struct mail_committer *mc = calloc(1, sizeof *mc);
    if (mc == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    mc->spool = sp;
    mc->queue = queue;
    pthread_mutex_init(&mc->lock, NULL);
    pthread_cond_init(&mc->wake, NULL);
    if (pthread_create(&mc->thread, NULL, committer_main, mc) != 0) {
        pthread_cond_destroy(&mc->wake);
        pthread_mutex_destroy(&mc->lock);
        free(mc);
        tn_errf(err, "cannot start the committer thread");
        return NULL;
    }
    return mc;
}

void mail_committer_submit(struct mail_committer *mc, struct mail_commit_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&mc->lock);
    bool refused = mc->stopping;
    if (!refused) {
        if (mc->tail != NULL)
            mc->tail->next = job;
        else
            mc->head = job;
        mc->tail = job;
        pthread_cond_signal(&mc->wake);
    }
    pthread_mutex_unlock(&mc->lock);
    if (refused) {
        spool_abort(job->writer);
        job->writer = NULL;
        job->id[0] = '\0';
        tn_errf(&job->err, "the server is shutting down");
        job->done(job);
    }
}

void mail_committer_stop(struct mail_committer *mc)
{
    if (mc == NULL)
        return;
    pthread_mutex_lock(&mc->lock);
    mc->stopping = true;
    pthread_cond_signal(&mc->wake);
    pthread_mutex_unlock(&mc->lock);
    pthread_join(mc->thread, NULL);
}

void mail_committer_free(struct mail_committer *mc)
{
    if (mc == NULL)
        return;
    pthread_cond_destroy(&mc->wake);
    pthread_mutex_destroy(&mc->lock);
    free(mc);
}
