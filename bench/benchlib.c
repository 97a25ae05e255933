/*
 * benchlib.c - what the load tools of bench/ share (see benchlib.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "benchlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

bool bench_quiet;
volatile sig_atomic_t bench_stop;

/* ---- messages ---------------------------------------------------------------- */

__attribute__((format(printf, 1, 0))) static void vsay(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    exit(2);
}

void warn_limited(const char *fmt, ...)
{
    static int shown;
    if (bench_quiet || ++shown > 10)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

/* ---- clocks and CPU time -------------------------------------------------------- */

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long long unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- latency samples ------------------------------------------------------------- */

void samples_add(struct samples *s, uint32_t us)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = us;
}

void samples_add_since(struct samples *s, uint64_t t0)
{
    uint64_t us = (now_ns() - t0) / 1000u;
    samples_add(s, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void samples_sort(struct samples *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_u32);
}

uint32_t samples_pct(const struct samples *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
    return s->v[i < s->n ? i : s->n - 1];
}

void samples_print(const char *name, struct samples *s)
{
    samples_sort(s);
    printf("%s_us_p50=%u %s_us_p90=%u %s_us_p99=%u %s_us_p999=%u %s_us_max=%u\n", name,
           samples_pct(s, 50), name, samples_pct(s, 90), name, samples_pct(s, 99), name,
           samples_pct(s, 99.9), name, s->n ? s->v[s->n - 1] : 0);
}

/* ---- process ---------------------------------------------------------------------- */

static void on_stop_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

void catch_signals(void)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
}

rlim_t raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return RLIM_INFINITY;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return RLIM_INFINITY;
    return rl.rlim_cur;
}

/* ---- addresses and sockets ----------------------------------------------------------- */

const char *parse_loopback(const char *ip_port, struct sockaddr_in *sa)
{
    static const char bad[] = "must be IPv4:PORT";
    char host[64];
    const char *colon = strrchr(ip_port, ':');
    if (colon == NULL || (size_t)(colon - ip_port) >= sizeof host)
        return bad;
    memcpy(host, ip_port, (size_t)(colon - ip_port));
    host[colon - ip_port] = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
        return bad;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return bad;
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        return "must be on 127.0.0.0/8 (loopback benchmarks only)";
    return NULL;
}

void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        set_nodelay(fd);
    return fd;
}

int tcp_connect_start(int ep, int fd, const struct sockaddr_in *to, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = ptr};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS)
        return errno;
    return 0;
}

int connect_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

/* ---- epoll ---------------------------------------------------------------------------- */

int epoll_new(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    return ep;
}

void watch_events(int ep, int fd, void *ptr, uint32_t *cur, uint32_t want)
{
    if (*cur == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = ptr};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    *cur = want;
}

int wait_events_ns(int ep, struct epoll_event *evs, int max, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    int n = epoll_pwait2(ep, evs, max, &ts, NULL);
    if (n < 0 && errno != EINTR)
        die("epoll_pwait2: %s", strerror(errno));
    return n < 0 ? 0 : n;
}

/* ---- non-blocking I/O ------------------------------------------------------------------- */

/* SSL_get_error() is only reliable with an empty error queue before the
 * call; clearing costs a pass over the whole queue (about 130 ns here), looking
 * costs a fifth of that, and the queue is nearly always empty already. */
static void drop_stale_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

long io_read(SSL *ssl, int fd, void *buf, size_t len, bool *want_write)
{
    *want_write = false;
    if (ssl != NULL) {
        drop_stale_errors();
        int r = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
        if (r > 0)
            return r;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *want_write = e == SSL_ERROR_WANT_WRITE;
            return 0;
        }
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? -1 : -2;
    }
    ssize_t r = recv(fd, buf, len, 0);
    if (r > 0)
        return (long)r;
    if (r == 0)
        return -1;
    return errno == EAGAIN || errno == EINTR ? 0 : -2;
}

int io_fill(SSL *ssl, int fd, char *buf, size_t cap, size_t *len, bool *want_write)
{
    *want_write = false;
    while (*len < cap) {
        long r = io_read(ssl, fd, buf + *len, cap - *len, want_write);
        if (r == 0)
            return 0;
        if (r < 0)
            return -1;
        *len += (size_t)r;
    }
    return 0;
}

int io_flush(SSL *ssl, int fd, const char *buf, size_t *off, size_t len, bool *want_write)
{
    *want_write = false;
    while (*off < len) {
        size_t left = len - *off;
        if (ssl != NULL) {
            drop_stale_errors();
            int r = SSL_write(ssl, buf + *off, left > INT_MAX ? INT_MAX : (int)left);
            if (r <= 0) {
                int e = SSL_get_error(ssl, r);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    *want_write = e == SSL_ERROR_WANT_WRITE;
                    return 0;
                }
                ERR_clear_error();
                return -1;
            }
            *off += (size_t)r;
        } else {
            ssize_t n = send(fd, buf + *off, left, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    *want_write = true;
                    return 0;
                }
                return -1;
            }
            *off += (size_t)n;
        }
    }
    return 1;
}

/* ---- TLS -------------------------------------------------------------------------------- */

SSL_CTX *tls_client_ctx(const char *ca, bool tls12)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        die("cannot load CA file %s", ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

SSL *tls_client_new(SSL_CTX *ctx, int fd, const char *name, const struct sockaddr_in *addr)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        die("SSL_new failed");
    if (name != NULL) {
        if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)
            die("cannot set the expected name %s", name);
    } else {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip);
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) != 1)
            die("cannot set the expected address %s", ip);
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

int tls_handshake(SSL *ssl, bool *want_write)
{
    *want_write = false;
    drop_stale_errors();
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    return -1;
}

bool tls_failure(SSL *ssl, char *buf, size_t size)
{
    char reason[256] = "connection closed";
    unsigned long le = ERR_get_error();
    if (le != 0)
        ERR_error_string_n(le, reason, sizeof reason);
    long vr = SSL_get_verify_result(ssl);
    snprintf(buf, size, "TLS handshake failed: %s%s%s", reason,
             vr != X509_V_OK ? "; certificate: " : "",
             vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
    ERR_clear_error();
    return vr != X509_V_OK;
}
