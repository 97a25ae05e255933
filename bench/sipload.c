/*
 * sipload - a small SIP-over-TLS load generator for the trustnet benchmarks
 * (bench/sip.sh).  One thread, one epoll loop, non-blocking OpenSSL.
 *
 * Scenarios:
 *   options   N persistent TLS connections send OPTIONS to the server itself.
 *   message   N persistent TLS connections, connection i registers user i
 *             (digest), then sends MESSAGE to user i^1, whose connection
 *             answers 200; one transaction = MESSAGE + 200 through the proxy.
 *             --senders even: only even users send (each pair one way).
 *   register  every call opens a new TCP+TLS connection (full handshake),
 *             sends REGISTER (digest) and closes after the 200; N calls at
 *             most in flight.
 *   idle      open N TLS connections, send one OPTIONS on each, then hold
 *             them; reports the servers' PSS per connection.
 *
 * Users: connection i (or call slot i) is user PFX%04d (--users PFX).
 *
 * Two servers (--server2): even users talk to the first server, odd users
 * to the second, each with its own CA, name and SIP domain, so that every
 * MESSAGE i -> i^1 crosses from one server to the other (two pools of one
 * organisation, or two organisations through their edges).
 *
 * Digest: the first challenge of a kind is answered and its nonce reused
 * (nc counting up) for later requests, as real user agents do.  Of the
 * challenges offered, the first supported algorithm is used (SHA-256 or
 * MD5; --alg forces one).
 *
 * The server certificate is always verified against --ca and --name (or
 * the server's IP address).  Only 127.0.0.0/8 is accepted as server.
 * --pids takes [LABEL=]PID: a labelled process gets its own CPU figures.
 * Every run is bounded by --count and --duration and stops by itself.
 *
 * Output: "key=value" lines on stdout (see print_results).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "benchlib.h"

#define MAX_WINDOW 64
#define MAX_PIDS 64
#define RBUF_MAX (1u << 20)
#define MAX_DURATION_S 600
#define MAX_CONNS 60000

enum scenario { SC_OPTIONS, SC_MESSAGE, SC_REGISTER, SC_IDLE };
enum cstate { CS_FREE, CS_CONNECTING, CS_HANDSHAKE, CS_OPEN, CS_CLOSING };
enum tkind { TK_SETUP_REG, TK_SETUP_OPTIONS, TK_OPTIONS, TK_MESSAGE, TK_REGISTER };
enum pref { PREF_FIRST, PREF_MD5, PREF_SHA256 };

struct txn {
    uint32_t seq;
    uint32_t cseq;
    uint64_t t0;      /* ns, when the transaction (or its connection) began */
    uint8_t kind;
    uint8_t attempts;
};

struct conn {
    int idx;
    int fd;
    SSL *ssl;
    enum cstate state;
    bool ready;        /* set-up done: may carry load */
    uint32_t events;   /* what epoll watches for it */
    bool closing;      /* register scenario: close once idle */
    uint16_t lport;
    uint32_t cseq;
    uint64_t t_conn;   /* ns, connect() of this connection */
    uint64_t t_state;  /* ns, when the current state began (timeouts) */
    char *rbuf;
    size_t rlen, rcap;
    char *wbuf;
    size_t wlen, woff, wcap;
    struct txn tx[MAX_WINDOW];
    int ntx;
};

struct auth_cache {
    bool have;
    bool qop;
    int alg; /* 0 MD5, 1 SHA-256 */
    char realm[128];
    char nonce[256];
    char opaque[256];
};

/* A server the connections talk to, with what its users need. */
struct side {
    const char *server; /* IP:PORT */
    const char *ca;
    const char *name;   /* verified and sent as SNI; NULL: the IP address */
    const char *domain; /* its users' SIP domain */
    struct sockaddr_in addr;
    SSL_CTX *ctx;
    struct auth_cache auth[2]; /* 0: WWW (401), 1: Proxy (407) */
};

#define MAX_THREADS 64 /* per server process, for the CPU split */

struct server_pid {
    int pid;
    char label[24];     /* "" when not labelled */
    long long ticks[2]; /* utime+stime before and after the measured phase */
    int ntids;          /* its threads at the start of the phase */
    int tids[MAX_THREADS];
    long long tid_ticks[2][MAX_THREADS];
    char tid_names[MAX_THREADS][16]; /* /proc/PID/task/TID/comm: "sip-w0" */
};

static struct opts {
    const char *user_prefix;
    const char *password;
    enum scenario sc;
    int conns;
    double rate;
    long count;
    double duration;
    int window;
    enum pref pref;
    struct server_pid pids[MAX_PIDS];
    int npids;
    double hold;
    bool tls12;
    bool even_senders; /* message: only even users send (one way with --server2) */
    int timeout_ms;
    int setup_parallel;
} o = {
    .user_prefix = "u",
    .password = "bench-password",
    .sc = SC_MESSAGE,
    .conns = 10,
    .rate = 1000,
    .count = 10000,
    .duration = 10,
    .window = 1,
    .timeout_ms = 5000,
    .setup_parallel = 64,
};

/* g_side[1] is used with --server2 only: odd users talk to it */
static struct side g_side[2] = {{.domain = "corp.test"}};
static int g_nsides = 1;
static int g_ep;
static struct conn *g_conns;
static uint32_t g_nc;
static char g_cnonce[17];
static char g_run[9];
static uint32_t g_seq;
static char (*g_ha1)[65];
static int *g_ha1_alg;

/* statistics of the measured phase */
static bool g_measuring;
static long g_issued, g_ok, g_failed, g_timeouts, g_challenges, g_conn_errors;
static long g_fail_status[700];
static struct samples g_lat, g_hs; /* us: transactions, TLS handshakes (register) */
static long g_requests_in; /* requests the server sent us (MESSAGE legs) */
static int g_open_conns;
static bool g_trace; /* SIPLOAD_TRACE=1: every message on stderr */

/* ---- small helpers ------------------------------------------------------- */

static struct side *side_of(int user)
{
    return &g_side[g_nsides == 2 ? user & 1 : 0];
}

static const char *user_name(int i)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s%04d", o.user_prefix, i);
    return buf;
}

/* ---- /proc: CPU time and PSS of the server processes -------------------- */

/* utime+stime of /proc/PID/stat, or of /proc/PID/task/TID/stat when
 * tid > 0; -1 if gone. */
static long long proc_cpu_ticks_of(int pid, int tid)
{
    char path[96], buf[2048];
    if (tid > 0)
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    else
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* after ") " : field 3 (state) ... utime is field 14, stime field 15 */
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14)
            ut = strtoull(tok, NULL, 10);
        else if (field == 15) {
            st = strtoull(tok, NULL, 10);
            break;
        }
    }
    return (long long)(ut + st);
}

static long long proc_cpu_ticks(int pid)
{
    return proc_cpu_ticks_of(pid, 0);
}

/* A thread's name (its comm, spaces and ':' or ',' as '_'), "?" if gone. */
static void read_thread_name(int pid, int tid, char *name, size_t len)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(name, 1, len - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    name[n] = '\0';
    name[strcspn(name, "\n")] = '\0';
    for (char *c = name; *c; c++)
        if (*c == ' ' || *c == ':' || *c == ',' || *c == '=')
            *c = '_';
    if (name[0] == '\0')
        snprintf(name, len, "?");
}

/* The threads of p now (phase 0) and their ticks; the same threads'
 * ticks again in phase 1 (a thread gone by then counts what it had). */
static void read_thread_ticks(struct server_pid *p, int phase)
{
    if (phase == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", p->pid);
        DIR *d = opendir(path);
        p->ntids = 0;
        for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && p->ntids < MAX_THREADS;)
            if (e->d_name[0] != '.')
                p->tids[p->ntids++] = atoi(e->d_name);
        if (d != NULL)
            closedir(d);
        for (int i = 0; i < p->ntids; i++)
            read_thread_name(p->pid, p->tids[i], p->tid_names[i], sizeof p->tid_names[i]);
    }
    for (int i = 0; i < p->ntids; i++) {
        long long t = proc_cpu_ticks_of(p->pid, p->tids[i]);
        p->tid_ticks[phase][i] = t >= 0 ? t : phase == 1 ? p->tid_ticks[0][i] : 0;
    }
}

/* Each server's CPU ticks now, as ticks[phase]; false if one is gone. */
static bool read_servers_cpu(int phase)
{
    bool all = true;
    for (int i = 0; i < o.npids; i++) {
        o.pids[i].ticks[phase] = proc_cpu_ticks(o.pids[i].pid);
        read_thread_ticks(&o.pids[i], phase);
        all = all && o.pids[i].ticks[phase] >= 0;
    }
    return all;
}

/* CPU seconds of the servers in the measured phase: one (pid >= 0) or all. */
static double servers_cpu_s(int pid_index)
{
    long long t = 0;
    for (int i = 0; i < o.npids; i++)
        if (pid_index < 0 || pid_index == i)
            t += o.pids[i].ticks[1] - o.pids[i].ticks[0];
    return (double)t / (double)sysconf(_SC_CLK_TCK);
}

static long proc_pss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Pss:", 4) == 0) {
            kb = strtol(line + 4, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static long servers_pss_kb(void)
{
    long t = 0;
    for (int i = 0; i < o.npids; i++) {
        long v = proc_pss_kb(o.pids[i].pid);
        if (v < 0)
            return -1;
        t += v;
    }
    return t;
}

/* ---- digest ---------------------------------------------------------------- */

static void hash_hex(int alg, const char *in, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(in, len, md, &mdlen, alg ? EVP_sha256() : EVP_md5(), NULL))
        die("digest failed");
    for (unsigned i = 0; i < mdlen; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    out[2 * mdlen] = '\0';
}

static const char *user_ha1(int user, int alg, const char *realm)
{
    if (g_ha1_alg[user] != alg + 1) {
        char in[512];
        int n = snprintf(in, sizeof in, "%s:%s:%s", user_name(user), realm, o.password);
        hash_hex(alg, in, (size_t)n, g_ha1[user]);
        g_ha1_alg[user] = alg + 1;
    }
    return g_ha1[user];
}

/* Append an Authorization or Proxy-Authorization header for this request. */
static int auth_header(char *out, size_t size, int which, int user, const char *method,
                       const char *uri)
{
    struct auth_cache *a = &side_of(user)->auth[which];
    if (!a->have)
        return 0;
    char ha2[65], resp[65], in[1024], nc[9];
    int n = snprintf(in, sizeof in, "%s:%s", method, uri);
    hash_hex(a->alg, in, (size_t)n, ha2);
    const char *ha1 = user_ha1(user, a->alg, a->realm);
    snprintf(nc, sizeof nc, "%08x", ++g_nc);
    if (a->qop)
        n = snprintf(in, sizeof in, "%s:%s:%s:%s:auth:%s", ha1, a->nonce, nc, g_cnonce, ha2);
    else
        n = snprintf(in, sizeof in, "%s:%s:%s", ha1, a->nonce, ha2);
    hash_hex(a->alg, in, (size_t)n, resp);
    char opaque[300] = "";
    if (a->opaque[0])
        snprintf(opaque, sizeof opaque, ", opaque=\"%s\"", a->opaque);
    char qop[80] = "";
    if (a->qop)
        snprintf(qop, sizeof qop, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, g_cnonce);
    return snprintf(out, size,
                    "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                    "response=\"%s\", algorithm=%s%s%s\r\n",
                    which ? "Proxy-Authorization" : "Authorization", user_name(user), a->realm,
                    a->nonce, uri, resp, a->alg ? "SHA-256" : "MD5", qop, opaque);
}

/* value of parameter name in a Digest challenge (quoted or token) */
static bool chal_param(const char *p, const char *end, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',' || *p == '\t'))
            p++;
        const char *k = p;
        while (p < end && *p != '=' && *p != ',' && *p != ' ')
            p++;
        size_t kl = (size_t)(p - k);
        while (p < end && *p == ' ')
            p++;
        if (p >= end || *p != '=')
            continue;
        p++;
        while (p < end && *p == ' ')
            p++;
        const char *v = p, *ve;
        if (p < end && *p == '"') {
            v = ++p;
            while (p < end && *p != '"')
                p += (*p == '\\' && p + 1 < end) ? 2 : 1;
            ve = p;
            if (p < end)
                p++;
        } else {
            while (p < end && *p != ',' && *p != ' ')
                p++;
            ve = p;
        }
        if (kl == nl && strncasecmp(k, name, nl) == 0) {
            size_t vl = (size_t)(ve - v);
            if (vl >= size)
                return false;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
    }
    return false;
}

/* One WWW-/Proxy-Authenticate value: take it if it suits the preference. */
static bool take_challenge(const char *v, const char *end, struct auth_cache *a)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if ((size_t)(end - v) < 7 || strncasecmp(v, "Digest ", 7) != 0)
        return false;
    v += 7;
    char alg[32] = "MD5", qop[64] = "";
    chal_param(v, end, "algorithm", alg, sizeof alg);
    int algn;
    if (strcasecmp(alg, "MD5") == 0)
        algn = 0;
    else if (strcasecmp(alg, "SHA-256") == 0)
        algn = 1;
    else
        return false;
    if ((o.pref == PREF_MD5 && algn != 0) || (o.pref == PREF_SHA256 && algn != 1))
        return false;
    struct auth_cache c = {.have = true, .alg = algn};
    if (!chal_param(v, end, "realm", c.realm, sizeof c.realm) ||
        !chal_param(v, end, "nonce", c.nonce, sizeof c.nonce))
        return false;
    chal_param(v, end, "opaque", c.opaque, sizeof c.opaque);
    if (chal_param(v, end, "qop", qop, sizeof qop))
        c.qop = strstr(qop, "auth") != NULL;
    *a = c;
    return true;
}

/* ---- SIP text -------------------------------------------------------------- */

/* Find header lines; calls fn for each whose name matches (long or compact). */
struct hdr {
    const char *name;
    size_t nlen;
    const char *val;
    size_t vlen;
    const char *line;
    size_t llen; /* without CRLF */
};

static bool next_header(const char **pp, const char *end, struct hdr *h)
{
    const char *p = *pp;
    if (p >= end)
        return false;
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (eol == NULL)
        eol = end;
    if (eol == p)
        return false;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    h->line = p;
    h->llen = (size_t)(eol - p);
    h->name = p;
    if (colon == NULL) {
        h->nlen = 0;
        h->val = eol;
        h->vlen = 0;
    } else {
        const char *ne = colon;
        while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
            ne--;
        h->nlen = (size_t)(ne - p);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        h->val = v;
        h->vlen = (size_t)(eol - v);
    }
    *pp = eol + 2;
    return true;
}

static bool hname(const struct hdr *h, const char *longname, const char *compact)
{
    size_t l = strlen(longname);
    if (h->nlen == l && strncasecmp(h->name, longname, l) == 0)
        return true;
    return compact && h->nlen == 1 && tolower((unsigned char)h->name[0]) == compact[0];
}

/* Length of one whole message at buf (headers + Content-Length body), 0 if
 * incomplete, -1 if unframeable. */
static long frame(const char *buf, size_t len, size_t *hdr_end)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);
    if (e == NULL)
        return len > 65536 ? -1 : 0;
    size_t he = (size_t)(e - buf) + 4;
    long cl = 0;
    const char *p = memchr(buf, '\n', he);
    p = p ? p + 1 : buf + he;
    struct hdr h;
    while (next_header(&p, buf + he, &h))
        if (hname(&h, "Content-Length", "l"))
            cl = strtol(h.val, NULL, 10);
    if (cl < 0 || cl > 65536)
        return -1;
    *hdr_end = he;
    return he + (size_t)cl <= len ? (long)(he + (size_t)cl) : 0;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(struct conn *c);
static void start_txn(struct conn *c, enum tkind kind, uint32_t seq, uint64_t t0, int attempts);

static void arm(struct conn *c, bool want_out)
{
    watch_events(g_ep, c->fd, c, &c->events, EPOLLIN | (want_out ? EPOLLOUT : 0));
}

/* Write what is buffered; 0 when done or waiting for EPOLLOUT, -1 on error. */
static int flush(struct conn *c)
{
    bool want_write;
    int r = io_flush(c->ssl, c->fd, c->wbuf, &c->woff, c->wlen, &want_write);
    if (r < 0)
        return -1;
    if (r == 0) {
        arm(c, want_write);
        return 0;
    }
    c->wlen = c->woff = 0;
    arm(c, false);
    return 0;
}

static int send_text(struct conn *c, const char *buf, size_t len)
{
    if (c->wlen + len > c->wcap) {
        size_t nc = c->wcap ? c->wcap : 4096;
        while (nc < c->wlen + len)
            nc *= 2;
        char *p = realloc(c->wbuf, nc);
        if (p == NULL)
            die("out of memory");
        c->wbuf = p;
        c->wcap = nc;
    }
    memcpy(c->wbuf + c->wlen, buf, len);
    c->wlen += len;
    return flush(c);
}

static void fail_txn(struct conn *c, int i, int status)
{
    if (g_measuring && c->tx[i].kind != TK_SETUP_REG && c->tx[i].kind != TK_SETUP_OPTIONS) {
        g_failed++;
        if (status > 0 && status < 700)
            g_fail_status[status]++;
        else if (status == 0)
            g_timeouts++;
    }
    if (c->tx[i].kind == TK_SETUP_REG || c->tx[i].kind == TK_SETUP_OPTIONS)
        die("set-up request on connection %d failed (status %d)", c->idx, status);
    c->tx[i] = c->tx[--c->ntx];
}

static void conn_open(struct conn *c)
{
    int fd = tcp_socket();
    if (fd < 0) {
        warn_limited("socket: %s", strerror(errno));
        g_conn_errors++;
        return;
    }
    c->fd = fd;
    c->t_conn = c->t_state = now_ns();
    c->state = CS_CONNECTING;
    c->events = EPOLLIN | EPOLLOUT;
    c->ready = false;
    c->closing = false;
    c->ntx = 0;
    c->rlen = c->wlen = c->woff = 0;
    g_open_conns++;
    int err = tcp_connect_start(g_ep, fd, &side_of(c->idx)->addr, c);
    if (err != 0) {
        warn_limited("connect: %s", strerror(err));
        g_conn_errors++;
        conn_close(c);
    }
}

static void conn_close(struct conn *c)
{
    if (c->state == CS_FREE)
        return;
    if (c->ssl != NULL) {
        if (c->state == CS_OPEN)
            SSL_shutdown(c->ssl); /* close_notify, best effort */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = CS_FREE;
    c->ready = false;
    g_open_conns--;
}

/* Register scenario: the call is over.  Send close_notify and FIN, then
 * wait (bounded) for the server to close too, so that neither side sees a
 * reset (which Kamailio logs as an error for every call). */
static void conn_finish(struct conn *c)
{
    SSL_shutdown(c->ssl);
    shutdown(c->fd, SHUT_WR);
    c->state = CS_CLOSING;
    c->t_state = now_ns();
    arm(c, false);
}

static void on_closing_readable(struct conn *c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(c); /* EOF or error: the server has closed */
        return;
    }
}

/* A connection died under load: its transactions fail. */
static void conn_lost(struct conn *c, const char *why)
{
    warn_limited("connection %d lost: %s", c->idx, why);
    if (g_measuring)
        g_conn_errors++;
    while (c->ntx > 0)
        fail_txn(c, 0, -1);
    conn_close(c);
}

static char g_tls_seen[96]; /* "tls=TLSv1.3 cipher=..." of the first connection */

static void on_secure(struct conn *c)
{
    struct sockaddr_in la;
    socklen_t sl = sizeof la;
    getsockname(c->fd, (struct sockaddr *)&la, &sl);
    c->lport = ntohs(la.sin_port);
    c->state = CS_OPEN;
    if (g_tls_seen[0] == '\0') /* what the server chose, for the report */
        snprintf(g_tls_seen, sizeof g_tls_seen, "tls=%s cipher=%s", SSL_get_version(c->ssl),
                 SSL_get_cipher_name(c->ssl));
    if (g_measuring && o.sc == SC_REGISTER)
        samples_add_since(&g_hs, c->t_conn);
    switch (o.sc) {
    case SC_MESSAGE:
        start_txn(c, TK_SETUP_REG, ++g_seq, now_ns(), 0);
        break;
    case SC_IDLE:
        start_txn(c, TK_SETUP_OPTIONS, ++g_seq, now_ns(), 0);
        break;
    case SC_OPTIONS:
        c->ready = true;
        break;
    case SC_REGISTER:
        start_txn(c, TK_REGISTER, ++g_seq, c->t_conn, 0);
        break;
    }
}

static void do_handshake(struct conn *c)
{
    bool want_write;
    int r = tls_handshake(c->ssl, &want_write);
    if (r >= 0) {
        arm(c, want_write);
        if (r == 1)
            on_secure(c);
        return;
    }
    char buf[512];
    tls_failure(c->ssl, buf, sizeof buf);
    if (!g_measuring && o.sc != SC_REGISTER)
        die("connection %d: %s", c->idx, buf);
    g_conn_errors++;
    warn_limited("connection %d: %s", c->idx, buf);
    if (o.sc == SC_REGISTER && c->ntx == 0 && g_measuring)
        g_failed++;
    conn_close(c);
}

static void on_connected(struct conn *c)
{
    int err = connect_error(c->fd);
    if (err != 0) {
        if (!g_measuring && o.sc != SC_REGISTER)
            die("connect to %s: %s", side_of(c->idx)->server, strerror(err));
        warn_limited("connect: %s", strerror(err));
        g_conn_errors++;
        if (g_measuring)
            g_failed++;
        conn_close(c);
        return;
    }
    const struct side *sd = side_of(c->idx);
    c->ssl = tls_client_new(sd->ctx, c->fd, sd->name, &sd->addr);
    c->state = CS_HANDSHAKE;
    c->t_state = now_ns();
    do_handshake(c);
}

/* Build and send one request of transaction kind for c. */
static void send_request(struct conn *c, struct txn *t)
{
    char buf[4096], ruri[256], from[128], to[128], contact[256] = "", auth[2048] = "";
    const char *method, *body = "";
    int user = c->idx, which = 0, to_user = c->idx;
    const char *extra = "", *domain = side_of(user)->domain;
    switch (t->kind) {
    case TK_SETUP_OPTIONS:
    case TK_OPTIONS:
        method = "OPTIONS";
        snprintf(ruri, sizeof ruri, "sip:%s", domain);
        break;
    case TK_MESSAGE:
        method = "MESSAGE";
        to_user = c->idx ^ 1;
        snprintf(ruri, sizeof ruri, "sip:%s@%s", user_name(to_user), side_of(to_user)->domain);
        which = 1;
        body = "Hello from sipload: a short instant message of typical size.";
        extra = "Content-Type: text/plain\r\n";
        break;
    default: /* REGISTER, set-up or measured */
        method = "REGISTER";
        snprintf(ruri, sizeof ruri, "sip:%s", domain);
        /* set-up: a contact on this very connection; per-call: one fixed
         * contact per user, so that a re-registration updates a binding */
        snprintf(contact, sizeof contact,
                 "Contact: <sip:%s@127.0.0.1:%u;transport=tls>\r\nExpires: 3600\r\n",
                 user_name(user), t->kind == TK_SETUP_REG ? c->lport : 5099u);
        break;
    }
    snprintf(from, sizeof from, "sip:%s@%s", user_name(user), domain);
    snprintf(to, sizeof to, "sip:%s@%s", user_name(to_user), side_of(to_user)->domain);
    if (t->kind != TK_OPTIONS && t->kind != TK_SETUP_OPTIONS)
        auth_header(auth, sizeof auth, which, user, method, ruri);
    int n = snprintf(buf, sizeof buf,
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/TLS 127.0.0.1:%u;branch=z9hG4bK%s.%x.%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <%s>;tag=%s.%d\r\n"
                     "To: <%s>\r\n"
                     "Call-ID: %s.%d.%u@sipload\r\n"
                     "CSeq: %u %s\r\n"
                     "%s%s%s"
                     "User-Agent: sipload\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, ruri, c->lport, g_run, t->seq, t->attempts, from, g_run, c->idx,
                     to, g_run, c->idx, t->seq, t->cseq, method, contact, extra, auth,
                     strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof buf)
        die("request too long");
    if (g_trace)
        fprintf(stderr, ">>> conn %d\n%.*s\n", c->idx, n, buf);
    if (send_text(c, buf, (size_t)n) < 0)
        conn_lost(c, "write failed");
}

static void start_txn(struct conn *c, enum tkind kind, uint32_t seq, uint64_t t0, int attempts)
{
    if (c->ntx == MAX_WINDOW)
        return;
    struct txn *t = &c->tx[c->ntx++];
    t->seq = seq;
    t->cseq = ++c->cseq;
    t->t0 = t0;
    t->kind = (uint8_t)kind;
    t->attempts = (uint8_t)attempts;
    send_request(c, t);
}

/* An in-dialog-less request from the server (MESSAGE leg 2): answer 200. */
static void answer_request(struct conn *c, const char *msg, size_t hdr_end)
{
    char out[4096];
    size_t n = (size_t)snprintf(out, sizeof out, "SIP/2.0 200 OK\r\n");
    const char *p = memchr(msg, '\n', hdr_end);
    p = p ? p + 1 : msg + hdr_end;
    struct hdr h;
    while (next_header(&p, msg + hdr_end, &h)) {
        bool to = hname(&h, "To", "t");
        if (!(to || hname(&h, "Via", "v") || hname(&h, "From", "f") ||
              hname(&h, "Call-ID", "i") || hname(&h, "CSeq", NULL)))
            continue;
        if (n + h.llen + 40 >= sizeof out)
            return;
        memcpy(out + n, h.line, h.llen);
        n += h.llen;
        if (to && memmem(h.val, h.vlen, ";tag=", 5) == NULL)
            n += (size_t)snprintf(out + n, sizeof out - n, ";tag=uas%d", c->idx);
        out[n++] = '\r';
        out[n++] = '\n';
    }
    n += (size_t)snprintf(out + n, sizeof out - n, "Content-Length: 0\r\n\r\n");
    g_requests_in++;
    if (send_text(c, out, n) < 0)
        conn_lost(c, "write failed");
}

static void on_response(struct conn *c, const char *msg, size_t hdr_end)
{
    int status = atoi(msg + 8);
    const char *p = memchr(msg, '\n', hdr_end);
    p = p ? p + 1 : msg + hdr_end;
    struct hdr h;
    uint32_t seq = 0;
    bool have_seq = false, got_chal = false;
    struct auth_cache chal = {0};
    while (next_header(&p, msg + hdr_end, &h)) {
        if (hname(&h, "Call-ID", "i")) {
            /* run.conn.seq@sipload */
            const char *d1 = memchr(h.val, '.', h.vlen);
            const char *d2 = d1 ? memchr(d1 + 1, '.', h.vlen - (size_t)(d1 + 1 - h.val)) : NULL;
            if (d2) {
                seq = (uint32_t)strtoul(d2 + 1, NULL, 10);
                have_seq = true;
            }
        } else if (!got_chal && (status == 401 || status == 407) &&
                   (hname(&h, "WWW-Authenticate", NULL) ||
                    hname(&h, "Proxy-Authenticate", NULL))) {
            got_chal = take_challenge(h.val, h.val + h.vlen, &chal);
        }
    }
    if (!have_seq)
        return;
    int i;
    for (i = 0; i < c->ntx && c->tx[i].seq != seq; i++)
        ;
    if (i == c->ntx)
        return; /* late or unknown */
    if (status < 200)
        return;
    struct txn t = c->tx[i];
    if (status == 401 || status == 407) {
        if (!got_chal || t.attempts >= 2) {
            warn_limited("%d without a usable challenge (or twice) on connection %d",
                         status, c->idx);
            fail_txn(c, i, status);
            return;
        }
        side_of(c->idx)->auth[status == 407] = chal;
        if (g_measuring)
            g_challenges++;
        c->tx[i] = c->tx[--c->ntx];
        start_txn(c, (enum tkind)t.kind, t.seq, t.t0, t.attempts + 1);
        return;
    }
    if (status >= 300) {
        warn_limited("%.*s on connection %d", (int)(strchr(msg, '\r') - msg), msg, c->idx);
        fail_txn(c, i, status);
        if (o.sc == SC_REGISTER)
            c->closing = true;
        return;
    }
    c->tx[i] = c->tx[--c->ntx];
    switch (t.kind) {
    case TK_SETUP_REG:
    case TK_SETUP_OPTIONS:
        c->ready = true;
        break;
    default:
        if (g_measuring) {
            g_ok++;
            samples_add_since(&g_lat, t.t0);
        }
        if (t.kind == TK_REGISTER)
            c->closing = true;
    }
}

static void process_input(struct conn *c)
{
    size_t off = 0;
    while (off < c->rlen && c->state == CS_OPEN) {
        while (off < c->rlen && (c->rbuf[off] == '\r' || c->rbuf[off] == '\n'))
            off++; /* keep-alive CRLF */
        if (off >= c->rlen)
            break;
        size_t he = 0;
        long n = frame(c->rbuf + off, c->rlen - off, &he);
        if (n < 0) {
            conn_lost(c, "unframeable input from the server");
            return;
        }
        if (n == 0)
            break;
        const char *m = c->rbuf + off;
        if (g_trace)
            fprintf(stderr, "<<< conn %d\n%.*s\n", c->idx, (int)n, m);
        if (strncmp(m, "SIP/2.0 ", 8) == 0)
            on_response(c, m, he);
        else
            answer_request(c, m, he);
        off += (size_t)n;
    }
    if (c->state != CS_OPEN)
        return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void on_readable(struct conn *c)
{
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            size_t nc = c->rcap ? c->rcap * 2 : 16384;
            if (nc > RBUF_MAX) {
                conn_lost(c, "input buffer overflow");
                return;
            }
            char *p = realloc(c->rbuf, nc);
            if (p == NULL)
                die("out of memory");
            c->rbuf = p;
            c->rcap = nc;
        }
        bool want_write;
        long n = io_read(c->ssl, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, &want_write);
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        if (n == 0)
            break;
        process_input(c);
        if (c->state == CS_OPEN)
            conn_lost(c, n == -1 ? "closed by the server" : "read error (connection reset?)");
        return;
    }
    process_input(c);
}

static void on_event(struct conn *c, uint32_t ev)
{
    switch (c->state) {
    case CS_FREE:
        return;
    case CS_CONNECTING:
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(c);
        return;
    case CS_HANDSHAKE:
        do_handshake(c);
        return;
    case CS_OPEN:
        if (ev & EPOLLOUT) {
            if (flush(c) < 0) {
                conn_lost(c, "write failed");
                return;
            }
        }
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
            on_readable(c);
        if (c->state == CS_OPEN && c->wlen > 0 && flush(c) < 0)
            conn_lost(c, "write failed");
        if (c->state == CS_OPEN && c->closing && c->ntx == 0)
            conn_finish(c);
        return;
    case CS_CLOSING:
        on_closing_readable(c);
        return;
    }
}

/* ---- the run ---------------------------------------------------------------- */

static void check_timeouts(void)
{
    uint64_t now = now_ns();
    uint64_t limit = (uint64_t)o.timeout_ms * 1000000u;
    for (int i = 0; i < o.conns; i++) {
        struct conn *c = &g_conns[i];
        if (c->state == CS_FREE)
            continue;
        if ((c->state == CS_CONNECTING || c->state == CS_HANDSHAKE) && now > c->t_state &&
            now - c->t_state > limit) {
            if (!g_measuring && o.sc != SC_REGISTER)
                die("connection %d: connect/handshake timed out", c->idx);
            warn_limited("connection %d: connect/handshake timed out", c->idx);
            g_conn_errors++;
            if (g_measuring)
                g_failed++, g_timeouts++;
            conn_close(c);
            continue;
        }
        if (c->state == CS_CLOSING) {
            if (now > c->t_state && now - c->t_state > 1000000000u)
                conn_close(c);
            continue;
        }
        for (int j = 0; j < c->ntx;) {
            if (now > c->tx[j].t0 && now - c->tx[j].t0 > limit) {
                if (c->tx[j].kind == TK_SETUP_REG || c->tx[j].kind == TK_SETUP_OPTIONS)
                    die("set-up request on connection %d timed out", c->idx);
                warn_limited("connection %d: transaction %u (CSeq %u) timed out", c->idx,
                             c->tx[j].seq, c->tx[j].cseq);
                fail_txn(c, j, 0);
                if (o.sc == SC_REGISTER) {
                    conn_close(c);
                    break;
                }
            } else
                j++;
        }
    }
}

static void loop_once_ns(uint64_t timeout_ns)
{
    struct epoll_event evs[256];
    int n = wait_events_ns(g_ep, evs, 256, timeout_ns);
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

static void loop_once(int timeout_ms)
{
    loop_once_ns((uint64_t)timeout_ms * 1000000u);
}

/* Open all persistent connections and run their set-up (REGISTER/OPTIONS). */
static void setup_connections(int upto, double deadline_s)
{
    uint64_t end = now_ns() + (uint64_t)(deadline_s * 1e9);
    uint64_t next_check = now_ns();
    int next = 0;
    for (;;) {
        int pending = 0, ready = 0;
        for (int i = 0; i < upto; i++) {
            if (g_conns[i].ready)
                ready++;
            else if (g_conns[i].state != CS_FREE)
                pending++;
        }
        if (ready == upto)
            return;
        while (next < upto && pending < o.setup_parallel) {
            conn_open(&g_conns[next++]);
            pending++;
        }
        loop_once(5);
        uint64_t now = now_ns();
        if (now > next_check) {
            check_timeouts();
            next_check = now + 100000000u;
        }
        if (now > end)
            die("set-up of %d connections did not finish in %.0f s (%d ready)", upto, deadline_s,
                ready);
        if (bench_stop)
            die("interrupted");
    }
}

struct thread_share {
    long long ticks;
    const char *name;
};

static int cmp_share_desc(const void *a, const void *b)
{
    long long x = ((const struct thread_share *)a)->ticks;
    long long y = ((const struct thread_share *)b)->ticks;
    return (y > x) - (y < x);
}

/* How the servers' CPU time split over their threads (every process's,
 * busiest first, as NAME:PERCENT of the total): whether the load used both
 * cores, or one did all the work. */
static void print_thread_split(void)
{
    static struct thread_share all[MAX_PIDS * MAX_THREADS];
    long long total = 0;
    int n = 0;
    for (int i = 0; i < o.npids; i++)
        for (int k = 0; k < o.pids[i].ntids; k++) {
            all[n].ticks = o.pids[i].tid_ticks[1][k] - o.pids[i].tid_ticks[0][k];
            all[n].name = o.pids[i].tid_names[k];
            total += all[n++].ticks;
        }
    if (total <= 0)
        return;
    qsort(all, (size_t)n, sizeof all[0], cmp_share_desc);
    printf("server_thread_cpu_pct=");
    for (int i = 0; i < n && i < 4 && all[i].ticks > 0; i++)
        printf("%s%s:%.0f", i ? "," : "", all[i].name, 100.0 * (double)all[i].ticks / (double)total);
    printf("\n");
}

/* server_cpu_* for all servers together, then _LABEL for each labelled one */
static void print_server_cpu(double elapsed, long done)
{
    print_thread_split();
    for (int i = -1; i < o.npids; i++) {
        if (i >= 0 && o.pids[i].label[0] == '\0')
            continue;
        const char *sep = i >= 0 ? "_" : "", *label = i >= 0 ? o.pids[i].label : "";
        double cpu = servers_cpu_s(i);
        printf("server_cpu_s%s%s=%.2f server_cpu_pct%s%s=%.1f\n", sep, label, cpu, sep, label,
               100.0 * cpu / elapsed);
        printf("server_cpu_us_per_txn%s%s=%.1f\n", sep, label,
               done ? cpu * 1e6 / (double)done : 0.0);
    }
}

static void run_load(void)
{
    bool have_cpu = read_servers_cpu(0);
    double cli0 = self_cpu_s();
    uint64_t t0 = now_ns(), next_check = t0;
    uint64_t end = t0 + (uint64_t)(o.duration * 1e9);
    int rr = 0;
    g_measuring = true;
    for (;;) {
        uint64_t now = now_ns();
        bool stop_issuing = now >= end || g_issued >= o.count || bench_stop;
        if (stop_issuing)
            break;
        long due = o.rate > 0 ? (long)((double)(now - t0) / 1e9 * o.rate) + 1 : LONG_MAX;
        if (due > o.count)
            due = o.count;
        for (int scanned = 0; g_issued < due && scanned < o.conns;) {
            struct conn *c = &g_conns[rr];
            rr = (rr + 1) % o.conns;
            scanned++;
            if (o.sc == SC_REGISTER) {
                if (c->state != CS_FREE)
                    continue;
                conn_open(c);
            } else {
                if (c->state != CS_OPEN || !c->ready || c->ntx >= o.window ||
                    (o.even_senders && c->idx % 2 != 0))
                    continue;
                start_txn(c, o.sc == SC_MESSAGE ? TK_MESSAGE : TK_OPTIONS, ++g_seq, now_ns(), 0);
            }
            g_issued++;
            scanned = 0;
        }
        /* sleep in epoll until the next request is due (at most 1 ms) */
        uint64_t wait = 1000000u;
        if (o.rate > 0 && g_issued < due) {
            wait = 1000000u; /* every window is full: wait for answers */
        } else if (o.rate > 0) {
            uint64_t next_due = t0 + (uint64_t)((double)g_issued / o.rate * 1e9);
            uint64_t t = now_ns();
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
    uint64_t t_issue_end = now_ns();
    /* drain what is in flight (bounded by the timeout) */
    uint64_t drain_end = now_ns() + (uint64_t)o.timeout_ms * 1000000u;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < o.conns; i++)
            busy += g_conns[i].ntx + (o.sc == SC_REGISTER && g_conns[i].state != CS_FREE &&
                                      g_conns[i].ntx == 0);
        if (busy == 0 || now_ns() > drain_end)
            break;
        loop_once(1);
        check_timeouts();
    }
    uint64_t t1 = now_ns();
    /* let the server finish closing what we closed */
    if (o.sc == SC_REGISTER)
        usleep(200000);
    have_cpu = read_servers_cpu(1) && have_cpu;
    double cli1 = self_cpu_s();
    g_measuring = false;

    double elapsed = (double)(t1 - t0) / 1e9;
    long done = g_ok;
    printf("scenario=%s\n", o.sc == SC_MESSAGE ? "message" : o.sc == SC_OPTIONS ? "options"
                                                                            : "register");
    printf("conns=%d window=%d target_rate=%.0f senders=%s\n", o.conns, o.window, o.rate,
           o.even_senders ? "even" : "all");
    printf("issued=%ld ok=%ld failed=%ld timeouts=%ld conn_errors=%ld challenges=%ld\n", g_issued,
           g_ok, g_failed, g_timeouts, g_conn_errors, g_challenges);
    for (int s = 0; s < 700; s++)
        if (g_fail_status[s])
            printf("failed_status_%d=%ld\n", s, g_fail_status[s]);
    printf("elapsed_s=%.3f issue_s=%.3f tps=%.1f\n", elapsed, (double)(t_issue_end - t0) / 1e9,
           (double)done / elapsed);
    samples_print("lat", &g_lat);
    if (g_hs.n > 0) {
        samples_sort(&g_hs);
        printf("handshake_us_p50=%u handshake_us_p99=%u\n", samples_pct(&g_hs, 50),
               samples_pct(&g_hs, 99));
    }
    if (g_tls_seen[0] != '\0')
        printf("%s\n", g_tls_seen);
    if (o.sc == SC_MESSAGE)
        printf("requests_in=%ld\n", g_requests_in);
    if (o.npids > 0 && have_cpu)
        print_server_cpu(elapsed, done);
    printf("client_cpu_s=%.2f client_cpu_us_per_txn=%.1f\n", cli1 - cli0,
           done ? (cli1 - cli0) * 1e6 / (double)done : 0.0);
}

static void run_idle(void)
{
    int first = o.conns >= 1000 ? 100 : o.conns / 10;
    if (first < 1)
        first = 1;
    long pss_start = servers_pss_kb();
    setup_connections(first, 60);
    usleep(500000);
    long pss_first = servers_pss_kb();
    uint64_t t0 = now_ns();
    setup_connections(o.conns, 60 + o.conns / 50.0);
    double open_s = (double)(now_ns() - t0) / 1e9;
    usleep(2000000); /* let the servers settle (buffers released) */
    long pss_all = servers_pss_kb();
    printf("scenario=idle\n");
    printf("conns=%d open_s=%.1f\n", o.conns, open_s);
    printf("pss_kb_start=%ld pss_kb_at_%d=%ld pss_kb_at_%d=%ld\n", pss_start, first, pss_first,
           o.conns, pss_all);
    if (pss_first >= 0 && pss_all >= 0 && o.conns > first)
        printf("pss_bytes_per_conn=%.0f\n",
               (double)(pss_all - pss_first) * 1024.0 / (double)(o.conns - first));
    fflush(stdout);
    uint64_t hold_end = now_ns() + (uint64_t)(o.hold * 1e9);
    while (now_ns() < hold_end && !bench_stop)
        loop_once(100);
    int open = 0;
    for (int i = 0; i < o.conns; i++)
        open += g_conns[i].state == CS_OPEN;
    printf("still_open=%d\n", open);
}

/* ---- set-up ----------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: sipload --server 127.x.y.z:PORT --ca FILE [options]\n"
          "  --scenario S   options | message | register | idle (default message)\n"
          "  --name NAME    server name to verify and send as SNI (default: the IP)\n"
          "  --domain D     SIP domain (default corp.test)\n"
          "  --server2 IP:PORT  a second server: odd users talk to it (MESSAGE crosses)\n"
          "  --ca2 FILE, --name2 NAME, --domain2 D  the second server's (default: the first's)\n"
          "  --conns N      connections (register: calls in flight) (default 10)\n"
          "  --rate R       target transactions per second, 0 = unpaced (default 1000)\n"
          "  --count N      stop after N transactions (default 10000)\n"
          "  --duration S   stop after S seconds (default 10, at most 600)\n"
          "  --window W     transactions in flight per connection (default 1)\n"
          "  --users PFX    user of connection i is PFX followed by i in 4 digits (default u)\n"
          "  --password P   every user's password (default bench-password)\n"
          "  --alg A        first | md5 | sha256: digest algorithm (default first offered)\n"
          "  --pids [L=]P,...  server processes: CPU (utime+stime) and PSS from /proc;\n"
          "                 a process labelled L also gets server_cpu_*_L lines\n"
          "  --hold S       idle: keep the connections S seconds after measuring\n"
          "  --senders S    message: all | even (only even users send) (default all)\n"
          "  --tls12        TLS 1.2 only (default: TLS 1.2 or 1.3, 1.3 preferred)\n"
          "  --timeout MS   transaction / handshake timeout (default 5000)\n"
          "  --quiet        no warnings on stderr\n",
          f);
}

/* One --pids value: PID or LABEL=PID. */
static void add_pid(const char *arg)
{
    if (o.npids == MAX_PIDS)
        die("too many --pids");
    struct server_pid *p = &o.pids[o.npids++];
    const char *eq = strchr(arg, '=');
    if (eq != NULL) {
        size_t n = (size_t)(eq - arg);
        if (n == 0 || n >= sizeof p->label ||
            strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_") < n)
            die("--pids: a label is 1 to %zu of a-z 0-9 _", sizeof p->label - 1);
        memcpy(p->label, arg, n);
        p->label[n] = '\0';
        arg = eq + 1;
    }
    p->pid = atoi(arg);
    if (p->pid <= 0 || proc_cpu_ticks(p->pid) < 0)
        die("--pids: no process %s", arg);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'}, {"ca", 1, 0, 'c'},       {"name", 1, 0, 'n'},
        {"domain", 1, 0, 'd'}, {"scenario", 1, 0, 'S'}, {"conns", 1, 0, 'N'},
        {"rate", 1, 0, 'r'},   {"count", 1, 0, 'C'},    {"duration", 1, 0, 't'},
        {"window", 1, 0, 'w'}, {"users", 1, 0, 'u'},    {"password", 1, 0, 'p'},
        {"alg", 1, 0, 'a'},    {"pids", 1, 0, 'P'},     {"hold", 1, 0, 'H'},
        {"tls12", 0, 0, '2'},  {"timeout", 1, 0, 'T'},  {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},   {"server2", 1, 0, 'x'},  {"ca2", 1, 0, 'y'},
        {"name2", 1, 0, 'z'},  {"domain2", 1, 0, 'D'},  {"senders", 1, 0, 'e'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 's': g_side[0].server = optarg; break;
        case 'c': g_side[0].ca = optarg; break;
        case 'n': g_side[0].name = optarg; break;
        case 'd': g_side[0].domain = optarg; break;
        case 'x': g_side[1].server = optarg; break;
        case 'y': g_side[1].ca = optarg; break;
        case 'z': g_side[1].name = optarg; break;
        case 'D': g_side[1].domain = optarg; break;
        case 'S':
            if (!strcmp(optarg, "options")) o.sc = SC_OPTIONS;
            else if (!strcmp(optarg, "message")) o.sc = SC_MESSAGE;
            else if (!strcmp(optarg, "register")) o.sc = SC_REGISTER;
            else if (!strcmp(optarg, "idle")) o.sc = SC_IDLE;
            else die("unknown scenario %s", optarg);
            break;
        case 'N': o.conns = atoi(optarg); break;
        case 'r': o.rate = atof(optarg); break;
        case 'C': o.count = atol(optarg); break;
        case 't': o.duration = atof(optarg); break;
        case 'w': o.window = atoi(optarg); break;
        case 'u': o.user_prefix = optarg; break;
        case 'p': o.password = optarg; break;
        case 'a':
            if (!strcmp(optarg, "first")) o.pref = PREF_FIRST;
            else if (!strcmp(optarg, "md5")) o.pref = PREF_MD5;
            else if (!strcmp(optarg, "sha256")) o.pref = PREF_SHA256;
            else die("--alg: first, md5 or sha256");
            break;
        case 'P':
            for (char *s = optarg, *tok; (tok = strsep(&s, ",")) != NULL;)
                if (*tok)
                    add_pid(tok);
            break;
        case 'H': o.hold = atof(optarg); break;
        case 'e':
            if (!strcmp(optarg, "all")) o.even_senders = false;
            else if (!strcmp(optarg, "even")) o.even_senders = true;
            else die("--senders: all or even");
            break;
        case '2': o.tls12 = true; break;
        case 'T': o.timeout_ms = atoi(optarg); break;
        case 'q': bench_quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (g_side[0].server == NULL || g_side[0].ca == NULL) {
        usage(stderr);
        exit(2);
    }
    if (g_side[1].server != NULL) {
        g_nsides = 2;
        if (g_side[1].ca == NULL)
            g_side[1].ca = g_side[0].ca;
        if (g_side[1].domain == NULL)
            g_side[1].domain = g_side[0].domain;
    } else if (g_side[1].ca || g_side[1].name || g_side[1].domain) {
        die("--ca2, --name2 and --domain2 go with --server2");
    }
    if (g_nsides == 2 && o.conns % 2 != 0)
        die("--server2: --conns must be even (half the users on each server)");
    if (o.conns < 1 || o.conns > MAX_CONNS)
        die("--conns must be 1..%d", MAX_CONNS);
    if (o.sc == SC_MESSAGE && o.conns % 2 != 0)
        die("message: --conns must be even (connection i sends to i^1)");
    if (o.window < 1 || o.window > MAX_WINDOW)
        die("--window must be 1..%d", MAX_WINDOW);
    if (o.duration <= 0 || o.duration > MAX_DURATION_S)
        die("--duration must be in (0, %d] seconds", MAX_DURATION_S);
    if (o.hold < 0 || o.hold > MAX_DURATION_S)
        die("--hold must be in [0, %d] seconds", MAX_DURATION_S);
    if (o.count < 1 || o.rate < 0 || o.timeout_ms < 1)
        die("bad --count, --rate or --timeout");
    if (strlen(o.user_prefix) > 32 || strpbrk(o.user_prefix, "@:;<>\" \r\n") != NULL)
        die("--users: a short user name prefix");
    for (int i = 0; i < g_nsides; i++) {
        const char *bad = parse_loopback(g_side[i].server, &g_side[i].addr);
        if (bad != NULL)
            die("%s: the server %s", g_side[i].server, bad);
    }
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    g_trace = getenv("SIPLOAD_TRACE") != NULL;
    catch_signals();
    rlim_t nofile = raise_nofile_limit();
    if ((rlim_t)o.conns + 16 > nofile)
        die("--conns %d needs more open files than the limit %lu (ulimit -n)", o.conns,
            (unsigned long)nofile);

    /* full handshakes only: no session cache */
    for (int i = 0; i < g_nsides; i++)
        g_side[i].ctx = tls_client_ctx(g_side[i].ca, o.tls12);

    unsigned char rnd[12];
    RAND_bytes(rnd, sizeof rnd);
    for (int i = 0; i < 8; i++)
        sprintf(g_cnonce + 2 * i, "%02x", rnd[i]);
    for (int i = 0; i < 4; i++)
        sprintf(g_run + 2 * i, "%02x", rnd[8 + i]);

    g_conns = calloc((size_t)o.conns, sizeof *g_conns);
    g_ha1 = calloc((size_t)o.conns, sizeof *g_ha1);
    g_ha1_alg = calloc((size_t)o.conns, sizeof *g_ha1_alg);
    if (!g_conns || !g_ha1 || !g_ha1_alg)
        die("out of memory");
    for (int i = 0; i < o.conns; i++) {
        g_conns[i].idx = i;
        g_conns[i].fd = -1;
    }
    g_ep = epoll_new();

    if (o.sc == SC_IDLE)
        run_idle();
    else {
        if (o.sc != SC_REGISTER)
            setup_connections(o.conns, 60 + o.conns / 50.0);
        run_load();
    }
    fflush(stdout);
    for (int i = 0; i < o.conns; i++)
        conn_close(&g_conns[i]);
    return (g_failed > 0 || g_ok == 0) && o.sc != SC_IDLE ? 1 : 0;
}
