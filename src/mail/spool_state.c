/* spool_state.c - the delivery state of a message: state/<ID>, text,
 * replaced by writing state/<ID>.tmp and renaming it (see spool.h).
 *
 *   trustnet-state 1
 *   attempts 3
 *   last-attempt 1764259200
 *   next-attempt 1764260100
 *   reason 451 4.7.0 TLS is required, but was not offered by mx.bank.test
 *   rcpt pending mx.bank.test 451 4.7.0 TLS is required, ...
 *   rcpt delivered mx.other.test 250 2.0.0 Ok: queued as 4ABC
 *   rcpt bounced - 550 5.1.1 <x@bank.test>: unknown user
 *   end
 *
 * One rcpt line per envelope recipient, in order: status, remote MTA ("-"
 * when unknown), then the reply if any.  "end" proves the file complete:
 * a file cut short by a power loss is damaged, and a damaged state is
 * replaced by "all pending" (delivering again rather than losing). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "mail/spool_internal.h"

#define STATE_MAGIC "trustnet-state 1"

static const char *const status_names[] = {
    [SPOOL_RCPT_PENDING] = "pending",
    [SPOOL_RCPT_DELIVERED] = "delivered",
    [SPOOL_RCPT_BOUNCED] = "bounced",
};

int spool_state_init(struct spool_state *st, size_t n_rcpts, tn_err *err)
{
    memset(st, 0, sizeof *st);
    st->rcpts = calloc(n_rcpts > 0 ? n_rcpts : 1, sizeof *st->rcpts);
    if (st->rcpts == NULL)
        return tn_errf(err, "out of memory");
    st->n_rcpts = n_rcpts;
    return 0;
}

/* ---- writing ---- */

/* Append src as one line's worth of text: control characters (a remote
 * reply is hostile input) become spaces, at most max bytes. */
static void put_clean(char *dst, size_t *len, const char *src, size_t max)
{
    size_t n = strnlen(src, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[(*len)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
}

/* A host name on the line is one word: anything else becomes '_'. */
static void put_host(char *dst, size_t *len, const char *host)
{
    size_t n = strnlen(host, SPOOL_HOST_MAX);
    if (n == 0) {
        dst[(*len)++] = '-';
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        dst[(*len)++] = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
    }
}

static void put_text(char *dst, size_t *len, const char *s)
{
    size_t n = strlen(s);
    memcpy(dst + *len, s, n);
    *len += n;
}

static int encode_state(const struct spool_state *st, char **out, size_t *outlen, tn_err *err)
{
    size_t cap = 256 + SPOOL_REPLY_MAX +
                 st->n_rcpts * (24 + SPOOL_HOST_MAX + SPOOL_REPLY_MAX);
    char *buf = malloc(cap), num[160];
    if (buf == NULL)
        return tn_errf(err, "out of memory");
    size_t len = 0;
    snprintf(num, sizeof num, STATE_MAGIC "\nattempts %u\nlast-attempt %" PRId64
             "\nnext-attempt %" PRId64 "\nreason", st->attempts,
             st->last_attempt > 0 ? st->last_attempt : 0,
             st->next_attempt > 0 ? st->next_attempt : 0);
    put_text(buf, &len, num);
    if (st->last_reason[0] != '\0') {
        buf[len++] = ' ';
        put_clean(buf, &len, st->last_reason, SPOOL_REPLY_MAX - 1);
    }
    buf[len++] = '\n';
    for (size_t i = 0; i < st->n_rcpts; i++) {
        const struct spool_rcpt_state *r = &st->rcpts[i];
        if ((unsigned)r->status > SPOOL_RCPT_BOUNCED) {
            free(buf);
            return tn_errf(err, "recipient %zu: unknown status %d", i + 1, (int)r->status);
        }
        put_text(buf, &len, "rcpt ");
        put_text(buf, &len, status_names[r->status]);
        buf[len++] = ' ';
        put_host(buf, &len, r->remote_mta);
        if (r->reply[0] != '\0') {
            buf[len++] = ' ';
            put_clean(buf, &len, r->reply, SPOOL_REPLY_MAX - 1);
        }
        buf[len++] = '\n';
    }
    put_text(buf, &len, "end\n");
    *out = buf;
    *outlen = len;
    return 0;
}

int spool_update_state(spool *s, const char *id, const struct spool_state *st, tn_err *err)
{
    char tmp[SPOOL_ID_MAX + 8];
    if (!spool_id_valid(id))
        return tn_errf(err, "bad message id '%s'", id != NULL ? id : "");
    if (st->n_rcpts == 0 || st->n_rcpts > SPOOL_RCPTS_MAX || st->rcpts == NULL)
        return tn_errf(err, "%s: state with %zu recipients", id, st->n_rcpts);
    char *text = NULL;
    size_t len = 0;
    if (encode_state(st, &text, &len, err) < 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", id);
    int rc = 0;
    int fd = openat(s->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = tn_errf(err, "cannot create %s/%s: %s", SPOOL_STATE, tmp, strerror(errno));
    } else {
        spool_own(s, fd);
        if (tn_write_all(fd, text, len) < 0)
            rc = tn_errf(err, "cannot write %s/%s: %s", SPOOL_STATE, tmp, strerror(errno));
        if (close(fd) < 0 && rc == 0)
            rc = tn_errf(err, "cannot write %s/%s: %s", SPOOL_STATE, tmp, strerror(errno));
        /* No fsync: see spool.h.  The rename alone keeps the file whole
         * for readers: they see the old state or the new one. */
        if (rc == 0 && renameat(s->state_fd, tmp, s->state_fd, id) < 0)
            rc = tn_errf(err, "cannot rename %s/%s: %s", SPOOL_STATE, tmp, strerror(errno));
        if (rc < 0)
            unlinkat(s->state_fd, tmp, 0);
    }
    free(text);
    return rc;
}

/* ---- reading ---- */

static int parse_num(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (*s == '\0' || strlen(s) > 19)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The value after "key " on line, or NULL if line is not that key. */
static const char *value_of(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    if (line[n] == '\0')
        return line + n;
    return line[n] == ' ' ? line + n + 1 : NULL;
}

static int parse_rcpt(const char *v, struct spool_rcpt_state *r)
{
    const char *sp = strchr(v, ' ');
    if (sp == NULL)
        return -1;
    size_t n = (size_t)(sp - v);
    int status = -1;
    for (int i = 0; i <= SPOOL_RCPT_BOUNCED; i++)
        if (strlen(status_names[i]) == n && strncmp(v, status_names[i], n) == 0)
            status = i;
    if (status < 0)
        return -1;
    r->status = (enum spool_rcpt_status)status;
    const char *host = sp + 1, *end = strchr(host, ' ');
    size_t hlen = end != NULL ? (size_t)(end - host) : strlen(host);
    if (hlen == 0 || hlen > SPOOL_HOST_MAX)
        return -1;
    if (!(hlen == 1 && host[0] == '-')) {
        memcpy(r->remote_mta, host, hlen);
        r->remote_mta[hlen] = '\0';
    }
    return end != NULL && tn_strlcpy(r->reply, end + 1, sizeof r->reply) < 0 ? -1 : 0;
}

/* Lines of the file, NUL-terminated in a copy: the input stays intact. */
struct lines {
    char *buf, *p, *end;
};

static const char *next(struct lines *l)
{
    if (l->p >= l->end)
        return NULL;
    char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
    if (nl == NULL)
        return NULL;
    *nl = '\0';
    char *line = l->p;
    l->p = nl + 1;
    for (const char *q = line; q < nl; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return NULL; /* a NUL, CR or other control byte: damaged */
    return line;
}

static int parse_head(struct lines *l, struct spool_state *st, tn_err *err)
{
    const char *line, *v;
    int64_t n;
    if ((line = next(l)) == NULL || strcmp(line, STATE_MAGIC) != 0)
        return tn_errf(err, "not a state file (version 1)");
    if ((line = next(l)) == NULL || (v = value_of(line, "attempts")) == NULL ||
        parse_num(v, &n) < 0 || n > UINT32_MAX)
        return tn_errf(err, "bad 'attempts' line");
    st->attempts = (unsigned)n;
    if ((line = next(l)) == NULL || (v = value_of(line, "last-attempt")) == NULL ||
        parse_num(v, &st->last_attempt) < 0)
        return tn_errf(err, "bad 'last-attempt' line");
    if ((line = next(l)) == NULL || (v = value_of(line, "next-attempt")) == NULL ||
        parse_num(v, &st->next_attempt) < 0)
        return tn_errf(err, "bad 'next-attempt' line");
    if ((line = next(l)) == NULL || (v = value_of(line, "reason")) == NULL ||
        tn_strlcpy(st->last_reason, v, sizeof st->last_reason) < 0)
        return tn_errf(err, "bad 'reason' line");
    return 0;
}

static int parse_body(struct lines *l, struct spool_state *st, tn_err *err)
{
    const char *line, *v;
    size_t i = 0;
    while ((line = next(l)) != NULL && strcmp(line, "end") != 0) {
        if ((v = value_of(line, "rcpt")) == NULL || i >= st->n_rcpts ||
            parse_rcpt(v, &st->rcpts[i]) < 0)
            return tn_errf(err, "bad recipient line %zu", i + 1);
        i++;
    }
    if (line == NULL || l->p != l->end)
        return tn_errf(err, "cut short or holds a control character (no 'end' line)");
    if (i != st->n_rcpts)
        return tn_errf(err, "%zu recipients, the envelope has %zu", i, st->n_rcpts);
    return 0;
}

int spool_state_parse(const char *text, size_t len, size_t n_rcpts, struct spool_state *st,
                      tn_err *err)
{
    if (spool_state_init(st, n_rcpts, err) < 0)
        return -1;
    struct lines l = {.buf = malloc(len + 1)};
    if (l.buf == NULL) {
        free(st->rcpts);
        return tn_errf(err, "out of memory");
    }
    memcpy(l.buf, text, len);
    l.buf[len] = '\0';
    l.p = l.buf;
    l.end = l.buf + len;
    int rc = parse_head(&l, st, err) < 0 || parse_body(&l, st, err) < 0 ? -1 : 0;
    free(l.buf);
    if (rc < 0) {
        free(st->rcpts);
        memset(st, 0, sizeof *st);
    }
    return rc;
}
