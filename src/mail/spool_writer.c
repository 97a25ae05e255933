/* spool_writer.c - receiving a message into incoming/ and committing it
 * into queue/ (see spool.h for the contract, docs/mail-queue.md for why).
 *
 * The order of a commit is what makes a 250 safe:
 *   1. data + envelope + trailer written to incoming/<tmp>
 *   2. fdatasync(file): the bytes and the file's size are on the disk
 *   3. rename into queue/<id>: the message appears whole or not at all
 *   4. fsync(queue/): the new name is on the disk
 * Only after 4 may the server answer 250.  A batch does 1 (and starts
 * the write-back) for every message before any 2, so that the first
 * journal commit of the file system carries the others' allocations
 * too, and 4 once for all. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/str.h"
#include "mail/spool_internal.h"

#define WRITE_BUF (64 * 1024)
#define ID_TRIES 8 /* fresh ids after a collision: one is always enough */

struct spool_writer {
    spool *s;
    int fd;
    bool failed;                /* a write failed: the commit must fail */
    char tmp[SPOOL_ID_MAX];     /* name in incoming/ */
    char id[SPOOL_ID_MAX];      /* name in queue/ */
    uint64_t size;              /* data bytes accepted */
    size_t used;                /* bytes in buf */
    char buf[WRITE_BUF];
};

/* ---- receiving ---- */

struct spool_writer *spool_begin(spool *s, tn_err *err)
{
    struct spool_writer *w = malloc(sizeof *w);
    if (w == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    w->s = s;
    w->failed = false;
    w->size = 0;
    w->used = 0;
    for (int i = 0; i < ID_TRIES; i++) {
        spool_id_next(s, w->id);
        w->fd = openat(s->incoming_fd, w->id,
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        tn_errf(err, "cannot create a file in %s/%s: %s", s->dir, SPOOL_INCOMING,
                strerror(errno));
        free(w);
        return NULL;
    }
    memcpy(w->tmp, w->id, SPOOL_ID_LEN + 1);
    return w;
}

const char *spool_writer_id(const struct spool_writer *w)
{
    return w->id;
}

uint64_t spool_writer_size(const struct spool_writer *w)
{
    return w->size;
}

static int fail(struct spool_writer *w, tn_err *err)
{
    w->failed = true;
    return tn_errf(err, "cannot write %s/%s/%s: %s", w->s->dir, SPOOL_INCOMING, w->tmp,
                   strerror(errno));
}

static int flush_buffer(struct spool_writer *w, tn_err *err)
{
    if (w->used > 0 && tn_write_all(w->fd, w->buf, w->used) < 0)
        return fail(w, err);
    w->used = 0;
    return 0;
}

int spool_write(struct spool_writer *w, const void *data, size_t len, tn_err *err)
{
    if (w->failed)
        return tn_errf(err, "message %s: an earlier write failed", w->id);
    if (len == 0)
        return 0;
    if (len > SPOOL_DATA_MAX - w->size) {
        w->failed = true;
        return tn_errf(err, "message %s: more than %llu bytes", w->id,
                       (unsigned long long)SPOOL_DATA_MAX);
    }
    w->size += len;
    if (len <= WRITE_BUF - w->used) {
        memcpy(w->buf + w->used, data, len);
        w->used += len;
        return 0;
    }
    if (flush_buffer(w, err) < 0)
        return -1;
    if (len >= WRITE_BUF)
        return tn_write_all(w->fd, data, len) < 0 ? fail(w, err) : 0;
    memcpy(w->buf, data, len);
    w->used = len;
    return 0;
}

/* Free a writer; its temporary file goes unless it was renamed. */
static void writer_free(struct spool_writer *w, bool remove_tmp)
{
    if (w->fd >= 0)
        close(w->fd);
    if (remove_tmp)
        unlinkat(w->s->incoming_fd, w->tmp, 0);
    free(w);
}

void spool_abort(struct spool_writer *w)
{
    if (w != NULL)
        writer_free(w, true);
}

/* ---- committing ---- */

/* Step 1: the buffered data, then the envelope and its trailer. */
static int finish(struct spool_writer *w, const struct spool_envelope *env, int64_t now,
                  tn_err *err)
{
    if (w->failed)
        return tn_errf(err, "message %s: an earlier write failed", w->id);
    if (env == NULL)
        return tn_errf(err, "message %s: no envelope", w->id);
    if (flush_buffer(w, err) < 0)
        return -1;
    char *text;
    size_t len;
    if (spool_envelope_encode(env, env->arrival > 0 ? env->arrival : now, w->size, &text, &len,
                              err) < 0)
        return -1;
    int rc = tn_write_all(w->fd, text, len) < 0 ? fail(w, err) : 0;
    free(text);
    /* Start the write-back now, for every message of the batch before any
     * fdatasync: the file system allocates all their blocks in the journal
     * transaction that the first fdatasync commits, and the others' flush
     * then has little left to wait for.  (Durability comes from fdatasync
     * alone; a failure here only loses the head start.) */
    if (rc == 0)
        sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return rc;
}

/* Step 2. */
static int sync_data(struct spool_writer *w, tn_err *err)
{
    int rc;
    do {
        rc = fdatasync(w->fd);
    } while (rc < 0 && errno == EINTR);
    /* Never retried on an I/O error: the kernel may have dropped the dirty
     * pages already, so a second fdatasync could succeed on lost data.
     * The message fails; the client gets 4xx and sends it again. */
    if (rc < 0)
        return tn_errf(err, "cannot sync %s/%s/%s: %s", w->s->dir, SPOOL_INCOMING, w->tmp,
                       strerror(errno));
    close(w->fd);
    w->fd = -1;
    return 0;
}

/* Step 3: never over an existing message (an id repeated after the clock
 * was set back): take a fresh id instead. */
static int rename_into_queue(struct spool_writer *w, tn_err *err)
{
    spool *s = w->s;
    for (int i = 0; i < ID_TRIES; i++) {
        if (spool_rename_noreplace(s->incoming_fd, w->tmp, s->queue_fd, w->id) == 0)
            return 0;
        if (errno != EEXIST)
            break;
        spool_id_next(s, w->id);
    }
    return tn_errf(err, "cannot move %s/%s/%s into %s/: %s", s->dir, SPOOL_INCOMING, w->tmp,
                   SPOOL_QUEUE, strerror(errno));
}

static bool ok(const tn_err *e)
{
    return e->msg[0] == '\0';
}

/* Step 4, once for the batch.  If it fails, the renamed messages are not
 * known to be durable: take them out again and fail them (the clients
 * send them again), rather than acknowledge what a crash could lose. */
static void sync_queue(spool *s, struct spool_writer **w, size_t n, tn_err *errs)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any |= ok(&errs[i]);
    if (!any || spool_fsync(s->queue_fd) == 0)
        return;
    int e = errno;
    for (size_t i = 0; i < n; i++) {
        if (!ok(&errs[i]))
            continue;
        unlinkat(s->queue_fd, w[i]->id, 0);
        tn_errf(&errs[i], "cannot sync %s/%s: %s", s->dir, SPOOL_QUEUE, strerror(e));
    }
}

int spool_commit_many(spool *s, struct spool_writer **w, const struct spool_envelope *const *env,
                      size_t n, char (*ids)[SPOOL_ID_MAX], tn_err *errs)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        ids[i][0] = '\0';
        errs[i].msg[0] = '\0';
        finish(w[i], env[i], now, &errs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (ok(&errs[i]))
            sync_data(w[i], &errs[i]);
    for (size_t i = 0; i < n; i++)
        if (ok(&errs[i]))
            rename_into_queue(w[i], &errs[i]);
    sync_queue(s, w, n, errs);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (ok(&errs[i]))
            memcpy(ids[i], w[i]->id, SPOOL_ID_LEN + 1);
        else
            rc = -1;
        /* A committed message's temporary name is gone with the rename; a
         * failed one's is removed here (rename failed or never tried). */
        writer_free(w[i], !ok(&errs[i]));
    }
    return rc;
}

int spool_commit(spool *s, struct spool_writer *w, const struct spool_envelope *env,
                 char id[SPOOL_ID_MAX], tn_err *err)
{
    char ids[1][SPOOL_ID_MAX];
    const struct spool_envelope *envs[1] = {env};
    int rc = spool_commit_many(s, &w, envs, 1, ids, err);
    tn_strlcpy(id, ids[0], SPOOL_ID_MAX);
    return rc;
}
