/*
 * spool_internal.h - what the files of src/mail/spool*.c share: the spool
 * object, the on-disk formats (envelope, trailer, state) and small I/O
 * helpers.  Not for use outside src/mail/.
 */
#ifndef TN_MAIL_SPOOL_INTERNAL_H
#define TN_MAIL_SPOOL_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/fdio.h"
#include "mail/spool.h"

/* Every directory of the layout, open for the spool's lifetime, so that
 * all file operations are relative to a descriptor (openat, renameat). */
struct spool {
    char dir[PATH_MAX];
    int root_fd, incoming_fd, queue_fd, state_fd, control_fd, corrupt_fd;
    int lock_fd;                    /* -1 until spool_lock_try opens it */
    bool locked;
    uid_t owner_uid;                /* the spool directory's owner and group */
    gid_t owner_gid;
    long pid;                       /* for ids */
    _Atomic uint64_t last_id_us;    /* ids are strictly increasing */
};

/* Names of the layout, for messages. */
#define SPOOL_INCOMING "incoming"
#define SPOOL_QUEUE "queue"
#define SPOOL_STATE "state"
#define SPOOL_CONTROL "control"
#define SPOOL_CORRUPT "corrupt"

/* ---- ids (spool_id.c) ---- */

/* A fresh id into id: microseconds since the epoch, made strictly
 * increasing in this process, then the pid. */
void spool_id_next(spool *s, char id[SPOOL_ID_MAX]);

/* ---- queue file format (spool_envelope.c) ----
 *
 *   [data: size bytes][envelope text][trailer: SPOOL_TRAILER_LEN bytes]
 *
 * The trailer is "TNQ1 <data length, 16 hex> <envelope length, 8 hex>
 * <FNV-1a 64 of the envelope, 16 hex>\n": fixed size, so a reader finds
 * the envelope from the end of the file without trusting anything else. */
#define SPOOL_TRAILER_LEN 48

struct spool_trailer {
    uint64_t data_len;
    size_t env_len;
    uint64_t env_hash;
};

/* The envelope text followed by its trailer in a malloc'ed buffer (*out,
 * *len).  Checks every field of env against the limits of spool.h. */
int spool_envelope_encode(const struct spool_envelope *env, int64_t arrival, uint64_t size,
                          char **out, size_t *len, tn_err *err);

/* Parse the trailer (exactly SPOOL_TRAILER_LEN bytes). */
int spool_trailer_parse(const char *buf, struct spool_trailer *t, tn_err *err);

/* Check a trailer against the file size. */
int spool_trailer_check(const struct spool_trailer *t, uint64_t file_size, tn_err *err);

/* Parse the envelope text (len bytes in m->text, NUL-terminated after
 * them) into m: strings point into m->text. */
int spool_envelope_parse(struct spool_message *m, size_t len, tn_err *err);

/* ---- state file format (spool_state.c) ---- */

/* Parse a state file (len bytes, NUL-terminated) of a message with
 * n_rcpts recipients into st (st->rcpts allocated here). */
int spool_state_parse(const char *text, size_t len, size_t n_rcpts, struct spool_state *st,
                      tn_err *err);

/* The state of a message without a state file: all pending, due now. */
int spool_state_init(struct spool_state *st, size_t n_rcpts, tn_err *err);

/* Largest state file of a message with SPOOL_RCPTS_MAX recipients. */
#define SPOOL_STATE_FILE_MAX (1024 + SPOOL_RCPTS_MAX * (32 + SPOOL_HOST_MAX + SPOOL_REPLY_MAX))

/* ---- I/O helpers (spool_io.c) ---- */

/* Whole writes and reads: tn_write_all, tn_pread_all (common/fdio.h). */

/* fsync(2) retrying on EINTR. */
int spool_fsync(int fd);

/* renameat(2) that never replaces an existing target (EEXIST instead):
 * RENAME_NOREPLACE, or link + unlink where the file system lacks it.
 * -1 with errno. */
int spool_rename_noreplace(int from_dir, const char *from, int to_dir, const char *to);

/* A file that a command run as root creates in the spool (a state file,
 * a request, the lock) gets the spool's owner, so that the server, which
 * runs as that owner, can still read and replace it. */
void spool_own(const spool *s, int fd);

/* Sleep ms milliseconds, through signals. */
void spool_sleep_ms(unsigned ms);

/* Read a regular file of at most max bytes into a NUL-terminated malloc'ed
 * buffer.  Returns 0, 1 when it does not exist, -1 with err. */
int spool_read_small(int dirfd, const char *name, size_t max, char **out, size_t *len,
                     tn_err *err);

/* The names in a directory (without "." and ".."), unsorted. */
struct spool_names {
    char **items;
    size_t count, cap;
};

/* Read the names of dirfd (where: its name in the layout, for errors)
 * through a new open file description, so that threads never share a
 * directory offset. */
int spool_names_read(int dirfd, const char *where, struct spool_names *out, tn_err *err);
void spool_names_free(struct spool_names *names);

/* Move dirfd/name (in the layout directory `where`) to corrupt/<name><suffix>
 * when this spool holds the lock, and log the problem either way. */
void spool_quarantine(spool *s, int dirfd, const char *where, const char *name,
                      const char *suffix, const char *problem);

#endif
