/* dsn.c - building a bounce (see dsn.h).  Every line written is at most
 * 998 bytes plus CRLF (RFC 5322 2.1.1): the human text is wrapped, the
 * report fields are bounded by the spool's limits, and returned header
 * lines are cut. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/str.h"
#include "mail/dsn.h"
#include "mail/spool_internal.h"

#define LINE_MAX_OCTETS 998
#define WRAP_AT 76

/* ---- a growing output buffer; the first failure sticks ---- */

struct out {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct out *o, const void *data, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (n > o->cap - o->len) {
        size_t cap = o->cap > 0 ? o->cap : 4096;
        while (cap - o->len < n && cap < SIZE_MAX / 2)
            cap *= 2;
        char *p = cap - o->len >= n ? realloc(o->p, cap) : NULL;
        if (p == NULL) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For short lines only: each call writes at most 2048 bytes. */
static void put_fmt(struct out *o, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        o->failed = true;
    else
        put(o, line, (size_t)n);
}

/* ---- small texts ---- */

static bool has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* RFC 5322 date in UTC, with English names whatever the locale. */
static void rfc5322_date(int64_t t, char *buf, size_t len)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL) {
        tn_strlcpy(buf, "Thu, 1 Jan 1970 00:00:00 +0000", len);
        return;
    }
    snprintf(buf, len, "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A status code "c.s.d" (RFC 3463) of class 4 or 5 at s; its length or 0. */
static size_t status_at(const char *s)
{
    if ((s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    size_t i = 2, digits = 0;
    for (; s[i] >= '0' && s[i] <= '9' && digits < 3; i++)
        digits++;
    if (digits == 0 || s[i] != '.')
        return 0;
    i++;
    digits = 0;
    for (; s[i] >= '0' && s[i] <= '9' && digits < 3; i++)
        digits++;
    if (digits == 0 || (s[i] >= '0' && s[i] <= '9'))
        return 0;
    return i;
}

/* The recipient's status: given, else from "NNN c.s.d ..." in the reply,
 * else c.0.0 from a 4xx or 5xx reply code, else 5.0.0. */
static void recipient_status(const struct dsn_recipient *r, char out[16])
{
    const char *reply = or_empty(r->reply);
    size_t n;
    if (r->status != NULL && (n = status_at(r->status)) > 0 && r->status[n] == '\0') {
        memcpy(out, r->status, n + 1);
        return;
    }
    bool code = strlen(reply) >= 3 && (reply[0] == '4' || reply[0] == '5') &&
                reply[1] >= '0' && reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9';
    if (code && (reply[3] == ' ' || reply[3] == '-') && (n = status_at(reply + 4)) > 0 &&
        reply[4] == reply[0]) {
        memcpy(out, reply + 4, n);
        out[n] = '\0';
        return;
    }
    tn_snprintf(out, 16, "%c.0.0", code ? reply[0] : '5');
}

/* Is the reply an SMTP reply (three digits first), or our own words? */
static bool is_smtp_reply(const char *reply)
{
    return reply[0] >= '2' && reply[0] <= '5' && reply[1] >= '0' && reply[1] <= '9' &&
           reply[2] >= '0' && reply[2] <= '9' && (reply[3] == ' ' || reply[3] == '\0');
}

/* ---- the human part ---- */

/* Append text wrapped at WRAP_AT columns on spaces (runs of spaces become
 * one; a word too long for a line is split), later lines indented by four
 * spaces: no line exceeds LINE_MAX_OCTETS. */
static void put_wrapped(struct out *o, const char *text)
{
    const char *p = text;
    size_t col = 0;
    bool line_start = true;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t w = strcspn(p, " ");
        if (w > LINE_MAX_OCTETS - 8)
            w = LINE_MAX_OCTETS - 8;
        if (!line_start && col + 1 + w > WRAP_AT) {
            put_str(o, "\r\n    ");
            col = 4;
            line_start = true;
        }
        if (!line_start) {
            put_str(o, " ");
            col++;
        }
        put(o, p, w);
        col += w;
        p += w;
        line_start = false;
    }
    put_str(o, "\r\n");
}

static void human_line(struct out *o, const struct dsn_recipient *r, const char *status)
{
    char line[SPOOL_ADDR_MAX + SPOOL_HOST_MAX + SPOOL_REPLY_MAX + 128];
    const char *reply = or_empty(r->reply), *host = or_empty(r->remote_mta);
    snprintf(line, sizeof line, "<%s>: %s%s%s%s%s", or_empty(r->address),
             strcmp(status, "4.4.7") == 0 ? "delivery time expired; the last attempt: " : "",
             host[0] != '\0' ? "host " : "", host, host[0] != '\0' ? " said: " : "",
             reply[0] != '\0' ? reply : "no reason was recorded");
    put_wrapped(o, line);
    put_str(o, "\r\n");
}

static bool str_8bit(const char *s)
{
    return s != NULL && has_8bit(s, strlen(s));
}

/* Do addresses or replies of the failed recipients hold 8-bit bytes? */
static bool rcpts_8bit(const struct dsn_input *in)
{
    for (size_t i = 0; i < in->n_rcpts; i++)
        if (str_8bit(in->rcpts[i].address) || str_8bit(in->rcpts[i].reply) ||
            str_8bit(in->rcpts[i].remote_mta))
            return true;
    return false;
}

static void human_part(struct out *o, const struct dsn_input *in, const char *boundary,
                       bool truncated)
{
    bool eight = rcpts_8bit(in);
    put_fmt(o, "--%s\r\nContent-Description: Notification\r\n"
               "Content-Type: text/plain; charset=%s\r\n\r\n", boundary,
            eight ? "utf-8" : "us-ascii");
    put_fmt(o, "This is the mail system at host %s.\r\n\r\n", in->reporting_mta);
    put_str(o, "Your message could not be delivered to the recipients below; the\r\n"
             "mail system has given up on them and will not try again. Each\r\n"
             "line gives the reason. The headers of your message are attached.\r\n\r\n");
    if (truncated)
        put_fmt(o, "(The attached headers are cut after %d bytes.)\r\n\r\n", DSN_HEADERS_MAX);
    for (size_t i = 0; i < in->n_rcpts; i++) {
        char status[16];
        recipient_status(&in->rcpts[i], status);
        human_line(o, &in->rcpts[i], status);
    }
}

/* ---- the delivery-status part (RFC 3464) ---- */

static void address_field(struct out *o, const char *name, const char *addr)
{
    /* RFC 6533: an address with UTF-8 is of type utf-8, not rfc822. */
    put_fmt(o, "%s: %s; %s\r\n", name, str_8bit(addr) ? "utf-8" : "rfc822", addr);
}

static void status_part(struct out *o, const struct dsn_input *in, const char *boundary)
{
    char date[64];
    rfc5322_date(in->msg->arrival, date, sizeof date);
    put_fmt(o, "--%s\r\nContent-Description: Delivery report\r\n"
               "Content-Type: message/delivery-status\r\n\r\n", boundary);
    put_fmt(o, "Reporting-MTA: dns; %s\r\nX-Trustnet-Queue-ID: %s\r\nArrival-Date: %s\r\n",
            in->reporting_mta, in->msg->id, date);
    for (size_t i = 0; i < in->n_rcpts; i++) {
        const struct dsn_recipient *r = &in->rcpts[i];
        const char *reply = or_empty(r->reply);
        char status[16];
        recipient_status(r, status);
        put_str(o, "\r\n");
        address_field(o, "Final-Recipient", or_empty(r->address));
        put_fmt(o, "Action: failed\r\nStatus: %s\r\n", status);
        if (r->remote_mta != NULL && r->remote_mta[0] != '\0')
            put_fmt(o, "Remote-MTA: dns; %s\r\n", r->remote_mta);
        if (reply[0] != '\0')
            put_fmt(o, "Diagnostic-Code: %s; %s\r\n", is_smtp_reply(reply) ? "smtp" : "X-Trustnet",
                    reply);
    }
    put_str(o, "\r\n");
}

/* ---- the original headers ---- */

/* The header section of the original: its first bytes up to the empty
 * line, at most DSN_HEADERS_MAX, as CRLF lines of at most 998 bytes
 * without NUL bytes.  *truncated when the window ended first. */
static void copy_header_lines(const char *buf, size_t len, bool more, struct out *hdr,
                              bool *truncated)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL && more)
            break; /* a line cut by the window: leave it out */
        if (nl == NULL)
            nl = end; /* the message ends without a line end */
        size_t n = (size_t)(nl - p), kept = 0;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0)
            return; /* the empty line: the body follows */
        for (size_t i = 0; i < n && kept < LINE_MAX_OCTETS; i++)
            if (p[i] != '\0' && p[i] != '\r') {
                put(hdr, p + i, 1);
                kept++;
            }
        put_str(hdr, "\r\n");
        p = nl < end ? nl + 1 : end;
    }
    *truncated = more;
}

static int read_headers(const struct spool_data *d, struct out *hdr, bool *truncated,
                        tn_err *err)
{
    *truncated = false;
    size_t want = d->length < DSN_HEADERS_MAX ? (size_t)d->length : DSN_HEADERS_MAX;
    char *buf = malloc(want + 1);
    if (buf == NULL)
        return tn_errf(err, "out of memory");
    if (tn_pread_all(d->fd, buf, want, d->offset) < 0) {
        tn_errf(err, "cannot read the original message: %s", strerror(errno));
        free(buf);
        return -1;
    }
    copy_header_lines(buf, want, d->length > want, hdr, truncated);
    free(buf);
    return hdr->failed ? tn_errf(err, "out of memory") : 0;
}

static void headers_part(struct out *o, const struct out *hdr, const char *boundary)
{
    put_fmt(o, "--%s\r\nContent-Description: Undelivered Message Headers\r\n"
               "Content-Type: text/rfc822-headers\r\n", boundary);
    if (has_8bit(hdr->p, hdr->len))
        put_str(o, "Content-Transfer-Encoding: 8bit\r\n");
    put_str(o, "\r\n");
    put(o, hdr->p, hdr->len);
    put_str(o, "\r\n");
}

/* ---- the whole ---- */

static void random_hex(char *out, size_t bytes)
{
    unsigned char r[16];
    if (bytes > sizeof r)
        bytes = sizeof r;
    if (RAND_bytes(r, (int)bytes) != 1)
        memset(r, 0, sizeof r); /* still unique enough with the id and time */
    tn_hex_encode(out, 2 * bytes + 1, r, bytes);
}

/* A boundary that the returned headers do not contain. */
static int make_boundary(const struct dsn_input *in, const struct out *hdr, char *b, size_t len)
{
    for (int i = 0; i < 4; i++) {
        char rnd[33];
        random_hex(rnd, 8);
        if (tn_snprintf(b, len, "%s.%s/%s", in->msg->id, rnd, in->reporting_mta) < 0)
            return -1;
        if (hdr->len == 0 || memmem(hdr->p, hdr->len, b, strlen(b)) == NULL)
            return 0;
    }
    return -1;
}

static void top_headers(struct out *o, const struct dsn_input *in, int64_t now,
                        const char *boundary, bool eight)
{
    char date[64], rnd[33];
    rfc5322_date(now, date, sizeof date);
    random_hex(rnd, 8);
    put_fmt(o, "Date: %s\r\n", date);
    put_fmt(o, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", in->reporting_mta);
    put_fmt(o, "To: <%s>\r\n", in->msg->sender);
    put_str(o, "Subject: Undelivered Mail Returned to Sender\r\n");
    put_fmt(o, "Message-ID: <%s.%s@%s>\r\n", in->msg->id, rnd, in->reporting_mta);
    put_str(o, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
    put_fmt(o, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
               "\tboundary=\"%s\"\r\n", boundary);
    put_fmt(o, "Content-Transfer-Encoding: %s\r\n\r\n", eight ? "8bit" : "7bit");
    put_str(o, "This is a MIME-encapsulated message.\r\n\r\n");
}

static int check_input(const struct dsn_input *in, tn_err *err)
{
    if (in->msg == NULL || in->reporting_mta == NULL || in->reporting_mta[0] == '\0')
        return tn_errf(err, "bounce without its message or our name");
    if (strlen(in->reporting_mta) > SPOOL_HOST_MAX)
        return tn_errf(err, "our name is longer than %d bytes", SPOOL_HOST_MAX);
    if (in->n_rcpts == 0 || in->n_rcpts > SPOOL_RCPTS_MAX || in->rcpts == NULL)
        return tn_errf(err, "bounce for %zu recipients", in->n_rcpts);
    for (size_t i = 0; i < in->n_rcpts; i++)
        if (strlen(or_empty(in->rcpts[i].address)) > SPOOL_ADDR_MAX ||
            strlen(or_empty(in->rcpts[i].reply)) >= SPOOL_REPLY_MAX ||
            strlen(or_empty(in->rcpts[i].remote_mta)) > SPOOL_HOST_MAX)
            return tn_errf(err, "recipient %zu of the bounce is too long", i + 1);
    return 0;
}

static unsigned envelope_flags(const struct dsn_input *in, const struct out *o)
{
    unsigned flags = has_8bit(o->p, o->len) ? SPOOL_F_8BITMIME : 0;
    if (str_8bit(in->msg->sender))
        flags |= SPOOL_F_SMTPUTF8;
    return flags;
}

int dsn_build(const struct dsn_input *in, char **out, size_t *len, unsigned *flags,
              tn_err *err)
{
    if (check_input(in, err) < 0)
        return -1;
    if (in->msg->sender[0] == '\0') {
        tn_log(TN_LOG_INFO, "dsn", "%s: no bounce for a message from <> (never bounce a "
               "bounce): %zu recipient(s) failed, first <%s>", in->msg->id, in->n_rcpts,
               or_empty(in->rcpts[0].address));
        return 1;
    }
    struct out hdr = {0}, o = {0};
    bool truncated = false;
    char boundary[SPOOL_ID_MAX + SPOOL_HOST_MAX + 40];
    if (in->data != NULL && read_headers(in->data, &hdr, &truncated, err) < 0) {
        free(hdr.p);
        return -1;
    }
    if (make_boundary(in, &hdr, boundary, sizeof boundary) < 0) {
        free(hdr.p);
        return tn_errf(err, "cannot find a MIME boundary for the bounce");
    }
    top_headers(&o, in, in->now > 0 ? in->now : (int64_t)time(NULL), boundary,
                rcpts_8bit(in) || has_8bit(hdr.p, hdr.len));
    human_part(&o, in, boundary, truncated);
    status_part(&o, in, boundary);
    if (in->data != NULL)
        headers_part(&o, &hdr, boundary);
    put_fmt(&o, "--%s--\r\n", boundary);
    free(hdr.p);
    if (o.failed) {
        free(o.p);
        return tn_errf(err, "out of memory building the bounce");
    }
    *flags = envelope_flags(in, &o);
    *out = o.p;
    *len = o.len;
    return 0;
}

int dsn_queue(spool *s, const struct dsn_input *in, char id[SPOOL_ID_MAX], tn_err *err)
{
    char *text;
    size_t len;
    unsigned flags;
    id[0] = '\0';
    int r = dsn_build(in, &text, &len, &flags, err);
    if (r != 0)
        return r;
    struct spool_writer *w = spool_begin(s, err);
    if (w == NULL) {
        free(text);
        return -1;
    }
    const char *rcpt[1] = {in->msg->sender};
    struct spool_envelope env = {
        .sender = "", .rcpts = rcpt, .n_rcpts = 1, .client = "",
        .helo = in->reporting_mta, .tls = "", .flags = flags,
    };
    int rc = spool_write(w, text, len, err);
    free(text);
    if (rc < 0) {
        spool_abort(w);
        return -1;
    }
    if (spool_commit(s, w, &env, id, err) < 0)
        return -1;
    tn_log(TN_LOG_INFO, "dsn", "%s: bounce %s to <%s> for %zu recipient(s)", in->msg->id, id,
           in->msg->sender, in->n_rcpts);
    return 0;
}
