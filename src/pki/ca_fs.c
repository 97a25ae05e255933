/* ca_fs.c - exclusive, atomic and bounded file operations (see ca_fs.h). */
#include "pki/ca_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"

int ca_fs_path(char *buf, size_t len, const char *dir, const char *name, tn_err *err)
{
    if (tn_snprintf(buf, len, "%s/%s", dir, name) < 0)
        return tn_errf(err, "path too long: %s/%s", dir, name);
    return 0;
}

bool ca_fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Create the missing parents of dir, like mkdir -p (umask applies). */
static int make_parents(const char *dir, tn_err *err)
{
    char path[PATH_MAX];
    if (tn_strlcpy(path, dir, sizeof path) < 0)
        return tn_errf(err, "path too long: %s", dir);
    for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
            return tn_errf(err, "cannot create directory %s: %s", path, strerror(errno));
        *p = '/';
    }
    return 0;
}

int ca_fs_make_private_dir(const char *dir, tn_err *err)
{
    if (make_parents(dir, err) < 0)
        return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return tn_errf(err, "cannot create directory %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) < 0)
        return tn_errf(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tn_errf(err, "%s exists and is not a directory", dir);
    return 0;
}

int ca_fs_create_excl(const char *path, mode_t mode, tn_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return tn_errf(err, "%s already exists: refusing to overwrite it", path);
        return tn_errf(err, "cannot create %s: %s", path, strerror(errno));
    }
    /* The umask may only remove bits; make sure a key is never wider. */
    if (fchmod(fd, mode) < 0) {
        tn_errf(err, "cannot set mode of %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

int ca_fs_write_fd(int fd, const char *path, const void *data, size_t len, tn_err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tn_errf(err, "cannot write %s: %s", path,
                           n < 0 ? strerror(errno) : "short write");
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0)
        return tn_errf(err, "cannot sync %s: %s", path, strerror(errno));
    return 0;
}

int ca_fs_write_new(const char *path, mode_t mode, const void *data, size_t len,
                    tn_err *err)
{
    int fd = ca_fs_create_excl(path, mode, err);
    if (fd < 0)
        return -1;
    int rc = ca_fs_write_fd(fd, path, data, len, err);
    if (close(fd) < 0 && rc == 0)
        rc = tn_errf(err, "cannot close %s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(path);
    return rc;
}

/* fsync the directory holding path, so that a rename survives a crash. */
static int sync_parent_dir(const char *path, tn_err *err)
{
    char copy[PATH_MAX];
    if (tn_strlcpy(copy, path, sizeof copy) < 0)
        return tn_errf(err, "path too long: %s", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tn_errf(err, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd) < 0 ? tn_errf(err, "cannot sync %s: %s", dir, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int ca_fs_replace(const char *path, mode_t mode, const void *data, size_t len,
                  tn_err *err)
{
    char tmp[PATH_MAX];
    if (tn_snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) < 0)
        return tn_errf(err, "path too long: %s", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return tn_errf(err, "cannot create a temporary file for %s: %s", path,
                       strerror(errno));
    int rc = 0;
    if (fchmod(fd, mode) < 0)
        rc = tn_errf(err, "cannot set mode of %s: %s", tmp, strerror(errno));
    if (rc == 0)
        rc = ca_fs_write_fd(fd, tmp, data, len, err);
    if (close(fd) < 0 && rc == 0)
        rc = tn_errf(err, "cannot close %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) < 0)
        rc = tn_errf(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    return sync_parent_dir(path, err);
}

static int read_fd_bounded(int fd, const char *path, size_t max, char **data,
                           size_t *len, tn_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return tn_errf(err, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tn_errf(err, "%s: not a regular file", path);
    if (st.st_size < 0 || (unsigned long long)st.st_size > max)
        return tn_errf(err, "%s: too large (%lld bytes, limit %zu)", path,
                       (long long)st.st_size, max);
    size_t want = (size_t)st.st_size, got = 0;
    char *buf = malloc(want + 1);
    if (buf == NULL)
        return tn_errf(err, "%s: out of memory", path);
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != want) {
        free(buf);
        return tn_errf(err, "%s: short read", path);
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

int ca_fs_read(const char *path, size_t max, char **data, size_t *len, tn_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return tn_errf(err, "cannot read %s: %s", path, strerror(errno));
    int rc = read_fd_bounded(fd, path, max, data, len, err);
    close(fd);
    return rc;
}

int ca_fs_lock_dir(const char *dir, bool exclusive, tn_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tn_errf(err, "cannot open CA directory %s: %s", dir, strerror(errno));
    int rc;
    do {
        rc = flock(fd, exclusive ? LOCK_EX : LOCK_SH);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        tn_errf(err, "cannot lock %s: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void ca_fs_unlock_dir(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the descriptor releases the flock */
}
