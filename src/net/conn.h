/*
 * conn.h - one accepted connection on a worker's event loop: TLS
 * handshake with a deadline, buffered reads handed to a protocol handler,
 * a bounded write queue, an idle timeout, and one log line per connection.
 *
 * Protocol-agnostic: SIP and SMTP plug in through struct conn_handler.  A
 * connection may start in plaintext (SMTP) and be upgraded with
 * conn_start_tls() (STARTTLS), which discards anything buffered before.
 */
#ifndef TN_NET_CONN_H
#define TN_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/client_limit.h"
#include "net/evloop.h"
#include "tls/tls_conn.h"

struct conn;
struct worker;

struct conn_handler {
    /* Bytes arrived: consume what forms whole units, return how many bytes
     * were used (the rest stays buffered).  May call conn_send/close. */
    size_t (*on_data)(struct conn *c, const char *buf, size_t len, void *ctx);
    /* A plaintext connection was accepted (may be NULL): a protocol whose
     * server speaks first greets here. */
    void (*on_open)(struct conn *c, void *ctx);
    /* TLS is up (or refused: c is closing); verdict in conn_tls(c). */
    void (*on_secure)(struct conn *c, void *ctx);
    /* The connection is going away (after this, c is freed).  What its
     * end undid ("2 bindings dropped") may be written to note, a string
     * of note_size bytes: it ends the connection's one "closed" line. */
    void (*on_close)(struct conn *c, void *ctx, char *note, size_t note_size);
    /* May c be handed over to another worker?  NULL: never. */
    bool (*may_move)(struct conn *c, void *ctx);
    void *ctx;
};

struct conn_limits {
    size_t max_buffer;        /* largest unconsumed input, bytes */
    size_t max_queue;         /* largest unsent output, bytes */
    uint64_t handshake_ms;    /* TLS handshake deadline */
    uint64_t idle_ms;         /* close after this long without input */
};

enum conn_state { CONN_CONNECTING, CONN_PLAIN, CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSED };

struct conn {
    uint64_t id; /* worker index << 48 | serial: unique for the process */
    struct worker *worker;
    int fd;
    enum conn_state state;
    tls_conn *tls;
    char peer[64]; /* "ip:port" */
    const struct conn_handler *handler;
    const struct conn_limits *limits;
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf; /* queued output */
    size_t wlen, woff;
    ev_timer_id handshake_timer, idle_timer;
    uint64_t last_input_ms;
    uint64_t messages_in;
    bool want_write;
    uint8_t affinity_votes; /* messages in a row forwarded to affinity_peer */
    uint8_t moving_to;      /* new owner + 1 while being handed over, else 0 */
    unsigned busy; /* > 0 while conn.c code for c is on the stack */
    uint64_t affinity_peer; /* the connection c's messages went to last */
    void *proto; /* the protocol handler's per-connection state */
    bool outgoing;
    unsigned listener;         /* accepted: which listener of the group */
    tls_config *client_cfg;    /* outgoing: the handshake starts on connect */
    struct tls_expect expect;  /* outgoing: who the peer must be */
    char *expect_name;         /* outgoing: owned copy of expect.name */
    char *verdict;             /* set by on_secure for the log line, then freed */
    char *close_reason;        /* closed: why, for the log line on the way out */
    bool client_counted;       /* accepted: counts for client in the group's
                                  per-client limit until it closes */
    struct client_key client;
};

/* "ip:port" or "[v6]:port" of sa, as connections name their peer. */
void conn_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/* Take over an accepted socket (its connection slot already counted);
 * starts the TLS handshake when tls_cfg is given, else stays plaintext.
 * NULL on failure: fd is closed and the slot released. */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa,
                      tls_config *tls_cfg, const struct conn_handler *handler,
                      const struct conn_limits *limits);

/* Open an outgoing TLS connection to sa from worker w, leaving from
 * source (a server's own address, so that peers filtering by source see
 * it; its port is ignored; NULL: the kernel's choice): connect without
 * blocking, then a client handshake that verifies the peer as expect says
 * (its name is sent as SNI).  Bytes sent before the handshake completes are
 * queued.  The connect and the handshake share one deadline
 * (limits->handshake_ms).  NULL with err on immediate failure. */
struct conn *conn_connect(struct worker *w, const struct sockaddr *sa, socklen_t salen,
                          const struct sockaddr *source, socklen_t source_len,
                          tls_config *client_cfg, const struct tls_expect *expect,
                          const struct conn_handler *handler, const struct conn_limits *limits,
                          tn_err *err);

/* Queue bytes for the peer (copied).  -1 when the queue is full or the
 * write failed: the connection is then closed (and freed, unless it is the
 * one whose handler is running: do not use c after -1). */
int conn_send(struct conn *c, const void *buf, size_t len);

/* The handler left input unconsumed while it waited (say, for the disk)
 * and can take it now: hand what is buffered to on_data again. */
void conn_resume_input(struct conn *c);
/* Upgrade a plaintext connection: drop buffered input, start TLS. */
int conn_start_tls(struct conn *c, tls_config *cfg);

/* From on_secure: the final verdict on the peer for the connection's one
 * log line ("trusted: peer is server fe2...", "refused: ..."). */
void conn_set_verdict(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Close now (flushing is best effort); reason goes to the log. */
void conn_close(struct conn *c, const char *reason);

tls_conn *conn_tls(const struct conn *c);

/* Read (or go on with the handshake) now, without waiting for epoll to
 * say so: for bytes that are likely there already, or that sit in TLS'
 * buffers, which epoll does not know about.  May close and free c. */
void conn_read_pending(struct conn *c);

/* Hand-over between workers (handover.c).  conn_pause, on the old owner:
 * stop reading and watching c (it still sends what its owner gives it).
 * conn_adopt, on the new owner w: take c and watch it (-1 when out of
 * memory: c is then closed and freed); then conn_read_pending. */
void conn_pause(struct conn *c);
int conn_adopt(struct conn *c, struct worker *w);

#endif
