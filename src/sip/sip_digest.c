/* sip_digest.c - HTTP Digest for SIP: HA1, nonces, challenges, credential
 * parsing and response verification (see sip_digest.h). */
#include "sip/sip_digest.h"

#include "sip/sip_hdr.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/str.h"

/* Joined digest inputs up to this size are hashed in one call: every
 * credential field is bounded well below (uri 1024, tokens 256). */
#define HASH_JOIN_MAX 4096
#define NONCE_TS_LEN 8
#define NONCE_MAC_LEN 16
#define NONCE_RAW_LEN (NONCE_TS_LEN + NONCE_MAC_LEN)
/* Nonces stamped a little in the future are accepted: another worker may
 * have read the clock a moment later than this one. */
#define NONCE_FUTURE_SLACK_S 5

/* ---- algorithms and hashing ---- */

size_t digest_hex_len(enum digest_alg alg)
{
    return alg == DIGEST_SHA256 ? 64 : 32;
}

const char *digest_alg_name(enum digest_alg alg)
{
    return alg == DIGEST_SHA256 ? "SHA-256" : "MD5";
}

int digest_alg_parse(const char *p, size_t len, enum digest_alg *out)
{
    if (tn_ascii_caseeq(p, len, "MD5", 3)) {
        *out = DIGEST_MD5;
        return 0;
    }
    if (tn_ascii_caseeq(p, len, "SHA-256", 7)) {
        *out = DIGEST_SHA256;
        return 0;
    }
    return -1;
}

/* OpenSSL 3 looks an algorithm up by name (locks, hash tables) each time
 * EVP_sha256() or EVP_Q_mac is used: every authenticated request hashed
 * twice and checked a MAC.  Fetched once for the process instead;
 * fetched objects may be shared by threads.  NULL (fetch failed): the
 * implicit lookup is used, as before. */
static EVP_MD *fetched_sha256, *fetched_md5;
static EVP_MAC *fetched_hmac;
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;

static void fetch_algorithms(void)
{
    fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    fetched_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    fetched_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static const EVP_MD *alg_md(enum digest_alg alg)
{
    CRYPTO_THREAD_run_once(&fetch_once, fetch_algorithms);
    if (alg == DIGEST_SHA256)
        return fetched_sha256 != NULL ? fetched_sha256 : EVP_sha256();
    return fetched_md5 != NULL ? fetched_md5 : EVP_md5();
}

/* H(parts joined by ':') into md, one update per part (any length). */
static int hash_parts(enum digest_alg alg, const struct digest_str *parts, size_t n,
                      unsigned char *md, unsigned int *mdlen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, alg_md(alg), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0)
            ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
        if (ok && parts[i].len > 0)
            ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, mdlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* The same in one call when the joined parts fit a buffer (they always
 * do for credentials): EVP_DigestUpdate costs more per call than these
 * few bytes do.  The buffer may hold a password or an HA1: it is wiped. */
static int hash_joined_buffer(enum digest_alg alg, const struct digest_str *parts, size_t n,
                              unsigned char *md, unsigned int *mdlen)
{
    char joined[HASH_JOIN_MAX];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > sizeof joined - len - 1)
            return hash_parts(alg, parts, n, md, mdlen);
        if (i > 0)
            joined[len++] = ':';
        if (parts[i].len > 0)
            memcpy(joined + len, parts[i].p, parts[i].len);
        len += parts[i].len;
    }
    int ok = EVP_Digest(joined, len, md, mdlen, alg_md(alg), NULL) == 1;
    OPENSSL_cleanse(joined, len);
    return ok ? 0 : -1;
}

int digest_joined_raw(enum digest_alg alg, const struct digest_str *parts, size_t n,
                      unsigned char *md)
{
    unsigned int mdlen = 0;
    if (hash_joined_buffer(alg, parts, n, md, &mdlen) < 0)
        return -1;
    return (int)mdlen;
}

/* hexout = hex of H(parts[0] ":" parts[1] ":" ... parts[n-1]).
 * hexout holds at least DIGEST_HEX_MAX bytes. */
static int hash_joined(enum digest_alg alg, const struct digest_str *parts, size_t n,
                       char *hexout)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (hash_joined_buffer(alg, parts, n, md, &mdlen) < 0 || mdlen * 2 != digest_hex_len(alg))
        return -1;
    return tn_hex_encode(hexout, DIGEST_HEX_MAX, md, mdlen);
}

static struct digest_str cstr(const char *s)
{
    return (struct digest_str){s, strlen(s)};
}

int digest_ha1(enum digest_alg alg, const char *user, const char *realm,
               const char *password, char *hexout, size_t hexlen)
{
    char hex[DIGEST_HEX_MAX];
    if (hexlen < digest_hex_len(alg) + 1)
        return -1;
    struct digest_str parts[3] = {cstr(user), cstr(realm), cstr(password)};
    int rc = hash_joined(alg, parts, 3, hex);
    if (rc == 0)
        memcpy(hexout, hex, digest_hex_len(alg) + 1);
    OPENSSL_cleanse(hex, sizeof hex);
    return rc;
}

/* ---- base64url without padding ---- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* n must be a multiple of 3; out holds n / 3 * 4 + 1 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* len must be a multiple of 4; out holds len / 4 * 3 bytes. */
static int b64url_decode(const char *in, size_t len, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i + 3 < len; i += 4) {
        unsigned v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = b64url_value(in[i + k]);
            if (d < 0)
                return -1;
            v = v << 6 | (unsigned)d;
        }
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    return 0;
}

/* ---- nonces ---- */

int sip_digest_secret_init(struct sip_digest_secret *secret, tn_err *err)
{
    if (RAND_bytes(secret->key, sizeof secret->key) != 1) {
        tn_errf(err, "cannot draw the digest nonce secret");
        return tn_err_append_openssl(err);
    }
    return 0;
}

static int hmac_sha256(const unsigned char *key, size_t keylen, const unsigned char *data,
                       size_t len, unsigned char *out, size_t outsize, size_t *outlen)
{
    CRYPTO_THREAD_run_once(&fetch_once, fetch_algorithms);
    if (fetched_hmac == NULL)
        return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, len, out,
                         outsize, outlen) != NULL ? 0 : -1;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(fetched_hmac);
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
             EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, outlen, outsize) == 1;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* mac = HMAC-SHA256(secret, ts || realm)[0..16] */
static int nonce_mac(const struct sip_digest_secret *secret, const unsigned char *ts,
                     const char *realm, unsigned char *mac)
{
    size_t rlen = strnlen(realm, SIP_DIGEST_REALM_MAX + 1);
    if (rlen == 0 || rlen > SIP_DIGEST_REALM_MAX)
        return -1;
    unsigned char data[NONCE_TS_LEN + SIP_DIGEST_REALM_MAX];
    unsigned char full[EVP_MAX_MD_SIZE];
    size_t fulllen = 0;
    memcpy(data, ts, NONCE_TS_LEN);
    memcpy(data + NONCE_TS_LEN, realm, rlen);
    if (hmac_sha256(secret->key, sizeof secret->key, data, NONCE_TS_LEN + rlen, full,
                    sizeof full, &fulllen) < 0 ||
        fulllen < NONCE_MAC_LEN)
        return -1;
    memcpy(mac, full, NONCE_MAC_LEN);
    return 0;
}

int sip_digest_nonce_new(const struct sip_digest_secret *secret, const char *realm,
                         int64_t now, char *out, size_t outlen)
{
    unsigned char raw[NONCE_RAW_LEN];
    if (outlen < SIP_DIGEST_NONCE_LEN + 1 || now < 0)
        return -1;
    uint64_t t = (uint64_t)now;
    for (int i = NONCE_TS_LEN - 1; i >= 0; i--, t >>= 8)
        raw[i] = (unsigned char)(t & 0xff);
    if (nonce_mac(secret, raw, realm, raw + NONCE_TS_LEN) < 0)
        return -1;
    b64url_encode(raw, sizeof raw, out);
    return 0;
}

/* How old the nonce whose decoded bytes are raw is, as a status. */
static enum sip_nonce_status nonce_age(const unsigned char *raw, int64_t now, int64_t max_age_s)
{
    uint64_t t = 0;
    for (int i = 0; i < NONCE_TS_LEN; i++)
        t = t << 8 | raw[i];
    if (t > (uint64_t)INT64_MAX)
        return SIP_NONCE_INVALID; /* authentic bytes we never write */
    int64_t issued = (int64_t)t;
    if (now < issued) /* the clock went back, or another worker is ahead */
        return issued - now <= NONCE_FUTURE_SLACK_S ? SIP_NONCE_VALID : SIP_NONCE_STALE;
    return now - issued > max_age_s ? SIP_NONCE_STALE : SIP_NONCE_VALID;
}

enum sip_nonce_status sip_digest_nonce_check(const struct sip_digest_secret *secret,
                                             const char *realm, struct digest_str nonce,
                                             int64_t now, int64_t max_age_s)
{
    unsigned char raw[NONCE_RAW_LEN], mac[NONCE_MAC_LEN];
    if (nonce.p == NULL || nonce.len != SIP_DIGEST_NONCE_LEN ||
        b64url_decode(nonce.p, nonce.len, raw) < 0 ||
        nonce_mac(secret, raw, realm, mac) < 0 ||
        CRYPTO_memcmp(mac, raw + NONCE_TS_LEN, NONCE_MAC_LEN) != 0)
        return SIP_NONCE_INVALID;
    return nonce_age(raw, now, max_age_s);
}

static size_t nonce_slot(struct digest_str nonce)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < nonce.len; i++)
        h = (h ^ (unsigned char)nonce.p[i]) * 1099511628211ull;
    return (size_t)(h % SIP_NONCE_CACHE_SLOTS);
}

enum sip_nonce_status sip_digest_nonce_check_cached(const struct sip_digest_secret *secret,
                                                    struct sip_nonce_cache *cache,
                                                    const char *realm, struct digest_str nonce,
                                                    int64_t now, int64_t max_age_s)
{
    unsigned char raw[NONCE_RAW_LEN];
    size_t rlen = strnlen(realm, SIP_DIGEST_REALM_MAX + 1);
    if (nonce.p == NULL || nonce.len != SIP_DIGEST_NONCE_LEN || rlen == 0 ||
        rlen > SIP_DIGEST_REALM_MAX)
        return SIP_NONCE_INVALID;
    size_t k = nonce_slot(nonce);
    if (memcmp(cache->slots[k].nonce, nonce.p, nonce.len) == 0 &&
        strcmp(cache->slots[k].realm, realm) == 0) {
        /* Verified before: only its age can have changed. */
        if (b64url_decode(nonce.p, nonce.len, raw) < 0)
            return SIP_NONCE_INVALID;
        return nonce_age(raw, now, max_age_s);
    }
    enum sip_nonce_status st = sip_digest_nonce_check(secret, realm, nonce, now, max_age_s);
    if (st != SIP_NONCE_INVALID) {
        memcpy(cache->slots[k].nonce, nonce.p, nonce.len);
        memcpy(cache->slots[k].realm, realm, rlen + 1);
    }
    return st;
}

/* ---- challenge ---- */

static bool quotable(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

int sip_digest_challenge(char *out, size_t len, const char *realm, const char *nonce,
                         enum digest_alg alg, bool stale)
{
    if (!quotable(realm) || !quotable(nonce))
        return -1;
    return tn_snprintf(out, len,
                       "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\", "
                       "stale=%s",
                       realm, nonce, digest_alg_name(alg), stale ? "TRUE" : "FALSE");
}

/* ---- credentials: parsed by sip_digest_params_parse, copied here ---- */

/* A folded line (CRLF, then spaces or tabs) inside a value is one space. */
static void unfold(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '\r' && r[1] == '\n' && (r[2] == ' ' || r[2] == '\t')) {
            r += 2;
            while (*r == ' ' || *r == '\t')
                r++;
            *w++ = ' ';
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* Unquote one parameter into a bounded field, refusing control bytes. */
static int copy_param(sip_str raw, const char *name, bool required, char *dst, size_t size,
                      tn_err *err)
{
    if (raw.p == NULL) {
        dst[0] = '\0';
        return required ? tn_errf(err, "Digest credentials without %s", name) : 0;
    }
    if (sip_unquote(raw, dst, size) < 0)
        return tn_errf(err, "Digest credentials: %s too long", name);
    unfold(dst);
    for (const unsigned char *q = (const unsigned char *)dst; *q; q++)
        if (*q < 0x20 || *q == 0x7f)
            return tn_errf(err, "Digest credentials: control character in %s", name);
    if (memchr(raw.p, '\0', raw.len) != NULL)
        return tn_errf(err, "Digest credentials: NUL byte in %s", name);
    return 0;
}

int sip_digest_parse_credentials(const char *p, size_t len,
                                 struct sip_digest_credentials *out, tn_err *err)
{
    struct sip_digest_params d;
    memset(out, 0, sizeof *out);
    out->alg = DIGEST_MD5;
    if (p == NULL || sip_digest_params_parse(sip_str_make(p, len), &d) < 0)
        return tn_errf(err, "malformed Digest credentials");
    if (copy_param(d.username, "username", true, out->username, sizeof out->username, err) < 0 ||
        copy_param(d.realm, "realm", true, out->realm, sizeof out->realm, err) < 0 ||
        copy_param(d.nonce, "nonce", true, out->nonce, sizeof out->nonce, err) < 0 ||
        copy_param(d.uri, "uri", true, out->uri, sizeof out->uri, err) < 0 ||
        copy_param(d.response, "response", true, out->response, sizeof out->response, err) < 0 ||
        copy_param(d.cnonce, "cnonce", false, out->cnonce, sizeof out->cnonce, err) < 0 ||
        copy_param(d.opaque, "opaque", false, out->opaque, sizeof out->opaque, err) < 0 ||
        copy_param(d.nc, "nc", false, out->nc, sizeof out->nc, err) < 0 ||
        copy_param(d.qop, "qop", false, out->qop, sizeof out->qop, err) < 0)
        return -1;
    if (d.userhash.p != NULL)
        return tn_errf(err, "Digest credentials: userhash is not supported");
    if (d.algorithm.p != NULL && digest_alg_parse(d.algorithm.p, d.algorithm.len, &out->alg) < 0)
        return tn_errf(err, "Digest credentials: unsupported algorithm %.*s",
                       (int)(d.algorithm.len > 32 ? 32 : d.algorithm.len), d.algorithm.p);
    return 0;
}

/* ---- verification ---- */

static bool is_hex(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return true;
}

static void lower_copy(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        dst[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    dst[len] = '\0';
}

int sip_digest_compute(enum digest_alg alg, const char *ha1hex,
                       const struct sip_digest_response *r, char *hexout, size_t hexlen)
{
    size_t hl = digest_hex_len(alg);
    char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX];
    if (ha1hex == NULL || hexlen < hl + 1 || strnlen(ha1hex, hl + 1) != hl ||
        !is_hex(ha1hex, hl))
        return -1;
    lower_copy(ha1, ha1hex, hl);
    struct digest_str a2[2] = {r->method, r->uri};
    if (r->method.len == 0 || hash_joined(alg, a2, 2, ha2) < 0)
        return -1;
    struct digest_str h1 = {ha1, hl}, h2 = {ha2, hl};
    int rc;
    if (r->qop.len == 0) {
        if (alg != DIGEST_MD5) /* RFC 2069 never had SHA-256 */
            return -1;
        struct digest_str parts[3] = {h1, r->nonce, h2};
        rc = hash_joined(alg, parts, 3, hexout);
    } else {
        if (!tn_ascii_caseeq(r->qop.p, r->qop.len, "auth", 4) || r->nc.len != 8 ||
            !is_hex(r->nc.p, r->nc.len) || r->cnonce.len == 0)
            return -1;
        struct digest_str parts[6] = {h1, r->nonce, r->nc, r->cnonce, r->qop, h2};
        rc = hash_joined(alg, parts, 6, hexout);
    }
    OPENSSL_cleanse(ha1, sizeof ha1);
    return rc;
}

bool sip_digest_verify(enum digest_alg alg, const char *ha1hex,
                       const struct sip_digest_response *r)
{
    size_t hl = digest_hex_len(alg);
    char want[DIGEST_HEX_MAX], got[DIGEST_HEX_MAX];
    if (r->response.p == NULL || r->response.len != hl || !is_hex(r->response.p, hl))
        return false;
    if (sip_digest_compute(alg, ha1hex, r, want, sizeof want) < 0)
        return false;
    lower_copy(got, r->response.p, hl);
    return CRYPTO_memcmp(want, got, hl) == 0;
}
