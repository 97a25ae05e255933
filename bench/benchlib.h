/*
 * benchlib.h - what the load tools of bench/ (sipload, smtpload, smtpsink)
 * share, so that each of them keeps only its own protocol and its own
 * figures: messages, clocks, latency samples and their percentiles,
 * signals and the open-files limit, loopback addresses, epoll, and
 * non-blocking TCP and TLS.  Linked into each tool by `make bench`; not
 * part of trustnet.
 *
 * Every tool is one thread around one epoll loop with non-blocking
 * sockets; the helpers below assume that and keep no state but the
 * message settings (bench_quiet) and the stop flag (bench_stop).
 */
#ifndef TN_BENCH_BENCHLIB_H
#define TN_BENCH_BENCHLIB_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <openssl/ssl.h>

/* ---- messages ---------------------------------------------------------------- */

/* --quiet: warn_limited() says nothing. */
extern bool bench_quiet;

/* "TOOL: message" on stderr and exit status 2: a usage or set-up error, or
 * one that leaves the figures meaningless. */
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);

/* "TOOL: message" on stderr for the first 10 calls only (none with
 * bench_quiet): under load one cause repeats thousands of times, and the
 * key=value output must stay readable. */
__attribute__((format(printf, 1, 2))) void warn_limited(const char *fmt, ...);

/* ---- clocks and CPU time -------------------------------------------------------- */

/* Monotonic nanoseconds: for latencies, deadlines and pacing (never jumps). */
uint64_t now_ns(void);

/* Wall-clock microseconds since 1970: only to match times across processes
 * (smtpload's start against smtpsink's last delivery). */
long long unix_us(void);

/* CPU seconds (user + system) this process has used: the load generator's
 * own cost, reported beside the server's. */
double self_cpu_s(void);

/* ---- latency samples ------------------------------------------------------------- */

/* A growable array of samples in microseconds. */
struct samples {
    uint32_t *v;
    size_t n, cap;
};

/* Append one sample (dies when out of memory). */
void samples_add(struct samples *s, uint32_t us);

/* Append the microseconds elapsed since t0 (a now_ns() value), capped at
 * UINT32_MAX: the usual way a latency is recorded. */
void samples_add_since(struct samples *s, uint64_t t0);

/* Sort ascending: samples_pct() and the maximum need it. */
void samples_sort(struct samples *s);

/* The p-th percentile (0..100) of sorted samples: the one at p% of the way
 * from the smallest to the largest, rounded to the nearer; 0 if none. */
uint32_t samples_pct(const struct samples *s, double p);

/* Sort, then print "NAME_us_p50=.. NAME_us_p90=.. NAME_us_p99=..
 * NAME_us_p999=.. NAME_us_max=.." on one line of stdout: the line the
 * bench scripts read. */
void samples_print(const char *name, struct samples *s);

/* ---- process ---------------------------------------------------------------------- */

/* Set by SIGINT and SIGTERM once catch_signals() has run: the tool winds
 * down and still prints its figures. */
extern volatile sig_atomic_t bench_stop;

/* SIGINT and SIGTERM set bench_stop; SIGPIPE is ignored (a peer that
 * closes must show up as a write error, not kill the tool). */
void catch_signals(void);

/* Raise the soft open-files limit to the hard one (thousands of
 * connections need as many descriptors); returns the soft limit now, or
 * RLIM_INFINITY when it cannot be read. */
rlim_t raise_nofile_limit(void);

/* ---- addresses and sockets ----------------------------------------------------------- */

/* "IPv4:PORT" into *sa, on 127.0.0.0/8 only (the benchmarks never send
 * anywhere else).  NULL when it is, otherwise what is wrong, to follow the
 * option's name: "must be IPv4:PORT" or "must be on 127.0.0.0/8 ...". */
const char *parse_loopback(const char *ip_port, struct sockaddr_in *sa);

/* TCP_NODELAY on fd: each tool writes a whole command group or reply batch
 * at once, and Nagle against delayed ACK would stall it. */
void set_nodelay(int fd);

/* A non-blocking, close-on-exec TCP socket with TCP_NODELAY; -1 and errno
 * when it cannot be had. */
int tcp_socket(void);

/* Watch fd on ep for input and output (the connect completing) with ptr
 * as its data, then start connecting to *to.  0 while the connect goes
 * on, or the errno of an immediate failure (the caller closes fd).  Dies
 * if epoll refuses the descriptor. */
int tcp_connect_start(int ep, int fd, const struct sockaddr_in *to, void *ptr);

/* The outcome of a non-blocking connect once fd turned writable: 0 when
 * connected, else its errno (SO_ERROR). */
int connect_error(int fd);

/* ---- epoll ---------------------------------------------------------------------------- */

/* A new epoll set (close-on-exec); dies on failure. */
int epoll_new(void);

/* Make epoll watch fd for exactly `want` (EPOLLIN, EPOLLOUT), with ptr as
 * its data; *cur holds what it watches now, so nothing is done when that
 * is already it (one epoll_ctl saved per event).  Dies on failure. */
void watch_events(int ep, int fd, void *ptr, uint32_t *cur, uint32_t want);

/* Wait at most timeout_ns (nanosecond resolution, for pacing) for up to
 * max events: how many came, 0 when a signal interrupted.  Dies on any
 * other error. */
int wait_events_ns(int ep, struct epoll_event *evs, int max, uint64_t timeout_ns);

/* ---- non-blocking I/O, TLS (ssl != NULL) or plain TCP (fd) ----------------------------- */

/* Read once into buf: the bytes read (> 0); 0 when nothing is there yet
 * (*want_write: TLS must write before it can read on); -1 when the peer
 * closed (EOF, or TLS close_notify); -2 on an error. */
long io_read(SSL *ssl, int fd, void *buf, size_t len, bool *want_write);

/* Read into buf[*len..cap) until it is full or nothing more is there:
 * 0, or -1 when the peer closed or on an error.  *want_write as for
 * io_read(). */
int io_fill(SSL *ssl, int fd, char *buf, size_t cap, size_t *len, bool *want_write);

/* Write buf[*off..len) until all is written (1) or the socket takes no
 * more (0; *want_write: wait for EPOLLOUT, else TLS waits for input);
 * -1 on an error.  *off moves on by what was written. */
int io_flush(SSL *ssl, int fd, const char *buf, size_t *off, size_t len, bool *want_write);

/* ---- TLS -------------------------------------------------------------------------------- */

/* A client context: TLS 1.2 to 1.3 (1.2 only with tls12), the server's
 * certificate verified against the CA file ca, no session cache (a full
 * handshake on every connection, as a new client would make), partial
 * writes allowed.  Dies when the CA file cannot be loaded. */
SSL_CTX *tls_client_ctx(const char *ca, bool tls12);

/* A client connection on fd that verifies the server as name (also sent
 * as SNI), or, with name NULL, as the IP address of *addr.  Dies on
 * failure. */
SSL *tls_client_new(SSL_CTX *ctx, int fd, const char *name, const struct sockaddr_in *addr);

/* One step of the handshake: 1 done, 0 in progress (*want_write: wait
 * for EPOLLOUT, else for input), -1 failed (tls_failure() says why). */
int tls_handshake(SSL *ssl, bool *want_write);

/* After a failed handshake: "TLS handshake failed: REASON[; certificate:
 * WHY]" into buf, and the error queue cleared.  True when the peer's
 * certificate did not verify (the reason a benchmark set-up usually
 * gets wrong). */
bool tls_failure(SSL *ssl, char *buf, size_t size);

#endif
