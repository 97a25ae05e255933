/* mail_deliver.c - one delivery attempt of a queued message (see mail_deliver.h). */
#include "mail/mail_deliver.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "mail/mail_bounce.h"
#include "mail/mail_mx.h"
#include "mail/mail_server_internal.h"
#include "smtp/smtp_client.h"

#define CACHE_MAX 8
#define TARGETS_MAX 8
#define SMTP_TIMEOUT_MS 30000
#define RETRY_FIRST_S 60
#define RETRY_MAX_S 3600

/* An open session kept for the next message to the same place, under the
 * same policy and trust. */
struct cached {
    struct smtp_session *s;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    tls_config *tls;
    enum smtp_tls_policy policy;
    char name[256];
    int64_t last_used_ms;
};

struct mail_deliverer {
    struct mail_server *ms;
    struct cached cache[CACHE_MAX];
};

/* Where one attempt may connect: a host name (for SNI, names, logs) and
 * one of its addresses. */
struct target {
    char host[256];
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* The outcome of one recipient in this attempt. */
struct outcome {
    enum smtp_status status;
    char text[SPOOL_REPLY_MAX];
    char remote[SPOOL_HOST_MAX + 1];
};

struct mail_deliverer *mail_deliverer_new(struct mail_server *ms)
{
    struct mail_deliverer *d = calloc(1, sizeof *d);
    if (d != NULL)
        d->ms = ms;
    return d;
}

static void drop_cached(struct cached *c)
{
    smtp_session_close(c->s);
    memset(c, 0, sizeof *c);
}

void mail_deliverer_free(struct mail_deliverer *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < CACHE_MAX; i++)
        drop_cached(&d->cache[i]);
    free(d);
}

void mail_deliverer_close_idle(struct mail_deliverer *d)
{
    int64_t now = tn_wall_ms();
    for (size_t i = 0; i < CACHE_MAX; i++)
        if (d->cache[i].s != NULL && now - d->cache[i].last_used_ms >= MAIL_SESSION_IDLE_MS)
            drop_cached(&d->cache[i]);
}

/* --- sessions ------------------------------------------------------------------ */

static bool same_place(const struct cached *c, const struct smtp_hop *hop)
{
    return c->s != NULL && c->addrlen == hop->addrlen &&
           memcmp(&c->addr, &hop->addr, hop->addrlen) == 0 && c->tls == hop->tls &&
           c->policy == hop->policy && strcmp(c->name, hop->host) == 0;
}

/* A reusable cached session to hop, taken out of the cache, or NULL. */
static struct smtp_session *take_cached(struct mail_deliverer *d, const struct smtp_hop *hop)
{
    for (size_t i = 0; i < CACHE_MAX; i++) {
        struct cached *c = &d->cache[i];
        if (!same_place(c, hop))
            continue;
        struct smtp_session *s = c->s;
        c->s = NULL;
        if (smtp_session_reusable(s))
            return s;
        smtp_session_close(s);
    }
    return NULL;
}

static void keep(struct mail_deliverer *d, struct smtp_session *s, const struct smtp_hop *hop)
{
    if (!smtp_session_reusable(s)) {
        smtp_session_close(s);
        return;
    }
    size_t slot = 0;
    for (size_t i = 0; i < CACHE_MAX; i++) {
        if (d->cache[i].s == NULL) {
            slot = i;
            break;
        }
        if (d->cache[i].last_used_ms < d->cache[slot].last_used_ms)
            slot = i; /* full: the least recently used goes */
    }
    drop_cached(&d->cache[slot]);
    struct cached *c = &d->cache[slot];
    c->s = s;
    c->addr = hop->addr;
    c->addrlen = hop->addrlen;
    c->tls = hop->tls;
    c->policy = hop->policy;
    tn_strlcpy(c->name, hop->host, sizeof c->name);
    c->last_used_ms = tn_wall_ms();
}

static void log_attempt(const char *id, const struct smtp_delivery_log *log)
{
    char line[SMTP_LOG_LINE_MAX];
    smtp_delivery_log_format(log, line, sizeof line);
    tn_log(TN_LOG_INFO, "delivery", "%s: %s", id, line);
}

static enum smtp_status open_session(const struct smtp_hop *hop, struct smtp_session **s,
                                     const char *id, struct smtp_delivery_log *log,
                                     tn_err *err)
{
    enum smtp_status st = smtp_session_open(hop, s, log, err);
    if (st != SMTP_STATUS_RETRY_PLAINTEXT)
        return st;
    /* Opportunistic TLS failed at the handshake: once more in plaintext,
     * as Postfix's "may" level does. */
    log_attempt(id, log);
    struct smtp_hop plain = *hop;
    plain.plaintext_retry = true;
    memset(log, 0, sizeof *log);
    return smtp_session_open(&plain, s, log, err);
}

/* --- next hops ------------------------------------------------------------------ */

static size_t resolve(const char *host, uint16_t port, struct target *out, size_t max)
{
    char service[8];
    tn_snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return 0;
    size_t n = 0;
    for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof out[n].addr)
            continue;
        tn_strlcpy(out[n].host, host, sizeof out[n].host);
        memcpy(&out[n].addr, ai->ai_addr, ai->ai_addrlen);
        out[n].addrlen = ai->ai_addrlen;
        n++;
    }
    freeaddrinfo(res);
    return n;
}

/* The addresses to try for hop, in order; 0 with why. */
static size_t find_targets(const struct mail_next_hop *hop, const char *domain,
                           struct target *out, bool *permanent, char *why, size_t len)
{
    *permanent = false;
    if (!hop->mx) {
        size_t n = resolve(hop->host, hop->port, out, TARGETS_MAX);
        if (n == 0)
            tn_snprintf(why, len, "4.4.4 cannot resolve next hop %s", hop->host);
        return n;
    }
    struct mail_mx mx[MAIL_MX_MAX];
    size_t n_mx = 0, n = 0;
    tn_err err;
    enum mail_mx_result r = mail_mx_lookup(domain, mx, MAIL_MX_MAX, &n_mx, &err);
    if (r != MAIL_MX_OK) {
        *permanent = r == MAIL_MX_NULL;
        tn_snprintf(why, len, "%s %s", *permanent ? "5.1.2" : "4.4.3", err.msg);
        return 0;
    }
    for (size_t i = 0; i < n_mx && n < TARGETS_MAX; i++)
        n += resolve(mx[i].host, 25, out + n, TARGETS_MAX - n);
    if (n == 0)
        tn_snprintf(why, len, "4.4.4 cannot resolve the mail exchangers of %s", domain);
    return n;
}

static void make_hop(struct mail_deliverer *d, const struct mail_next_hop *nh,
                     const struct target *t, struct smtp_hop *hop)
{
    memset(hop, 0, sizeof *hop);
    hop->host = nh->expect.name && nh->tls_policy == SMTP_TLS_INTERNAL ? nh->expect.name
                                                                        : t->host;
    hop->addr = t->addr;
    hop->addrlen = t->addrlen;
    hop->helo_name = d->ms->fqdn;
    hop->policy = nh->tls_policy;
    hop->tls = nh->tls;
    hop->expect = nh->expect;
    if (nh->tls_policy == SMTP_TLS_OPPORTUNISTIC) {
        /* Judged, never required: the name is the host we meant to reach. */
        hop->expect.name = t->host;
        hop->expect.rules = TLS_NAME_WILDCARD;
    }
    hop->policy_name = nh->policy_name;
    hop->timeout_ms = SMTP_TIMEOUT_MS;
}

/* --- one attempt -------------------------------------------------------------- */

static void set_all(struct outcome *out, size_t n, enum smtp_status st, const char *text,
                    const char *remote)
{
    for (size_t i = 0; i < n; i++) {
        out[i].status = st;
        tn_strlcpy(out[i].text, text, sizeof out[i].text);
        tn_strlcpy(out[i].remote, remote, sizeof out[i].remote);
    }
}

/* Send to one address; true when the recipients' outcome is decided there
 * (false: a connection-level failure, the next address may do better). */
static bool send_to(struct mail_deliverer *d, const char *id, const struct smtp_hop *hop,
                    const struct spool_message *msg, const struct smtp_message_source *src,
                    const char *const *rcpts, size_t n, struct outcome *out)
{
    struct smtp_delivery_log log;
    memset(&log, 0, sizeof log);
    tn_err err;
    err.msg[0] = '\0';
    struct smtp_session *s = take_cached(d, hop);
    if (s == NULL) {
        enum smtp_status st = open_session(hop, &s, id, &log, &err);
        if (st != SMTP_STATUS_OK) {
            smtp_delivery_log_recipients(&log, rcpts, n);
            log_attempt(id, &log);
            set_all(out, n, SMTP_STATUS_TEMPORARY, err.msg, hop->host);
            return false;
        }
    }
    struct smtp_rcpt_result *results = calloc(n, sizeof *results);
    if (results == NULL) {
        smtp_session_close(s);
        set_all(out, n, SMTP_STATUS_TEMPORARY, "4.3.0 out of memory", hop->host);
        return true;
    }
    smtp_session_send(s, msg->sender, rcpts, n, src, results, &log, &err);
    log_attempt(id, &log);
    bool decided = false;
    for (size_t i = 0; i < n; i++) {
        const struct smtp_rcpt_result *r = &results[i];
        out[i].status = r->status;
        if (r->code != 0)
            tn_snprintf(out[i].text, sizeof out[i].text, "%d%s%s %s", r->code,
                        r->enhanced[0] ? " " : "", r->enhanced, r->text);
        else
            tn_snprintf(out[i].text, sizeof out[i].text, "%s%s%s", r->enhanced,
                        r->enhanced[0] ? " " : "", r->text);
        tn_strlcpy(out[i].remote, hop->host, sizeof out[i].remote);
        /* The server answered, or we refused for good (over its SIZE). */
        decided |= r->code != 0 || r->status == SMTP_STATUS_PERMANENT;
    }
    free(results);
    keep(d, s, hop);
    return decided;
}

static void deliver_domain(struct mail_deliverer *d, const struct spool_message *msg,
                           const struct smtp_message_source *src, const char *domain,
                           const char *const *rcpts, size_t n, struct outcome *out)
{
    struct mail_next_hop nh;
    tn_err err;
    if (mail_policy_next_hop(mail_server_policy(d->ms), domain, &nh, &err) < 0) {
        set_all(out, n, SMTP_STATUS_TEMPORARY, err.msg, "");
        return;
    }
    struct target targets[TARGETS_MAX];
    char why[SPOOL_REPLY_MAX];
    bool permanent;
    size_t n_targets = find_targets(&nh, domain, targets, &permanent, why, sizeof why);
    if (n_targets == 0) {
        set_all(out, n, permanent ? SMTP_STATUS_PERMANENT : SMTP_STATUS_TEMPORARY, why, "");
        return;
    }
    for (size_t i = 0; i < n_targets; i++) {
        struct smtp_hop hop;
        make_hop(d, &nh, &targets[i], &hop);
        if (send_to(d, msg->id, &hop, msg, src, rcpts, n, out))
            return;
    }
}

/* --- the message's state --------------------------------------------------- */

static const char *rcpt_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

static int64_t next_try_ms(unsigned attempts, int64_t now, int64_t expires_ms)
{
    int64_t delay = RETRY_FIRST_S;
    for (unsigned i = 1; i < attempts && delay < RETRY_MAX_S; i++)
        delay *= 2;
    if (delay > RETRY_MAX_S)
        delay = RETRY_MAX_S;
    int64_t next = now + delay * 1000;
    return next < expires_ms ? next : expires_ms;
}

/* Record the outcome; bounce what failed for good; 0 when done. */
/* One recipient's attempt, for metrics. */
static void count_outcome(struct mail_stats *st, enum spool_rcpt_status status)
{
    tn_counter_add(status == SPOOL_RCPT_DELIVERED ? &st->delivered
                   : status == SPOOL_RCPT_PENDING ? &st->deferred
                                                  : &st->bounced,
                   1);
}

static int64_t settle(struct mail_deliverer *d, struct spool_message *msg, struct outcome *out,
                      const bool *tried, size_t *bounced_now, int64_t now)
{
    struct spool_state *st = &msg->state;
    int64_t expires_ms =
        (msg->arrival + (int64_t)mail_server_topology(d->ms)->mail.queue_lifetime_s) * 1000;
    bool expired = now >= expires_ms;
    size_t pending = 0, bounced = 0;
    /* Only recipients that fail now get a bounce: earlier ones had theirs. */
    st->attempts++;
    st->last_attempt = now / 1000;
    for (size_t i = 0; i < msg->n_rcpts; i++) {
        struct spool_rcpt_state *r = &st->rcpts[i];
        if (r->status != SPOOL_RCPT_PENDING)
            continue;
        bool expired_now = false;
        if (tried[i]) {
            tn_strlcpy(r->reply, out[i].text, sizeof r->reply);
            tn_strlcpy(r->remote_mta, out[i].remote, sizeof r->remote_mta);
            if (out[i].status == SMTP_STATUS_OK)
                r->status = SPOOL_RCPT_DELIVERED;
            else if (out[i].status == SMTP_STATUS_PERMANENT)
                r->status = SPOOL_RCPT_BOUNCED;
            else
                tn_strlcpy(st->last_reason, out[i].text, sizeof st->last_reason);
        }
        if (r->status == SPOOL_RCPT_PENDING && expired) {
            char reason[SPOOL_REPLY_MAX];
            tn_snprintf(reason, sizeof reason, "4.4.7 delivery time expired; last: %s",
                        r->reply[0] ? r->reply : "never tried");
            tn_strlcpy(r->reply, reason, sizeof r->reply);
            r->status = SPOOL_RCPT_BOUNCED;
            expired_now = true;
        }
        if (tried[i] || expired_now)
            count_outcome(&d->ms->stats, r->status);
        if (r->status == SPOOL_RCPT_BOUNCED)
            bounced_now[bounced++] = i;
        else if (r->status == SPOOL_RCPT_PENDING)
            pending++;
    }
    if (bounced > 0)
        mail_bounce(d->ms, msg, bounced_now, bounced);
    tn_err err;
    if (pending == 0) {
        if (spool_remove(d->ms->spool, msg->id, &err) < 0)
            tn_log(TN_LOG_ERROR, "queue", "%s: %s", msg->id, err.msg);
        else
            tn_log(TN_LOG_INFO, "queue", "%s: done, removed from the queue", msg->id);
        return 0;
    }
    st->next_attempt = next_try_ms(st->attempts, now, expires_ms) / 1000;
    if (spool_update_state(d->ms->spool, msg->id, st, &err) < 0)
        tn_log(TN_LOG_ERROR, "queue", "%s: %s", msg->id, err.msg);
    return st->next_attempt * 1000;
}

int64_t mail_deliver_message(struct mail_deliverer *d, const char *id)
{
    struct spool_message *msg = NULL;
    tn_err err;
    int rc = spool_load(d->ms->spool, id, &msg, &err);
    if (rc != 0) {
        if (rc < 0)
            tn_log(TN_LOG_ERROR, "queue", "%s: %s", id, err.msg);
        return 0;
    }
    struct spool_data data;
    if (spool_open_data(d->ms->spool, id, &data, &err) != 0) {
        tn_log(TN_LOG_ERROR, "queue", "%s: %s", id, err.msg);
        spool_message_free(msg);
        return tn_wall_ms() + RETRY_FIRST_S * 1000;
    }
    struct smtp_message_source src = {.fd = data.fd, .offset = data.offset,
                                      .length = data.length,
                                      .eight_bit = (msg->flags & SPOOL_F_8BITMIME) != 0};
    struct outcome *out = calloc(msg->n_rcpts, sizeof *out);
    bool *tried = calloc(msg->n_rcpts, sizeof *tried);
    const char **group = calloc(msg->n_rcpts, sizeof *group);
    size_t *index = calloc(msg->n_rcpts, sizeof *index);
    struct outcome *group_out = calloc(msg->n_rcpts, sizeof *group_out);
    int64_t next = tn_wall_ms() + RETRY_FIRST_S * 1000;
    if (out && tried && group && index && group_out) {
        /* One transaction per recipient domain, in envelope order. */
        for (size_t i = 0; i < msg->n_rcpts; i++) {
            if (tried[i] || msg->state.rcpts[i].status != SPOOL_RCPT_PENDING)
                continue;
            const char *domain = rcpt_domain(msg->rcpts[i]);
            size_t n = 0;
            for (size_t j = i; j < msg->n_rcpts && n < SMTP_CLIENT_MAX_RCPTS; j++)
                if (!tried[j] && msg->state.rcpts[j].status == SPOOL_RCPT_PENDING &&
                    tn_ascii_caseeq(rcpt_domain(msg->rcpts[j]), strlen(rcpt_domain(msg->rcpts[j])),
                                    domain, strlen(domain))) {
                    group[n] = msg->rcpts[j];
                    index[n++] = j;
                    tried[j] = true;
                }
            deliver_domain(d, msg, &src, domain, group, n, group_out);
            for (size_t k = 0; k < n; k++)
                out[index[k]] = group_out[k];
        }
        next = settle(d, msg, out, tried, index, tn_wall_ms());
    } else {
        tn_log(TN_LOG_ERROR, "queue", "%s: out of memory", id);
    }
    free(out);
    free(tried);
    free(group);
    free(index);
    free(group_out);
    spool_data_close(&data);
    spool_message_free(msg);
    return next;
}
