/*
 * spool.h - the durable mail queue of one mail server: a directory.
 *
 * A message is acknowledged (250) only after spool_commit_many() returned
 * success for it; by then its file is fdatasync'ed, renamed into queue/
 * and queue/ itself is fsync'ed, so a crash or a power loss at any moment
 * loses nothing acknowledged, and queue/ never shows a half-written file.
 * docs/mail-queue.md explains the layout and why each sync is there.
 *
 *   DIR/lock       flock'ed by the running server (its pid inside)
 *   DIR/incoming/  messages being received (temporary, removed at open)
 *   DIR/queue/     committed messages, one file each: data + envelope
 *   DIR/state/     per-message delivery state (replaced atomically)
 *   DIR/control/   operator requests: "flush", "delete.<ID>"
 *   DIR/corrupt/   damaged or foreign files moved out of queue/ and state/
 *
 * Threads: one spool object is shared by every thread of a server.  The
 * event-loop threads call spool_begin/spool_write/spool_abort (each on its
 * own writers, never blocking on a disk flush), one committer thread calls
 * spool_commit_many (it waits for the disk), one queue-manager thread calls
 * the rest.  spool_update_state and spool_remove on one id must not run in
 * two threads at once.
 *
 * Ids: 16 characters of Crockford base32 (0-9 A-Z without I L O U), the
 * microseconds of the arrival then the pid: unique across processes and
 * restarts, sorting by time, safe in file names and log lines.
 *
 * Hostile or damaged files (a foreign file in queue/, a truncated or edited
 * message) are reported with the file and the problem, moved to corrupt/
 * by the lock holder (left in place by readers), never trusted: every
 * length read from disk is bounded below.
 */
#ifndef TN_MAIL_SPOOL_H
#define TN_MAIL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct spool spool;
struct spool_writer;

/* ---- limits (longer input is refused with an error naming the limit) -- */

#define SPOOL_ID_LEN 16
#define SPOOL_ID_MAX 32             /* buffer for an id and its NUL */
#define SPOOL_ADDR_MAX 256          /* octets of a sender or recipient, no <> */
#define SPOOL_RCPTS_MAX 1000        /* recipients of one message */
#define SPOOL_CLIENT_MAX 64         /* client address text */
#define SPOOL_HELO_MAX 255          /* HELO/EHLO argument */
#define SPOOL_TLS_MAX 256           /* TLS summary ("TLSv1.3 TLS_AES_... ") */
#define SPOOL_REPLY_MAX 512         /* one reply or reason, with its NUL */
#define SPOOL_HOST_MAX 255          /* a remote MTA's name */
#define SPOOL_DATA_MAX (UINT64_C(1) << 31) /* data bytes of one message */
#define SPOOL_ENVELOPE_MAX (512 * 1024)   /* envelope bytes in a queue file */

/* ---- opening ------------------------------------------------------------ */

/* Open the spool at dir.
 *   server=true:  create the missing layout (directories mode 0700, and
 *                 dir's parents), take the lock (waiting at most 1 s for a
 *                 command that holds it briefly; a running server holds it
 *                 for good and is refused: "spool DIR is in use by pid N"),
 *                 then remove leftovers of a crash: files in incoming/,
 *                 temporary and orphaned state files.
 *   server=false: open an existing spool without the lock (mailq, tests);
 *                 a missing directory is an error, nothing is created.
 * Returns NULL with the reason in err. */
spool *spool_open(const char *dir, bool server, tn_err *err);

/* Release the lock (if held) and free everything.  NULL is ignored. */
void spool_close(spool *s);

/* The directory given to spool_open. */
const char *spool_dir(const spool *s);

/* Try once to take the lock of a spool opened with server=false (the
 * operator commands act on the spool directly when no server runs).
 * Returns 1 when this spool now holds it, 0 when another process does
 * (*holder: its pid, 0 if unknown; may be NULL), -1 on error. */
int spool_lock_try(spool *s, long *holder, tn_err *err);

/* True when this spool object holds the lock. */
bool spool_locked(const spool *s);

/* True when id is well-formed (SPOOL_ID_LEN characters of the alphabet). */
bool spool_id_valid(const char *id);

/* ---- receiving: event-loop threads ------------------------------------- */

/* Start a message: a new temporary file in incoming/.  The writer's id is
 * normally the id the message gets in the queue (the server may put it in
 * its Received: header); spool_commit_many reports the final one. */
struct spool_writer *spool_begin(spool *s, tn_err *err);

/* The id reserved by spool_begin. */
const char *spool_writer_id(const struct spool_writer *w);

/* Bytes of data written so far. */
uint64_t spool_writer_size(const struct spool_writer *w);

/* Append message data (exactly as it will be delivered, the server's
 * Received: header included; CRLF lines, not dot-stuffed).  Small writes
 * are buffered (64 KiB per writer), larger ones go straight to the file's
 * page cache; no write waits for the disk (only the kernel's dirty-page
 * throttling can slow one).  More than SPOOL_DATA_MAX bytes in all is an
 * error.  After an error the writer can only be aborted or committed (the
 * commit then fails). */
int spool_write(struct spool_writer *w, const void *data, size_t len, tn_err *err);

/* Drop a message that will not be committed: its temporary file goes. */
void spool_abort(struct spool_writer *w);

/* ---- committing: the committer thread ---------------------------------- */

enum spool_flags {
    SPOOL_F_8BITMIME = 1u << 0, /* MAIL FROM ... BODY=8BITMIME */
    SPOOL_F_SMTPUTF8 = 1u << 1, /* MAIL FROM ... SMTPUTF8 */
};

/* What the server knows of a message besides its data.  Strings are
 * NUL-terminated, without CR, LF or other control characters; NULL is
 * taken as "". */
struct spool_envelope {
    int64_t arrival;           /* unix seconds; 0: now */
    const char *sender;        /* reverse-path without <>; "": null sender */
    const char *const *rcpts;  /* forward-paths without <>, each 1..SPOOL_ADDR_MAX octets */
    size_t n_rcpts;            /* 1..SPOOL_RCPTS_MAX */
    const char *client;        /* "192.0.2.7"; "": generated here (bounces) */
    const char *helo;          /* the client's HELO/EHLO argument */
    const char *tls;           /* TLS summary for logs; "": plaintext */
    unsigned flags;            /* enum spool_flags */
};

/* Group commit of n messages (n >= 1): for each, write its envelope after
 * the data and fdatasync the file; rename each into queue/; then fsync
 * queue/ once for the whole batch.  The writers are consumed in every
 * case.  For each i: ids[i] is the message's id and errs[i].msg "" when it
 * is committed (acknowledge it), ids[i] "" and errs[i] the reason when it
 * is not (nothing of it stays in the queue).  Returns 0 when every message
 * was committed, -1 when at least one was not. */
int spool_commit_many(spool *s, struct spool_writer **w, const struct spool_envelope *const *env,
                      size_t n, char (*ids)[SPOOL_ID_MAX], tn_err *errs);

/* One message: spool_commit_many with n = 1. */
int spool_commit(spool *s, struct spool_writer *w, const struct spool_envelope *env,
                 char id[SPOOL_ID_MAX], tn_err *err);

/* ---- the queue: the queue-manager thread ------------------------------- */

enum spool_rcpt_status {
    SPOOL_RCPT_PENDING = 0, /* to be delivered (never tried or deferred) */
    SPOOL_RCPT_DELIVERED,   /* accepted by the next hop */
    SPOOL_RCPT_BOUNCED,     /* failed for good, the bounce is queued */
};

struct spool_rcpt_state {
    enum spool_rcpt_status status;
    char reply[SPOOL_REPLY_MAX];          /* last reply or our reason; "" */
    char remote_mta[SPOOL_HOST_MAX + 1];  /* who gave it; "" unknown */
};

/* Delivery state of one message.  A message without a state file has
 * every recipient pending, no attempt, and is due now. */
struct spool_state {
    unsigned attempts;
    int64_t last_attempt;                 /* unix seconds; 0 never */
    int64_t next_attempt;                 /* unix seconds; 0 now */
    char last_reason[SPOOL_REPLY_MAX];    /* why the last attempt failed (mailq) */
    size_t n_rcpts;                       /* the envelope's number */
    struct spool_rcpt_state *rcpts;       /* n_rcpts, same order as the envelope */
};

/* A committed message: its envelope and state.  Strings are NUL-terminated
 * and owned by the message. */
struct spool_message {
    char id[SPOOL_ID_MAX];
    int64_t arrival;
    uint64_t size;                        /* bytes of data */
    unsigned flags;                       /* enum spool_flags */
    const char *sender;                   /* "": null sender */
    const char *client, *helo, *tls;
    const char **rcpts;
    size_t n_rcpts;
    struct spool_state state;
    char *text;                           /* private: holds the strings */
};

void spool_message_free(struct spool_message *m);

/* Load one message.  Returns 0 and *out (spool_message_free it); 1 when
 * no message has that id; -1 when it cannot be read or is damaged (then
 * the lock holder moves it to corrupt/). */
int spool_load(spool *s, const char *id, struct spool_message **out, tn_err *err);

/* Called for each message by spool_scan; non-zero stops the scan.  msg
 * lives until the callback returns. */
typedef int (*spool_scan_cb)(const struct spool_message *msg, void *ctx);

/* Every committed message, oldest first.  A damaged or foreign file is
 * logged (file and problem), counted in *damaged (may be NULL) and, by
 * the lock holder, moved to corrupt/; the scan goes on.  Returns 0, or -1
 * when queue/ cannot be read. */
int spool_scan(spool *s, spool_scan_cb cb, void *ctx, size_t *damaged, tn_err *err);

/* The data of a message, for streaming: read length bytes from offset of
 * fd (pread, or sendfile for plaintext).  The file stays readable until
 * spool_data_close, even if the message is removed meanwhile. */
struct spool_data {
    int fd;
    off_t offset;
    uint64_t length;
};

/* Returns 0, 1 when no message has that id, -1 on error. */
int spool_open_data(spool *s, const char *id, struct spool_data *out, tn_err *err);
void spool_data_close(struct spool_data *d);

/* Replace the state of a message (temporary file, rename).  Not synced:
 * after a power loss an older state may come back, and a recipient may be
 * delivered again (never lost).  Replies are stored on one line: control
 * characters become spaces, and they are cut to SPOOL_REPLY_MAX - 1. */
int spool_update_state(spool *s, const char *id, const struct spool_state *st, tn_err *err);

/* Remove a message whose recipients are all done.  Returns 0, 1 when no
 * message has that id, -1 on error. */
int spool_remove(spool *s, const char *id, tn_err *err);

/* ---- operator requests -------------------------------------------------- */

enum spool_request_kind {
    SPOOL_REQUEST_FLUSH,  /* retry every message now */
    SPOOL_REQUEST_DELETE, /* delete one message, no bounce */
};

struct spool_request {
    enum spool_request_kind kind;
    char id[SPOOL_ID_MAX]; /* SPOOL_REQUEST_DELETE */
};

/* The server (its queue manager, at least once a second): take up to max
 * pending requests into reqs, *n of them; each taken one is removed from
 * control/.  Unknown files there are logged and removed. */
int spool_take_requests(spool *s, struct spool_request *reqs, size_t max, size_t *n,
                        tn_err *err);

/* An operator command: post a request and wait at most timeout_ms for the
 * server to take it.  Returns 0 when taken; 1 when not taken in time (the
 * request is withdrawn); -1 on error. */
int spool_post_request(spool *s, const struct spool_request *req, unsigned timeout_ms,
                       tn_err *err);

#endif
