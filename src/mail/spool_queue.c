/* spool_queue.c - the queue manager's side: scanning, loading, reading the
 * data of, and removing committed messages (see spool.h).
 *
 * Everything read from queue/ and state/ is checked before it is used: a
 * queue file must end with a well-formed trailer whose lengths add up to
 * the file's size, its envelope must match the trailer's checksum and
 * parse within the limits of spool.h.  Anything else is damaged. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/str.h"
#include "mail/spool_internal.h"

enum load_result { LOAD_OK, LOAD_MISSING, LOAD_DAMAGED, LOAD_ERROR };

void spool_message_free(struct spool_message *m)
{
    if (m == NULL)
        return;
    free(m->rcpts);
    free(m->state.rcpts);
    free(m->text);
    free(m);
}

/* ---- reading a queue file ---- */

/* Open queue/<id> for reading.  LOAD_OK and *fd, or why not. */
static enum load_result open_queue_file(spool *s, const char *id, int *fd, tn_err *err)
{
    /* O_NONBLOCK: a FIFO planted in the queue must not hang the open. */
    *fd = openat(s->queue_fd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (*fd >= 0)
        return LOAD_OK;
    if (errno == ENOENT)
        return LOAD_MISSING;
    if (errno == ELOOP) {
        tn_errf(err, "a symbolic link, not a queue file");
        return LOAD_DAMAGED;
    }
    tn_errf(err, "cannot open: %s", strerror(errno));
    return LOAD_ERROR;
}

/* The trailer of the open queue file, checked against its size. */
static enum load_result read_trailer(int fd, struct spool_trailer *t, tn_err *err)
{
    struct stat st;
    char buf[SPOOL_TRAILER_LEN];
    if (fstat(fd, &st) < 0) {
        tn_errf(err, "cannot stat: %s", strerror(errno));
        return LOAD_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        tn_errf(err, "not a regular file");
        return LOAD_DAMAGED;
    }
    if (st.st_size < SPOOL_TRAILER_LEN) {
        tn_errf(err, "%lld bytes: too short for a queue file", (long long)st.st_size);
        return LOAD_DAMAGED;
    }
    if (tn_pread_all(fd, buf, sizeof buf, st.st_size - SPOOL_TRAILER_LEN) < 0) {
        tn_errf(err, "cannot read: %s", strerror(errno));
        return LOAD_ERROR;
    }
    if (spool_trailer_parse(buf, t, err) < 0 ||
        spool_trailer_check(t, (uint64_t)st.st_size, err) < 0)
        return LOAD_DAMAGED;
    return LOAD_OK;
}

static enum load_result read_envelope(int fd, struct spool_message *m, tn_err *err)
{
    struct spool_trailer t;
    enum load_result r = read_trailer(fd, &t, err);
    if (r != LOAD_OK)
        return r;
    if ((m->text = malloc(t.env_len + 1)) == NULL) {
        tn_errf(err, "out of memory");
        return LOAD_ERROR;
    }
    if (tn_pread_all(fd, m->text, t.env_len, (off_t)t.data_len) < 0) {
        tn_errf(err, "cannot read: %s", strerror(errno));
        return LOAD_ERROR;
    }
    m->text[t.env_len] = '\0';
    if (tn_fnv1a64(TN_FNV1A64_INIT, m->text, t.env_len) != t.env_hash) {
        tn_errf(err, "the envelope does not match its checksum");
        return LOAD_DAMAGED;
    }
    if (spool_envelope_parse(m, t.env_len, err) < 0)
        return LOAD_DAMAGED;
    if (m->size != t.data_len) {
        tn_errf(err, "the envelope says %" PRIu64 " bytes of data, the trailer %" PRIu64,
                m->size, t.data_len);
        return LOAD_DAMAGED;
    }
    return LOAD_OK;
}

/* ---- the state ---- */

/* The message's state; a missing one is the initial state, a damaged
 * one is reported, moved aside and replaced by the initial state: every
 * recipient not yet known delivered is delivered (again). */
static int load_state(spool *s, struct spool_message *m, tn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    tn_err why;
    int r = spool_read_small(s->state_fd, m->id, SPOOL_STATE_FILE_MAX, &text, &len, &why);
    if (r == 1)
        return spool_state_init(&m->state, m->n_rcpts, err);
    if (r == 0 && spool_state_parse(text, len, m->n_rcpts, &m->state, &why) == 0) {
        free(text);
        return 0;
    }
    free(text);
    char problem[TN_ERR_MAX + 64];
    tn_snprintf(problem, sizeof problem, "%s; all recipients not known to be delivered are "
                "pending again", why.msg);
    spool_quarantine(s, s->state_fd, SPOOL_STATE, m->id, ".state", problem);
    return spool_state_init(&m->state, m->n_rcpts, err);
}

/* ---- loading ---- */

/* A damaged message goes to corrupt/ with its state file. */
static void quarantine_message(spool *s, const char *id, const char *problem)
{
    struct stat st;
    spool_quarantine(s, s->queue_fd, SPOOL_QUEUE, id, "", problem);
    if (s->locked && fstatat(s->state_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
        spool_quarantine(s, s->state_fd, SPOOL_STATE, id, ".state",
                         "the state of a damaged message");
}

static enum load_result load(spool *s, const char *id, struct spool_message **out, tn_err *err)
{
    struct spool_message *m = calloc(1, sizeof *m);
    if (m == NULL) {
        tn_errf(err, "out of memory");
        return LOAD_ERROR;
    }
    memcpy(m->id, id, SPOOL_ID_LEN + 1);
    int fd;
    tn_err why;
    enum load_result r = open_queue_file(s, id, &fd, &why);
    if (r == LOAD_OK) {
        r = read_envelope(fd, m, &why);
        close(fd);
    }
    if (r == LOAD_OK && load_state(s, m, &why) < 0)
        r = LOAD_ERROR;
    if (r == LOAD_OK) {
        *out = m;
        return r;
    }
    spool_message_free(m);
    if (r == LOAD_MISSING) {
        tn_errf(err, "no message %s in %s/%s", id, s->dir, SPOOL_QUEUE);
        return r;
    }
    if (r == LOAD_DAMAGED)
        quarantine_message(s, id, why.msg);
    tn_errf(err, "%s/%s/%s: %s", s->dir, SPOOL_QUEUE, id, why.msg);
    return r;
}

int spool_load(spool *s, const char *id, struct spool_message **out, tn_err *err)
{
    if (!spool_id_valid(id))
        return tn_errf(err, "bad message id '%s'", id != NULL ? id : "");
    enum load_result r = load(s, id, out, err);
    return r == LOAD_OK ? 0 : r == LOAD_MISSING ? 1 : -1;
}

/* ---- scanning ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_scan(spool *s, spool_scan_cb cb, void *ctx, size_t *damaged, tn_err *err)
{
    struct spool_names names;
    size_t bad = 0;
    if (spool_names_read(s->queue_fd, SPOOL_QUEUE, &names, err) < 0)
        return -1;
    /* Ids begin with their time: name order is arrival order. */
    if (names.count > 1) /* an empty queue may have no array at all */
        qsort(names.items, names.count, sizeof *names.items, by_name);
    for (size_t i = 0; i < names.count; i++) {
        const char *name = names.items[i];
        if (!spool_id_valid(name)) {
            spool_quarantine(s, s->queue_fd, SPOOL_QUEUE, name, "", "not a queue file name");
            bad++;
            continue;
        }
        struct spool_message *m;
        tn_err why;
        enum load_result r = load(s, name, &m, &why);
        if (r == LOAD_ERROR)
            tn_log(TN_LOG_ERROR, "spool", "%s", why.msg);
        if (r == LOAD_DAMAGED || r == LOAD_ERROR)
            bad++;
        if (r != LOAD_OK)
            continue; /* LOAD_MISSING: delivered while we looked */
        int stop = cb(m, ctx);
        spool_message_free(m);
        if (stop != 0)
            break;
    }
    spool_names_free(&names);
    if (damaged != NULL)
        *damaged = bad;
    return 0;
}

/* ---- data ---- */

int spool_open_data(spool *s, const char *id, struct spool_data *out, tn_err *err)
{
    out->fd = -1;
    if (!spool_id_valid(id))
        return tn_errf(err, "bad message id '%s'", id != NULL ? id : "");
    int fd;
    tn_err why;
    struct spool_trailer t;
    enum load_result r = open_queue_file(s, id, &fd, &why);
    if (r == LOAD_MISSING) {
        tn_errf(err, "no message %s in %s/%s", id, s->dir, SPOOL_QUEUE);
        return 1;
    }
    if (r == LOAD_OK && (r = read_trailer(fd, &t, &why)) != LOAD_OK)
        close(fd);
    if (r != LOAD_OK) {
        if (r == LOAD_DAMAGED)
            quarantine_message(s, id, why.msg);
        return tn_errf(err, "%s/%s/%s: %s", s->dir, SPOOL_QUEUE, id, why.msg);
    }
    out->fd = fd;
    out->offset = 0;
    out->length = t.data_len;
    return 0;
}

void spool_data_close(struct spool_data *d)
{
    if (d != NULL && d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
}

/* ---- removing ---- */

int spool_remove(spool *s, const char *id, tn_err *err)
{
    if (!spool_id_valid(id))
        return tn_errf(err, "bad message id '%s'", id);
    int rc = 0;
    /* The queue file first: a crash between the two leaves a state file
     * without its message, which the next open removes. */
    if (unlinkat(s->queue_fd, id, 0) < 0) {
        if (errno != ENOENT)
            return tn_errf(err, "cannot remove %s/%s/%s: %s", s->dir, SPOOL_QUEUE, id,
                           strerror(errno));
        rc = 1;
    }
    if (unlinkat(s->state_fd, id, 0) < 0 && errno != ENOENT && rc == 0)
        tn_log(TN_LOG_WARN, "spool", "cannot remove %s/%s/%s: %s", s->dir, SPOOL_STATE, id,
               strerror(errno));
    return rc;
}
