/*
 * smtpsink - the receiving end of the trustnet mail benchmark
 * (bench/smtp.sh): an SMTP server that offers STARTTLS (and, unless
 * --plain, refuses mail before it: 530), accepts every message, keeps none
 * of it and counts.  One thread, one epoll loop, non-blocking OpenSSL.
 *
 * It stands for the next hop of the relay under test, so it must cost
 * little and never be the bottleneck: no disk, no DNS, no logging per
 * message; PIPELINING, so a relay can send its envelope in one write; all
 * the replies to one batch of input in one write, with TCP_NODELAY; a full
 * TLS handshake on every connection (no session tickets, no session cache),
 * as a relay's first contact with a partner's server would have.
 *
 * Counted: connections, TLS handshakes, messages and bytes, refused
 * plaintext MAIL commands, and, for the latest run of bench/smtpload (the
 * "X-Smtpload: RUN SEQ" header it puts in each message), unique and
 * duplicate deliveries and the wall-clock time in microseconds of its first
 * and last message.  A message of a run never seen before starts a new run;
 * one of an earlier run counts as "stale".  The counters go to --status FILE
 * (rewritten at most every 100 ms while they change, and at exit) as
 * key=value on one line.
 *
 * Bounded: --lifetime seconds (default 3600), --max-conns connections,
 * 1000-byte command lines, 5 minutes of idleness per connection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "benchlib.h"

#define RBUF_SIZE 16384
#define WBUF_SIZE 4096
#define LINE_MAX_CMD 1000   /* RFC 5321 4.5.3.1.4: 512; accept more */
#define SEQ_BITS (1u << 24) /* deliveries tracked for duplicates */
#define IDLE_TIMEOUT_NS (300ull * 1000000000u)
#define MAX_LIFETIME_S 86400
#define RUNS_KEPT 64
#define RUN_MAX 16

enum cstate { CS_CMD, CS_DATA, CS_HANDSHAKE, CS_CLOSING };

struct conn {
    int fd;
    SSL *ssl;
    enum cstate state;
    bool tls;
    bool helo;
    bool mail;
    uint32_t events;       /* what epoll watches (no EPOLLIN while replies wait) */
    bool line_start;       /* DATA: the next byte starts a line */
    bool in_headers;       /* DATA: before the empty line */
    int rcpts;
    uint64_t last_active;
    long long msg_seq;     /* from X-Smtpload: >= 0, or MSG_* */
    char rbuf[RBUF_SIZE];
    size_t rlen;
    char wbuf[WBUF_SIZE];
    size_t wlen, woff;
    struct conn *next_all, *prev_all;
};

static struct opts {
    const char *listen;
    const char *cert, *key;
    const char *status;
    const char *name;
    bool plain;
    double lifetime;
    int max_conns;
} o = {
    .name = "smtpsink.test",
    .lifetime = 3600,
    .max_conns = 1000,
};

static SSL_CTX *g_ctx;
static int g_ep, g_lfd;
static struct conn *g_all;
static int g_nconns;
enum { MSG_UNMARKED = -1, MSG_STALE = -2 };
static uint8_t *g_seen; /* bitmap of the current run's delivered SEQ values */
static char g_runs[RUNS_KEPT][RUN_MAX]; /* runs seen; the current one is g_runs[g_nruns-1] */
static int g_nruns;

static struct {
    long conns, tls_handshakes, tls_failures, messages, rcpts, unmarked, stale;
    long plain_refused, injected, errors;
    long long bytes, last_us;
    long run_messages, run_duplicates;
    long long run_first_us, run_last_us;
} g_st;
static bool g_dirty;

static void write_status(void)
{
    if (o.status == NULL)
        return;
    char line[1024], tmp[4200];
    int n = snprintf(line, sizeof line,
                     "conns=%ld tls_handshakes=%ld tls_failures=%ld messages=%ld rcpts=%ld "
                     "unmarked=%ld stale=%ld plain_refused=%ld injected=%ld errors=%ld "
                     "bytes=%lld last_us=%lld run=%s run_messages=%ld run_duplicates=%ld "
                     "run_first_us=%lld run_last_us=%lld\n",
                     g_st.conns, g_st.tls_handshakes, g_st.tls_failures, g_st.messages,
                     g_st.rcpts, g_st.unmarked, g_st.stale, g_st.plain_refused, g_st.injected,
                     g_st.errors, g_st.bytes, g_st.last_us,
                     g_nruns ? g_runs[g_nruns - 1] : "none", g_st.run_messages,
                     g_st.run_duplicates, g_st.run_first_us, g_st.run_last_us);
    if (n <= 0 || (size_t)n >= sizeof line)
        return;
    /* write a temporary file and rename it: a reader never sees half a line */
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", o.status) >= sizeof tmp)
        die("--status path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot write %s: %s", tmp, strerror(errno));
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n || rename(tmp, o.status) < 0)
        die("cannot write %s: %s", o.status, strerror(errno));
    g_dirty = false;
}

/* ---- connections ------------------------------------------------------------ */

static void set_events(struct conn *c, bool in, bool out)
{
    watch_events(g_ep, c->fd, c, &c->events, (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0));
}

static void conn_free(struct conn *c)
{
    if (c->ssl != NULL) {
        if (c->tls && c->state == CS_CLOSING)
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        g_all = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    g_nconns--;
    free(c);
}

/* Write the pending replies; 1 when all written, 0 when waiting, -1 on error. */
static int flush(struct conn *c)
{
    bool want_write;
    int r = io_flush(c->tls ? c->ssl : NULL, c->fd, c->wbuf, &c->woff, c->wlen, &want_write);
    if (r == 0)
        set_events(c, !want_write, want_write);
    else if (r == 1)
        c->wlen = c->woff = 0;
    return r;
}

static void reply(struct conn *c, const char *text)
{
    size_t len = strlen(text);
    if (c->wlen + len > sizeof c->wbuf)
        die("internal: reply buffer overflow");
    memcpy(c->wbuf + c->wlen, text, len);
    c->wlen += len;
}

/* ---- SMTP ------------------------------------------------------------------------ */

/* The run a message belongs to: the current one (true), a new one (it
 * becomes current), or an earlier one (false). */
static bool current_run(const char *run)
{
    if (g_nruns > 0 && strcmp(run, g_runs[g_nruns - 1]) == 0)
        return true;
    for (int i = 0; i < g_nruns - 1; i++)
        if (strcmp(run, g_runs[i]) == 0)
            return false;
    if (g_nruns == RUNS_KEPT) { /* forget the oldest */
        memmove(g_runs[0], g_runs[1], sizeof g_runs[0] * (RUNS_KEPT - 1));
        g_nruns--;
    }
    snprintf(g_runs[g_nruns++], RUN_MAX, "%s", run);
    memset(g_seen, 0, SEQ_BITS / 8);
    g_st.run_messages = g_st.run_duplicates = 0;
    g_st.run_first_us = g_st.run_last_us = 0;
    return true;
}

static void on_data_line(struct conn *c, const char *line, size_t len)
{
    g_st.bytes += (long long)len;
    if (c->in_headers) {
        if (len <= 2 && (len == 1 || line[0] == '\r')) {
            c->in_headers = false;
            return;
        }
        if (len > 11 && strncasecmp(line, "X-Smtpload:", 11) == 0) {
            char run[RUN_MAX];
            unsigned long long seq;
            char buf[96];
            size_t l = len < sizeof buf - 1 ? len : sizeof buf - 1;
            memcpy(buf, line, l);
            buf[l] = '\0';
            if (sscanf(buf + 11, " %15s %llu", run, &seq) == 2 && seq < SEQ_BITS)
                c->msg_seq = current_run(run) ? (long long)seq : MSG_STALE;
        }
    }
}

static void end_of_message(struct conn *c)
{
    g_st.messages++;
    g_st.rcpts += c->rcpts;
    long long t = unix_us();
    g_st.last_us = t;
    if (c->msg_seq == MSG_UNMARKED)
        g_st.unmarked++;
    else if (c->msg_seq == MSG_STALE)
        g_st.stale++;
    else {
        size_t i = (size_t)c->msg_seq;
        if (g_seen[i / 8] & (1u << (i % 8)))
            g_st.run_duplicates++;
        else {
            g_seen[i / 8] |= (uint8_t)(1u << (i % 8));
            g_st.run_messages++;
        }
        if (g_st.run_first_us == 0)
            g_st.run_first_us = t;
        g_st.run_last_us = t;
    }
    g_dirty = true;
    c->state = CS_CMD;
    c->mail = false;
    c->rcpts = 0;
    reply(c, "250 2.0.0 Ok: discarded\r\n");
}

static bool verb(const char *line, size_t len, const char *v)
{
    size_t vl = strlen(v);
    return len >= vl && strncasecmp(line, v, vl) == 0 &&
           (len == vl || line[vl] == ' ' || line[vl] == '\r' || line[vl] == '\n');
}

/* One command line (with its line end).  Returns false to close. */
static bool on_command(struct conn *c, const char *line, size_t len)
{
    if (verb(line, len, "EHLO")) {
        c->helo = true;
        c->mail = false;
        c->rcpts = 0;
        char buf[512];
        snprintf(buf, sizeof buf, "250-%s\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n%s"
                 "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                 o.name, !o.plain && !c->tls ? "250-STARTTLS\r\n" : "");
        reply(c, buf);
    } else if (verb(line, len, "HELO")) {
        c->helo = true;
        reply(c, "250 smtpsink\r\n");
    } else if (verb(line, len, "STARTTLS")) {
        if (o.plain || c->tls) {
            reply(c, "454 4.7.0 TLS not available\r\n");
            return true;
        }
        reply(c, "220 2.0.0 Ready to start TLS\r\n");
        c->state = CS_HANDSHAKE; /* the caller sends the 220, then starts TLS */
    } else if (verb(line, len, "MAIL")) {
        if (!o.plain && !c->tls) {
            g_st.plain_refused++;
            g_dirty = true;
            reply(c, "530 5.7.0 Must issue a STARTTLS command first\r\n");
        } else if (!c->helo || c->mail)
            reply(c, "503 5.5.1 Bad sequence of commands\r\n");
        else {
            c->mail = true;
            c->rcpts = 0;
            reply(c, "250 2.1.0 Ok\r\n");
        }
    } else if (verb(line, len, "RCPT")) {
        if (!c->mail)
            reply(c, "503 5.5.1 Bad sequence of commands\r\n");
        else {
            c->rcpts++;
            reply(c, "250 2.1.5 Ok\r\n");
        }
    } else if (verb(line, len, "DATA")) {
        if (!c->mail || c->rcpts == 0)
            reply(c, "554 5.5.1 No valid recipients\r\n");
        else {
            c->state = CS_DATA;
            c->line_start = true;
            c->in_headers = true;
            c->msg_seq = MSG_UNMARKED;
            reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
        }
    } else if (verb(line, len, "RSET")) {
        c->mail = false;
        c->rcpts = 0;
        reply(c, "250 2.0.0 Ok\r\n");
    } else if (verb(line, len, "NOOP")) {
        reply(c, "250 2.0.0 Ok\r\n");
    } else if (verb(line, len, "QUIT")) {
        reply(c, "221 2.0.0 Bye\r\n");
        c->state = CS_CLOSING;
        return true;
    } else
        reply(c, "502 5.5.2 Command not recognized\r\n");
    return true;
}

/* Consume the input buffer.  Stops when replies need writing first. */
static bool process_input(struct conn *c)
{
    size_t off = 0;
    while (off < c->rlen && c->state != CS_HANDSHAKE && c->state != CS_CLOSING &&
           c->wlen + 600 < sizeof c->wbuf) {
        char *line = c->rbuf + off;
        size_t avail = c->rlen - off;
        char *nl = memchr(line, '\n', avail);
        if (c->state == CS_DATA) {
            if (nl == NULL) {
                if (avail < sizeof c->rbuf)
                    break; /* keep the partial line; more room after compaction */
                /* a very long line: take it in pieces */
                g_st.bytes += (long long)avail;
                c->line_start = false;
                off += avail;
                break;
            }
            size_t len = (size_t)(nl - line) + 1;
            if (c->line_start && line[0] == '.' && (len == 2 || (len == 3 && line[1] == '\r'))) {
                off += len;
                end_of_message(c);
                continue;
            }
            if (c->line_start)
                on_data_line(c, line, len);
            else
                g_st.bytes += (long long)len;
            c->line_start = true;
            off += len;
            continue;
        }
        if (nl == NULL) {
            if (avail > LINE_MAX_CMD) {
                reply(c, "500 5.5.2 Line too long\r\n");
                c->state = CS_CLOSING;
                off = c->rlen;
            }
            break;
        }
        size_t len = (size_t)(nl - line) + 1;
        off += len;
        if (!on_command(c, line, len))
            return false;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->state == CS_HANDSHAKE && c->rlen > 0) {
        /* plaintext after STARTTLS: a response injection attempt; drop it */
        g_st.injected++;
        c->rlen = 0;
    }
    return true;
}

static void start_handshake(struct conn *c)
{
    c->ssl = SSL_new(g_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        die("SSL_new failed");
    SSL_set_accept_state(c->ssl);
    c->helo = c->mail = false;
    c->rcpts = 0;
}

/* Returns false when the connection is to be closed. */
static bool do_handshake(struct conn *c)
{
    bool want_write;
    int r = tls_handshake(c->ssl, &want_write);
    if (r == 1) {
        c->tls = true;
        c->state = CS_CMD;
        g_st.tls_handshakes++;
        g_dirty = true;
        set_events(c, true, false);
        return true;
    }
    if (r == 0) {
        set_events(c, !want_write, want_write);
        return true;
    }
    ERR_clear_error();
    g_st.tls_failures++;
    g_dirty = true;
    return false;
}

/* Read what is there; -1 on EOF or error. */
static int fill(struct conn *c)
{
    bool want_write; /* unused: the sink waits for input either way (as it always did) */
    return io_fill(c->tls ? c->ssl : NULL, c->fd, c->rbuf, sizeof c->rbuf, &c->rlen,
                   &want_write);
}

/* Read, answer, write, until the input is exhausted.  false: close. */
static bool serve(struct conn *c)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (c->state == CS_HANDSHAKE && c->ssl != NULL)
            return do_handshake(c) && (c->state != CS_CMD || serve(c));
        int r = fill(c);
        if (!process_input(c))
            return false;
        /* every reply to this batch of input in one write */
        int f = c->wlen > 0 ? flush(c) : 1;
        if (f < 0)
            return false;
        if (f == 0)
            return true; /* EPOLLOUT will call us again */
        if (c->state == CS_CLOSING)
            return false;
        if (c->state == CS_HANDSHAKE) {
            start_handshake(c); /* the 220 is out: now TLS */
            continue;
        }
        if (r < 0)
            return false;
        set_events(c, true, false);
        /* input left over: a full buffer, TLS records OpenSSL holds, or lines
         * not processed because the replies had to be written first */
        bool more = c->rlen == sizeof c->rbuf || (c->tls && SSL_pending(c->ssl) > 0) ||
                    (c->rlen > 0 && memchr(c->rbuf, '\n', c->rlen) != NULL);
        if (!more)
            return true;
    }
    return true;
}

static void on_accept(void)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(g_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (g_nconns >= o.max_conns) {
            close(fd);
            g_st.errors++;
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            g_st.errors++;
            continue;
        }
        set_nodelay(fd);
        c->fd = fd;
        c->state = CS_CMD;
        c->events = EPOLLIN;
        c->last_active = now_ns();
        c->next_all = g_all;
        if (g_all)
            g_all->prev_all = c;
        g_all = c;
        g_nconns++;
        g_st.conns++;
        g_dirty = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
        char greet[300];
        snprintf(greet, sizeof greet, "220 %s ESMTP smtpsink\r\n", o.name);
        reply(c, greet);
        if (flush(c) < 0)
            conn_free(c);
    }
}

/* ---- set-up ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: smtpsink --listen 127.x.y.z:PORT (--cert F --key F | --plain) [options]\n"
          "  --cert F --key F  certificate (chain) and key: STARTTLS offered, required for MAIL\n"
          "  --plain           no STARTTLS\n"
          "  --status FILE     counters, rewritten while they change and at exit\n"
          "  --name NAME       name in the greeting and EHLO reply (default smtpsink.test)\n"
          "  --lifetime S      exit after S seconds (default 3600)\n"
          "  --max-conns N     connections at once (default 1000)\n",
          f);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"listen", 1, 0, 'l'},   {"cert", 1, 0, 'c'},      {"key", 1, 0, 'k'},
        {"plain", 0, 0, 'p'},    {"status", 1, 0, 's'},    {"name", 1, 0, 'n'},
        {"lifetime", 1, 0, 't'}, {"max-conns", 1, 0, 'm'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'l': o.listen = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'p': o.plain = true; break;
        case 's': o.status = optarg; break;
        case 'n': o.name = optarg; break;
        case 't': o.lifetime = atof(optarg); break;
        case 'm': o.max_conns = atoi(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc || o.listen == NULL || (!o.plain && (o.cert == NULL || o.key == NULL))) {
        usage(stderr);
        exit(2);
    }
    if (!(o.lifetime > 0 && o.lifetime <= MAX_LIFETIME_S))
        die("--lifetime must be in (0, %d] seconds", MAX_LIFETIME_S);
    if (o.max_conns < 1 || o.max_conns > 100000)
        die("--max-conns must be 1..100000");
    if (strlen(o.name) > 200 || strpbrk(o.name, "\r\n ") != NULL)
        die("--name: a host name");
}

static void listen_on(void)
{
    struct sockaddr_in a;
    const char *bad = parse_loopback(o.listen, &a);
    if (bad != NULL)
        die("--listen %s", bad);
    g_lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (g_lfd < 0 || setsockopt(g_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(g_lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(g_lfd, 1024) < 0)
        die("cannot listen on %s: %s", o.listen, strerror(errno));
}

static void setup_tls(void)
{
    g_ctx = SSL_CTX_new(TLS_server_method());
    if (g_ctx == NULL)
        die("SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
    /* full handshakes only: no tickets, no server-side cache */
    SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(g_ctx, 0);
    SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(g_ctx, o.cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(g_ctx, o.key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(g_ctx) != 1)
        die("cannot load the certificate %s and key %s", o.cert, o.key);
}

static void close_idle(uint64_t now)
{
    for (struct conn *c = g_all, *next; c != NULL; c = next) {
        next = c->next_all;
        if (now > c->last_active && now - c->last_active > IDLE_TIMEOUT_NS)
            conn_free(c);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    catch_signals();
    raise_nofile_limit();
    if (!o.plain)
        setup_tls();
    g_seen = calloc(SEQ_BITS / 8, 1);
    if (g_seen == NULL)
        die("out of memory");
    listen_on();
    g_ep = epoll_new();
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, g_lfd, &lev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    write_status();

    uint64_t end = now_ns() + (uint64_t)(o.lifetime * 1e9), next_status = 0, next_idle = 0;
    while (!bench_stop) {
        uint64_t now = now_ns();
        if (now >= end)
            break;
        struct epoll_event evs[256];
        int n = wait_events_ns(g_ep, evs, 256, 100000000u);
        now = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                on_accept();
                continue;
            }
            c->last_active = now;
            if (!serve(c))
                conn_free(c);
        }
        if (g_dirty && now >= next_status) {
            write_status();
            next_status = now + 100000000u;
        }
        if (now >= next_idle) {
            close_idle(now);
            next_idle = now + 10000000000u;
        }
    }
    write_status();
    while (g_all != NULL)
        conn_free(g_all);
    close(g_lfd);
    free(g_seen);
    SSL_CTX_free(g_ctx);
    return 0;
}
