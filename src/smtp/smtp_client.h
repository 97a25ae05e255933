/*
 * smtp_client.h - the SMTP delivery client: a blocking session to one next
 * hop, over which a delivery thread of the queue manager sends messages
 * one after the other.
 *
 *     struct smtp_delivery_log log;
 *     struct smtp_session *s;
 *     enum smtp_status st = smtp_session_open(&hop, &s, &log, &err);
 *     if (st == SMTP_STATUS_RETRY_PLAINTEXT) {      // opportunistic only
 *         log this attempt; hop.plaintext_retry = true;
 *         st = smtp_session_open(&hop, &s, &log, &err);
 *     }
 *     if (st != SMTP_STATUS_OK) -> log; every recipient deferred (err)
 *     st = smtp_session_send(s, sender, rcpts, n, &msg, results, &log, &err);
 *     char line[SMTP_LOG_LINE_MAX];
 *     smtp_delivery_log_format(&log, line, sizeof line);
 *     tn_log(TN_LOG_INFO, "smtp", "%s", line);      // one line per attempt
 *     results[i].status: sent, deferred or bounced, with the server's words
 *     next message: smtp_session_reusable(s) ? send again : close, reopen
 *     smtp_session_close(s);
 *
 * What the client does (RFC 5321, 3207, 2920, 1870, 3463):
 *   - EHLO; HELO only when EHLO is refused (5xx) on a plaintext
 *     opportunistic session.
 *   - STARTTLS when the policy requires it or (opportunistic) the server
 *     offers it; then a new EHLO.  Bytes after "220 Ready to start TLS"
 *     and before our handshake are a response injection: dropped.
 *   - TLS through src/tls/: TLS 1.3 preferred, TLS 1.2 with forward-secret
 *     AEAD suites only (tls_policy.h), never TLS 1.0/1.1.
 *   - INTERNAL and CONNECTOR never send a byte of MAIL FROM in plaintext,
 *     and never over TLS whose peer was not verified as expected: whatever
 *     the tls_config says, an untrusted peer ends the session.
 *   - PIPELINING when offered: [RSET] MAIL, every RCPT and DATA in one
 *     write (RFC 2920), then the replies in order.  SIZE=n declared when
 *     offered; a message over the server's fixed limit is bounced without
 *     sending anything.  BODY=8BITMIME when the message says it is 8-bit
 *     and the server offers it.
 *   - The message is read in large chunks, dot-stuffed with CRLF line ends
 *     (smtp_dotstuff.h) and written chunk by chunk, ended by CRLF.CRLF.
 *   - Every reply and every write has a deadline of hop->timeout_ms;
 *     replies are bounded (smtp_reply.h); a server that breaks the
 *     protocol ends the session (temporary failure, not reusable).
 *   - Blocking, one session per thread at a time; SIGPIPE is blocked in
 *     the calling thread while OpenSSL writes (smtp_io.h).
 */
#ifndef TN_SMTP_CLIENT_H
#define TN_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/err.h"
#include "smtp/smtp_reply.h"
#include "tls/tls_conn.h"

enum smtp_tls_policy {
    SMTP_TLS_OPPORTUNISTIC, /* STARTTLS when offered, unverified is fine
                               (verdict still logged); no STARTTLS ->
                               plaintext; handshake failure -> the caller
                               retries this host once in plaintext
                               (SMTP_STATUS_RETRY_PLAINTEXT; Postfix "may") */
    SMTP_TLS_INTERNAL,      /* our own servers: mutual TLS with our
                               certificate, peer verified against the
                               enterprise CA and named exactly as expected
                               (expect.name required, TLS_NAME_EXACT);
                               never plaintext */
    SMTP_TLS_CONNECTOR,     /* forced TLS to a partner: verified against the
                               connector's CA (or system roots), named as
                               expect says (exact, a wildcard certificate,
                               or the TLS layer's rules for a required
                               "*.domain"; a NULL name checks the CA only;
                               never the SIP rules); never plaintext */
};

/* The next hop of one delivery.  Strings are copied by smtp_session_open;
 * tls must outlive the session. */
struct smtp_hop {
    const char *host;              /* name for SNI/verification and logs */
    struct sockaddr_storage addr;  /* where to connect (address and port) */
    socklen_t addrlen;
    const char *helo_name;         /* our name in EHLO/HELO */
    enum smtp_tls_policy policy;
    tls_config *tls;               /* client config: trust store (+ our identity
                                      for INTERNAL); see smtp_client_tls_config */
    struct tls_expect expect;      /* name and rules; role is always server */
    const char *policy_name;       /* "opportunistic", "internal",
                                      "connector bank" for the log; NULL: the
                                      policy's own name */
    bool plaintext_retry;          /* opportunistic retry after a failed
                                      handshake: no STARTTLS this time */
    int timeout_ms;                /* each reply, each write, connect, handshake */
};

/* Every failure is one of these for the caller: defer, or bounce. */
enum smtp_status {
    SMTP_STATUS_OK,              /* delivered (or: session open) */
    SMTP_STATUS_TEMPORARY,       /* 4xx, connection, timeout, TLS or protocol
                                    failure, local error: try again later */
    SMTP_STATUS_PERMANENT,       /* 5xx (or a message over the server's SIZE):
                                    bounce */
    SMTP_STATUS_RETRY_PLAINTEXT, /* smtp_session_open, opportunistic only: the
                                    TLS handshake failed; open once more with
                                    hop.plaintext_retry = true (until then,
                                    temporary) */
};

/* What became of one recipient.  code 0 when the server never answered
 * for it (connection lost, local refusal): text says why. */
struct smtp_rcpt_result {
    enum smtp_status status;   /* OK, TEMPORARY or PERMANENT */
    int code;                  /* the reply that decided, e.g. 250, 550 */
    char enhanced[16];         /* "5.1.1", ours for local failures, or "" */
    char text[256];            /* the reply's text, or our reason */
};

/* The message: bytes as stored (headers and body, not dot-stuffed, any of
 * CRLF/LF line ends), in memory or in a spool file read with pread. */
struct smtp_message_source {
    const char *data;          /* the message in memory, or NULL: read fd */
    int fd;                    /* when data is NULL */
    off_t offset;              /* where the message starts in fd */
    uint64_t length;           /* its length in bytes (also SIZE=) */
    bool eight_bit;            /* holds 8-bit bytes: BODY=8BITMIME if offered */
};

#define SMTP_CLIENT_MAX_RCPTS 1000  /* per smtp_session_send */
#define SMTP_ADDRESS_MAX 254        /* RFC 5321 4.5.3.1.3: 256 with <> */
#define SMTP_LOG_LINE_MAX 2048

/* One delivery attempt, for the one log line the caller writes. */
struct smtp_delivery_log {
    char domain[256];          /* recipient domain(s), "a.test,b.test" */
    char host[256];            /* next hop name */
    char addr[64];             /* next hop address, "127.0.0.1:25" */
    char policy[64];           /* the hop's policy name */
    char tls_version[16];      /* "TLSv1.3", or "none" */
    char cipher[64];           /* "TLS_AES_128_GCM_SHA256", or "-" */
    char group[32];            /* "X25519", or "-" */
    bool peer_trusted;         /* TLS and the peer certificate verified */
    char verdict[600];         /* "trusted: chain to ..., DNS:mx.bank.test",
                                  "not verified: issuer not trusted: ...",
                                  "refused: name mismatch: ...",
                                  "plaintext: STARTTLS not offered", ... */
    char result[600];          /* "sent 2, deferred 0, bounced 1: 250 2.0.0
                                  Ok", or why the attempt failed */
};

/* "domain=... relay=host[addr] policy=... tls=... cipher=... group=...
 * verdict=... result=..." */
void smtp_delivery_log_format(const struct smtp_delivery_log *log, char *buf, size_t len);

/* The distinct domains of rcpts into log->domain (smtp_session_send does
 * this; a caller whose smtp_session_open failed may, before logging). */
void smtp_delivery_log_recipients(struct smtp_delivery_log *log, const char *const *rcpts,
                                  size_t n_rcpts);

/* A client tls_config for policy: trust (borrowed; e.g. the enterprise
 * CA, a connector's CA, or tls_trust_new_system()), our certificate and
 * key (required for INTERNAL, NULL otherwise allowed).  OPPORTUNISTIC
 * configs verify advisorily (tls_config_set_verify_advisory): the verdict
 * is logged but never fails the handshake. */
tls_config *smtp_client_tls_config(enum smtp_tls_policy policy, tls_trust *trust,
                                   const char *cert_file, const char *key_file, tn_err *err);

struct smtp_session;

/* Connect, read the greeting, EHLO, STARTTLS as the policy says, EHLO.
 * Returns SMTP_STATUS_OK and *out, or TEMPORARY / RETRY_PLAINTEXT with
 * the reason in err (e.g. "TLS is required, but was not offered by host
 * mx.bank.test[127.0.0.1:25]").  Never PERMANENT: a host that refuses
 * service (5xx greeting or EHLO) is a temporary failure, so that another
 * MX or a later attempt may deliver (Postfix smtp_skip_5xx_greeting).
 * log is filled (as far as the attempt got) in every case. */
enum smtp_status smtp_session_open(const struct smtp_hop *hop, struct smtp_session **out,
                                   struct smtp_delivery_log *log, tn_err *err);

/* Send one message from sender ("" for a bounce) to rcpts (1 to
 * SMTP_CLIENT_MAX_RCPTS addresses without <>).  results[i] is set for
 * every rcpts[i].  Returns OK when the message was accepted for at least
 * one recipient, else TEMPORARY when any recipient is deferred, else
 * PERMANENT; err holds the session-level reason when there is one.  log
 * gets the session's facts, the domains and the result. */
enum smtp_status smtp_session_send(struct smtp_session *s, const char *sender,
                                   const char *const *rcpts, size_t n_rcpts,
                                   const struct smtp_message_source *msg,
                                   struct smtp_rcpt_result *results,
                                   struct smtp_delivery_log *log, tn_err *err);

/* May the next message go over this session?  False after any failure of
 * the connection or protocol, and when the server has sent something
 * unasked or closed the connection meanwhile (idle timeout). */
bool smtp_session_reusable(const struct smtp_session *s);

/* What the server offered in its (last) EHLO reply. */
const struct smtp_ehlo_ext *smtp_session_extensions(const struct smtp_session *s);
/* Is the session encrypted, and was the peer verified? */
bool smtp_session_tls(const struct smtp_session *s);
bool smtp_session_peer_trusted(const struct smtp_session *s);

/* QUIT (when the session still works), close_notify, close; NULL is fine. */
void smtp_session_close(struct smtp_session *s);

#endif
