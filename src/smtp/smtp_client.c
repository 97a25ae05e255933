/* smtp_client.c - opening and closing delivery sessions: greeting, EHLO,
 * STARTTLS by policy (see smtp_client.h). */
#include "smtp/smtp_client_internal.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/str.h"

#define QUIT_TIMEOUT_MS 2000 /* a polite goodbye, not worth a long wait */

static const char *policy_default_name(enum smtp_tls_policy p)
{
    switch (p) {
    case SMTP_TLS_OPPORTUNISTIC: return "opportunistic";
    case SMTP_TLS_INTERNAL: return "internal";
    case SMTP_TLS_CONNECTOR: return "connector";
    }
    return "?";
}

static bool forced(enum smtp_tls_policy p)
{
    return p == SMTP_TLS_INTERNAL || p == SMTP_TLS_CONNECTOR;
}

void smtp_session_peer_text(const struct smtp_session *s, char *buf, size_t len)
{
    tn_snprintf(buf, len, "%s[%s]", s->facts.host, s->facts.addr);
}

tls_config *smtp_client_tls_config(enum smtp_tls_policy policy, tls_trust *trust,
                                   const char *cert_file, const char *key_file, tn_err *err)
{
    if (trust == NULL) {
        tn_errf(err, "an SMTP client TLS configuration needs a trust store");
        return NULL;
    }
    if (policy == SMTP_TLS_INTERNAL && (cert_file == NULL || key_file == NULL)) {
        tn_errf(err, "internal delivery uses mutual TLS: our certificate and key are required");
        return NULL;
    }
    tls_config *cfg = tls_config_new(TLS_SIDE_CLIENT, err);
    if (cfg == NULL)
        return NULL;
    tls_config_set_trust(cfg, trust);
    /* RFC 7435: opportunistic TLS encrypts even when it cannot
     * authenticate; the verdict is logged, never a reason for plaintext. */
    tls_config_set_verify_advisory(cfg, policy == SMTP_TLS_OPPORTUNISTIC);
    if (cert_file != NULL && tls_config_add_identity(cfg, cert_file, key_file, err) < 0) {
        tls_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* A name we put into a command line: no spaces, controls or line ends. */
static bool safe_word(const char *w, size_t max)
{
    size_t len = w ? strnlen(w, max + 1) : 0;
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)w[i] <= 0x20 || (unsigned char)w[i] >= 0x7f)
            return false;
    return true;
}

static int check_hop(const struct smtp_hop *hop, tn_err *err)
{
    int family = hop->addr.ss_family;
    if (hop->host == NULL || strnlen(hop->host, 256) >= 256)
        return tn_errf(err, "next hop without a usable host name");
    if (!safe_word(hop->helo_name, 255))
        return tn_errf(err, "unusable HELO name for %s", hop->host);
    if ((family != AF_INET && family != AF_INET6) || hop->addrlen == 0 ||
        hop->addrlen > sizeof hop->addr)
        return tn_errf(err, "next hop %s has no IPv4 or IPv6 address", hop->host);
    if (hop->timeout_ms <= 0)
        return tn_errf(err, "next hop %s has no timeout", hop->host);
    if (hop->plaintext_retry && hop->policy != SMTP_TLS_OPPORTUNISTIC)
        return tn_errf(err, "policy %s never falls back to plaintext",
                       policy_default_name(hop->policy));
    if (hop->tls == NULL && !hop->plaintext_retry)
        return tn_errf(err, "next hop %s has no TLS configuration", hop->host);
    if (hop->policy == SMTP_TLS_INTERNAL &&
        (hop->expect.name == NULL || hop->expect.rules != TLS_NAME_EXACT))
        return tn_errf(err, "internal delivery to %s needs an exact expected name", hop->host);
    if (hop->policy == SMTP_TLS_CONNECTOR && hop->expect.rules == TLS_NAME_SIP)
        return tn_errf(err, "a connector to %s checks DNS names, not SIP URIs", hop->host);
    return 0;
}

static void log_start(struct smtp_delivery_log *log, const struct smtp_hop *hop)
{
    memset(log, 0, sizeof *log);
    if (hop->host != NULL)
        tn_strlcpy(log->host, hop->host, sizeof log->host);
    if (hop->addr.ss_family == AF_INET || hop->addr.ss_family == AF_INET6)
        smtp_io_addr_text((const struct sockaddr *)&hop->addr, log->addr, sizeof log->addr);
    tn_strlcpy(log->policy, hop->policy_name ? hop->policy_name
                                              : policy_default_name(hop->policy),
               sizeof log->policy);
    tn_strlcpy(log->tls_version, "none", sizeof log->tls_version);
    tn_strlcpy(log->cipher, "-", sizeof log->cipher);
    tn_strlcpy(log->group, "-", sizeof log->group);
    tn_strlcpy(log->verdict, "-", sizeof log->verdict);
}

/* Read a reply; a broken or 421 reply ends the session. */
static int read_reply(struct smtp_session *s, struct smtp_reply *r, tn_err *err)
{
    char peer[320];
    tn_err why;
    if (smtp_io_read_reply(&s->io, r, &why) < 0) {
        s->broken = true;
        smtp_session_peer_text(s, peer, sizeof peer);
        return tn_errf(err, "%s: %s", peer, why.msg);
    }
    if (r->code == 421)
        s->broken = true;
    return 0;
}

static int send_line(struct smtp_session *s, const char *line, tn_err *err)
{
    char peer[320];
    tn_err why;
    if (smtp_io_write(&s->io, line, strlen(line), &why) < 0) {
        s->broken = true;
        smtp_session_peer_text(s, peer, sizeof peer);
        return tn_errf(err, "%s: %s", peer, why.msg);
    }
    return 0;
}

static enum smtp_status refused(struct smtp_session *s, const char *step,
                                const struct smtp_reply *r, tn_err *err)
{
    char peer[320], said[SMTP_REPLY_TEXT_MAX + 32];
    smtp_session_peer_text(s, peer, sizeof peer);
    smtp_reply_describe(r, said, sizeof said);
    tn_errf(err, "%s%s refused %s: %s", forced(s->policy) ? "TLS is required, but host " : "",
            peer, step, said);
    return SMTP_STATUS_TEMPORARY;
}

/* EHLO, or HELO where the policy lets a plaintext session be plain SMTP. */
static enum smtp_status hello(struct smtp_session *s, const char *helo_name, tn_err *err)
{
    char cmd[300];
    struct smtp_reply r;
    tn_snprintf(cmd, sizeof cmd, "EHLO %s\r\n", helo_name);
    if (send_line(s, cmd, err) < 0 || read_reply(s, &r, err) < 0)
        return SMTP_STATUS_TEMPORARY;
    if (r.code == 250) {
        s->ext = r.ehlo;
        return SMTP_STATUS_OK;
    }
    memset(&s->ext, 0, sizeof s->ext);
    if (smtp_reply_class(&r) != 5 || s->tls || forced(s->policy))
        return refused(s, "EHLO", &r, err);
    tn_snprintf(cmd, sizeof cmd, "HELO %s\r\n", helo_name);
    if (send_line(s, cmd, err) < 0 || read_reply(s, &r, err) < 0)
        return SMTP_STATUS_TEMPORARY;
    return r.code == 250 ? SMTP_STATUS_OK : refused(s, "HELO", &r, err);
}

static void set_verdict(struct smtp_session *s, const char *label, const char *reason)
{
    tn_snprintf(s->facts.verdict, sizeof s->facts.verdict, "%s%s%s", label,
                reason && reason[0] ? ": " : "", reason ? reason : "");
}

/* The facts of a finished handshake, kept before the diagnostics go. */
static void note_tls(struct smtp_session *s)
{
    tls_conn *c = s->io.tls;
    const struct tls_verdict *v = tls_conn_verdict(c);
    s->tls = true;
    s->trusted = tls_conn_peer_trusted(c);
    s->facts.peer_trusted = s->trusted;
    tn_strlcpy(s->facts.tls_version, tls_conn_version(c), sizeof s->facts.tls_version);
    tn_strlcpy(s->facts.cipher, tls_conn_cipher(c), sizeof s->facts.cipher);
    tn_strlcpy(s->facts.group, tls_conn_group(c), sizeof s->facts.group);
    if (s->trusted)
        set_verdict(s, "trusted", v->reason);
    else
        set_verdict(s, forced(s->policy) ? "refused" : "not verified",
                    v->decided ? v->reason : "no certificate verdict");
}

static enum smtp_status tls_failed(struct smtp_session *s, const char *why, tn_err *err)
{
    char peer[320];
    smtp_session_peer_text(s, peer, sizeof peer);
    s->broken = true;
    set_verdict(s, "refused", why);
    tn_errf(err, "TLS with host %s failed: %s", peer, why);
    /* Opportunistic: plaintext is allowed, so the caller may try once more
     * without TLS on a new connection (this one is in an unknown state). */
    return forced(s->policy) ? SMTP_STATUS_TEMPORARY : SMTP_STATUS_RETRY_PLAINTEXT;
}

/* After the handshake: judge the peer before we say a word over it, then
 * EHLO.  In TLS 1.3 a server judges our certificate after our side of the
 * handshake is done, so its refusal arrives as an alert instead of the
 * EHLO reply: wait for either (within the one reply deadline), and name
 * the refusal. */
static enum smtp_status hello_after_tls(struct smtp_session *s, const char *helo_name,
                                        tn_err *err)
{
    note_tls(s);
    /* Whatever the tls_config says (an advisory one by mistake), a forced
     * policy never talks to a peer it could not verify. */
    if (forced(s->policy) && !s->trusted)
        return tls_failed(s, tls_conn_verdict(s->io.tls)->reason, err);
    char cmd[300];
    tn_snprintf(cmd, sizeof cmd, "EHLO %s\r\n", helo_name);
    if (send_line(s, cmd, err) < 0)
        return SMTP_STATUS_TEMPORARY;
    int timeout = s->io.timeout_ms;
    long start = tn_monotonic_ms();
    if (tls_conn_confirm(s->io.tls, timeout) != TLS_IO_OK)
        return tls_failed(s, tls_conn_failure(s->io.tls), err);
    tls_conn_release_diagnostics(s->io.tls);
    long left = timeout - (tn_monotonic_ms() - start);
    s->io.timeout_ms = left > 0 ? (int)left : 1;
    struct smtp_reply r;
    int rc = read_reply(s, &r, err);
    s->io.timeout_ms = timeout;
    if (rc < 0)
        return SMTP_STATUS_TEMPORARY;
    if (r.code != 250)
        return refused(s, "EHLO after STARTTLS", &r, err);
    s->ext = r.ehlo;
    return SMTP_STATUS_OK;
}

static enum smtp_status start_tls(struct smtp_session *s, const struct smtp_hop *hop,
                                  tn_err *err)
{
    char peer[320];
    struct smtp_reply r;
    smtp_session_peer_text(s, peer, sizeof peer);
    if (send_line(s, "STARTTLS\r\n", err) < 0 || read_reply(s, &r, err) < 0)
        return SMTP_STATUS_TEMPORARY;
    if (r.code != 220) {
        if (forced(s->policy))
            return refused(s, "STARTTLS", &r, err);
        char said[SMTP_REPLY_TEXT_MAX + 32];
        smtp_reply_describe(&r, said, sizeof said);
        set_verdict(s, "plaintext: STARTTLS refused", said);
        return SMTP_STATUS_OK; /* RFC 3207 4: still a plaintext session */
    }
    if (smtp_io_has_unread(&s->io)) {
        s->broken = true;
        set_verdict(s, "refused", "response injection after STARTTLS");
        tn_errf(err, "host %s sent data after its STARTTLS reply before the TLS handshake "
                "(response injection): connection dropped", peer);
        return SMTP_STATUS_TEMPORARY;
    }
    struct tls_expect expect = hop->expect;
    expect.role = TLS_PEER_SERVER;
    if (expect.name == NULL && !forced(s->policy))
        expect.name = hop->host; /* judged and logged, not required */
    tn_err why;
    if (smtp_io_start_tls(&s->io, hop->tls, &expect, &why) < 0)
        return tls_failed(s, why.msg, err);
    return hello_after_tls(s, hop->helo_name, err);
}

/* After EHLO: TLS by policy, or plaintext where the policy allows it. */
static enum smtp_status choose_tls(struct smtp_session *s, const struct smtp_hop *hop,
                                   tn_err *err)
{
    char peer[320];
    smtp_session_peer_text(s, peer, sizeof peer);
    if (s->ext.starttls && !hop->plaintext_retry)
        return start_tls(s, hop, err);
    if (forced(s->policy)) {
        set_verdict(s, "refused", "STARTTLS not offered");
        tn_errf(err, "TLS is required, but was not offered by host %s", peer);
        return SMTP_STATUS_TEMPORARY;
    }
    set_verdict(s, "plaintext", hop->plaintext_retry ? "retry after a failed TLS handshake"
                                                     : "STARTTLS not offered");
    return SMTP_STATUS_OK;
}

static enum smtp_status establish(struct smtp_session *s, const struct smtp_hop *hop,
                                  tn_err *err)
{
    int fd = smtp_io_connect((const struct sockaddr *)&hop->addr, hop->addrlen,
                             hop->timeout_ms, err);
    if (fd < 0)
        return SMTP_STATUS_TEMPORARY;
    smtp_io_init(&s->io, fd, hop->timeout_ms);
    struct smtp_reply r;
    if (read_reply(s, &r, err) < 0)
        return SMTP_STATUS_TEMPORARY;
    if (r.code != 220) {
        s->broken = true;
        char peer[320], said[SMTP_REPLY_TEXT_MAX + 32];
        smtp_session_peer_text(s, peer, sizeof peer);
        smtp_reply_describe(&r, said, sizeof said);
        tn_errf(err, "host %s refused to talk to us: %s", peer, said);
        return SMTP_STATUS_TEMPORARY;
    }
    enum smtp_status st = hello(s, hop->helo_name, err);
    return st == SMTP_STATUS_OK ? choose_tls(s, hop, err) : st;
}

enum smtp_status smtp_session_open(const struct smtp_hop *hop, struct smtp_session **out,
                                   struct smtp_delivery_log *log, tn_err *err)
{
    *out = NULL;
    log_start(log, hop);
    if (check_hop(hop, err) < 0) {
        tn_strlcpy(log->result, err->msg, sizeof log->result);
        return SMTP_STATUS_TEMPORARY;
    }
    struct smtp_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        tn_errf(err, "out of memory");
        tn_strlcpy(log->result, err->msg, sizeof log->result);
        return SMTP_STATUS_TEMPORARY;
    }
    s->io.fd = -1;
    s->policy = hop->policy;
    s->facts = *log;
    enum smtp_status st = establish(s, hop, err);
    *log = s->facts;
    if (st != SMTP_STATUS_OK) {
        tn_strlcpy(log->result, err->msg, sizeof log->result);
        s->broken = true; /* no QUIT: the dialogue is in an unknown state */
        smtp_session_close(s);
        return st;
    }
    tn_strlcpy(log->result, "session open", sizeof log->result);
    *out = s;
    return SMTP_STATUS_OK;
}

bool smtp_session_reusable(const struct smtp_session *s)
{
    return s != NULL && !s->broken && s->io.fd >= 0 && !smtp_io_has_unread(&s->io);
}

const struct smtp_ehlo_ext *smtp_session_extensions(const struct smtp_session *s)
{
    return &s->ext;
}

bool smtp_session_tls(const struct smtp_session *s)
{
    return s->tls;
}

bool smtp_session_peer_trusted(const struct smtp_session *s)
{
    return s->trusted;
}

void smtp_session_close(struct smtp_session *s)
{
    if (s == NULL)
        return;
    if (!s->broken && s->io.fd >= 0) {
        tn_err ignored;
        struct smtp_reply r;
        s->io.timeout_ms = s->io.timeout_ms < QUIT_TIMEOUT_MS ? s->io.timeout_ms
                                                                : QUIT_TIMEOUT_MS;
        if (smtp_io_write(&s->io, "QUIT\r\n", 6, &ignored) == 0)
            smtp_io_read_reply(&s->io, &r, &ignored);
    }
    if (s->io.fd >= 0)
        smtp_io_close(&s->io);
    free(s->chunk);
    free(s->wire);
    free(s);
}
