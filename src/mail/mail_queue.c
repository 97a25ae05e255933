/* mail_queue.c - the queue manager and its delivery threads (see mail_queue.h). */
#include "mail/mail_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "common/thread_name.h"
#include "mail/mail_deliver.h"
#include "mail/mail_server_internal.h"

#define DELIVERY_THREADS 8
#define CONTROL_POLL_MS 1000

/* One queued message in the schedule: a min-heap on due time. */
struct entry {
    char id[SPOOL_ID_MAX];
    int64_t due_ms;
};

struct mail_queue {
    struct mail_server *ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* delivery threads: something is due or added */
    struct entry *heap;
    size_t n, cap;
    /* Ids being delivered now: never twice at once, never deleted then. */
    char busy[DELIVERY_THREADS][SPOOL_ID_MAX];
    char delete_after[DELIVERY_THREADS][SPOOL_ID_MAX];
    pthread_t threads[DELIVERY_THREADS];
    unsigned n_threads;
    pthread_t control;
    bool control_started;
    pthread_cond_t stop;       /* the control thread's sleep */
    bool stopping;
};

/* --- the heap (under lock) ------------------------------------------------ */

static void heap_swap(struct entry *a, struct entry *b)
{
    struct entry t = *a;
    *a = *b;
    *b = t;
}

static void heap_up(struct mail_queue *q, size_t i)
{
    while (i > 0 && q->heap[(i - 1) / 2].due_ms > q->heap[i].due_ms) {
        heap_swap(&q->heap[(i - 1) / 2], &q->heap[i]);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct mail_queue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && q->heap[l].due_ms < q->heap[m].due_ms)
            m = l;
        if (r < q->n && q->heap[r].due_ms < q->heap[m].due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
}

static int heap_push(struct mail_queue *q, const char *id, int64_t due_ms)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct entry *grown = realloc(q->heap, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        q->heap = grown;
        q->cap = cap;
    }
    tn_strlcpy(q->heap[q->n].id, id, sizeof q->heap[q->n].id);
    q->heap[q->n].due_ms = due_ms;
    heap_up(q, q->n++);
    return 0;
}

static struct entry heap_pop(struct mail_queue *q)
{
    struct entry top = q->heap[0];
    q->heap[0] = q->heap[--q->n];
    heap_down(q, 0);
    return top;
}

static void schedule(struct mail_queue *q, const char *id, int64_t due_ms)
{
    pthread_mutex_lock(&q->lock);
    if (heap_push(q, id, due_ms) < 0)
        tn_log(TN_LOG_ERROR, "queue", "%s: out of memory: delivered after a restart", id);
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

void mail_queue_add(struct mail_queue *q, const char *id)
{
    schedule(q, id, 0);
}

void mail_queue_flush(struct mail_queue *q)
{
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < q->n; i++)
        q->heap[i].due_ms = 0;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

/* --- delivery threads -------------------------------------------------------- */

static bool is_busy(struct mail_queue *q, const char *id)
{
    for (unsigned i = 0; i < q->n_threads; i++)
        if (strcmp(q->busy[i], id) == 0)
            return true;
    return false;
}

/* Wait for a due message that no other thread has; false when stopping. */
static bool take_due(struct mail_queue *q, unsigned self, struct entry *out,
                     struct mail_deliverer *d)
{
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->stopping) {
            pthread_mutex_unlock(&q->lock);
            return false;
        }
        int64_t now = tn_wall_ms();
        if (q->n > 0 && q->heap[0].due_ms <= now) {
            *out = heap_pop(q);
            if (is_busy(q, out->id))
                continue; /* a duplicate entry: the running delivery reschedules */
            tn_strlcpy(q->busy[self], out->id, sizeof q->busy[self]);
            pthread_mutex_unlock(&q->lock);
            return true;
        }
        /* Sleep until the next due time, but wake to close idle sessions. */
        int64_t wait = q->n > 0 ? q->heap[0].due_ms - now : MAIL_SESSION_IDLE_MS;
        if (wait > MAIL_SESSION_IDLE_MS)
            wait = MAIL_SESSION_IDLE_MS;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait / 1000;
        until.tv_nsec += (wait % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        int rc = pthread_cond_timedwait(&q->wake, &q->lock, &until);
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&q->lock);
            mail_deliverer_close_idle(d);
            pthread_mutex_lock(&q->lock);
        }
    }
}

/* The delivery is over: reschedule (due_ms > 0) or forget; a deletion
 * asked for meanwhile happens now. */
static void finish(struct mail_queue *q, unsigned self, const char *id, int64_t due_ms)
{
    pthread_mutex_lock(&q->lock);
    bool delete = strcmp(q->delete_after[self], id) == 0;
    q->busy[self][0] = '\0';
    q->delete_after[self][0] = '\0';
    if (!delete && due_ms > 0 && heap_push(q, id, due_ms) < 0)
        tn_log(TN_LOG_ERROR, "queue", "%s: out of memory: retried after a restart", id);
    pthread_mutex_unlock(&q->lock);
    if (delete) {
        tn_err err;
        if (spool_remove(q->ms->spool, id, &err) < 0)
            tn_log(TN_LOG_ERROR, "queue", "%s: cannot delete: %s", id, err.msg);
        else
            tn_log(TN_LOG_INFO, "queue", "%s: deleted by the operator", id);
    }
}

struct thread_arg {
    struct mail_queue *q;
    unsigned index;
};

static void *delivery_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct mail_queue *q = ta->q;
    unsigned self = ta->index;
    free(ta);
    tn_thread_name("mail-send%u", self);
    struct mail_deliverer *d = mail_deliverer_new(q->ms);
    if (d == NULL) {
        tn_log(TN_LOG_ERROR, "queue", "delivery thread %u: out of memory", self);
        return NULL;
    }
    struct entry e;
    while (take_due(q, self, &e, d)) {
        int64_t next = mail_deliver_message(d, e.id);
        finish(q, self, e.id, next);
    }
    mail_deliverer_free(d);
    return NULL;
}

/* --- operator requests ------------------------------------------------------- */

static void delete_message(struct mail_queue *q, const char *id)
{
    pthread_mutex_lock(&q->lock);
    for (unsigned i = 0; i < q->n_threads; i++)
        if (strcmp(q->busy[i], id) == 0) {
            /* Being delivered: deleted once that attempt ends. */
            tn_strlcpy(q->delete_after[i], id, sizeof q->delete_after[i]);
            pthread_mutex_unlock(&q->lock);
            return;
        }
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->heap[i].id, id) == 0) {
            q->heap[i] = q->heap[--q->n];
            heap_down(q, i);
            heap_up(q, i < q->n ? i : 0);
            break;
        }
    pthread_mutex_unlock(&q->lock);
    tn_err err;
    int rc = spool_remove(q->ms->spool, id, &err);
    if (rc < 0)
        tn_log(TN_LOG_ERROR, "queue", "%s: cannot delete: %s", id, err.msg);
    else
        tn_log(TN_LOG_INFO, "queue", "%s: %s", id,
               rc == 0 ? "deleted by the operator" : "delete: no such message");
}

static bool wait_stopping(struct mail_queue *q, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    pthread_mutex_lock(&q->lock);
    while (!q->stopping && pthread_cond_timedwait(&q->stop, &q->lock, &until) != ETIMEDOUT)
        ;
    bool stopping = q->stopping;
    pthread_mutex_unlock(&q->lock);
    return stopping;
}

static void *control_main(void *arg)
{
    struct mail_queue *q = arg;
    tn_thread_name("mail-queue");
    while (!wait_stopping(q, CONTROL_POLL_MS)) {
        struct spool_request reqs[32];
        size_t n = 0;
        tn_err err;
        if (spool_take_requests(q->ms->spool, reqs, 32, &n, &err) < 0) {
            tn_log(TN_LOG_ERROR, "queue", "operator requests: %s", err.msg);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (reqs[i].kind == SPOOL_REQUEST_FLUSH) {
                tn_log(TN_LOG_INFO, "queue", "flush requested by the operator");
                mail_queue_flush(q);
            } else {
                delete_message(q, reqs[i].id);
            }
        }
    }
    return NULL;
}

/* --- start and stop -------------------------------------------------------- */

static int schedule_found(const struct spool_message *m, void *ctx)
{
    struct mail_queue *q = ctx;
    int64_t due = m->state.next_attempt * 1000;
    if (heap_push(q, m->id, due) < 0)
        return -1;
    return 0;
}

static int start_threads(struct mail_queue *q, tn_err *err)
{
    for (unsigned i = 0; i < DELIVERY_THREADS; i++) {
        struct thread_arg *ta = malloc(sizeof *ta);
        if (ta == NULL)
            return tn_errf(err, "out of memory");
        *ta = (struct thread_arg){.q = q, .index = i};
        if (pthread_create(&q->threads[i], NULL, delivery_main, ta) != 0) {
            free(ta);
            return tn_errf(err, "cannot start delivery threads");
        }
        q->n_threads++;
    }
    if (pthread_create(&q->control, NULL, control_main, q) != 0)
        return tn_errf(err, "cannot start the queue's control thread");
    q->control_started = true;
    return 0;
}

struct mail_queue *mail_queue_start(struct mail_server *ms, tn_err *err)
{
    struct mail_queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    q->ms = ms;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    pthread_cond_init(&q->stop, NULL);
    size_t damaged = 0;
    if (spool_scan(ms->spool, schedule_found, q, &damaged, err) < 0) {
        mail_queue_stop(q);
        return NULL;
    }
    tn_log(TN_LOG_INFO, "queue", "%zu messages in the queue%s", q->n,
           damaged ? " (damaged files moved to corrupt/: see above)" : "");
    if (start_threads(q, err) < 0) {
        mail_queue_stop(q);
        return NULL;
    }
    return q;
}

void mail_queue_stop(struct mail_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_cond_broadcast(&q->stop);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    if (q->control_started)
        pthread_join(q->control, NULL);
    q->n_threads = 0;
    q->control_started = false;
}

void mail_queue_free(struct mail_queue *q)
{
    if (q == NULL)
        return;
    pthread_cond_destroy(&q->wake);
    pthread_cond_destroy(&q->stop);
    pthread_mutex_destroy(&q->lock);
    free(q->heap);
    free(q);
}

size_t mail_queue_size(struct mail_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n;
    for (unsigned i = 0; i < DELIVERY_THREADS; i++)
        n += q->busy[i][0] != '\0';
    pthread_mutex_unlock(&q->lock);
    return n;
}
