/* spool.c - opening a spool: its layout, the server's lock, and the
 * clean-up of what a crash left behind (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "mail/spool_internal.h"

#define LOCK_FILE "lock"
#define LOCK_WAIT_MS 1000 /* a command holds the lock for milliseconds */

/* ---- the layout ---- */

/* Create the missing parents of dir like mkdir -p (the umask applies: they
 * are not ours), then dir itself with mode 0700.  *created: dir was new. */
static int make_root(const char *dir, bool *created, tn_err *err)
{
    char path[PATH_MAX];
    if (tn_strlcpy(path, dir, sizeof path) < 0)
        return tn_errf(err, "spool path too long: %s", dir);
    for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
            return tn_errf(err, "cannot create directory %s: %s", path, strerror(errno));
        *p = '/';
    }
    *created = mkdir(dir, 0700) == 0;
    if (!*created && errno != EEXIST)
        return tn_errf(err, "cannot create spool directory %s: %s", dir, strerror(errno));
    return 0;
}

/* fsync the directory that holds dir, so that a new spool directory
 * survives a power loss along with the first message committed in it. */
static int sync_parent(const char *dir, tn_err *err)
{
    char parent[PATH_MAX];
    if (tn_snprintf(parent, sizeof parent, "%s/..", dir) < 0)
        return tn_errf(err, "spool path too long: %s", dir);
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tn_errf(err, "cannot open %s: %s", parent, strerror(errno));
    int rc = spool_fsync(fd) < 0 ? tn_errf(err, "cannot sync %s: %s", parent, strerror(errno))
                                 : 0;
    close(fd);
    return rc;
}

static int open_subdir(spool *s, const char *name, bool create, bool *created, int *out,
                       tn_err *err)
{
    if (create) {
        if (mkdirat(s->root_fd, name, 0700) == 0)
            *created = true;
        else if (errno != EEXIST)
            return tn_errf(err, "cannot create %s/%s: %s", s->dir, name, strerror(errno));
    }
    *out = openat(s->root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (*out >= 0)
        return 0;
    if (errno == ENOENT)
        return tn_errf(err, "%s is not a trustnet spool: %s/ is missing", s->dir, name);
    if (errno == ENOTDIR || errno == ELOOP)
        return tn_errf(err, "%s/%s is not a directory", s->dir, name);
    return tn_errf(err, "cannot open %s/%s: %s", s->dir, name, strerror(errno));
}

static void warn_if_shared(const spool *s, const struct stat *st)
{
    if ((st->st_mode & 077) != 0)
        tn_log(TN_LOG_WARN, "spool", "%s has mode %04o: other users may read queued mail "
               "(chmod 0700 it)", s->dir, (unsigned)(st->st_mode & 07777));
}

static int open_layout(spool *s, bool create, tn_err *err)
{
    bool root_created = false, created = false;
    if (create && make_root(s->dir, &root_created, err) < 0)
        return -1;
    s->root_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        if (errno == ENOENT)
            return tn_errf(err, "no spool at %s (the mail server creates it at its first start)",
                           s->dir);
        return tn_errf(err, "cannot open spool %s: %s", s->dir, strerror(errno));
    }
    if (open_subdir(s, SPOOL_INCOMING, create, &created, &s->incoming_fd, err) < 0 ||
        open_subdir(s, SPOOL_QUEUE, create, &created, &s->queue_fd, err) < 0 ||
        open_subdir(s, SPOOL_STATE, create, &created, &s->state_fd, err) < 0 ||
        open_subdir(s, SPOOL_CONTROL, create, &created, &s->control_fd, err) < 0 ||
        open_subdir(s, SPOOL_CORRUPT, create, &created, &s->corrupt_fd, err) < 0)
        return -1;
    /* A queue/ directory that a power loss could take away would take the
     * acknowledged messages in it along. */
    if (created && spool_fsync(s->root_fd) < 0)
        return tn_errf(err, "cannot sync %s: %s", s->dir, strerror(errno));
    if (root_created && sync_parent(s->dir, err) < 0)
        return -1;
    struct stat st;
    if (fstat(s->root_fd, &st) < 0)
        return tn_errf(err, "cannot stat %s: %s", s->dir, strerror(errno));
    s->owner_uid = st.st_uid;
    s->owner_gid = st.st_gid;
    if (create)
        warn_if_shared(s, &st);
    return 0;
}

/* ---- the lock ---- */

/* The pid the holder wrote into the lock file; 0 when unknown. */
static long read_holder(int fd)
{
    char buf[32];
    ssize_t n;
    do {
        n = pread(fd, buf, sizeof buf - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return (end != buf && (*end == '\n' || *end == '\0') && pid > 0) ? pid : 0;
}

/* The pid is for the operator's messages only: not synced. */
static void write_holder(int fd)
{
    char buf[32];
    if (ftruncate(fd, 0) < 0 || tn_snprintf(buf, sizeof buf, "%ld\n", (long)getpid()) < 0)
        return;
    if (pwrite(fd, buf, strlen(buf), 0) < 0)
        tn_log(TN_LOG_DEBUG, "spool", "cannot write the pid into the lock file: %s",
               strerror(errno));
}

int spool_lock_try(spool *s, long *holder, tn_err *err)
{
    if (s->locked)
        return 1;
    if (s->lock_fd < 0) {
        s->lock_fd = openat(s->root_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
            return tn_errf(err, "cannot open %s/%s: %s", s->dir, LOCK_FILE, strerror(errno));
        spool_own(s, s->lock_fd);
    }
    int rc;
    do {
        rc = flock(s->lock_fd, LOCK_EX | LOCK_NB);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EWOULDBLOCK) {
        if (holder != NULL)
            *holder = read_holder(s->lock_fd);
        return 0;
    }
    if (rc < 0)
        return tn_errf(err, "cannot lock %s/%s: %s", s->dir, LOCK_FILE, strerror(errno));
    s->locked = true;
    write_holder(s->lock_fd);
    return 1;
}

bool spool_locked(const spool *s)
{
    return s->locked;
}

static int lock_for_server(spool *s, tn_err *err)
{
    long holder = 0;
    for (unsigned waited = 0;; waited += 20) {
        int r = spool_lock_try(s, &holder, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
        if (waited >= LOCK_WAIT_MS)
            break;
        spool_sleep_ms(20);
    }
    if (holder > 0)
        return tn_errf(err, "spool %s is in use by another process (pid %ld): one server per "
                       "spool", s->dir, holder);
    return tn_errf(err, "spool %s is in use by another process: one server per spool", s->dir);
}

/* ---- clean-up after a crash (lock holder only) ---- */

/* Files in incoming/ were never acknowledged: the client got no 250 for
 * them and sends them again. */
static int clean_incoming(spool *s, tn_err *err)
{
    struct spool_names names;
    if (spool_names_read(s->incoming_fd, SPOOL_INCOMING, &names, err) < 0)
        return -1;
    size_t removed = 0;
    for (size_t i = 0; i < names.count; i++) {
        if (unlinkat(s->incoming_fd, names.items[i], 0) == 0)
            removed++;
        else
            tn_log(TN_LOG_WARN, "spool", "%s/%s/%s: cannot remove it: %s", s->dir,
                   SPOOL_INCOMING, names.items[i], strerror(errno));
    }
    if (removed > 0)
        tn_log(TN_LOG_INFO, "spool", "%s: removed %zu unfinished message(s) from %s/ (never "
               "acknowledged)", s->dir, removed, SPOOL_INCOMING);
    spool_names_free(&names);
    return 0;
}

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix);
    return n > m && strcmp(name + n - m, suffix) == 0;
}

/* A temporary state file is an update that never happened; a state file
 * without its message is what a crash inside spool_remove leaves. */
static void clean_state_entry(spool *s, const char *name)
{
    struct stat st;
    if (has_suffix(name, ".tmp")) {
        unlinkat(s->state_fd, name, 0);
    } else if (!spool_id_valid(name)) {
        spool_quarantine(s, s->state_fd, SPOOL_STATE, name, ".state", "not a state file name");
    } else if (fstatat(s->queue_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
        unlinkat(s->state_fd, name, 0);
    }
}

static int clean_state(spool *s, tn_err *err)
{
    struct spool_names names;
    if (spool_names_read(s->state_fd, SPOOL_STATE, &names, err) < 0)
        return -1;
    for (size_t i = 0; i < names.count; i++)
        clean_state_entry(s, names.items[i]);
    spool_names_free(&names);
    return 0;
}

/* ---- open and close ---- */

static spool *spool_new(const char *dir, tn_err *err)
{
    if (dir == NULL || dir[0] == '\0') {
        tn_errf(err, "no spool directory given");
        return NULL;
    }
    spool *s = calloc(1, sizeof *s);
    if (s == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    s->root_fd = s->incoming_fd = s->queue_fd = s->state_fd = -1;
    s->control_fd = s->corrupt_fd = s->lock_fd = -1;
    s->pid = (long)getpid();
    atomic_init(&s->last_id_us, 0);
    if (tn_strlcpy(s->dir, dir, sizeof s->dir) < 0) {
        tn_errf(err, "spool path too long: %s", dir);
        free(s);
        return NULL;
    }
    return s;
}

spool *spool_open(const char *dir, bool server, tn_err *err)
{
    spool *s = spool_new(dir, err);
    if (s == NULL)
        return NULL;
    if (open_layout(s, server, err) < 0 ||
        (server && (lock_for_server(s, err) < 0 || clean_incoming(s, err) < 0 ||
                    clean_state(s, err) < 0))) {
        spool_close(s);
        return NULL;
    }
    return s;
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

void spool_close(spool *s)
{
    if (s == NULL)
        return;
    close_fd(s->lock_fd); /* releases the flock */
    close_fd(s->incoming_fd);
    close_fd(s->queue_fd);
    close_fd(s->state_fd);
    close_fd(s->control_fd);
    close_fd(s->corrupt_fd);
    close_fd(s->root_fd);
    free(s);
}

const char *spool_dir(const spool *s)
{
    return s->dir;
}
