/* spool_control.c - operator requests to a running server: empty files in
 * control/ whose name is the request ("flush", "delete.<ID>").  The
 * command creates one and waits for it to disappear; the server takes
 * (removes) it and acts.  A name says everything, so a request is whole
 * as soon as it exists, and posting the same request twice is harmless. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "mail/spool_internal.h"

#define FLUSH_NAME "flush"
#define DELETE_PREFIX "delete."
#define POLL_MS 20

static int request_name(const struct spool_request *req, char *name, size_t len, tn_err *err)
{
    if (req->kind == SPOOL_REQUEST_FLUSH)
        return tn_strlcpy(name, FLUSH_NAME, len) < 0 ? tn_errf(err, "name too long") : 0;
    if (req->kind != SPOOL_REQUEST_DELETE)
        return tn_errf(err, "unknown request %d", (int)req->kind);
    if (!spool_id_valid(req->id))
        return tn_errf(err, "bad message id '%s'", req->id);
    return tn_snprintf(name, len, DELETE_PREFIX "%s", req->id) < 0 ? tn_errf(err, "name too long")
                                                                   : 0;
}

/* ---- the server ---- */

static int parse_request(const char *name, struct spool_request *req)
{
    memset(req, 0, sizeof *req);
    if (strcmp(name, FLUSH_NAME) == 0) {
        req->kind = SPOOL_REQUEST_FLUSH;
        return 0;
    }
    size_t n = strlen(DELETE_PREFIX);
    if (strncmp(name, DELETE_PREFIX, n) == 0 && spool_id_valid(name + n)) {
        req->kind = SPOOL_REQUEST_DELETE;
        memcpy(req->id, name + n, SPOOL_ID_LEN + 1);
        return 0;
    }
    return -1;
}

int spool_take_requests(spool *s, struct spool_request *reqs, size_t max, size_t *n,
                        tn_err *err)
{
    struct spool_names names;
    *n = 0;
    if (spool_names_read(s->control_fd, SPOOL_CONTROL, &names, err) < 0)
        return -1;
    for (size_t i = 0; i < names.count && *n < max; i++) {
        const char *name = names.items[i];
        struct spool_request req;
        bool known = parse_request(name, &req) == 0;
        /* Taking is removing: whoever removes it (us, or a command that
         * gave up waiting) decides whether the request happens. */
        if (unlinkat(s->control_fd, name, 0) < 0) {
            if (errno != ENOENT)
                tn_log(TN_LOG_WARN, "spool", "%s/%s/%s: cannot remove it: %s", s->dir,
                       SPOOL_CONTROL, name, strerror(errno));
            continue;
        }
        if (known)
            reqs[(*n)++] = req;
        else
            tn_log(TN_LOG_WARN, "spool", "%s/%s/%s: not a request (flush, delete.<ID>); removed",
                   s->dir, SPOOL_CONTROL, name);
    }
    spool_names_free(&names);
    return 0;
}

/* ---- the operator command ---- */

static bool exists(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

int spool_post_request(spool *s, const struct spool_request *req, unsigned timeout_ms,
                       tn_err *err)
{
    char name[SPOOL_ID_MAX + 16];
    if (request_name(req, name, sizeof name, err) < 0)
        return -1;
    int fd = openat(s->control_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return tn_errf(err, "cannot post %s/%s/%s: %s", s->dir, SPOOL_CONTROL, name,
                       strerror(errno));
    spool_own(s, fd);
    close(fd);
    for (unsigned waited = 0; waited < timeout_ms; waited += POLL_MS) {
        if (!exists(s->control_fd, name))
            return 0;
        spool_sleep_ms(POLL_MS);
    }
    /* Withdraw it; if it is gone already, the server took it just now. */
    if (unlinkat(s->control_fd, name, 0) < 0 && errno == ENOENT)
        return 0;
    tn_errf(err, "the server did not take %s/%s/%s within %u ms (request withdrawn)", s->dir,
            SPOOL_CONTROL, name, timeout_ms);
    return 1;
}
