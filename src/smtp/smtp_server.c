/* smtp_server.c - SMTP sessions of the mail role (see smtp_server.h). */
#include "smtp/smtp_server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "mail/mail_commit.h"
#include "mail/mail_server_internal.h"
#include "smtp/smtp_cmd.h"
#include "smtp/smtp_data.h"
#include "tls/x509_text.h"

#define REPLY_BUF 4096
#define SMTP_REPLY_ROOM 1024 /* more than any one reply of ours */
#define RECEIVED_MAX 1200

enum session_state {
    S_GREETED,    /* waiting for EHLO/HELO */
    S_READY,      /* greeted: MAIL may come */
    S_MAIL,       /* MAIL given: RCPT may come */
    S_DATA,       /* reading the message */
    S_COMMITTING, /* message complete, waiting for the disk */
};

/* One mail transaction's envelope: handed to the committer whole, so it
 * outlives the connection if the client goes while the disk works. */
struct txn {
    char sender[SMTP_ADDR_MAX + 1];
    char sender_domain[SMTP_DOMAIN_MAX + 1];
    char **rcpts;
    size_t n_rcpts, cap_rcpts;
    char helo[SMTP_DOMAIN_MAX + 1];
    char client[64];
    char tls[SPOOL_TLS_MAX];
    unsigned flags;
    struct mail_commit_job job;
};

struct session {
    struct mail_server *ms;
    struct conn *conn;
    enum session_state state;
    bool esmtp, quitting;
    bool in_on_data; /* a result arriving now is taken up by on_data's loop */
    unsigned errors;
    char helo[SMTP_DOMAIN_MAX + 1];
    char client_ip[64];
    struct sockaddr_storage client_sa;
    struct mail_client client;
    const char *connector; /* the inbound connector the sender satisfied */
    struct smtp_line_reader lines;
    struct smtp_data data;
    struct spool_writer *writer;
    struct txn *txn;
    char out[REPLY_BUF];
    size_t out_len;
};

static void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void flush_replies(struct session *s);

/* Replies collect here and leave in one write per pipelined group (a
 * group larger than the buffer goes out in several). */
static void reply(struct session *s, const char *fmt, ...)
{
    if (sizeof s->out - s->out_len < SMTP_REPLY_ROOM)
        flush_replies(s);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->out + s->out_len, sizeof s->out - s->out_len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof s->out - s->out_len)
        s->out_len += (size_t)n;
}

static void flush_replies(struct session *s)
{
    if (s->out_len == 0)
        return;
    size_t len = s->out_len;
    s->out_len = 0;
    conn_send(s->conn, s->out, len);
}

/* --- transactions -------------------------------------------------------------- */

static void txn_free(struct txn *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_rcpts; i++)
        free(t->rcpts[i]);
    free(t->rcpts);
    free(t);
}

static int txn_add_rcpt(struct txn *t, const char *addr)
{
    if (t->n_rcpts == t->cap_rcpts) {
        size_t cap = t->cap_rcpts ? t->cap_rcpts * 2 : 8;
        char **grown = realloc(t->rcpts, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        t->rcpts = grown;
        t->cap_rcpts = cap;
    }
    if ((t->rcpts[t->n_rcpts] = strdup(addr)) == NULL)
        return -1;
    t->n_rcpts++;
    return 0;
}

/* RSET, EHLO, STARTTLS and the end of a message: forget the transaction. */
static void reset_transaction(struct session *s)
{
    txn_free(s->txn);
    s->txn = NULL;
    spool_abort(s->writer);
    s->writer = NULL;
    s->connector = NULL;
    if (s->state != S_GREETED)
        s->state = S_READY;
}

/* --- the session's start and end --------------------------------------------- */

static const mail_policy *policy(const struct session *s)
{
    return mail_server_policy(s->ms);
}

static void on_open(struct conn *c, void *ctx)
{
    struct mail_server *ms = ctx;
    struct session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        conn_close(c, "out of memory");
        return;
    }
    s->ms = ms;
    s->conn = c;
    c->proto = s;
    socklen_t len = sizeof s->client_sa;
    if (getpeername(c->fd, (struct sockaddr *)&s->client_sa, &len) < 0)
        memset(&s->client_sa, 0, sizeof s->client_sa);
    tn_strlcpy(s->client_ip, c->peer, sizeof s->client_ip);
    char *colon = strrchr(s->client_ip, ':');
    if (colon != NULL)
        *colon = '\0'; /* "[::1]:25" and "1.2.3.4:25" keep the address */
    mail_policy_identify(policy(s), NULL, &s->client);
    reply(s, "220 %s ESMTP trustnet\r\n", mail_policy_hostname(policy(s)));
    flush_replies(s);
}

void smtp_server_session_free(void *session)
{
    struct session *s = session;
    if (s == NULL)
        return;
    reset_transaction(s);
    free(s);
}

static void on_close(struct conn *c, void *ctx, char *note, size_t note_size)
{
    smtp_server_session_free(c->proto);
    c->proto = NULL;
}

/* After STARTTLS: judge the client's certificate, start over (RFC 3207
 * 4.2: the client must say EHLO again, nothing said before counts). */
static void on_secure(struct conn *c, void *ctx)
{
    struct session *s = c->proto;
    if (s == NULL)
        return;
    mail_policy_identify(policy(s), conn_tls(c), &s->client);
    conn_set_verdict(c, "%s", s->client.verdict);
    reset_transaction(s);
    s->state = S_GREETED;
    s->helo[0] = '\0';
}

/* --- commands ------------------------------------------------------------------ */

static bool too_many_errors(struct session *s)
{
    if (++s->errors < s->ms->max_errors)
        return false;
    reply(s, "421 4.7.0 %s Error: too many errors\r\n", mail_policy_hostname(policy(s)));
    s->quitting = true;
    return true;
}

static void refuse_parse(struct session *s, const struct smtp_parse_error *e)
{
    char line[SMTP_PARSE_REPLY_MAX];
    if (smtp_parse_error_reply(e, line, sizeof line) == 0)
        reply(s, "%s", line);
    too_many_errors(s);
}

static void cmd_helo(struct session *s, const struct smtp_cmd *cmd, bool esmtp)
{
    const mail_policy *p = policy(s);
    reset_transaction(s);
    tn_snprintf(s->helo, sizeof s->helo, "%.*s", (int)cmd->arg_len, cmd->arg);
    s->esmtp = esmtp;
    s->state = S_READY;
    if (!esmtp) {
        reply(s, "250 %s\r\n", mail_policy_hostname(p));
        return;
    }
    reply(s, "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n", mail_policy_hostname(p),
          (unsigned long long)mail_server_max_message_bytes(s->ms));
    if (conn_tls(s->conn) == NULL)
        reply(s, "250-STARTTLS\r\n");
    reply(s, "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
}

static void cmd_mail(struct session *s, const struct smtp_cmd *cmd)
{
    if (s->state == S_GREETED) {
        reply(s, "503 5.5.1 Error: send HELO/EHLO first\r\n");
        return;
    }
    if (s->state != S_READY) {
        reply(s, "503 5.5.1 Error: nested MAIL command\r\n");
        return;
    }
    if (cmd->has_size && cmd->size > mail_server_max_message_bytes(s->ms)) {
        reply(s, "552 5.3.4 Message size exceeds fixed limit\r\n");
        return;
    }
    struct mail_refusal no;
    if (mail_policy_check_sender(policy(s), (const struct sockaddr *)&s->client_sa,
                                 cmd->path.domain, &s->client, conn_tls(s->conn),
                                 &s->connector, &no) < 0) {
        tn_counter_add(&s->ms->stats.refused, 1);
        tn_log(TN_LOG_INFO, "smtp", "client=%s from=<%s> refused: %s", s->client_ip,
               cmd->path.addr, no.log);
        reply(s, "%d %s %s\r\n", no.code, no.enhanced, no.text);
        return;
    }
    if ((s->txn = calloc(1, sizeof *s->txn)) == NULL) {
        reply(s, "451 4.3.0 Error: out of memory\r\n");
        return;
    }
    tn_strlcpy(s->txn->sender, cmd->path.addr, sizeof s->txn->sender);
    tn_strlcpy(s->txn->sender_domain, cmd->path.domain, sizeof s->txn->sender_domain);
    s->txn->flags = cmd->body == SMTP_BODY_8BITMIME ? SPOOL_F_8BITMIME : 0;
    s->state = S_MAIL;
    reply(s, "250 2.1.0 Ok\r\n");
}

static void cmd_rcpt(struct session *s, const struct smtp_cmd *cmd)
{
    if (s->state != S_MAIL) {
        reply(s, "503 5.5.1 Error: need MAIL command\r\n");
        return;
    }
    if (s->txn->n_rcpts >= s->ms->max_rcpts) {
        reply(s, "452 4.5.3 Error: too many recipients\r\n");
        return;
    }
    const char *domain = cmd->path.domain;
    char postmaster[SMTP_ADDR_MAX + 1];
    const char *addr = cmd->path.addr;
    if (cmd->path.kind == SMTP_PATH_POSTMASTER) {
        /* <postmaster> is ours (RFC 5321 4.5.1): at our first domain. */
        const struct topology *t = mail_server_topology(s->ms);
        domain = t->mail.domains.count ? t->mail.domains.items[0] : "";
        tn_snprintf(postmaster, sizeof postmaster, "postmaster@%s", domain);
        addr = postmaster;
    }
    struct mail_refusal no;
    if (mail_policy_check_rcpt(policy(s), domain, &s->client, &no) < 0) {
        tn_counter_add(&s->ms->stats.refused, 1);
        tn_log(TN_LOG_INFO, "smtp", "client=%s from=<%s> to=<%s> refused: %s", s->client_ip,
               s->txn->sender, addr, no.log);
        reply(s, "%d %s <%s>: %s\r\n", no.code, no.enhanced, addr, no.text);
        too_many_errors(s);
        return;
    }
    if (txn_add_rcpt(s->txn, addr) < 0) {
        reply(s, "452 4.3.0 Error: out of memory\r\n");
        return;
    }
    reply(s, "250 2.1.5 Ok\r\n");
}

/* "Fri, 27 Nov 2026 18:33:57 +0000" (RFC 5322 3.3). */
static void rfc5322_date(char *buf, size_t len)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    tn_snprintf(buf, len, "%s, %02d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A Received: comment holds printable ASCII with its specials quoted
 * (RFC 5322 3.2.2): a certificate's name is the client's own text, and a
 * line break in it would start a header of the client's choosing. */
static void comment_text(char *dst, size_t len, const char *src)
{
    size_t out = 0;
    for (; *src != '\0'; src++) {
        unsigned char c = (unsigned char)*src;
        bool special = c == '(' || c == ')' || c == '\\' || c == '"';
        if (out + (special ? 2 : 1) >= len)
            break;
        if (special)
            dst[out++] = '\\';
        dst[out++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[out] = '\0';
}

/* What TLS protected the message, for Received: and the envelope. */
static void describe_tls(struct session *s, char *summary, size_t slen, char *comment,
                         size_t clen)
{
    tls_conn *tls = conn_tls(s->conn);
    summary[0] = comment[0] = '\0';
    if (tls == NULL)
        return;
    char name[300] = "", cert[300] = "";
    X509 *peer = tls_conn_peer_cert(tls);
    if (peer != NULL) {
        x509_text_short_name(X509_get_subject_name(peer), name, sizeof name);
        comment_text(cert, sizeof cert, name);
    }
    bool verified = s->client.internal_server[0] != '\0' || s->connector != NULL;
    tn_snprintf(summary, slen, "%s %s", tls_conn_version(tls), tls_conn_cipher(tls));
    if (peer == NULL)
        tn_snprintf(comment, clen, "\r\n\t(using %s with cipher %s; no client certificate)",
                    tls_conn_version(tls), tls_conn_cipher(tls));
    else
        tn_snprintf(comment, clen, "\r\n\t(using %s with cipher %s;\r\n\t client certificate "
                    "\"%s\" %s)", tls_conn_version(tls), tls_conn_cipher(tls), cert,
                    verified ? "verified" : "not verified");
}

/* Received: first in the data (RFC 5321 4.4), with the protocol name of
 * RFC 3848 (ESMTPS: ESMTP over TLS). */
static int write_received(struct session *s, tn_err *err)
{
    char date[64], comment[600], header[RECEIVED_MAX];
    bool tls = conn_tls(s->conn) != NULL;
    describe_tls(s, s->txn->tls, sizeof s->txn->tls, comment, sizeof comment);
    rfc5322_date(date, sizeof date);
    const char *proto = !s->esmtp ? (tls ? "SMTPS" : "SMTP") : tls ? "ESMTPS" : "ESMTP";
    int n = tn_snprintf(header, sizeof header,
                        "Received: from %s ([%s])\r\n\tby %s (trustnet) with %s id %s%s%s%s%s;"
                        "\r\n\t%s\r\n",
                        s->helo[0] ? s->helo : "unknown", s->client_ip,
                        mail_policy_hostname(policy(s)), proto, spool_writer_id(s->writer),
                        comment, s->txn->n_rcpts == 1 ? "\r\n\tfor <" : "",
                        s->txn->n_rcpts == 1 ? s->txn->rcpts[0] : "",
                        s->txn->n_rcpts == 1 ? ">" : "", date);
    if (n < 0)
        return tn_errf(err, "Received: header too long");
    return spool_write(s->writer, header, strlen(header), err);
}

static int data_sink(void *ctx, const char *buf, size_t len)
{
    struct session *s = ctx;
    tn_err err;
    if (spool_write(s->writer, buf, len, &err) < 0) {
        tn_log(TN_LOG_ERROR, "smtp", "client=%s: %s", s->client_ip, err.msg);
        return -1;
    }
    return 0;
}

static void cmd_data(struct session *s)
{
    if (s->state != S_MAIL || s->txn->n_rcpts == 0) {
        reply(s, s->state == S_MAIL ? "554 5.5.1 Error: no valid recipients\r\n"
                                    : "503 5.5.1 Error: need RCPT command\r\n");
        return;
    }
    tn_err err;
    s->writer = spool_begin(s->ms->spool, &err);
    if (s->writer == NULL || write_received(s, &err) < 0) {
        tn_log(TN_LOG_ERROR, "smtp", "client=%s: cannot spool: %s", s->client_ip, err.msg);
        reply(s, "451 4.3.0 Error: queue file write error\r\n");
        reset_transaction(s);
        return;
    }
    smtp_data_init(&s->data, mail_server_max_message_bytes(s->ms), data_sink, s);
    s->state = S_DATA;
    reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

static void cmd_starttls(struct session *s)
{
    if (conn_tls(s->conn) != NULL) {
        reply(s, "554 5.5.1 Error: TLS already active\r\n");
        return;
    }
    reply(s, "220 2.0.0 Ready to start TLS\r\n");
    flush_replies(s);
    /* conn_start_tls drops whatever the client pipelined after STARTTLS. */
    if (conn_start_tls(s->conn, mail_policy_server_tls(policy(s))) < 0)
        s->quitting = true;
}

/* One command line; false when the rest of the input must wait (DATA,
 * STARTTLS, QUIT). */
static bool run_command(struct session *s, const char *line, size_t len)
{
    struct smtp_cmd cmd;
    struct smtp_parse_error e;
    if (smtp_cmd_parse(line, len, &cmd, &e) < 0) {
        refuse_parse(s, &e);
        return !s->quitting;
    }
    switch (cmd.verb) {
    case SMTP_VERB_EHLO: cmd_helo(s, &cmd, true); break;
    case SMTP_VERB_HELO: cmd_helo(s, &cmd, false); break;
    case SMTP_VERB_MAIL: cmd_mail(s, &cmd); break;
    case SMTP_VERB_RCPT: cmd_rcpt(s, &cmd); break;
    case SMTP_VERB_DATA: cmd_data(s); return true;
    case SMTP_VERB_RSET:
        reset_transaction(s);
        reply(s, "250 2.0.0 Ok\r\n");
        break;
    case SMTP_VERB_NOOP: reply(s, "250 2.0.0 Ok\r\n"); break;
    case SMTP_VERB_VRFY: reply(s, "502 5.5.1 VRFY command is disabled\r\n"); break;
    case SMTP_VERB_HELP: reply(s, "214 2.0.0 Commands: see RFC 5321\r\n"); break;
    case SMTP_VERB_QUIT:
        reply(s, "221 2.0.0 Bye\r\n");
        s->quitting = true;
        return false;
    case SMTP_VERB_STARTTLS:
        cmd_starttls(s);
        return false;
    case SMTP_VERB_UNKNOWN:
    default:
        reply(s, "500 5.5.2 Error: command not recognized\r\n");
        return !too_many_errors(s);
    }
    return true;
}

/* --- the end of a message --------------------------------------------------- */

static void commit_done(struct mail_commit_job *job)
{
    struct txn *t = job->ctx;
    struct worker *w = worker_current();
    struct conn *c = w ? worker_find_conn(w, job->conn_id) : NULL;
    struct session *s = c ? c->proto : NULL;
    if (s != NULL && s->state == S_COMMITTING) {
        if (job->id[0] != '\0') {
            tn_counter_add(&s->ms->stats.accepted, 1);
            reply(s, "250 2.0.0 Ok: queued as %s\r\n", job->id);
            tn_log(TN_LOG_INFO, "smtp", "%s: client=%s from=<%s> rcpts=%zu tls=%s%s%s queued",
                   job->id, s->client_ip, t->sender, t->n_rcpts, t->tls[0] ? t->tls : "none",
                   s->connector ? " connector=" : "", s->connector ? s->connector : "");
        } else {
            reply(s, "451 4.3.0 Error: queue file write error\r\n");
        }
        s->state = S_READY;
        s->connector = NULL;
        if (!s->in_on_data) {
            flush_replies(s);
            conn_resume_input(c); /* pipelined commands after the final dot */
        }
    }
    txn_free(t);
}

static void submit(struct session *s)
{
    struct txn *t = s->txn;
    s->txn = NULL;
    tn_strlcpy(t->helo, s->helo, sizeof t->helo);
    tn_strlcpy(t->client, s->client_ip, sizeof t->client);
    t->job = (struct mail_commit_job){
        .writer = s->writer,
        .env = {.sender = t->sender, .rcpts = (const char *const *)t->rcpts,
                .n_rcpts = t->n_rcpts, .client = t->client, .helo = t->helo, .tls = t->tls,
                .flags = t->flags},
        .loop = s->conn->worker->loop,
        .done = commit_done,
        .ctx = t,
        .conn_id = s->conn->id,
    };
    s->writer = NULL;
    s->state = S_COMMITTING;
    mail_committer_submit(s->ms->committer, &t->job);
}

/* The final dot: refuse a message the scanner found wrong (too big, bare
 * CR or LF, not stored), else commit it. */
static void end_of_data(struct session *s)
{
    struct smtp_parse_error fault;
    if (smtp_data_verdict(&s->data, &fault) < 0) {
        tn_counter_add(&s->ms->stats.refused, 1);
        tn_log(TN_LOG_INFO, "smtp", "client=%s from=<%s> message refused: %s", s->client_ip,
               s->txn->sender, fault.text);
        refuse_parse(s, &fault);
        reset_transaction(s);
        return;
    }
    submit(s);
}

/* --- input -------------------------------------------------------------------- */

static size_t on_data(struct conn *c, const char *buf, size_t len, void *ctx)
{
    struct session *s = c->proto;
    size_t used = 0;
    if (s != NULL)
        s->in_on_data = true;
    while (s != NULL && used < len && !s->quitting) {
        if (s->state == S_COMMITTING)
            break; /* the rest waits for the disk */
        size_t n = 0;
        if (s->state == S_DATA) {
            enum smtp_data_result r = smtp_data_feed(&s->data, buf + used, len - used, &n);
            used += n;
            if (r == SMTP_DATA_END)
                end_of_data(s);
            continue;
        }
        enum smtp_line_result r = smtp_line_next(&s->lines, buf + used, len - used, &n);
        if (r == SMTP_LINE_NEED_MORE) {
            used += n;
            break;
        }
        const char *line = buf + used;
        used += n;
        if (r == SMTP_LINE_TOO_LONG) {
            reply(s, "500 5.5.2 Error: line too long\r\n");
            too_many_errors(s);
        } else if (!run_command(s, line, n)) {
            used = len; /* STARTTLS, QUIT: nothing after counts */
            break;
        }
    }
    if (s != NULL) {
        s->in_on_data = false;
        flush_replies(s);
        if (s->quitting)
            conn_close(c, NULL);
    }
    return used;
}

struct conn_handler smtp_server_handler(struct mail_server *ms)
{
    return (struct conn_handler){
        .on_open = on_open, .on_data = on_data, .on_secure = on_secure, .on_close = on_close,
        .ctx = ms};
}
