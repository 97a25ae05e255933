/* conn.c - one connection on a worker's loop (see conn.h). */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "net/worker.h"

#define READ_CHUNK WORKER_READ_SCRATCH

static void on_io(ev_loop *loop, int fd, unsigned events, void *ctx);
static void finish_connect(struct conn *c);

void conn_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        tn_snprintf(buf, len, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        tn_snprintf(buf, len, "[%s]:%d", host, port);
    } else {
        tn_strlcpy(buf, "?", len);
    }
}

static void watch(struct conn *c)
{
    if (c->moving_to != 0)
        return; /* its next owner watches it */
    bool writing = c->state == CONN_CONNECTING || c->want_write ||
                   (c->wlen > c->woff && (c->state == CONN_OPEN || c->state == CONN_PLAIN));
    unsigned events = EV_READ | (writing ? EV_WRITE : 0);
    ev_io_set(c->worker->loop, c->fd, events, on_io, c);
}

/* One line per closed connection: why (when the closer said so; a NULL
 * reason means a line already explained it) and what its end undid. */
static void log_closed(const struct conn *c, const char *reason, const char *note)
{
    if (reason != NULL)
        tn_log(TN_LOG_INFO, "conn", "closed peer=%s after %llu message%s: %s%s%s", c->peer,
               (unsigned long long)c->messages_in, c->messages_in == 1 ? "" : "s", reason,
               note[0] != '\0' ? "; " : "", note);
    else if (note[0] != '\0')
        tn_log(TN_LOG_INFO, "conn", "closed peer=%s: %s", c->peer, note);
}

static void finish_close(struct conn *c)
{
    ev_loop *loop = c->worker->loop;
    ev_timer_cancel(loop, c->handshake_timer);
    ev_timer_cancel(loop, c->idle_timer);
    ev_io_forget(loop, c->fd); /* close() below takes it out of epoll */
    char note[160] = "";
    if (c->handler->on_close != NULL)
        c->handler->on_close(c, c->handler->ctx, note, sizeof note);
    log_closed(c, c->close_reason, note);
    if (c->tls != NULL) {
        if (c->state == CONN_OPEN)
            tls_conn_close(c->tls);
        tls_conn_free(c->tls);
    }
    close(c->fd);
    worker_conn_closed(c->worker, c);
    free(c->rbuf);
    free(c->wbuf);
    free(c->expect_name);
    free(c->verdict);
    free(c->close_reason);
    free(c);
}

void conn_close(struct conn *c, const char *reason)
{
    if (c->state == CONN_CLOSED)
        return;
    /* Logged when the handler has said what the end undid (finish_close);
     * without memory for the copy, now and without that. */
    if (reason != NULL && (c->close_reason = strdup(reason)) == NULL)
        log_closed(c, reason, "");
    c->state = CONN_CLOSED;
    /* Never free under a caller's feet: the dispatcher finishes the close. */
    if (c->busy == 0)
        finish_close(c);
}

/* The handshake's outcome, for metrics: trusted when the connection
 * survived the protocol's judgement too. */
static void count_handshake(const struct conn *c, bool trusted)
{
    struct conn_stats *st = &c->worker->group->stats;
    if (c->outgoing)
        tn_counter_add(trusted ? &st->trusted_out : &st->refused_out, 1);
    else
        tn_counter_add(trusted ? &st->trusted_in : &st->refused_in, 1);
}

static void log_handshake(struct conn *c)
{
    char line[1400];
    tls_conn_describe_as(c->tls, c->peer, c->verdict, line, sizeof line);
    tn_log(TN_LOG_INFO, "tls", "%s", line);
    free(c->verdict);
    c->verdict = NULL;
}

void conn_set_verdict(struct conn *c, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    free(c->verdict);
    c->verdict = strdup(text);
}

static void on_handshake_timeout(ev_loop *loop, void *ctx)
{
    struct conn *c = ctx;
    c->handshake_timer = 0;
    count_handshake(c, false);
    tn_log(TN_LOG_INFO, "tls", "peer=%s tls=- verdict=refused: %s within %llu ms", c->peer,
           c->state == CONN_CONNECTING ? "no TCP connection" : "no TLS handshake",
           (unsigned long long)c->limits->handshake_ms);
    conn_close(c, NULL);
}

static void on_idle_check(ev_loop *loop, void *ctx)
{
    struct conn *c = ctx;
    uint64_t idle = ev_now_ms(loop) - c->last_input_ms;
    c->idle_timer = 0;
    if (idle >= c->limits->idle_ms) {
        conn_close(c, "idle timeout");
        return;
    }
    /* Re-arm for the remainder: no timer churn per message. */
    c->idle_timer = ev_timer_add(loop, c->limits->idle_ms - idle, on_idle_check, c);
}

static void start_handshake(struct conn *c, tls_config *cfg)
{
    tn_err err;
    struct tls_expect expect = {.name = NULL, .role = TLS_PEER_CLIENT};
    c->tls = c->outgoing ? tls_conn_new_client(cfg, c->fd, &c->expect, &err)
                         : tls_conn_new_server(cfg, c->fd, &expect, &err);
    if (c->tls == NULL) {
        tn_log(TN_LOG_ERROR, "tls", "peer=%s: %s", c->peer, err.msg);
        conn_close(c, NULL);
        return;
    }
    c->state = CONN_HANDSHAKE;
    if (c->handshake_timer == 0) /* an outgoing one has run since connect */
        c->handshake_timer =
            ev_timer_add(c->worker->loop, c->limits->handshake_ms, on_handshake_timeout, c);
}

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa, tls_config *tls_cfg,
                      const struct conn_handler *handler, const struct conn_limits *limits)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        worker_release_slot(w);
        return NULL;
    }
    c->worker = w;
    c->fd = fd;
    c->handler = handler;
    c->limits = limits;
    c->state = CONN_PLAIN;
    c->id = ((uint64_t)w->index << 48) | ++w->next_serial;
    c->last_input_ms = ev_now_ms(w->loop);
    conn_format_addr(sa, c->peer, sizeof c->peer);
    if (idmap_put(&w->conns, c->id, c) < 0) {
        close(fd);
        worker_release_slot(w);
        free(c);
        return NULL;
    }
    __atomic_add_fetch(&w->owned, 1, __ATOMIC_RELAXED);
    c->idle_timer = ev_timer_add(w->loop, limits->idle_ms, on_idle_check, c);
    if (tls_cfg != NULL)
        start_handshake(c, tls_cfg);
    if (c->state != CONN_CLOSED)
        watch(c);
    /* A plaintext protocol whose server speaks first (SMTP's greeting). */
    if (tls_cfg == NULL && c->state == CONN_PLAIN && handler->on_open != NULL) {
        c->busy++;
        handler->on_open(c, handler->ctx);
        c->busy--;
        if (c->state == CONN_CLOSED) {
            finish_close(c); /* the handler closed it: free it now */
            return NULL;
        }
    }
    return c->state == CONN_CLOSED ? NULL : c;
}

tls_conn *conn_tls(const struct conn *c)
{
    return c->tls;
}

int conn_start_tls(struct conn *c, tls_config *cfg)
{
    if (c->state != CONN_PLAIN)
        return -1;
    /* Bytes pipelined after STARTTLS were sent in the clear: never act on
     * them inside the TLS session (CVE-2011-0411 class). */
    c->rlen = 0;
    start_handshake(c, cfg);
    if (c->state == CONN_CLOSED)
        return -1;
    watch(c);
    return 0;
}

/* --- outgoing connections ------------------------------------------------------ */

static void finish_connect(struct conn *c)
{
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
    if (error == EINPROGRESS)
        return;
    if (error != 0) {
        char reason[160];
        tn_snprintf(reason, sizeof reason, "cannot connect to %s (%s): %s", c->peer,
                    c->expect_name ? c->expect_name : "?", strerror(error));
        count_handshake(c, false);
        tn_log(TN_LOG_INFO, "tls", "peer=%s tls=- verdict=refused: %s", c->peer, reason);
        conn_close(c, NULL);
        return;
    }
    start_handshake(c, c->client_cfg);
}

/* Leave from source (any port) when it is of the peer's family. */
static int bind_source(int fd, const struct sockaddr *peer, const struct sockaddr *source,
                       socklen_t len)
{
    struct sockaddr_storage any_port;
    if (source == NULL || source->sa_family != peer->sa_family || len > sizeof any_port)
        return 0;
    memcpy(&any_port, source, len);
    if (source->sa_family == AF_INET)
        ((struct sockaddr_in *)&any_port)->sin_port = 0;
    else if (source->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)&any_port)->sin6_port = 0;
    return bind(fd, (const struct sockaddr *)&any_port, len);
}

struct conn *conn_connect(struct worker *w, const struct sockaddr *sa, socklen_t salen,
                          const struct sockaddr *source, socklen_t source_len,
                          tls_config *client_cfg, const struct tls_expect *expect,
                          const struct conn_handler *handler, const struct conn_limits *limits,
                          tn_err *err)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tn_errf(err, "socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind_source(fd, sa, source, source_len) < 0) {
        tn_errf(err, "cannot use the source address: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
        tn_errf(err, "connect: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    /* Outgoing connections count against the same limit as accepted ones. */
    __atomic_add_fetch(&w->group->connections, 1, __ATOMIC_RELAXED);
    struct conn *c = conn_new(w, fd, sa, NULL, handler, limits);
    if (c == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    c->outgoing = true;
    c->client_cfg = client_cfg;
    c->expect = *expect;
    /* The peer's name outlives the caller's buffer: keep a copy. */
    if (expect->name != NULL && (c->expect_name = strdup(expect->name)) == NULL) {
        conn_close(c, "out of memory");
        return NULL;
    }
    c->expect.name = c->expect_name;
    c->state = CONN_CONNECTING;
    c->handshake_timer = ev_timer_add(w->loop, limits->handshake_ms, on_handshake_timeout, c);
    watch(c);
    return c;
}

/* --- output ------------------------------------------------------------------ */

static enum tls_io raw_write(struct conn *c, const char *buf, size_t len, size_t *put)
{
    if (c->tls != NULL)
        return tls_conn_write(c->tls, buf, len, put);
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) {
        *put = (size_t)n;
        return TLS_IO_OK;
    }
    *put = 0;
    return (errno == EAGAIN || errno == EINTR) ? TLS_IO_WANT_WRITE : TLS_IO_ERROR;
}

/* Write queued bytes until the socket would block. */
static void flush(struct conn *c)
{
    while (c->woff < c->wlen && c->state != CONN_CLOSED) {
        size_t put = 0;
        enum tls_io io = raw_write(c, c->wbuf + c->woff, c->wlen - c->woff, &put);
        c->woff += put;
        if (io == TLS_IO_WANT_WRITE || io == TLS_IO_WANT_READ)
            break;
        if (io != TLS_IO_OK) {
            conn_close(c, "write failed");
            return;
        }
    }
    if (c->woff == c->wlen) {
        /* Idle connections keep no output buffer. */
        free(c->wbuf);
        c->wbuf = NULL;
        c->wlen = c->woff = 0;
    }
}

static int enqueue(struct conn *c, const char *buf, size_t len)
{
    size_t pending = c->wlen - c->woff;
    if (pending + len > c->limits->max_queue)
        return -1;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, pending);
        c->wlen = pending;
        c->woff = 0;
    }
    char *grown = realloc(c->wbuf, c->wlen + len);
    if (grown == NULL)
        return -1;
    memcpy(grown + c->wlen, buf, len);
    c->wbuf = grown;
    c->wlen += len;
    return 0;
}

/* With nothing queued, write straight from the caller's buffer: most
 * messages leave in one call and never touch the queue. */
static size_t write_direct(struct conn *c, const char *buf, size_t len)
{
    size_t done = 0;
    if (c->wlen != c->woff || (c->state != CONN_OPEN && c->state != CONN_PLAIN))
        return 0;
    while (done < len) {
        size_t put = 0;
        enum tls_io io = raw_write(c, buf + done, len - done, &put);
        done += put;
        if (io != TLS_IO_OK)
            break; /* would block, or failed: the queue path decides */
    }
    return done;
}

int conn_send(struct conn *c, const void *buf, size_t len)
{
    if (c->state == CONN_CLOSED || (c->state == CONN_HANDSHAKE && !c->outgoing))
        return -1;
    size_t done = write_direct(c, buf, len);
    if (done == len)
        return 0;
    buf = (const char *)buf + done;
    len -= done;
    if (enqueue(c, buf, len) < 0) {
        conn_close(c, "output queue full (peer not reading)");
        return -1;
    }
    /* An outgoing connection sends what was queued once it is trusted. */
    c->busy++; /* a failed write closes c: free it only below */
    if (c->state == CONN_OPEN || c->state == CONN_PLAIN)
        flush(c);
    c->busy--;
    if (c->state == CONN_CLOSED) {
        if (c->busy == 0)
            finish_close(c);
        return -1;
    }
    watch(c);
    return 0;
}

/* --- input ------------------------------------------------------------------- */

static void deliver(struct conn *c)
{
    c->busy++;
    size_t used = c->handler->on_data(c, c->rbuf, c->rlen, c->handler->ctx);
    c->busy--;
    if (used > c->rlen)
        used = c->rlen;
    memmove(c->rbuf, c->rbuf + used, c->rlen - used);
    c->rlen -= used;
    if (c->rlen == 0) {
        free(c->rbuf); /* idle connections keep no input buffer */
        c->rbuf = NULL;
        c->rcap = 0;
    }
}

void conn_resume_input(struct conn *c)
{
    if (c->state != CONN_OPEN && c->state != CONN_PLAIN)
        return;
    if (c->rlen > 0) {
        deliver(c);
        if (c->state == CONN_CLOSED && c->busy == 0)
            finish_close(c);
    }
}

static int ensure_room(struct conn *c)
{
    if (c->rcap - c->rlen >= READ_CHUNK)
        return 0;
    size_t cap = c->rlen + READ_CHUNK;
    if (cap > c->limits->max_buffer + READ_CHUNK)
        return -1;
    char *grown = realloc(c->rbuf, cap);
    if (grown == NULL)
        return -1;
    c->rbuf = grown;
    c->rcap = cap;
    return 0;
}

static enum tls_io raw_read(struct conn *c, char *dst, size_t room, size_t *got)
{
    if (c->tls != NULL)
        return tls_conn_read(c->tls, dst, room, got);
    errno = 0;
    ssize_t n = recv(c->fd, dst, room, 0);
    *got = n > 0 ? (size_t)n : 0;
    if (n > 0)
        return TLS_IO_OK;
    if (n == 0)
        return TLS_IO_CLOSED;
    return (errno == EAGAIN || errno == EINTR) ? TLS_IO_WANT_READ : TLS_IO_ERROR;
}

static const char *read_end_reason(enum tls_io io)
{
    if (io == TLS_IO_CLOSED)
        return "closed by peer";
    if (io == TLS_IO_TRUNCATED)
        return "closed by peer without TLS close_notify";
    if (errno == ECONNRESET)
        return "connection reset by peer";
    return errno == ETIMEDOUT ? "connection timed out (TCP)" : "read error";
}

/* Input read into the worker's scratch buffer goes straight to the
 * handler; only an unfinished message is copied into the connection's own
 * buffer.  So an idle connection holds no input buffer at all. */
static void deliver_direct(struct conn *c, const char *buf, size_t len)
{
    c->busy++;
    size_t used = c->handler->on_data(c, buf, len, c->handler->ctx);
    c->busy--;
    if (used >= len || c->state == CONN_CLOSED)
        return;
    size_t rest = len - used;
    if (rest > c->limits->max_buffer || (c->rbuf = malloc(rest + READ_CHUNK)) == NULL) {
        conn_close(c, "input too large");
        return;
    }
    memcpy(c->rbuf, buf + used, rest);
    c->rlen = rest;
    c->rcap = rest + READ_CHUNK;
}

static void read_input(struct conn *c)
{
    /* A connection being handed over is read by its next owner. */
    while ((c->state == CONN_OPEN || c->state == CONN_PLAIN) && c->moving_to == 0) {
        bool direct = c->rlen == 0;
        if (!direct && ensure_room(c) < 0) {
            conn_close(c, "input too large");
            return;
        }
        char *dst = direct ? c->worker->read_scratch : c->rbuf + c->rlen;
        size_t room = direct ? sizeof c->worker->read_scratch : c->rcap - c->rlen;
        size_t got = 0;
        enum tls_io io = raw_read(c, dst, room, &got);
        if (io == TLS_IO_WANT_WRITE)
            c->want_write = true;
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        if (io != TLS_IO_OK) {
            conn_close(c, read_end_reason(io));
            return;
        }
        c->last_input_ms = ev_now_ms(c->worker->loop);
        if (direct) {
            deliver_direct(c, dst, got);
        } else {
            c->rlen += got;
            deliver(c);
        }
        /* A short read drained the socket: epoll is level-triggered and
         * says when more comes, so skip the read that would say EAGAIN. */
        if (got < room && (c->tls == NULL || !tls_conn_has_pending(c->tls)))
            return;
    }
}

static void continue_handshake(struct conn *c)
{
    enum tls_io io = tls_conn_handshake(c->tls);
    if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE) {
        c->want_write = io == TLS_IO_WANT_WRITE;
        return;
    }
    ev_timer_cancel(c->worker->loop, c->handshake_timer);
    c->handshake_timer = 0;
    c->want_write = false;
    if (io != TLS_IO_OK) {
        count_handshake(c, false);
        log_handshake(c);
        conn_close(c, NULL);
        return;
    }
    c->state = CONN_OPEN;
    /* The protocol decides who the verified peer is first, so the one log
     * line carries the final verdict. */
    if (c->handler->on_secure != NULL) {
        c->busy++;
        c->handler->on_secure(c, c->handler->ctx);
        c->busy--;
    }
    count_handshake(c, c->state != CONN_CLOSED);
    log_handshake(c);
    if (c->state == CONN_CLOSED)
        return;
    /* Decided and logged: keep only the verdict itself. */
    tls_conn_release_diagnostics(c->tls);
    flush(c); /* what an outgoing connection queued while connecting */
}

static void on_io(ev_loop *loop, int fd, unsigned events, void *ctx)
{
    struct conn *c = ctx;
    c->busy++; /* nothing below may free c */
    if (c->state == CONN_CONNECTING && (events & (EV_WRITE | EV_READ)))
        finish_connect(c);
    if (c->state == CONN_HANDSHAKE)
        continue_handshake(c);
    if (c->state == CONN_OPEN || c->state == CONN_PLAIN) {
        c->want_write = false;
        if (events & EV_WRITE)
            flush(c);
        read_input(c);
    }
    c->busy--;
    if (c->state == CONN_CLOSED)
        finish_close(c);
    else
        watch(c);
}

/* --- hand-over between workers ------------------------------------------------ */

void conn_pause(struct conn *c)
{
    ev_loop *loop = c->worker->loop;
    ev_io_del(loop, c->fd);
    ev_timer_cancel(loop, c->idle_timer);
    c->idle_timer = 0;
}

int conn_adopt(struct conn *c, struct worker *w)
{
    c->worker = w;
    c->moving_to = 0;
    c->affinity_votes = 0;
    if (idmap_put(&w->conns, c->id, c) < 0) {
        conn_close(c, "out of memory");
        return -1;
    }
    c->idle_timer = ev_timer_add(w->loop, c->limits->idle_ms, on_idle_check, c);
    watch(c);
    return 0;
}

void conn_read_pending(struct conn *c)
{
    on_io(c->worker->loop, c->fd, EV_READ | EV_WRITE, c);
}
