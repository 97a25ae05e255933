/* spool_envelope.c - the envelope and trailer of a queue file (the format
 * is described in spool_internal.h and docs/mail-queue.md).
 *
 * The envelope is text, one "key value" line each, in a fixed order:
 *
 *   trustnet-envelope 1
 *   arrival 1764259200
 *   size 1234
 *   flags 8bitmime smtputf8
 *   client 192.0.2.7
 *   helo mx.example.org
 *   tls TLSv1.3 TLS_AES_128_GCM_SHA256
 *   sender alice@example.org
 *   rcpt bob@corp.example
 *
 * An empty value is the key alone.  Values never hold control characters,
 * so a line cannot be split or forged. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/str.h"
#include "mail/spool_internal.h"

#define ENVELOPE_MAGIC "trustnet-envelope 1"
#define TRAILER_MAGIC "TNQ1"

/* ---- checking the caller's envelope ---- */

static int check_text(const char *what, const char *v, size_t max, bool required, tn_err *err)
{
    size_t n = strnlen(v, max + 1);
    if (n > max)
        return tn_errf(err, "%s longer than %zu bytes", what, max);
    if (required && n == 0)
        return tn_errf(err, "empty %s", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f)
            return tn_errf(err, "%s holds a control character (byte %zu)", what, i);
    }
    return 0;
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static int check_envelope(const struct spool_envelope *env, tn_err *err)
{
    if (env->n_rcpts == 0 || env->rcpts == NULL)
        return tn_errf(err, "envelope without recipients");
    if (env->n_rcpts > SPOOL_RCPTS_MAX)
        return tn_errf(err, "%zu recipients, more than the limit of %d", env->n_rcpts,
                       SPOOL_RCPTS_MAX);
    if ((env->flags & ~(unsigned)(SPOOL_F_8BITMIME | SPOOL_F_SMTPUTF8)) != 0)
        return tn_errf(err, "unknown envelope flags 0x%x", env->flags);
    if (env->arrival < 0)
        return tn_errf(err, "arrival time before 1970");
    if (check_text("sender", or_empty(env->sender), SPOOL_ADDR_MAX, false, err) < 0 ||
        check_text("client address", or_empty(env->client), SPOOL_CLIENT_MAX, false, err) < 0 ||
        check_text("HELO name", or_empty(env->helo), SPOOL_HELO_MAX, false, err) < 0 ||
        check_text("TLS summary", or_empty(env->tls), SPOOL_TLS_MAX, false, err) < 0)
        return -1;
    for (size_t i = 0; i < env->n_rcpts; i++) {
        char what[32];
        snprintf(what, sizeof what, "recipient %zu", i + 1);
        if (env->rcpts[i] == NULL || check_text(what, env->rcpts[i], SPOOL_ADDR_MAX, true, err) < 0)
            return env->rcpts[i] == NULL ? tn_errf(err, "%s is missing", what) : -1;
    }
    return 0;
}

/* ---- writing ---- */

/* An append buffer sized in advance: appends past cap are a bug and fail. */
struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n > t->cap)
        return; /* cannot happen: cap is an upper bound (checked below) */
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void put_str(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_field(struct text *t, const char *key, const char *value)
{
    put_str(t, key);
    if (value[0] != '\0') {
        put(t, " ", 1);
        put_str(t, value);
    }
    put(t, "\n", 1);
}

static size_t envelope_bound(const struct spool_envelope *env)
{
    size_t n = 256 + SPOOL_TRAILER_LEN; /* magic, numbers, flags, keys */
    n += strlen(or_empty(env->sender)) + strlen(or_empty(env->client)) +
         strlen(or_empty(env->helo)) + strlen(or_empty(env->tls)) + 32;
    for (size_t i = 0; i < env->n_rcpts; i++)
        n += strlen(env->rcpts[i]) + 6;
    return n;
}

int spool_envelope_encode(const struct spool_envelope *env, int64_t arrival, uint64_t size,
                          char **out, size_t *len, tn_err *err)
{
    if (check_envelope(env, err) < 0)
        return -1;
    struct text t = {.cap = envelope_bound(env)};
    if ((t.p = malloc(t.cap)) == NULL)
        return tn_errf(err, "out of memory");
    char num[64];
    put_str(&t, ENVELOPE_MAGIC "\n");
    snprintf(num, sizeof num, "arrival %" PRId64 "\nsize %" PRIu64 "\nflags", arrival, size);
    put_str(&t, num);
    if (env->flags & SPOOL_F_8BITMIME)
        put_str(&t, " 8bitmime");
    if (env->flags & SPOOL_F_SMTPUTF8)
        put_str(&t, " smtputf8");
    put_str(&t, "\n");
    put_field(&t, "client", or_empty(env->client));
    put_field(&t, "helo", or_empty(env->helo));
    put_field(&t, "tls", or_empty(env->tls));
    put_field(&t, "sender", or_empty(env->sender));
    for (size_t i = 0; i < env->n_rcpts; i++)
        put_field(&t, "rcpt", env->rcpts[i]);
    size_t env_len = t.len;
    char trailer[96];
    int n = snprintf(trailer, sizeof trailer, TRAILER_MAGIC " %016" PRIx64 " %08zx %016" PRIx64
                     "\n", size, env_len, tn_fnv1a64(TN_FNV1A64_INIT, t.p, env_len));
    if (n == SPOOL_TRAILER_LEN)
        put(&t, trailer, SPOOL_TRAILER_LEN);
    if (t.len != env_len + SPOOL_TRAILER_LEN || env_len > SPOOL_ENVELOPE_MAX) {
        free(t.p);
        return tn_errf(err, "internal error: envelope does not fit its bound");
    }
    *out = t.p;
    *len = t.len;
    return 0;
}

/* ---- the trailer ---- */

static int parse_hex(const char *s, size_t digits, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

int spool_trailer_parse(const char *buf, struct spool_trailer *t, tn_err *err)
{
    uint64_t env_len;
    if (memcmp(buf, TRAILER_MAGIC " ", 5) != 0 || buf[21] != ' ' || buf[30] != ' ' ||
        buf[47] != '\n' || parse_hex(buf + 5, 16, &t->data_len) < 0 ||
        parse_hex(buf + 22, 8, &env_len) < 0 || parse_hex(buf + 31, 16, &t->env_hash) < 0)
        return tn_errf(err, "no queue file trailer at its end (not a trustnet queue file, "
                            "or truncated)");
    t->env_len = (size_t)env_len;
    return 0;
}

int spool_trailer_check(const struct spool_trailer *t, uint64_t file_size, tn_err *err)
{
    if (t->env_len > SPOOL_ENVELOPE_MAX)
        return tn_errf(err, "envelope of %zu bytes, more than the limit of %d", t->env_len,
                       SPOOL_ENVELOPE_MAX);
    if (t->data_len > SPOOL_DATA_MAX)
        return tn_errf(err, "data of %" PRIu64 " bytes, more than the limit", t->data_len);
    if (t->data_len + t->env_len + SPOOL_TRAILER_LEN != file_size)
        return tn_errf(err, "file of %" PRIu64 " bytes, the trailer says %" PRIu64, file_size,
                       t->data_len + t->env_len + SPOOL_TRAILER_LEN);
    return 0;
}

/* ---- reading ---- */

struct cursor {
    char *p, *end;
    unsigned line;
};

/* The next line, NUL-terminated in place; NULL at the end, or when it
 * holds a NUL or control byte (*bad is set then). */
static char *next_line(struct cursor *c, bool *bad)
{
    *bad = false;
    if (c->p >= c->end)
        return NULL;
    char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    if (nl == NULL) {
        *bad = true;
        return NULL;
    }
    *nl = '\0';
    char *line = c->p;
    c->p = nl + 1;
    c->line++;
    for (char *q = line; q < nl; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            *bad = true;
            return NULL;
        }
    return line;
}

/* The value of the next line, which must be "key" or "key value" with a
 * value of at most max bytes. */
static const char *field(struct cursor *c, const char *key, size_t max, tn_err *err)
{
    bool bad;
    char *line = next_line(c, &bad);
    if (line == NULL) {
        tn_errf(err, "envelope line %u: %s", c->line + 1,
                bad ? "unterminated, or holds a control character" : "missing");
        return NULL;
    }
    size_t klen = strlen(key);
    if (strncmp(line, key, klen) != 0 || (line[klen] != '\0' && line[klen] != ' ')) {
        tn_errf(err, "envelope line %u: expected '%s'", c->line, key);
        return NULL;
    }
    const char *value = line[klen] == ' ' ? line + klen + 1 : line + klen;
    if (strlen(value) > max) {
        tn_errf(err, "envelope line %u: %s longer than %zu bytes", c->line, key, max);
        return NULL;
    }
    return value;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0' || strlen(s) > 20)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_flags(const char *v, unsigned *flags)
{
    *flags = 0;
    char copy[64];
    if (tn_strlcpy(copy, v, sizeof copy) < 0)
        return -1;
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "8bitmime") == 0)
            *flags |= SPOOL_F_8BITMIME;
        else if (strcmp(w, "smtputf8") == 0)
            *flags |= SPOOL_F_SMTPUTF8;
        else
            return -1;
    }
    return 0;
}

static int parse_header(struct cursor *c, struct spool_message *m, tn_err *err)
{
    const char *v;
    uint64_t n;
    if ((v = field(c, "trustnet-envelope", 8, err)) == NULL)
        return -1;
    if (strcmp(v, "1") != 0)
        return tn_errf(err, "envelope version '%s' (this trustnet reads version 1)", v);
    if ((v = field(c, "arrival", 20, err)) == NULL)
        return -1;
    if (parse_u64(v, INT64_MAX, &n) < 0)
        return tn_errf(err, "envelope line %u: bad arrival time", c->line);
    m->arrival = (int64_t)n;
    if ((v = field(c, "size", 20, err)) == NULL)
        return -1;
    if (parse_u64(v, SPOOL_DATA_MAX, &m->size) < 0)
        return tn_errf(err, "envelope line %u: bad size", c->line);
    if ((v = field(c, "flags", 63, err)) == NULL)
        return -1;
    if (parse_flags(v, &m->flags) < 0)
        return tn_errf(err, "envelope line %u: unknown flags '%s'", c->line, v);
    if ((m->client = field(c, "client", SPOOL_CLIENT_MAX, err)) == NULL ||
        (m->helo = field(c, "helo", SPOOL_HELO_MAX, err)) == NULL ||
        (m->tls = field(c, "tls", SPOOL_TLS_MAX, err)) == NULL ||
        (m->sender = field(c, "sender", SPOOL_ADDR_MAX, err)) == NULL)
        return -1;
    return 0;
}

static size_t count_lines(const char *p, const char *end)
{
    size_t n = 0;
    for (; p < end; p++)
        n += *p == '\n';
    return n;
}

static int parse_rcpts(struct cursor *c, struct spool_message *m, tn_err *err)
{
    size_t n = count_lines(c->p, c->end);
    if (n == 0)
        return tn_errf(err, "envelope without recipients");
    if (n > SPOOL_RCPTS_MAX)
        return tn_errf(err, "envelope with %zu recipients, more than the limit of %d", n,
                       SPOOL_RCPTS_MAX);
    if ((m->rcpts = calloc(n, sizeof *m->rcpts)) == NULL)
        return tn_errf(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((m->rcpts[i] = field(c, "rcpt", SPOOL_ADDR_MAX, err)) == NULL)
            return -1;
        if (m->rcpts[i][0] == '\0')
            return tn_errf(err, "envelope line %u: empty recipient", c->line);
        m->n_rcpts++;
    }
    if (c->p != c->end)
        return tn_errf(err, "envelope: bytes after the last line");
    return 0;
}

int spool_envelope_parse(struct spool_message *m, size_t len, tn_err *err)
{
    struct cursor c = {.p = m->text, .end = m->text + len, .line = 0};
    if (parse_header(&c, m, err) < 0)
        return -1;
    return parse_rcpts(&c, m, err);
}
