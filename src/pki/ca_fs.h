/*
 * ca_fs.h - the file operations of the enterprise CA.
 *
 * New files (keys, issued certificates) are created exclusively (O_EXCL),
 * files that replace an older version (index, CRL, counters) are written
 * to a temporary file, fsync'ed and renamed over the old one, and all
 * reads are bounded.  A lock on the CA directory serialises the commands
 * that change CA state.
 */
#ifndef TN_PKI_CA_FS_H
#define TN_PKI_CA_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* buf = "dir/name"; fails if it does not fit. */
int ca_fs_path(char *buf, size_t len, const char *dir, const char *name, tn_err *err);

/* true if something (file, link, directory) exists at path. */
bool ca_fs_exists(const char *path);

/* Create dir with mode 0700 (and its missing parents, like mkdir -p)
 * unless it exists; fail if it is no directory. */
int ca_fs_make_private_dir(const char *dir, tn_err *err);

/* Create a new file exclusively with mode; returns its descriptor or -1. */
int ca_fs_create_excl(const char *path, mode_t mode, tn_err *err);

/* Write all of data to fd and fsync it (path names the file in errors). */
int ca_fs_write_fd(int fd, const char *path, const void *data, size_t len, tn_err *err);

/* Create path exclusively and write data; on failure nothing is left. */
int ca_fs_write_new(const char *path, mode_t mode, const void *data, size_t len,
                    tn_err *err);

/* Atomically replace (or create) path: temp file, fsync, rename, fsync dir. */
int ca_fs_replace(const char *path, mode_t mode, const void *data, size_t len,
                  tn_err *err);

/* Read a regular file of at most max bytes into a NUL-terminated malloc'ed
 * buffer (*data, free() it); *len is its length without the NUL. */
int ca_fs_read(const char *path, size_t max, char **data, size_t *len, tn_err *err);

/* Lock the directory (exclusive or shared), waiting for other holders.
 * Returns the descriptor that holds the lock, or -1. */
int ca_fs_lock_dir(const char *dir, bool exclusive, tn_err *err);

/* Release a lock taken by ca_fs_lock_dir (fd < 0 is ignored). */
void ca_fs_unlock_dir(int fd);

#endif
