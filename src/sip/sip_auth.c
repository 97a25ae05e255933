/* sip_auth.c - HTTP Digest authentication of users (RFC 3261 22,
 * RFC 8760): challenge with SHA-256 and MD5, verify against the HA1s of
 * the store, answer 403 to wrong credentials. */
#include "sip/sip_server_internal.h"

#include <openssl/crypto.h>
#include <time.h>

#include "common/log.h"
#include "common/str.h"
#include "tls/tls_conn.h"
#include "tls/tls_sip_user.h"

#define NONCE_MAX_AGE_S 300
/* Credentials refused in a row before the connection is closed: whoever
 * guesses passwords must pay a new TLS handshake for every ten guesses
 * (Postfix closes after 20 errors: smtpd_hard_error_limit). */
#define AUTH_MAX_REFUSED 10

/* Clients that cannot take RFC 8760's list of challenges (pick the first
 * algorithm they support) and would never authenticate: SIPp 3.6 joins
 * all challenges and gives up unless the first algorithm= is MD5;
 * baresip 1.0's libre fails with ENOSYS on any challenge that is not
 * MD5, whatever its place.  Both are Debian 12's.  They are challenged
 * with MD5 alone (MD5 credentials are accepted from every client anyway,
 * so this downgrades nothing); everyone else gets SHA-256, then MD5. */
static const char *const md5_only_agents[] = {"SIPp", "baresip"};

static bool md5_only_client(const struct sip_msg *req)
{
    const struct sip_header *h = sip_msg_first(req, SIP_HDR_USER_AGENT);
    sip_str ua = h != NULL ? sip_str_trim(h->value) : SIP_STR_NULL;
    for (size_t i = 0; i < sizeof md5_only_agents / sizeof md5_only_agents[0]; i++) {
        size_t n = strlen(md5_only_agents[i]);
        if (ua.len >= n && strncasecmp(ua.p, md5_only_agents[i], n) == 0)
            return true;
    }
    return false;
}

static void challenge(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                      const char *realm, bool proxy, bool stale)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1];
    char sha[SIP_DIGEST_CHALLENGE_MAX], md5[SIP_DIGEST_CHALLENGE_MAX], extra[1200];
    const char *name = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    if (sip_digest_nonce_new(&sw->srv->secret, realm, time(NULL), nonce, sizeof nonce) < 0 ||
        sip_digest_challenge(sha, sizeof sha, realm, nonce, DIGEST_SHA256, stale) < 0 ||
        sip_digest_challenge(md5, sizeof md5, realm, nonce, DIGEST_MD5, stale) < 0) {
        sip_reply(sw, c, req, 500, "Server Internal Error - cannot make a challenge", NULL);
        return;
    }
    /* RFC 8760: the preferred algorithm first; MD5 for older clients. */
    if (md5_only_client(req))
        tn_snprintf(extra, sizeof extra, "%s: %s\r\n", name, md5);
    else
        tn_snprintf(extra, sizeof extra, "%s: %s\r\n%s: %s\r\n", name, sha, name, md5);
    sip_reply(sw, c, req, proxy ? 407 : 401,
              proxy ? "Proxy Authentication Required" : "Unauthorized", extra);
}

/* The credentials for realm among the request's Authorization headers. */
static bool find_credentials(const struct sip_msg *req, const char *realm, bool proxy,
                             struct sip_digest_credentials *cr)
{
    enum sip_hdr_id id = proxy ? SIP_HDR_PROXY_AUTHORIZATION : SIP_HDR_AUTHORIZATION;
    for (const struct sip_header *h = sip_msg_first(req, id); h; h = sip_msg_next(req, h)) {
        tn_err err;
        if (sip_digest_parse_credentials(h->value.p, h->value.len, cr, &err) == 0 &&
            strcasecmp(cr->realm, realm) == 0)
            return true;
    }
    return false;
}

static struct digest_str dstr(const char *s)
{
    return (struct digest_str){s, strlen(s)};
}

static bool response_matches(const struct sip_msg *req, const struct sip_digest_credentials *cr,
                             const char *ha1)
{
    struct sip_digest_response r = {
        .method = {req->method_str.p, req->method_str.len},
        .uri = dstr(cr->uri),
        .nonce = dstr(cr->nonce),
        .nc = dstr(cr->nc),
        .cnonce = dstr(cr->cnonce),
        .qop = dstr(cr->qop),
        .response = dstr(cr->response),
    };
    return sip_digest_verify(cr->alg, ha1, &r);
}

/* 403 for refused credentials; the AUTH_MAX_REFUSED-th in a row on one
 * connection closes it. */
static void refuse(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                   const char *reason)
{
    tn_counter_add(&sw->stats.auth_refused, 1);
    sip_reply(sw, c, req, 403, reason, NULL);
    struct sip_conn *sc = sip_conn_get(c);
    if (sc != NULL && ++sc->auth_refused >= AUTH_MAX_REFUSED) {
        char why[96];
        tn_snprintf(why, sizeof why, "credentials refused %d times in a row (password guessing?)",
                    AUTH_MAX_REFUSED);
        conn_close(c, why);
    }
}

/* A user's client certificate that names user@domain (verified in the
 * handshake, client-only: sip_server.c accept_user_cert) authenticates
 * the connection's requests as that user while the user is in the store:
 * deleting the user ends it as it ends a password.  Unknown users and
 * store errors fall through to digest, which answers them. */
static bool certificate_authenticates(struct sip_worker *sw, struct conn *c, const char *user,
                                      const char *domain)
{
    const struct sip_conn *sc = sip_conn_get(c);
    if (sc == NULL || !sc->user_cert ||
        !tls_cert_names_sip_user(tls_conn_peer_cert(conn_tls(c)), user, domain))
        return false;
    char ha1[DIGEST_HEX_MAX];
    tn_err err;
    int found = ha1_cache_lookup(&sw->ha1s, sw->srv->store, user, domain, DIGEST_SHA256,
                                 ev_now_ms(sw->w->loop), ha1, sizeof ha1, &err);
    OPENSSL_cleanse(ha1, sizeof ha1);
    if (found != 0)
        return false;
    tn_log(TN_LOG_DEBUG, "auth", "peer=%s %s@%s authenticated (client certificate)", c->peer,
           user, domain);
    return true;
}

int sip_auth_check(struct sip_worker *sw, struct conn *c, const struct sip_msg *req,
                   const char *user, const char *domain, bool proxy)
{
    struct sip_digest_credentials cr;
    if (certificate_authenticates(sw, c, user, domain))
        return 1;
    if (!find_credentials(req, domain, proxy, &cr)) {
        challenge(sw, c, req, domain, proxy, false);
        return 0;
    }
    enum sip_nonce_status ns = sip_digest_nonce_check_cached(&sw->srv->secret, &sw->nonces,
                                                             domain, dstr(cr.nonce),
                                                             time(NULL), NONCE_MAX_AGE_S);
    if (ns != SIP_NONCE_VALID) {
        challenge(sw, c, req, domain, proxy, ns == SIP_NONCE_STALE);
        return 0;
    }
    if (strcmp(cr.username, user) != 0) {
        tn_log(TN_LOG_INFO, "auth", "peer=%s %s@%s refused: credentials of %s", c->peer, user,
               domain, cr.username);
        refuse(sw, c, req, "Forbidden - credentials are for another user");
        return 0;
    }
    char ha1[DIGEST_HEX_MAX];
    tn_err err;
    int found = ha1_cache_lookup(&sw->ha1s, sw->srv->store, user, domain, cr.alg,
                                 ev_now_ms(sw->w->loop), ha1, sizeof ha1, &err);
    if (found != 0 || !response_matches(req, &cr, ha1)) {
        tn_log(TN_LOG_INFO, "auth", "peer=%s %s@%s refused: %s", c->peer, user, domain,
               found < 0 ? err.msg : found > 0 ? "unknown user" : "wrong password");
        if (found < 0)
            sip_reply(sw, c, req, 500, "Server Internal Error - store unavailable", NULL);
        else
            refuse(sw, c, req, "Forbidden - wrong user name or password");
        return 0;
    }
    tn_log(TN_LOG_DEBUG, "auth", "peer=%s %s@%s authenticated (%s)", c->peer, user, domain,
           digest_alg_name(cr.alg));
    struct sip_conn *sc = sip_conn_get(c);
    if (sc != NULL)
        sc->auth_refused = 0;
    return 1;
}
