/*
 * sip_digest.h - HTTP Digest authentication for SIP (RFC 3261 22,
 * RFC 7616, RFC 8760): SHA-256 and MD5, qop "auth" and, for old MD5
 * clients, no qop (RFC 2069).
 *
 * Pure functions: no SIP parser, no store, no global state (but the
 * hash algorithms, fetched from OpenSSL once).  Every input that comes
 * from the network is a counted string (struct digest_str), never
 * assumed NUL-terminated.
 *
 * Nonces are stateless and unforgeable:
 *     nonce = base64url(timestamp(8 bytes, big-endian) ||
 *                       HMAC-SHA256(secret, timestamp || realm)[0..16])
 * so any worker thread can check any nonce with only the server secret,
 * and a nonce of another realm or another server never validates.
 * Stateless nonces do not track nc: a response can be replayed while its
 * nonce is fresh (max_age).  All SIP here runs over TLS, which already
 * stops the eavesdropper who could replay it.
 *
 * A registrar uses it as:
 *   1. no credentials, or nonce STALE: send one challenge per algorithm,
 *      SHA-256 first then MD5 (RFC 8760 3), each from sip_digest_challenge;
 *   2. credentials: sip_digest_parse_credentials, check username/realm
 *      are the user and our domain and that uri is the Request-URI, then
 *      sip_digest_nonce_check, then sip_digest_verify with the stored HA1.
 */
#ifndef TN_SIP_SIP_DIGEST_H
#define TN_SIP_SIP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum digest_alg { DIGEST_MD5, DIGEST_SHA256 };

#define DIGEST_HEX_MAX 65             /* SHA-256 in hex, plus the NUL */
#define SIP_DIGEST_SECRET_LEN 32
#define SIP_DIGEST_NONCE_LEN 32       /* base64url of 8 + 16 bytes, no padding */
#define SIP_DIGEST_REALM_MAX 255      /* longest realm a nonce can bind */
#define SIP_DIGEST_CHALLENGE_MAX 512  /* room for any challenge we write */

/* A counted string; p need not be NUL-terminated. */
struct digest_str {
    const char *p;
    size_t len;
};

/* Length in hex digits of the algorithm's hash: 32 (MD5) or 64 (SHA-256). */
size_t digest_hex_len(enum digest_alg alg);

/* "MD5" or "SHA-256", as written in the algorithm parameter. */
const char *digest_alg_name(enum digest_alg alg);

/* Parse an algorithm token ("MD5", "SHA-256", case-insensitive).
 * -sess variants and anything else are refused with -1. */
int digest_alg_parse(const char *p, size_t len, enum digest_alg *out);

/* Raw H(parts joined by ':') with the process's fetched algorithm (one
 * lookup per process, not per call); md holds EVP_MAX_MD_SIZE bytes.
 * Returns the digest length, or -1. */
int digest_joined_raw(enum digest_alg alg, const struct digest_str *parts, size_t n,
                      unsigned char *md);

/* hexout = lowercase hex of H(user ":" realm ":" password).  hexlen must
 * hold digest_hex_len(alg) + 1.  Returns 0 or -1. */
int digest_ha1(enum digest_alg alg, const char *user, const char *realm,
               const char *password, char *hexout, size_t hexlen);

/* ---- nonces ---- */

struct sip_digest_secret {
    unsigned char key[SIP_DIGEST_SECRET_LEN];
};

/* Fill secret with 32 fresh random bytes (done once at start; nonces
 * issued before a restart then no longer validate: clients are simply
 * challenged again). */
int sip_digest_secret_init(struct sip_digest_secret *secret, tn_err *err);

/* Write a new nonce for realm at time now (unix seconds) into out, which
 * must hold SIP_DIGEST_NONCE_LEN + 1 bytes.  Returns 0 or -1 (realm empty
 * or longer than SIP_DIGEST_REALM_MAX, out too small, crypto failure). */
int sip_digest_nonce_new(const struct sip_digest_secret *secret, const char *realm,
                         int64_t now, char *out, size_t outlen);

enum sip_nonce_status {
    SIP_NONCE_VALID,   /* ours, for this realm, issued within max_age */
    SIP_NONCE_STALE,   /* ours but too old (or from the future): challenge
                          again with stale=TRUE */
    SIP_NONCE_INVALID, /* not ours, another realm, truncated or garbage */
};

enum sip_nonce_status sip_digest_nonce_check(const struct sip_digest_secret *secret,
                                             const char *realm, struct digest_str nonce,
                                             int64_t now, int64_t max_age_s);

/* The nonces whose MAC one thread has verified: a client sends the same
 * nonce with every request until it goes stale, and the MAC is most of
 * the cost of a check.  Only verified (nonce, realm) pairs enter it; the
 * age is still judged on every use.  Owned by one thread (a worker). */
#define SIP_NONCE_CACHE_SLOTS 64

struct sip_nonce_cache {
    struct {
        char nonce[SIP_DIGEST_NONCE_LEN];
        char realm[SIP_DIGEST_REALM_MAX + 1]; /* "" while the slot is free */
    } slots[SIP_NONCE_CACHE_SLOTS];
};

/* sip_digest_nonce_check, remembering verified nonces in cache. */
enum sip_nonce_status sip_digest_nonce_check_cached(const struct sip_digest_secret *secret,
                                                    struct sip_nonce_cache *cache,
                                                    const char *realm, struct digest_str nonce,
                                                    int64_t now, int64_t max_age_s);

/* ---- challenge ---- */

/* Write a WWW-Authenticate / Proxy-Authenticate value:
 *   Digest realm="corp.test", nonce="...", algorithm=SHA-256, qop="auth", stale=FALSE
 * realm and nonce must not hold '"', '\\' or control characters.
 * Returns 0 or -1 (bad input, or out too small). */
int sip_digest_challenge(char *out, size_t len, const char *realm, const char *nonce,
                         enum digest_alg alg, bool stale);

/* ---- credentials ---- */

/* The parameters of an Authorization / Proxy-Authorization value that
 * Digest needs, unquoted.  Each field is bounded; a longer value makes
 * the whole header invalid. */
#define SIP_DIGEST_USER_MAX 256
#define SIP_DIGEST_URI_MAX 1024
#define SIP_DIGEST_TOKEN_MAX 256 /* nonce, cnonce, opaque, response */

struct sip_digest_credentials {
    char username[SIP_DIGEST_USER_MAX + 1];
    char realm[SIP_DIGEST_REALM_MAX + 1];
    char nonce[SIP_DIGEST_TOKEN_MAX + 1];
    char uri[SIP_DIGEST_URI_MAX + 1];
    char response[SIP_DIGEST_TOKEN_MAX + 1];
    char cnonce[SIP_DIGEST_TOKEN_MAX + 1];
    char opaque[SIP_DIGEST_TOKEN_MAX + 1];
    char nc[16 + 1];
    char qop[32 + 1];       /* empty when absent */
    enum digest_alg alg;    /* MD5 when the algorithm parameter is absent */
};

/* Parse `Digest username="alice", realm="corp.test", ...` (RFC 3261 25.1,
 * RFC 7616 3.4; quoted strings with quoted-pairs, tokens, any order,
 * unknown parameters ignored, linear whitespace including folded lines).
 * Requires username, realm, nonce, uri and response; refuses a duplicate
 * parameter, an unsupported algorithm, username* (RFC 7616 extended
 * notation), NUL and other control characters.  Returns 0, or -1 with a
 * reason fit for a 400 reason phrase. */
int sip_digest_parse_credentials(const char *p, size_t len,
                                 struct sip_digest_credentials *out, tn_err *err);

/* ---- verification ---- */

/* The fields of a response to check, as the client sent them. */
struct sip_digest_response {
    struct digest_str method;   /* the request method, e.g. "REGISTER" */
    struct digest_str uri;      /* the digest-uri parameter */
    struct digest_str nonce;
    struct digest_str nc;       /* 8 hex digits; ignored without qop */
    struct digest_str cnonce;   /* ignored without qop */
    struct digest_str qop;      /* "auth", or empty for RFC 2069 */
    struct digest_str response; /* hex, either case */
};

/* True when response is right for ha1hex (lowercase hex from digest_ha1
 * or the store):
 *   HA2 = H(method ":" uri)
 *   qop=auth:  H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *   no qop:    H(HA1 ":" nonce ":" HA2)   (MD5 only)
 * Any other qop (auth-int), a malformed nc, an empty cnonce with qop, or
 * a response of the wrong length is false.  The comparison takes the same
 * time whatever the response. */
bool sip_digest_verify(enum digest_alg alg, const char *ha1hex,
                       const struct sip_digest_response *r);

/* The response a client computes (used by tests and tools); hexout must
 * hold digest_hex_len(alg) + 1.  Returns 0 or -1. */
int sip_digest_compute(enum digest_alg alg, const char *ha1hex,
                       const struct sip_digest_response *r, char *hexout, size_t hexlen);

#endif
