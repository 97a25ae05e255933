/*
 * smtp_io.h - the blocking transport of an SMTP client: one connected
 * socket, in plaintext or (after STARTTLS) TLS, with a deadline on every
 * reply read and every write, and the one reader that cuts the server's
 * bytes into reply lines for smtp_reply.
 *
 * Deadlines are per operation: a whole reply must arrive within
 * timeout_ms (a server that drips one byte at a time cannot hold us longer)
 * and a whole buffer must be written within timeout_ms.  Waiting is done
 * with poll(); plaintext I/O uses MSG_DONTWAIT, so the socket may be
 * blocking or not; TLS I/O needs a non-blocking socket (smtp_io_connect
 * makes one).  SIGPIPE is blocked in the calling thread while OpenSSL
 * writes (it uses write(2)), so a vanished server is an error, not death.
 */
#ifndef TN_SMTP_IO_H
#define TN_SMTP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/err.h"
#include "smtp/smtp_reply.h"
#include "tls/tls_conn.h"

#define SMTP_IO_INBUF 8192   /* holds many pipelined replies; > one line */
#define SMTP_IO_ADDR_MAX 64  /* "[ipv6]:port" */

struct smtp_io {
    int fd;
    tls_conn *tls;           /* NULL in plaintext; owned once set */
    int timeout_ms;          /* for each reply and each write */
    size_t start, end;       /* unconsumed input is in[start..end) */
    char in[SMTP_IO_INBUF];
};

/* "127.0.0.1:25" or "[::1]:25". */
void smtp_io_addr_text(const struct sockaddr *addr, char *buf, size_t len);

/* A TCP connection to addr within timeout_ms: non-blocking, TCP_NODELAY
 * (every command group and message chunk is one write: Nagle would only
 * hold it back).  Returns the socket or -1. */
int smtp_io_connect(const struct sockaddr *addr, socklen_t addrlen, int timeout_ms,
                    tn_err *err);

/* Start on a connected socket (not owned until smtp_io_close). */
void smtp_io_init(struct smtp_io *io, int fd, int timeout_ms);

/* Write all of buf within the deadline, in one call when the socket takes
 * it (never split by us). */
int smtp_io_write(struct smtp_io *io, const void *buf, size_t len, tn_err *err);

/* Read one whole reply within the deadline.  Bytes after it stay buffered
 * for the next call (pipelined replies). */
int smtp_io_read_reply(struct smtp_io *io, struct smtp_reply *reply, tn_err *err);

/* Did the server send bytes that no reply has consumed (in our buffer, in
 * TLS, or waiting on the socket)?  Before a STARTTLS handshake such bytes
 * are a response injection; on an idle session, a server that gave up. */
bool smtp_io_has_unread(const struct smtp_io *io);

/* The TLS client handshake on the socket within the deadline.  io->tls is
 * set even when it fails, so the caller can ask tls_conn_failure() and
 * tls_conn_describe() why. */
int smtp_io_start_tls(struct smtp_io *io, tls_config *cfg, const struct tls_expect *expect,
                      tn_err *err);

/* close_notify (TLS), then close the socket. */
void smtp_io_close(struct smtp_io *io);

#endif
