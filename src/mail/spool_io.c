/* spool_io.c - bounded, EINTR-safe file helpers of the spool, and moving
 * damaged files aside (see spool_internal.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"
#include "common/log.h"
#include "common/str.h"
#include "mail/spool_internal.h"

int spool_fsync(int fd)
{
    int rc;
    do {
        rc = fsync(fd);
    } while (rc < 0 && errno == EINTR);
    return rc;
}

void spool_own(const spool *s, int fd)
{
    if (geteuid() != 0 || s->owner_uid == 0)
        return;
    if (fchown(fd, s->owner_uid, s->owner_gid) < 0)
        tn_log(TN_LOG_WARN, "spool", "%s: cannot give a new file to uid %ld: %s", s->dir,
               (long)s->owner_uid, strerror(errno));
}

void spool_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int read_fd_small(int fd, const char *name, size_t max, char **out, size_t *len,
                         tn_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return tn_errf(err, "%s: %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tn_errf(err, "%s: not a regular file", name);
    if (st.st_size < 0 || (uint64_t)st.st_size > max)
        return tn_errf(err, "%s: %lld bytes, more than the limit of %zu", name,
                       (long long)st.st_size, max);
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return tn_errf(err, "%s: out of memory", name);
    if (tn_pread_all(fd, buf, n, 0) < 0) {
        tn_errf(err, "cannot read %s: %s", name, strerror(errno));
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int spool_read_small(int dirfd, const char *name, size_t max, char **out, size_t *len,
                     tn_err *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        return tn_errf(err, "cannot open %s: %s", name, strerror(errno));
    }
    int rc = read_fd_small(fd, name, max, out, len, err);
    close(fd);
    return rc;
}

int spool_rename_noreplace(int from_dir, const char *from, int to_dir, const char *to)
{
    if (renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* A file system without RENAME_NOREPLACE: link() never replaces. */
    if (linkat(from_dir, from, to_dir, to, 0) < 0)
        return -1;
    /* The file is at its new name now; an old name that stays behind is
     * a temporary file, removed at the next open. */
    unlinkat(from_dir, from, 0);
    return 0;
}

/* corrupt/<name><suffix>, or with ".1" ... ".99" appended when taken; a
 * foreign name is cut to 200 bytes so that the result fits NAME_MAX. */
static int move_to_corrupt(spool *s, int dirfd, const char *name, const char *suffix,
                           char *dest, size_t destlen)
{
    for (int i = 0; i < 100; i++) {
        int r = i == 0 ? tn_snprintf(dest, destlen, "%.200s%s", name, suffix)
                       : tn_snprintf(dest, destlen, "%.200s%s.%d", name, suffix, i);
        if (r < 0) {
            errno = ENAMETOOLONG;
            return -1;
        }
        /* A second damaged file of the same name must not erase the
         * evidence of the first. */
        if (spool_rename_noreplace(dirfd, name, s->corrupt_fd, dest) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

void spool_quarantine(spool *s, int dirfd, const char *where, const char *name,
                      const char *suffix, const char *problem)
{
    char dest[NAME_MAX + 1];
    if (!s->locked) {
        tn_log(TN_LOG_WARN, "spool", "%s/%s/%s: %s (left in place)", s->dir, where, name,
               problem);
        return;
    }
    if (move_to_corrupt(s, dirfd, name, suffix, dest, sizeof dest) < 0) {
        tn_log(TN_LOG_ERROR, "spool", "%s/%s/%s: %s; cannot move it to %s/: %s", s->dir, where,
               name, problem, SPOOL_CORRUPT, strerror(errno));
        return;
    }
    tn_log(TN_LOG_WARN, "spool", "%s/%s/%s: %s; moved to %s/%s", s->dir, where, name, problem,
           SPOOL_CORRUPT, dest);
}

static int names_add(struct spool_names *out, const char *name)
{
    if (tn_array_reserve((void **)&out->items, &out->cap, out->count + 1, sizeof *out->items) < 0)
        return -1;
    char *copy = strdup(name);
    if (copy == NULL)
        return -1;
    out->items[out->count++] = copy;
    return 0;
}

int spool_names_read(int dirfd, const char *where, struct spool_names *out, tn_err *err)
{
    memset(out, 0, sizeof *out);
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tn_errf(err, "cannot open %s/: %s", where, strerror(errno));
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return tn_errf(err, "cannot read %s/: %s", where, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (names_add(out, e->d_name) < 0) {
            rc = tn_errf(err, "cannot read %s/: out of memory", where);
            break;
        }
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = tn_errf(err, "cannot read %s/: %s", where, strerror(errno));
    closedir(d);
    if (rc < 0)
        spool_names_free(out);
    return rc;
}

void spool_names_free(struct spool_names *names)
{
    for (size_t i = 0; i < names->count; i++)
        free(names->items[i]);
    free(names->items);
    memset(names, 0, sizeof *names);
}
