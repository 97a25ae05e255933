/*
 * fdio.h - whole reads and writes on a file descriptor: retried on EINTR
 * and on short transfers, so callers see all or an error.
 */
#ifndef TN_COMMON_FDIO_H
#define TN_COMMON_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) all of buf; -1 with errno (EIO when write says 0). */
int tn_write_all(int fd, const void *buf, size_t len);

/* pread(2) exactly len bytes at off; -1 with errno (EIO when the file is
 * shorter). */
int tn_pread_all(int fd, void *buf, size_t len, off_t off);

#endif
