/*
 * smtpload - a small SMTP load generator for the trustnet mail benchmark
 * (bench/smtp.sh).  One thread, one epoll loop, non-blocking OpenSSL.
 *
 * N sessions run in parallel.  Each opens a TCP connection, reads the
 * greeting, sends EHLO, and (unless --plain) STARTTLS, verifies the relay's
 * certificate (--ca, and --name or the relay's IP address), sends EHLO
 * again, then sends --per-conn messages, one at a time, and QUIT; then it
 * connects again.  --per-conn 1 is a new connection and TLS handshake per
 * message.
 *
 * Each command group and each message is written with one write, on a
 * socket with TCP_NODELAY: an SMTP peer that splits a reply or a message
 * over several small writes stalls on Nagle and delayed ACK, and the
 * generator must not be the one to do that.  With PIPELINING offered,
 * MAIL, RCPT and DATA go in one write (RFC 2920); without it one by one.
 *
 * Load: --rate messages per second (0: each session sends its next
 * message as soon as the previous one is answered), at most --count
 * messages, at most --duration seconds; in-flight messages then get
 * --timeout to finish.  Every run stops by itself.
 *
 * Measured: messages accepted (250 after the final dot), failed (by stage
 * and reply code), messages per second, latency from the end of the data
 * (the last byte of "<CRLF>.<CRLF>" written) to the 250, the whole
 * transaction (MAIL to 250) and the session set-up (connect to the EHLO
 * after STARTTLS).  Output: "key=value" lines on stdout.
 *
 * Each message carries "X-Smtpload: RUN SEQ" so that a sink (bench/smtpsink)
 * can count unique deliveries.  Only 127.0.0.0/8 is accepted as relay.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "benchlib.h"

#define MAX_SESSIONS 10000
#define MAX_DURATION_S 600
#define MAX_COUNT 10000000L
#define MAX_SIZE (10L * 1024 * 1024)
#define RBUF_SIZE 8192 /* replies; a reply line is at most 512 bytes */
#define MAX_ERR_KINDS 64
#define RETRY_NS 100000000u /* 100 ms before a failed connection is retried */

enum sstate {
    ST_FREE,       /* no connection (retry_at: when to open one) */
    ST_CONNECTING, /* TCP connect in progress */
    ST_GREETING,   /* waiting for 220 */
    ST_EHLO,       /* EHLO sent */
    ST_STARTTLS,   /* STARTTLS sent, waiting for 220 */
    ST_HANDSHAKE,  /* TLS handshake */
    ST_IDLE,       /* ready for a message */
    ST_ENVELOPE,   /* MAIL / RCPT / DATA sent, replies pending */
    ST_DOT,        /* message and final dot sent, waiting for 250 */
    ST_RSET,       /* after a failed transaction */
    ST_QUIT,       /* QUIT sent, waiting for 221 or EOF */
};

static const char *const state_names[] = {
    "free", "connect", "greeting", "ehlo", "starttls", "tls",
    "idle", "envelope", "dot", "rset", "quit",
};

struct sess {
    int idx;
    int fd;
    SSL *ssl;
    enum sstate state;
    bool tls;             /* TLS is up on this connection */
    bool pipelining;      /* offered in the last EHLO */
    bool starttls;        /* offered in the last EHLO */
    uint32_t events;      /* what epoll watches for it */
    bool in_txn;          /* a message of the load is in flight */
    bool txn_failed;      /* one of its replies was a failure */
    bool stamp_on_flush;  /* record t_dataend when the write buffer drains */
    int step;             /* envelope: 0 MAIL, 1 RCPT, 2 DATA */
    int msgs_on_conn;
    uint32_t seq;         /* sequence number of the message in flight */
    uint64_t t_conn;      /* connect() */
    uint64_t t_state;     /* when the current state began (timeouts) */
    uint64_t t_mail;      /* MAIL sent */
    uint64_t t_dataend;   /* final dot written */
    uint64_t retry_at;    /* ST_FREE: not before */
    char rbuf[RBUF_SIZE];
    size_t rlen;
    char *wbuf;
    size_t wlen, woff;
};

static struct opts {
    const char *server;
    const char *ca;
    const char *name;
    const char *cert, *key;
    const char *helo;
    const char *from;
    const char *rcpt_domain;
    const char *run;
    bool plain;
    bool tls12;
    int sessions;
    int per_conn;
    int rcpts;
    long size;
    long count;
    double rate;
    double duration;
    int timeout_ms;
} o = {
    .helo = "smtpload.test",
    .from = "load@smtpload.test",
    .sessions = 8,
    .per_conn = 1,
    .rcpts = 100,
    .size = 4096,
    .count = 1000,
    .rate = 0,
    .duration = 10,
    .timeout_ms = 10000,
};

static struct sockaddr_in g_addr;
static SSL_CTX *g_ctx;
static int g_ep;
static struct sess *g_sess;
static char g_run[16];
static char *g_body; /* the message body after the headers, ending with CRLF */
static size_t g_body_len, g_wcap;
static char g_date[64];
static bool g_issuing;  /* new messages may start */
static bool g_winding;  /* after the load: finish, QUIT, do not reconnect */
static bool g_trace;    /* SMTPLOAD_TRACE=1: every reply and command on stderr */

/* statistics */
static long g_issued, g_accepted, g_failed, g_connections, g_tls_ok;
static struct samples g_lat, g_txn, g_setup; /* us: dot to 250, MAIL to 250, connect to EHLO */
static char g_tls_version[32], g_tls_cipher[64];
static struct {
    char key[40];
    long n;
} g_errs[MAX_ERR_KINDS];
static int g_nerrs;

/* ---- small helpers ------------------------------------------------------- */

/* Count one error of a kind: "STAGE" or "STAGE_CODE". */
static void count_err(const char *stage, int code)
{
    char key[40];
    if (code > 0)
        snprintf(key, sizeof key, "%s_%d", stage, code);
    else
        snprintf(key, sizeof key, "%s", stage);
    for (int i = 0; i < g_nerrs; i++)
        if (strcmp(g_errs[i].key, key) == 0) {
            g_errs[i].n++;
            return;
        }
    if (g_nerrs == MAX_ERR_KINDS) {
        g_errs[MAX_ERR_KINDS - 1].n++; /* "other" */
        return;
    }
    snprintf(g_errs[g_nerrs].key, sizeof g_errs[0].key, "%s",
             g_nerrs == MAX_ERR_KINDS - 1 ? "other" : key);
    g_errs[g_nerrs++].n = 1;
}

/* ---- connections ------------------------------------------------------------ */

static void sess_close(struct sess *s, uint64_t retry_delay_ns);
static void on_reply(struct sess *s, int code);

static void set_state(struct sess *s, enum sstate st)
{
    s->state = st;
    s->t_state = now_ns();
}

static void arm(struct sess *s, bool want_out)
{
    watch_events(g_ep, s->fd, s, &s->events, EPOLLIN | (want_out ? EPOLLOUT : 0));
}

/* A message in flight on s did not make it. */
static void fail_txn(struct sess *s, const char *stage, int code)
{
    count_err(stage, code);
    if (s->in_txn && !s->txn_failed) {
        s->txn_failed = true;
        g_failed++;
    }
}

/* The connection broke (EOF, error, timeout) in its current state. */
static void sess_lost(struct sess *s, const char *what)
{
    char stage[40];
    snprintf(stage, sizeof stage, "%s_%s", what, state_names[s->state]);
    if (s->state == ST_QUIT) {
        sess_close(s, 0); /* the server may close before or after its 221 */
        return;
    }
    fail_txn(s, stage, 0);
    warn_limited("session %d: %s", s->idx, stage);
    sess_close(s, RETRY_NS);
}

/* Write what is buffered; 0 when done or waiting for EPOLLOUT, -1 on error. */
static int flush(struct sess *s)
{
    bool want_write;
    int r = io_flush(s->tls ? s->ssl : NULL, s->fd, s->wbuf, &s->woff, s->wlen, &want_write);
    if (r < 0)
        return -1;
    if (r == 0) {
        arm(s, want_write);
        return 0;
    }
    s->wlen = s->woff = 0;
    if (s->stamp_on_flush) {
        s->t_dataend = now_ns();
        s->stamp_on_flush = false;
    }
    arm(s, false);
    return 0;
}

/* Queue text and write it (one write when the socket takes it whole). */
static int send_text(struct sess *s, const char *buf, size_t len)
{
    if (s->wlen + len > g_wcap)
        die("internal: write buffer overflow (%zu + %zu > %zu)", s->wlen, len, g_wcap);
    memcpy(s->wbuf + s->wlen, buf, len);
    s->wlen += len;
    if (g_trace)
        fprintf(stderr, ">>> %d: %.*s", s->idx, (int)(len > 200 ? 200 : len), buf);
    return flush(s);
}

static void send_or_lose(struct sess *s, const char *buf, size_t len)
{
    if (send_text(s, buf, len) < 0)
        sess_lost(s, "write");
}

static void sess_close(struct sess *s, uint64_t retry_delay_ns)
{
    if (s->state == ST_FREE)
        return;
    if (s->ssl != NULL) {
        if (s->tls && s->state == ST_QUIT)
            SSL_shutdown(s->ssl); /* close_notify, best effort */
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    epoll_ctl(g_ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    s->tls = s->in_txn = s->txn_failed = s->stamp_on_flush = false;
    s->rlen = s->wlen = s->woff = 0;
    s->state = ST_FREE;
    s->retry_at = now_ns() + retry_delay_ns;
}

static void sess_open(struct sess *s)
{
    int fd = tcp_socket();
    if (fd < 0) {
        count_err("socket", 0);
        warn_limited("socket: %s", strerror(errno));
        s->retry_at = now_ns() + RETRY_NS;
        return;
    }
    s->fd = fd;
    s->t_conn = now_ns();
    set_state(s, ST_CONNECTING);
    s->events = EPOLLIN | EPOLLOUT;
    s->pipelining = s->starttls = s->tls = false;
    s->msgs_on_conn = 0;
    s->rlen = s->wlen = s->woff = 0;
    g_connections++;
    int err = tcp_connect_start(g_ep, fd, &g_addr, s);
    if (err != 0) {
        count_err("connect", 0);
        warn_limited("connect: %s", strerror(err));
        sess_close(s, RETRY_NS);
    }
}

static void on_connected(struct sess *s)
{
    int err = connect_error(s->fd);
    if (err != 0) {
        count_err("connect", 0);
        warn_limited("connect to %s: %s", o.server, strerror(err));
        sess_close(s, RETRY_NS);
        return;
    }
    set_state(s, ST_GREETING);
    arm(s, false);
}

static void send_ehlo(struct sess *s)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "EHLO %s\r\n", o.helo);
    s->pipelining = s->starttls = false;
    set_state(s, ST_EHLO);
    send_or_lose(s, buf, (size_t)n);
}

static void on_secure(struct sess *s)
{
    s->tls = true;
    g_tls_ok++;
    if (g_tls_version[0] == '\0') {
        snprintf(g_tls_version, sizeof g_tls_version, "%s", SSL_get_version(s->ssl));
        snprintf(g_tls_cipher, sizeof g_tls_cipher, "%s", SSL_get_cipher_name(s->ssl));
    }
    arm(s, false);
    send_ehlo(s);
}

static void do_handshake(struct sess *s)
{
    bool want_write;
    int r = tls_handshake(s->ssl, &want_write);
    if (r == 1) {
        on_secure(s);
        return;
    }
    if (r == 0) {
        arm(s, want_write);
        return;
    }
    char why[512];
    bool unverified = tls_failure(s->ssl, why, sizeof why);
    warn_limited("session %d: %s", s->idx, why);
    count_err(unverified ? "tls_verify" : "tls_handshake", 0);
    sess_close(s, RETRY_NS);
}

static void start_tls(struct sess *s)
{
    s->ssl = tls_client_new(g_ctx, s->fd, o.name, &g_addr);
    set_state(s, ST_HANDSHAKE);
    do_handshake(s);
}

/* ---- messages --------------------------------------------------------------- */

/* Start the next message of the load on an idle session. */
static void start_message(struct sess *s)
{
    char buf[1024];
    uint32_t seq = (uint32_t)++g_issued;
    int r = (int)(seq % (uint32_t)o.rcpts);
    int n;
    s->seq = seq;
    s->in_txn = true;
    s->txn_failed = false;
    s->step = 0;
    s->t_mail = now_ns();
    set_state(s, ST_ENVELOPE);
    if (s->pipelining)
        n = snprintf(buf, sizeof buf, "MAIL FROM:<%s>\r\nRCPT TO:<u%d@%s>\r\nDATA\r\n", o.from,
                     r, o.rcpt_domain);
    else
        n = snprintf(buf, sizeof buf, "MAIL FROM:<%s>\r\n", o.from);
    send_or_lose(s, buf, (size_t)n);
}

/* Without PIPELINING: the next envelope command after a positive reply. */
static void send_envelope_step(struct sess *s)
{
    char buf[600];
    int n;
    if (s->step == 1)
        n = snprintf(buf, sizeof buf, "RCPT TO:<u%d@%s>\r\n", (int)(s->seq % (uint32_t)o.rcpts),
                     o.rcpt_domain);
    else
        n = snprintf(buf, sizeof buf, "DATA\r\n");
    send_or_lose(s, buf, (size_t)n);
}

/* The headers, the body and the final dot, in one write. */
static void send_data(struct sess *s)
{
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr,
                     "From: <%s>\r\n"
                     "To: <u%d@%s>\r\n"
                     "Subject: smtpload %s %u\r\n"
                     "Date: %s\r\n"
                     "Message-ID: <%u.%s@%s>\r\n"
                     "X-Smtpload: %s %u\r\n"
                     "\r\n",
                     o.from, (int)(s->seq % (uint32_t)o.rcpts), o.rcpt_domain, g_run, s->seq,
                     g_date, s->seq, g_run, o.helo, g_run, s->seq);
    if (n <= 0 || (size_t)n >= sizeof hdr)
        die("internal: headers too long");
    size_t total = (size_t)n + g_body_len + 3;
    if (s->wlen + total > g_wcap)
        die("internal: message does not fit the write buffer");
    char *p = s->wbuf + s->wlen;
    memcpy(p, hdr, (size_t)n);
    memcpy(p + n, g_body, g_body_len);
    memcpy(p + (size_t)n + g_body_len, ".\r\n", 3);
    s->wlen += total;
    s->stamp_on_flush = true;
    set_state(s, ST_DOT);
    if (g_trace)
        fprintf(stderr, ">>> %d: [message %u, %zu bytes]\n", s->idx, s->seq, total);
    if (flush(s) < 0)
        sess_lost(s, "write");
}

static void send_quit(struct sess *s)
{
    set_state(s, ST_QUIT);
    send_or_lose(s, "QUIT\r\n", 6);
}

/* After a message (accepted or not): the next one, or QUIT. */
static void after_message(struct sess *s)
{
    s->in_txn = false;
    s->msgs_on_conn++;
    if (s->msgs_on_conn >= o.per_conn || g_winding)
        send_quit(s);
    else
        set_state(s, ST_IDLE);
}

static void on_envelope_reply(struct sess *s, int code)
{
    static const char *const stage[] = {"mail", "rcpt", "data"};
    int step = s->step++;
    bool ok = step < 2 ? code / 100 == 2 : code == 354;
    if (!ok)
        fail_txn(s, stage[step], code);
    if (step < 2) {
        if (!ok && !s->pipelining) {
            set_state(s, ST_RSET);
            send_or_lose(s, "RSET\r\n", 6);
        } else if (!s->pipelining)
            send_envelope_step(s);
        return;
    }
    /* the DATA reply */
    if (s->txn_failed) {
        if (code == 354) { /* data accepted after a failure: end it empty */
            set_state(s, ST_DOT);
            send_or_lose(s, ".\r\n", 3);
        } else {
            set_state(s, ST_RSET);
            send_or_lose(s, "RSET\r\n", 6);
        }
        return;
    }
    send_data(s);
}

static void on_reply(struct sess *s, int code)
{
    switch (s->state) {
    case ST_GREETING:
        if (code != 220) {
            count_err("greeting", code);
            sess_close(s, RETRY_NS);
            return;
        }
        send_ehlo(s);
        return;
    case ST_EHLO:
        if (code != 250) {
            count_err("ehlo", code);
            sess_close(s, RETRY_NS);
            return;
        }
        if (!o.plain && !s->tls) {
            if (!s->starttls) {
                count_err("no_starttls", 0);
                warn_limited("session %d: the relay does not offer STARTTLS", s->idx);
                sess_close(s, RETRY_NS);
                return;
            }
            set_state(s, ST_STARTTLS);
            send_or_lose(s, "STARTTLS\r\n", 10);
            return;
        }
        samples_add_since(&g_setup, s->t_conn);
        if (g_winding)
            send_quit(s);
        else
            set_state(s, ST_IDLE);
        return;
    case ST_STARTTLS:
        if (code != 220) {
            count_err("starttls", code);
            sess_close(s, RETRY_NS);
            return;
        }
        if (s->rlen > 0) { /* plaintext after the 220: response injection */
            count_err("starttls_injection", 0);
            sess_close(s, RETRY_NS);
            return;
        }
        start_tls(s);
        return;
    case ST_ENVELOPE:
        on_envelope_reply(s, code);
        return;
    case ST_DOT:
        if (s->in_txn && !s->txn_failed) {
            if (code / 100 == 2) {
                g_accepted++;
                samples_add_since(&g_lat, s->t_dataend);
                samples_add_since(&g_txn, s->t_mail);
            } else
                fail_txn(s, "dot", code);
        }
        after_message(s);
        return;
    case ST_RSET:
        after_message(s);
        return;
    case ST_QUIT:
        sess_close(s, 0);
        return;
    case ST_IDLE:
        /* an unsolicited reply: a 421 before the server closes */
        count_err("unsolicited", code);
        sess_close(s, RETRY_NS);
        return;
    default:
        return;
    }
}

/* ---- input --------------------------------------------------------------------- */

/* Read what is there; -1 on EOF or error. */
static int fill(struct sess *s)
{
    bool want_write;
    int r = io_fill(s->tls ? s->ssl : NULL, s->fd, s->rbuf, sizeof s->rbuf, &s->rlen,
                    &want_write);
    if (want_write)
        arm(s, true);
    return r;
}

/* Handle every complete reply in the buffer. */
static void parse_replies(struct sess *s)
{
    size_t off = 0;
    while (s->state != ST_FREE && s->state != ST_HANDSHAKE) {
        char *line = s->rbuf + off;
        char *nl = memchr(line, '\n', s->rlen - off);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - line) + 1;
        if (g_trace)
            fprintf(stderr, "<<< %d: %.*s", s->idx, (int)len, line);
        if (len < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
            line[2] < '0' || line[2] > '9' || (line[3] != '-' && line[3] != ' ' && line[3] != '\r')) {
            count_err("bad_reply", 0);
            sess_lost(s, "protocol");
            return;
        }
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        off += len;
        if (s->state == ST_EHLO && len > 4) {
            const char *kw = line + 4;
            size_t kl = len - 4;
            if (kl >= 10 && strncasecmp(kw, "PIPELINING", 10) == 0)
                s->pipelining = true;
            else if (kl >= 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
                s->starttls = true;
        }
        if (line[3] == '-')
            continue;
        /* a complete reply: consume it before acting (STARTTLS checks what is left) */
        memmove(s->rbuf, s->rbuf + off, s->rlen - off);
        s->rlen -= off;
        off = 0;
        on_reply(s, code);
    }
    if (s->state == ST_FREE)
        return;
    if (off > 0) {
        memmove(s->rbuf, s->rbuf + off, s->rlen - off);
        s->rlen -= off;
    }
    if (s->rlen == sizeof s->rbuf) {
        count_err("reply_too_long", 0);
        sess_lost(s, "protocol");
    }
}

static void on_event(struct sess *s, uint32_t ev)
{
    switch (s->state) {
    case ST_FREE:
        return;
    case ST_CONNECTING:
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(s);
        return;
    case ST_HANDSHAKE:
        do_handshake(s);
        return;
    default:
        break;
    }
    /* a write may wait for EPOLLOUT, or (TLS) for input */
    if (s->wlen > 0 && flush(s) < 0) {
        sess_lost(s, "write");
        return;
    }
    if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (;;) {
        int r = fill(s);
        parse_replies(s);
        if (s->state == ST_FREE || s->state == ST_HANDSHAKE)
            return;
        if (r < 0) {
            sess_lost(s, "closed");
            return;
        }
        /* OpenSSL may hold decrypted input that epoll will not report */
        if (!s->tls || SSL_pending(s->ssl) == 0 || s->rlen == sizeof s->rbuf)
            return;
    }
}

/* ---- the load ---------------------------------------------------------------------- */

static void check_timeouts(void)
{
    uint64_t now = now_ns(), limit = (uint64_t)o.timeout_ms * 1000000u;
    for (int i = 0; i < o.sessions; i++) {
        struct sess *s = &g_sess[i];
        if (s->state == ST_FREE || s->state == ST_IDLE)
            continue;
        if (now > s->t_state && now - s->t_state > limit)
            sess_lost(s, "timeout");
    }
}

static void loop_once_ns(uint64_t timeout_ns)
{
    struct epoll_event evs[256];
    int n = wait_events_ns(g_ep, evs, 256, timeout_ns);
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

static int busy_sessions(bool count_idle)
{
    int busy = 0;
    for (int i = 0; i < o.sessions; i++) {
        enum sstate st = g_sess[i].state;
        if (st != ST_FREE && (count_idle || st != ST_IDLE))
            busy++;
    }
    return busy;
}

static void run(void)
{
    double cpu0 = self_cpu_s();
    long long start_us = unix_us();
    uint64_t t0 = now_ns(), next_check = t0;
    uint64_t end = t0 + (uint64_t)(o.duration * 1e9);
    int rr = 0;
    g_issuing = true;
    while (g_issuing) {
        uint64_t now = now_ns();
        if (now >= end || g_issued >= o.count || bench_stop)
            break;
        /* sessions without a connection open one (immediately, or after a
         * failure's pause), unless those being set up or idle already cover
         * the messages left: no handshake the load will not use */
        int spare = 0;
        for (int i = 0; i < o.sessions; i++)
            spare += g_sess[i].state != ST_FREE && !g_sess[i].in_txn && g_sess[i].state != ST_QUIT;
        for (int i = 0; i < o.sessions && spare < o.count - g_issued; i++)
            if (g_sess[i].state == ST_FREE && now >= g_sess[i].retry_at) {
                sess_open(&g_sess[i]);
                spare++;
            }
        long due = o.rate > 0 ? (long)((double)(now - t0) / 1e9 * o.rate) + 1 : o.count;
        if (due > o.count)
            due = o.count;
        for (int scanned = 0; g_issued < due && scanned < o.sessions; scanned++) {
            struct sess *s = &g_sess[rr];
            rr = (rr + 1) % o.sessions;
            if (s->state != ST_IDLE)
                continue;
            start_message(s);
            scanned = -1; /* started one: scan a full round again */
        }
        uint64_t wait = 1000000u; /* at most 1 ms in epoll */
        if (o.rate > 0 && g_issued >= due) {
            uint64_t next_due = t0 + (uint64_t)((double)g_issued / o.rate * 1e9), t = now_ns();
            wait = next_due > t ? next_due - t : 0;
            if (wait > 1000000u)
                wait = 1000000u;
        }
        loop_once_ns(wait);
        if (now > next_check) {
            check_timeouts();
            next_check = now + 100000000u;
        }
    }
    g_issuing = false;
    g_winding = true;
    uint64_t t_issue_end = now_ns();
    /* messages in flight finish (bounded by the timeout); idle sessions QUIT,
     * and so do sessions being set up once they are (g_winding), so that
     * the relay sees orderly sessions rather than lost connections */
    uint64_t drain_end = t_issue_end + (uint64_t)o.timeout_ms * 1000000u;
    for (;;) {
        bool in_flight = false;
        for (int i = 0; i < o.sessions; i++) {
            struct sess *s = &g_sess[i];
            if (s->in_txn)
                in_flight = true;
            else if (s->state == ST_IDLE)
                send_quit(s);
        }
        if (!in_flight || now_ns() > drain_end)
            break;
        loop_once_ns(1000000u);
        check_timeouts();
    }
    uint64_t t1 = now_ns();
    long long end_us = unix_us();
    double cpu1 = self_cpu_s();
    /* the set-ups and the 221s, briefly */
    uint64_t quit_end = now_ns() + 3000000000u;
    while (busy_sessions(true) > 0 && now_ns() < quit_end)
        loop_once_ns(1000000u);
    for (int i = 0; i < o.sessions; i++) {
        if (g_sess[i].in_txn)
            fail_txn(&g_sess[i], "unfinished", 0);
        sess_close(&g_sess[i], 0);
    }

    double elapsed = (double)(t1 - t0) / 1e9;
    printf("mode=%s sessions=%d per_conn=%d size=%ld target_rate=%.0f\n",
           o.plain ? "plain" : "starttls", o.sessions, o.per_conn, o.size, o.rate);
    printf("issued=%ld accepted=%ld failed=%ld connections=%ld tls_sessions=%ld\n", g_issued,
           g_accepted, g_failed, g_connections, g_tls_ok);
    for (int i = 0; i < g_nerrs; i++)
        printf("err_%s=%ld\n", g_errs[i].key, g_errs[i].n);
    printf("elapsed_s=%.3f issue_s=%.3f msgs_per_s=%.1f\n", elapsed,
           (double)(t_issue_end - t0) / 1e9, (double)g_accepted / elapsed);
    samples_print("lat", &g_lat);
    samples_print("txn", &g_txn);
    samples_print("setup", &g_setup);
    if (!o.plain)
        printf("tls_version=%s tls_cipher=%s\n", g_tls_version[0] ? g_tls_version : "none",
               g_tls_cipher[0] ? g_tls_cipher : "none");
    printf("start_unix_us=%lld end_unix_us=%lld run=%s\n", start_us, end_us, g_run);
    printf("client_cpu_s=%.2f client_cpu_us_per_msg=%.1f\n", cpu1 - cpu0,
           g_accepted ? (cpu1 - cpu0) * 1e6 / (double)g_accepted : 0.0);
}

/* ---- set-up ------------------------------------------------------------------------ */

static void build_body(void)
{
    /* headers are about 250 bytes; the body fills up to --size with 78-byte lines */
    size_t want = o.size > 300 ? (size_t)o.size - 300 : 2;
    g_body = malloc(want + 80);
    if (g_body == NULL)
        die("out of memory");
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t n = 0;
    for (int line = 0; n < want; line++) {
        size_t len = want - n < 78 ? want - n : 78;
        if (len < 2)
            len = 2;
        for (size_t i = 0; i + 2 < len; i++)
            g_body[n + i] = chars[(size_t)(line + (int)i) % (sizeof chars - 1)];
        g_body[n + len - 2] = '\r';
        g_body[n + len - 1] = '\n';
        n += len;
    }
    g_body_len = n;
    /* headers (under 1 KB), body, dot, and room for an envelope group */
    g_wcap = g_body_len + 2048;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(g_date, sizeof g_date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static void usage(FILE *f)
{
    fputs("usage: smtpload --server 127.x.y.z:PORT --rcpt-domain D (--ca FILE | --plain) [options]\n"
          "  --name NAME      relay name to verify and send as SNI (default: its IP address)\n"
          "  --ca FILE        CA certificate(s) the relay's certificate must chain to\n"
          "  --cert F --key F a client certificate to present (default none)\n"
          "  --plain          no STARTTLS (plaintext baseline)\n"
          "  --tls12          TLS 1.2 only (default 1.2 or 1.3, 1.3 preferred)\n"
          "  --sessions N     parallel sessions (default 8)\n"
          "  --per-conn M     messages per connection (default 1: a handshake per message)\n"
          "  --rate R         messages per second, 0 = as fast as answered (default 0)\n"
          "  --count N        at most N messages (default 1000)\n"
          "  --duration S     at most S seconds of load (default 10, at most 600)\n"
          "  --size BYTES     message size (default 4096)\n"
          "  --rcpts K        recipients u0..u(K-1)@D, in turn (default 100)\n"
          "  --from ADDR      envelope sender (default load@smtpload.test)\n"
          "  --helo NAME      EHLO name (default smtpload.test)\n"
          "  --timeout MS     per step and for the final drain (default 10000)\n"
          "  --run ID         run identifier in X-Smtpload (1-15 letters/digits; default random)\n"
          "  --quiet          no warnings on stderr\n"
          "SMTPLOAD_TRACE=1 prints commands and replies on stderr.\n",
          f);
}

static long parse_long(const char *s, const char *opt, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die("%s must be an integer in [%ld, %ld]", opt, min, max);
    return v;
}

static double parse_double(const char *s, const char *opt, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        die("%s must be a number in [%g, %g]", opt, min, max);
    return v;
}

static bool safe_text(const char *s)
{
    /* no CR, LF, spaces or angle brackets in names and addresses we send */
    return s != NULL && *s != '\0' && strlen(s) < 200 && strpbrk(s, "\r\n <>\t") == NULL;
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'},   {"ca", 1, 0, 'c'},       {"name", 1, 0, 'n'},
        {"cert", 1, 0, 'E'},     {"key", 1, 0, 'K'},      {"plain", 0, 0, 'p'},
        {"tls12", 0, 0, '2'},    {"sessions", 1, 0, 'N'}, {"per-conn", 1, 0, 'm'},
        {"rate", 1, 0, 'r'},     {"count", 1, 0, 'C'},    {"duration", 1, 0, 't'},
        {"size", 1, 0, 'z'},     {"rcpts", 1, 0, 'R'},    {"rcpt-domain", 1, 0, 'd'},
        {"from", 1, 0, 'f'},     {"helo", 1, 0, 'H'},     {"timeout", 1, 0, 'T'},
        {"run", 1, 0, 'u'},      {"quiet", 0, 0, 'q'},    {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 's': o.server = optarg; break;
        case 'c': o.ca = optarg; break;
        case 'n': o.name = optarg; break;
        case 'E': o.cert = optarg; break;
        case 'K': o.key = optarg; break;
        case 'p': o.plain = true; break;
        case '2': o.tls12 = true; break;
        case 'N': o.sessions = (int)parse_long(optarg, "--sessions", 1, MAX_SESSIONS); break;
        case 'm': o.per_conn = (int)parse_long(optarg, "--per-conn", 1, 1000000); break;
        case 'r': o.rate = parse_double(optarg, "--rate", 0, 1e6); break;
        case 'C': o.count = parse_long(optarg, "--count", 1, MAX_COUNT); break;
        case 't': o.duration = parse_double(optarg, "--duration", 0.001, MAX_DURATION_S); break;
        case 'z': o.size = parse_long(optarg, "--size", 100, MAX_SIZE); break;
        case 'R': o.rcpts = (int)parse_long(optarg, "--rcpts", 1, 1000000); break;
        case 'd': o.rcpt_domain = optarg; break;
        case 'f': o.from = optarg; break;
        case 'H': o.helo = optarg; break;
        case 'T': o.timeout_ms = (int)parse_long(optarg, "--timeout", 1, 600000); break;
        case 'u': o.run = optarg; break;
        case 'q': bench_quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc || o.server == NULL || o.rcpt_domain == NULL || (!o.plain && o.ca == NULL)) {
        usage(stderr);
        exit(2);
    }
    if (!safe_text(o.rcpt_domain) || !safe_text(o.from) || !safe_text(o.helo) ||
        (o.name != NULL && !safe_text(o.name)))
        die("--rcpt-domain, --from, --helo and --name: short text without spaces, <, > or CR/LF");
    if (o.run != NULL && (strlen(o.run) < 1 || strlen(o.run) >= sizeof g_run ||
                          strspn(o.run, "0123456789abcdefghijklmnopqrstuvwxyz"
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(o.run)))
        die("--run: 1 to %zu letters or digits", sizeof g_run - 1);
    if ((o.cert == NULL) != (o.key == NULL))
        die("--cert and --key go together");
    const char *bad = parse_loopback(o.server, &g_addr);
    if (bad != NULL)
        die("--server %s", bad);
}

static void setup_tls(void)
{
    /* a full handshake on every connection, as a new client would do */
    g_ctx = tls_client_ctx(o.ca, o.tls12);
    SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET);
    if (o.cert != NULL && (SSL_CTX_use_certificate_chain_file(g_ctx, o.cert) != 1 ||
                           SSL_CTX_use_PrivateKey_file(g_ctx, o.key, SSL_FILETYPE_PEM) != 1 ||
                           SSL_CTX_check_private_key(g_ctx) != 1))
        die("cannot load the client certificate %s and key %s", o.cert, o.key);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    g_trace = getenv("SMTPLOAD_TRACE") != NULL;
    catch_signals();
    rlim_t nofile = raise_nofile_limit();
    if ((rlim_t)o.sessions + 16 > nofile)
        die("--sessions %d needs more open files than the limit %lu", o.sessions,
            (unsigned long)nofile);
    if (!o.plain)
        setup_tls();
    build_body();

    unsigned char rnd[4];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        die("RAND_bytes failed");
    if (o.run != NULL)
        snprintf(g_run, sizeof g_run, "%s", o.run);
    else
        snprintf(g_run, sizeof g_run, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);

    g_sess = calloc((size_t)o.sessions, sizeof *g_sess);
    if (g_sess == NULL)
        die("out of memory");
    for (int i = 0; i < o.sessions; i++) {
        g_sess[i].idx = i;
        g_sess[i].fd = -1;
        g_sess[i].wbuf = malloc(g_wcap);
        if (g_sess[i].wbuf == NULL)
            die("out of memory");
    }
    g_ep = epoll_new();

    run();
    fflush(stdout);
    for (int i = 0; i < o.sessions; i++)
        free(g_sess[i].wbuf);
    free(g_sess);
    free(g_body);
    free(g_lat.v);
    free(g_txn.v);
    free(g_setup.v);
    SSL_CTX_free(g_ctx);
    return (g_failed > 0 || g_accepted == 0) ? 1 : 0;
}
