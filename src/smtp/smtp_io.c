/* smtp_io.c - deadline-bounded SMTP client transport (see smtp_io.h). */
#include "smtp/smtp_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/str.h"

void smtp_io_addr_text(const struct sockaddr *addr, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        tn_snprintf(buf, len, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        tn_snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        tn_strlcpy(buf, "(unknown address family)", len);
    }
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, long deadline, int timeout_ms, const char *what,
                   tn_err *err)
{
    for (;;) {
        long left = deadline - tn_monotonic_ms();
        if (left <= 0)
            return tn_errf(err, "timed out after %d ms %s", timeout_ms, what);
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 0; /* readable, writable, or an error the next call reports */
        if (n < 0 && errno != EINTR)
            return tn_errf(err, "poll: %s", strerror(errno));
    }
}

int smtp_io_connect(const struct sockaddr *addr, socklen_t addrlen, int timeout_ms,
                    tn_err *err)
{
    char where[SMTP_IO_ADDR_MAX];
    smtp_io_addr_text(addr, where, sizeof where);
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return tn_errf(err, "cannot connect to %s: socket: %s", where, strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int error = 0;
    if (connect(fd, addr, addrlen) < 0) {
        error = errno;
        if (error == EINPROGRESS) {
            tn_err why;
            socklen_t elen = sizeof error;
            if (wait_fd(fd, POLLOUT, tn_monotonic_ms() + timeout_ms, timeout_ms, "connecting", &why) < 0) {
                close(fd);
                return tn_errf(err, "cannot connect to %s: %s", where, why.msg);
            }
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) < 0)
                error = errno;
        }
    }
    if (error != 0) {
        close(fd);
        return tn_errf(err, "cannot connect to %s: %s", where, strerror(error));
    }
    return fd;
}

void smtp_io_init(struct smtp_io *io, int fd, int timeout_ms)
{
    io->fd = fd;
    io->tls = NULL;
    io->timeout_ms = timeout_ms;
    io->start = io->end = 0;
}

/* OpenSSL writes with write(2), and a write to a socket the server has
 * closed raises SIGPIPE, which would end the whole process.  Keep it
 * pending while we call into TLS, then take back one we caused. */
static void sigpipe_block(sigset_t *old)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

static void sigpipe_restore(const sigset_t *old)
{
    sigset_t pending, pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!sigismember(old, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* One TLS call that may have to wait: WANT_READ/WRITE become a poll. */
static int tls_wait(struct smtp_io *io, enum tls_io r, long deadline, const char *what,
                    tn_err *err)
{
    short events = r == TLS_IO_WANT_WRITE ? POLLOUT : POLLIN;
    return wait_fd(io->fd, events, deadline, io->timeout_ms, what, err);
}

static int tls_failed(const struct smtp_io *io, enum tls_io r, const char *doing, tn_err *err)
{
    if (r == TLS_IO_CLOSED)
        return tn_errf(err, "server closed the TLS session while we were %s", doing);
    if (r == TLS_IO_TRUNCATED)
        return tn_errf(err, "server closed the connection without TLS close_notify while we "
                       "were %s", doing);
    const char *why = tls_conn_failure(io->tls);
    return tn_errf(err, "TLS error while %s%s%s", doing,
                   strcmp(why, "no failure") != 0 ? ": " : "",
                   strcmp(why, "no failure") != 0 ? why : "");
}

static int write_plain(struct smtp_io *io, const char *buf, size_t len, long deadline,
                       tn_err *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(io->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(io->fd, POLLOUT, deadline, io->timeout_ms, "writing to the server",
                        err) < 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            return tn_errf(err, "writing to the server: %s", strerror(errno));
        }
    }
    return 0;
}

static int write_tls(struct smtp_io *io, const char *buf, size_t len, long deadline,
                     tn_err *err)
{
    size_t off = 0;
    while (off < len) {
        size_t put = 0;
        /* A retry after WANT_* must pass the same bytes again: off moves
         * only by what was written. */
        enum tls_io r = tls_conn_write(io->tls, buf + off, len - off, &put);
        off += put;
        if (r == TLS_IO_WANT_READ || r == TLS_IO_WANT_WRITE) {
            if (tls_wait(io, r, deadline, "writing to the server", err) < 0)
                return -1;
        } else if (r != TLS_IO_OK) {
            return tls_failed(io, r, "writing to the server", err);
        }
    }
    return 0;
}

int smtp_io_write(struct smtp_io *io, const void *buf, size_t len, tn_err *err)
{
    long deadline = tn_monotonic_ms() + io->timeout_ms;
    if (io->tls == NULL)
        return write_plain(io, buf, len, deadline, err);
    sigset_t old;
    sigpipe_block(&old);
    int rc = write_tls(io, buf, len, deadline, err);
    sigpipe_restore(&old);
    return rc;
}

/* Read what the server has sent into the free end of the buffer. */
static int fill(struct smtp_io *io, long deadline, tn_err *err)
{
    if (io->start > 0) {
        memmove(io->in, io->in + io->start, io->end - io->start);
        io->end -= io->start;
        io->start = 0;
    }
    const char *what = "waiting for the server's reply";
    for (;;) {
        size_t room = sizeof io->in - io->end;
        if (io->tls != NULL) {
            size_t got = 0;
            enum tls_io r = tls_conn_read(io->tls, io->in + io->end, room, &got);
            if (r == TLS_IO_OK) {
                io->end += got;
                return 0;
            }
            if (r != TLS_IO_WANT_READ && r != TLS_IO_WANT_WRITE)
                return tls_failed(io, r, "reading the server's reply", err);
            if (tls_wait(io, r, deadline, what, err) < 0)
                return -1;
            continue;
        }
        ssize_t n = recv(io->fd, io->in + io->end, room, MSG_DONTWAIT);
        if (n > 0) {
            io->end += (size_t)n;
            return 0;
        }
        if (n == 0)
            return tn_errf(err, "server closed the connection");
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(io->fd, POLLIN, deadline, io->timeout_ms, what, err) < 0)
                return -1;
        } else if (errno != EINTR) {
            return tn_errf(err, "reading the server's reply: %s", strerror(errno));
        }
    }
}

static int read_reply(struct smtp_io *io, struct smtp_reply *reply, long deadline, tn_err *err)
{
    for (;;) {
        const char *line = io->in + io->start;
        size_t have = io->end - io->start;
        const char *lf = memchr(line, '\n', have);
        if (lf != NULL) {
            size_t len = (size_t)(lf - line) + 1;
            io->start += len;
            enum smtp_reply_step step = smtp_reply_feed(reply, line, len, err);
            if (step != SMTP_REPLY_MORE)
                return step == SMTP_REPLY_DONE ? 0 : -1;
            continue;
        }
        /* No line end within a line's worth of bytes: never wait for more. */
        if (have >= SMTP_REPLY_LINE_MAX)
            return tn_errf(err, "SMTP reply line longer than %d octets", SMTP_REPLY_LINE_MAX);
        if (fill(io, deadline, err) < 0)
            return -1;
    }
}

int smtp_io_read_reply(struct smtp_io *io, struct smtp_reply *reply, tn_err *err)
{
    smtp_reply_init(reply);
    long deadline = tn_monotonic_ms() + io->timeout_ms;
    if (io->tls == NULL)
        return read_reply(io, reply, deadline, err);
    sigset_t old; /* reading TLS may write (alerts) */
    sigpipe_block(&old);
    int rc = read_reply(io, reply, deadline, err);
    sigpipe_restore(&old);
    return rc;
}

bool smtp_io_has_unread(const struct smtp_io *io)
{
    if (io->start < io->end || (io->tls != NULL && tls_conn_has_pending(io->tls)))
        return true;
    char byte;
    return recv(io->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static int handshake(struct smtp_io *io, tn_err *err)
{
    long deadline = tn_monotonic_ms() + io->timeout_ms;
    for (;;) {
        enum tls_io r = tls_conn_handshake(io->tls);
        if (r == TLS_IO_OK)
            return 0;
        if (r != TLS_IO_WANT_READ && r != TLS_IO_WANT_WRITE)
            return tn_errf(err, "%s", tls_conn_failure(io->tls));
        if (tls_wait(io, r, deadline, "in the TLS handshake", err) < 0)
            return -1;
    }
}

int smtp_io_start_tls(struct smtp_io *io, tls_config *cfg, const struct tls_expect *expect,
                      tn_err *err)
{
    io->tls = tls_conn_new_client(cfg, io->fd, expect, err);
    if (io->tls == NULL)
        return -1;
    sigset_t old;
    sigpipe_block(&old);
    int rc = handshake(io, err);
    sigpipe_restore(&old);
    return rc;
}

void smtp_io_close(struct smtp_io *io)
{
    if (io->tls != NULL) {
        sigset_t old;
        sigpipe_block(&old);
        tls_conn_close(io->tls);
        sigpipe_restore(&old);
        tls_conn_free(io->tls);
        io->tls = NULL;
    }
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
}
