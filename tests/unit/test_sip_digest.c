/* Unit tests: HTTP Digest for SIP (src/sip/sip_digest.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "sip/sip_digest.h"

static struct digest_str S(const char *s)
{
    return (struct digest_str){s, strlen(s)};
}

/* RFC 7616 3.9.1: user Mufasa, password "Circle of Life". */
#define RFC_REALM "http-auth@example.org"
#define RFC_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC_MD5_HA1 "3d78807defe7de2157e2b0b6573a855f"
#define RFC_MD5_RESPONSE "8ca523f5e9506fed4657c9700eebdbec"
#define RFC_SHA256_HA1 "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"
#define RFC_SHA256_RESPONSE "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

static struct sip_digest_response rfc_response(const char *response)
{
    return (struct sip_digest_response){
        .method = S("GET"),
        .uri = S("/dir/index.html"),
        .nonce = S(RFC_NONCE),
        .nc = S("00000001"),
        .cnonce = S(RFC_CNONCE),
        .qop = S("auth"),
        .response = S(response),
    };
}

static void ha1_vectors(void **state)
{
    static const struct {
        enum digest_alg alg;
        const char *user, *realm, *password, *ha1;
    } vectors[] = {
        {DIGEST_MD5, "Mufasa", RFC_REALM, "Circle of Life", RFC_MD5_HA1},
        {DIGEST_SHA256, "Mufasa", RFC_REALM, "Circle of Life", RFC_SHA256_HA1},
        /* python3: hashlib.sha256(b"alice:corp.test:secret").hexdigest() */
        {DIGEST_SHA256, "alice", "corp.test", "secret",
         "4ed2cc15d1f70b1eee1b20abbfb83b5a170c025ae14c12663a652ddf65000dcb"},
    };
    char hex[DIGEST_HEX_MAX];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        assert_int_equal(digest_ha1(vectors[i].alg, vectors[i].user, vectors[i].realm,
                                    vectors[i].password, hex, sizeof hex), 0);
        assert_string_equal(hex, vectors[i].ha1);
    }
    /* Output buffer too small for the algorithm. */
    assert_int_equal(digest_ha1(DIGEST_SHA256, "a", "b", "c", hex, 64), -1);
    assert_int_equal(digest_ha1(DIGEST_MD5, "a", "b", "c", hex, 33), 0);
}

/* The raw joined hash: FIPS 180-2's "abc" vector, and parts joined by ':'
 * hash as the joined string does (also past the one-call buffer). */
static void joined_raw_vectors(void **state)
{
    (void)state;
    static const unsigned char abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char md[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
    struct digest_str one = {"abc", 3};
    assert_int_equal(digest_joined_raw(DIGEST_SHA256, &one, 1, md), 32);
    assert_memory_equal(md, abc, 32);

    static char big[3000];
    memset(big, 'x', sizeof big);
    struct digest_str parts[3] = {{"a", 1}, {big, sizeof big}, {"", 0}};
    char joined[sizeof big + 4];
    joined[0] = 'a';
    joined[1] = ':';
    memcpy(joined + 2, big, sizeof big);
    joined[2 + sizeof big] = ':';
    for (size_t nparts = 1; nparts <= 3; nparts++) {
        size_t len = nparts == 1 ? 1 : nparts == 2 ? 2 + sizeof big : 3 + sizeof big;
        unsigned int wl = 0;
        assert_int_equal(EVP_Digest(joined, len, want, &wl, EVP_sha256(), NULL), 1);
        assert_int_equal(digest_joined_raw(DIGEST_SHA256, parts, nparts, md), 32);
        assert_memory_equal(md, want, 32);
    }
    struct digest_str md5in = {"", 0};
    assert_int_equal(digest_joined_raw(DIGEST_MD5, &md5in, 1, md), 16);
}

static void rfc7616_responses(void **state)
{
    struct sip_digest_response r = rfc_response(RFC_MD5_RESPONSE);
    char hex[DIGEST_HEX_MAX];
    assert_int_equal(sip_digest_compute(DIGEST_MD5, RFC_MD5_HA1, &r, hex, sizeof hex), 0);
    assert_string_equal(hex, RFC_MD5_RESPONSE);
    assert_true(sip_digest_verify(DIGEST_MD5, RFC_MD5_HA1, &r));

    r = rfc_response(RFC_SHA256_RESPONSE);
    assert_true(sip_digest_verify(DIGEST_SHA256, RFC_SHA256_HA1, &r));
    /* The response hex is compared case-insensitively; so is the HA1. */
    r = rfc_response("753927FA0E85D155564E2E272A28D1802CA10DAF4496794697CF8DB5856CB6C1");
    assert_true(sip_digest_verify(DIGEST_SHA256, RFC_SHA256_HA1, &r));
    assert_true(sip_digest_verify(DIGEST_SHA256,
                                  "7987C64C30E25F1B74BE53F966B49B90F2808AA92FAF9A00262392D7B4794232",
                                  &r));
    /* The wrong algorithm for the response. */
    assert_false(sip_digest_verify(DIGEST_MD5, RFC_MD5_HA1, &r));
}

/* One field of the RFC 7616 SHA-256 response set to value (NULL: its
 * pointer only becomes NULL), then cut bytes taken off its end. */
struct change {
    size_t field; /* FIELD(name) */
    const char *value;
    size_t cut;
};

#define FIELD(name) offsetof(struct sip_digest_response, name)

/* Each change must make the response fail against the right HA1. */
static void expect_refused(const struct change *changes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sip_digest_response r = rfc_response(RFC_SHA256_RESPONSE);
        struct digest_str *field = (struct digest_str *)((char *)&r + changes[i].field);
        if (changes[i].value == NULL)
            field->p = NULL;
        else
            *field = S(changes[i].value);
        field->len -= changes[i].cut;
        if (sip_digest_verify(DIGEST_SHA256, RFC_SHA256_HA1, &r))
            fail_msg("accepted with change %zu (value '%s', cut %zu)", i,
                     changes[i].value ? changes[i].value : "(null)", changes[i].cut);
    }
}

static void wrong_inputs_fail(void **state)
{
    char wrong_ha1[DIGEST_HEX_MAX];
    digest_ha1(DIGEST_SHA256, "Mufasa", RFC_REALM, "Circle of life", wrong_ha1,
               sizeof wrong_ha1);
    struct sip_digest_response r = rfc_response(RFC_SHA256_RESPONSE);
    assert_false(sip_digest_verify(DIGEST_SHA256, wrong_ha1, &r)); /* password */

    static const struct change changes[] = {
        {FIELD(uri), "/dir/index.htm", 0},
        {FIELD(method), "POST", 0},
        {FIELD(nonce), "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0V", 0},
        {FIELD(nc), "00000002", 0},
        {FIELD(cnonce), "x", 0},
    };
    expect_refused(changes, sizeof changes / sizeof changes[0]);
}

static void malformed_responses_fail(void **state)
{
    static const struct change changes[] = {
        {FIELD(response), RFC_SHA256_RESPONSE, 1}, /* truncated */
        {FIELD(response), RFC_SHA256_RESPONSE "aa", 0},
        {FIELD(response), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6cz", 0},
        {FIELD(response), "", 0},
        {FIELD(response), NULL, 0},
        /* qop other than auth, bad nc, empty cnonce, empty method. */
        {FIELD(qop), "auth-int", 0},
        {FIELD(nc), "0000001", 0},
        {FIELD(nc), "0000000g", 0},
        {FIELD(cnonce), "", 0},
        {FIELD(method), "", 0},
    };
    expect_refused(changes, sizeof changes / sizeof changes[0]);
    /* A stored HA1 of the wrong length or not hex. */
    struct sip_digest_response r = rfc_response(RFC_SHA256_RESPONSE);
    assert_false(sip_digest_verify(DIGEST_SHA256, RFC_MD5_HA1, &r));
    assert_false(sip_digest_verify(DIGEST_SHA256,
                                   "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b479423x",
                                   &r));
    assert_false(sip_digest_verify(DIGEST_SHA256, NULL, &r));
}

static void no_qop_md5_only(void **state)
{
    /* python3: ha1 = md5(b"alice:corp.test:secret"), ha2 = md5(b"REGISTER:sip:corp.test"),
     * md5(f"{ha1}:abcdef:{ha2}") = a255fc5e475bbb01a2f72d63a86d95e7 */
    char ha1[DIGEST_HEX_MAX];
    digest_ha1(DIGEST_MD5, "alice", "corp.test", "secret", ha1, sizeof ha1);
    assert_string_equal(ha1, "0eab6d40eba8fd86e6c9eb54233f23a0");
    struct sip_digest_response r = {
        .method = S("REGISTER"),
        .uri = S("sip:corp.test"),
        .nonce = S("abcdef"),
        .response = S("a255fc5e475bbb01a2f72d63a86d95e7"),
    };
    assert_true(sip_digest_verify(DIGEST_MD5, ha1, &r));
    /* nc and cnonce are not part of an RFC 2069 response. */
    r.nc = S("00000001");
    r.cnonce = S("zz");
    assert_true(sip_digest_verify(DIGEST_MD5, ha1, &r));
    r.response = S("a255fc5e475bbb01a2f72d63a86d95e8");
    assert_false(sip_digest_verify(DIGEST_MD5, ha1, &r));
    /* No qop with SHA-256 is refused. */
    char ha1s[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
    digest_ha1(DIGEST_SHA256, "alice", "corp.test", "secret", ha1s, sizeof ha1s);
    r.response = S("a255fc5e475bbb01a2f72d63a86d95e7");
    assert_int_equal(sip_digest_compute(DIGEST_SHA256, ha1s, &r, resp, sizeof resp), -1);
}

static struct sip_digest_secret secret_a, secret_b;

static int setup_secrets(void **state)
{
    assert_int_equal(sip_digest_secret_init(&secret_a, NULL), 0);
    assert_int_equal(sip_digest_secret_init(&secret_b, NULL), 0);
    return 0;
}

/* The nonce checks below: secret_a, realm corp.test, a maximum age of 300 s. */
static enum sip_nonce_status check_at(struct digest_str nonce, int64_t now)
{
    return sip_digest_nonce_check(&secret_a, "corp.test", nonce, now, 300);
}

static enum sip_nonce_status check_cached(struct sip_nonce_cache *cache, const char *realm,
                                          struct digest_str nonce, int64_t now)
{
    return sip_digest_nonce_check_cached(&secret_a, cache, realm, nonce, now, 300);
}

static void nonce_valid_and_stale(void **state)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1];
    assert_int_equal(sip_digest_nonce_new(&secret_a, "corp.test", 1000000, nonce, sizeof nonce),
                     0);
    assert_int_equal(strlen(nonce), SIP_DIGEST_NONCE_LEN);
    for (const char *p = nonce; *p; p++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               *p));
    /* Issued at 1000000: what it is when checked at now. */
    static const struct {
        int64_t now;
        enum sip_nonce_status want;
    } ages[] = {
        {1000000, SIP_NONCE_VALID},
        {1000300, SIP_NONCE_VALID},
        {1000301, SIP_NONCE_STALE},
        /* A little clock skew between workers is fine; a nonce from far in
         * the future (the clock went back) is stale. */
        {999998, SIP_NONCE_VALID},
        {999000, SIP_NONCE_STALE},
    };
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++)
        assert_int_equal(check_at(S(nonce), ages[i].now), ages[i].want);
    /* Two nonces at different times differ. */
    char other[SIP_DIGEST_NONCE_LEN + 1];
    sip_digest_nonce_new(&secret_a, "corp.test", 1000001, other, sizeof other);
    assert_string_not_equal(nonce, other);
}

/* The per-worker memory of verified nonces changes no answer. */
static void nonce_cache_same_answers(void **state)
{
    static struct sip_nonce_cache cache; /* large: not on the stack */
    memset(&cache, 0, sizeof cache);
    char nonce[SIP_DIGEST_NONCE_LEN + 1], forged[SIP_DIGEST_NONCE_LEN + 1];
    sip_digest_nonce_new(&secret_a, "corp.test", 1000000, nonce, sizeof nonce);
    for (int round = 0; round < 2; round++) { /* checked, then remembered */
        assert_int_equal(check_cached(&cache, "corp.test", S(nonce), 1000000), SIP_NONCE_VALID);
        assert_int_equal(check_cached(&cache, "corp.test", S(nonce), 1000301), SIP_NONCE_STALE);
        /* Remembered for its realm only. */
        assert_int_equal(check_cached(&cache, "corp.tes", S(nonce), 1000000), SIP_NONCE_INVALID);
    }
    /* A forged nonce is never remembered. */
    memcpy(forged, nonce, sizeof forged);
    forged[20] = forged[20] == 'A' ? 'B' : 'A';
    for (int round = 0; round < 2; round++)
        assert_int_equal(check_cached(&cache, "corp.test", S(forged), 1000000),
                         SIP_NONCE_INVALID);
    struct digest_str none = {NULL, 0};
    assert_int_equal(check_cached(&cache, "corp.test", none, 1000000), SIP_NONCE_INVALID);
    assert_int_equal(check_cached(&cache, "", S(nonce), 1000000), SIP_NONCE_INVALID);
}

static void nonce_forged_or_garbage(void **state)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1];
    sip_digest_nonce_new(&secret_a, "corp.test", 1000000, nonce, sizeof nonce);
    /* Another server's secret, another realm. */
    assert_int_equal(sip_digest_nonce_check(&secret_b, "corp.test", S(nonce), 1000000, 300),
                     SIP_NONCE_INVALID);
    assert_int_equal(sip_digest_nonce_check(&secret_a, "corp.tes", S(nonce), 1000000, 300),
                     SIP_NONCE_INVALID);
    /* Each character changed in turn. */
    for (size_t i = 0; i < SIP_DIGEST_NONCE_LEN; i++) {
        char forged[SIP_DIGEST_NONCE_LEN + 1];
        memcpy(forged, nonce, sizeof forged);
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        assert_int_equal(check_at(S(forged), 1000000), SIP_NONCE_INVALID);
    }
    /* A new timestamp with the old MAC (an attempt to refresh a nonce). */
    char later[SIP_DIGEST_NONCE_LEN + 1];
    sip_digest_nonce_new(&secret_a, "corp.test", 2000000, later, sizeof later);
    memcpy(later + 11, nonce + 11, SIP_DIGEST_NONCE_LEN - 11);
    assert_int_equal(check_at(S(later), 2000000), SIP_NONCE_INVALID);
    /* Truncated, extended, garbage, empty, NULL, an embedded NUL, padded,
     * standard base64. */
    char longer[SIP_DIGEST_NONCE_LEN + 2];
    memcpy(longer, nonce, SIP_DIGEST_NONCE_LEN);
    longer[SIP_DIGEST_NONCE_LEN] = 'A';
    longer[SIP_DIGEST_NONCE_LEN + 1] = '\0';
    char with_nul[SIP_DIGEST_NONCE_LEN];
    memcpy(with_nul, nonce, sizeof with_nul);
    with_nul[5] = '\0';
    /* The same length, with the padding or the characters of standard
     * base64 that base64url does not have. */
    char padded[SIP_DIGEST_NONCE_LEN + 1], plus[SIP_DIGEST_NONCE_LEN + 1],
        slash[SIP_DIGEST_NONCE_LEN + 1];
    memcpy(padded, nonce, sizeof padded);
    memcpy(plus, nonce, sizeof plus);
    memcpy(slash, nonce, sizeof slash);
    padded[SIP_DIGEST_NONCE_LEN - 1] = '=';
    plus[3] = '+';
    slash[7] = '/';
    const struct digest_str garbage[] = {
        {nonce, SIP_DIGEST_NONCE_LEN - 1},
        S(longer),
        S("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
        S(""),
        {NULL, 0},
        {with_nul, sizeof with_nul},
        S(padded),
        S(plus),
        S(slash),
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_int_equal(check_at(garbage[i], 1000000), SIP_NONCE_INVALID);
}

static void nonce_bad_arguments(void **state)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1];
    assert_int_equal(sip_digest_nonce_new(&secret_a, "corp.test", 1, nonce, sizeof nonce - 1),
                     -1);
    assert_int_equal(sip_digest_nonce_new(&secret_a, "", 1, nonce, sizeof nonce), -1);
    assert_int_equal(sip_digest_nonce_new(&secret_a, "corp.test", -1, nonce, sizeof nonce), -1);
    char realm[SIP_DIGEST_REALM_MAX + 2];
    memset(realm, 'a', sizeof realm - 1);
    realm[sizeof realm - 1] = '\0';
    assert_int_equal(sip_digest_nonce_new(&secret_a, realm, 1, nonce, sizeof nonce), -1);
    realm[SIP_DIGEST_REALM_MAX] = '\0';
    assert_int_equal(sip_digest_nonce_new(&secret_a, realm, 1, nonce, sizeof nonce), 0);
}

static void challenges(void **state)
{
    char out[SIP_DIGEST_CHALLENGE_MAX];
    assert_int_equal(sip_digest_challenge(out, sizeof out, "corp.test", "abc", DIGEST_SHA256,
                                          false), 0);
    assert_string_equal(out, "Digest realm=\"corp.test\", nonce=\"abc\", algorithm=SHA-256, "
                             "qop=\"auth\", stale=FALSE");
    assert_int_equal(sip_digest_challenge(out, sizeof out, "corp.test", "abc", DIGEST_MD5,
                                          true), 0);
    assert_string_equal(out, "Digest realm=\"corp.test\", nonce=\"abc\", algorithm=MD5, "
                             "qop=\"auth\", stale=TRUE");
    /* Refused: no room, then what cannot stand in a quoted string, and no realm. */
    static const struct {
        size_t len;
        const char *realm, *nonce;
    } refused[] = {
        {20, "corp.test", "abc"},
        {sizeof out, "co\"rp", "abc"},
        {sizeof out, "corp", "a\\b"},
        {sizeof out, "corp", "a\r\nb"},
        {sizeof out, "", "ab"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(sip_digest_challenge(out, refused[i].len, refused[i].realm,
                                              refused[i].nonce, DIGEST_MD5, true), -1);
}

static void algorithm_names(void **state)
{
    static const struct {
        const char *name;
        int rc;
        enum digest_alg alg; /* when rc is 0 */
    } names[] = {
        {"SHA-256", 0, DIGEST_SHA256},
        {"md5", 0, DIGEST_MD5},
        {"MD5-sess", -1, 0},
        {"SHA-512-256", -1, 0},
        {"SHA-25", -1, 0},
        {"", -1, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        enum digest_alg alg;
        assert_int_equal(digest_alg_parse(names[i].name, strlen(names[i].name), &alg),
                         names[i].rc);
        if (names[i].rc == 0)
            assert_int_equal(alg, names[i].alg);
    }
    assert_string_equal(digest_alg_name(DIGEST_SHA256), "SHA-256");
    assert_int_equal(digest_hex_len(DIGEST_MD5), 32);
    assert_int_equal(digest_hex_len(DIGEST_SHA256), 64);
}

/* ---- credentials parser ---- */

static int parse(const char *text, struct sip_digest_credentials *cr, tn_err *err)
{
    return sip_digest_parse_credentials(text, strlen(text), cr, err);
}

static void credentials_typical(void **state)
{
    struct sip_digest_credentials cr;
    tn_err err;
    const char *h = "Digest username=\"alice\",realm=\"corp.test\", nonce=\"" RFC_NONCE "\", "
                    "uri=\"sip:corp.test\", response=\"" RFC_MD5_RESPONSE "\", "
                    "algorithm=SHA-256, cnonce=\"" RFC_CNONCE "\", opaque=\"xyz\", qop=auth, "
                    "nc=00000001";
    assert_int_equal(parse(h, &cr, &err), 0);
    assert_string_equal(cr.username, "alice");
    assert_string_equal(cr.realm, "corp.test");
    assert_string_equal(cr.nonce, RFC_NONCE);
    assert_string_equal(cr.uri, "sip:corp.test");
    assert_string_equal(cr.response, RFC_MD5_RESPONSE);
    assert_string_equal(cr.cnonce, RFC_CNONCE);
    assert_string_equal(cr.opaque, "xyz");
    assert_string_equal(cr.qop, "auth");
    assert_string_equal(cr.nc, "00000001");
    assert_int_equal(cr.alg, DIGEST_SHA256);
}

static void credentials_forms(void **state)
{
    struct sip_digest_credentials cr;
    tn_err err;
    /* Minimal RFC 2069 form: MD5 by default, no qop. */
    assert_int_equal(parse("digest username=\"bob\", realm=\"corp.test\", nonce=\"n\", "
                           "uri=\"sip:x\", response=\"r\"", &cr, &err), 0);
    assert_int_equal(cr.alg, DIGEST_MD5);
    assert_string_equal(cr.qop, "");
    /* Whitespace around '=' and ',', folded lines, quoted-pair, quoted qop,
     * unknown parameters (token and quoted), upper-case names. */
    assert_int_equal(parse("  Digest\tUSERNAME = \"a\\\"b\" ,\r\n realm=\"corp.test\"  ,"
                           "nonce=\"n\",uri=\"sip:x;a=\\\\b\",response=\"r\",foo=bar,"
                           "baz=\"q, u=o\", qop=\"auth\"", &cr, &err), 0);
    assert_string_equal(cr.username, "a\"b");
    assert_string_equal(cr.uri, "sip:x;a=\\b");
    assert_string_equal(cr.qop, "auth");
    /* A folded line inside a quoted string becomes a space. */
    assert_int_equal(parse("Digest username=\"a\r\n b\", realm=\"r\", nonce=\"n\", "
                           "uri=\"u\", response=\"r\"", &cr, &err), 0);
    assert_string_equal(cr.username, "a b");
    /* Empty list elements are tolerated (RFC 7230 7 #rule), and the
     * message parser has trimmed the value already. */
    assert_int_equal(parse("Digest username=\"a\", ,realm=\"r\", nonce=\"n\", uri=\"u\", "
                           "response=\"r\",", &cr, &err), 0);
    /* Empty quoted values are values. */
    assert_int_equal(parse("Digest username=\"\", realm=\"\", nonce=\"\", uri=\"\", "
                           "response=\"\"", &cr, &err), 0);
}

static void credentials_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "Digest",
        "Digest ",
        "Basic dXNlcjpwYXNz",
        "Digestusername=\"a\"",
        /* required parameter missing */
        "Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\", realm=\"r\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", response=\"r\"",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\"",
        /* duplicate, username*, unsupported algorithm */
        "Digest username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username*=UTF-8''a, realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\", algorithm=MD5-sess",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\", algorithm=MD5, algorithm=MD5",
        /* syntax */
        "Digest username=\"a\" realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", =\"r\"",
        "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\\",
        /* control characters, a bare line break */
        "Digest username=\"a\x01\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\r\nb\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
        "Digest username=\"a\\\x01\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sip_digest_credentials cr;
        tn_err err;
        err.msg[0] = '\0';
        if (parse(bad[i], &cr, &err) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err.msg[0] != '\0');
    }
}

/* Credentials whose username is n characters long. */
static int parse_username_of(size_t n, struct sip_digest_credentials *cr, tn_err *err)
{
    char big[SIP_DIGEST_USER_MAX + 2];
    assert_true(n < sizeof big);
    memset(big, 'u', n);
    big[n] = '\0';
    char h[4096];
    snprintf(h, sizeof h,
             "Digest username=\"%s\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"", big);
    return parse(h, cr, err);
}

static void credentials_bounds(void **state)
{
    struct sip_digest_credentials cr;
    tn_err err;
    assert_int_equal(parse_username_of(SIP_DIGEST_USER_MAX + 1, &cr, &err), -1);
    assert_int_equal(parse_username_of(SIP_DIGEST_USER_MAX, &cr, &err), 0);
    assert_int_equal(strlen(cr.username), SIP_DIGEST_USER_MAX);
    /* An embedded NUL ends nothing: the length is what counts. */
    const char nul[] = "Digest username=\"a\0b\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                       "response=\"r\"";
    assert_int_equal(sip_digest_parse_credentials(nul, sizeof nul - 1, &cr, &err), -1);
    /* Only the counted bytes are read. */
    const char *full = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", "
                       "response=\"r\"";
    assert_int_equal(sip_digest_parse_credentials(full, strlen(full) - 1, &cr, &err), -1);
    assert_int_equal(sip_digest_parse_credentials(NULL, 0, &cr, &err), -1);
}

/* Parse what a client sends and verify it end to end. */
static void credentials_then_verify(void **state)
{
    char nonce[SIP_DIGEST_NONCE_LEN + 1], ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
    sip_digest_nonce_new(&secret_a, "corp.test", 5000, nonce, sizeof nonce);
    digest_ha1(DIGEST_SHA256, "alice", "corp.test", "pw", ha1, sizeof ha1);
    struct sip_digest_response r = {
        .method = S("REGISTER"), .uri = S("sip:corp.test"), .nonce = S(nonce),
        .nc = S("00000001"), .cnonce = S("c1"), .qop = S("auth"),
    };
    assert_int_equal(sip_digest_compute(DIGEST_SHA256, ha1, &r, resp, sizeof resp), 0);
    char h[1024];
    snprintf(h, sizeof h,
             "Digest username=\"alice\", realm=\"corp.test\", nonce=\"%s\", "
             "uri=\"sip:corp.test\", response=\"%s\", algorithm=SHA-256, qop=auth, "
             "nc=00000001, cnonce=\"c1\"", nonce, resp);
    struct sip_digest_credentials cr;
    tn_err err;
    assert_int_equal(parse(h, &cr, &err), 0);
    assert_int_equal(sip_digest_nonce_check(&secret_a, cr.realm, S(cr.nonce), 5010, 300),
                     SIP_NONCE_VALID);
    struct sip_digest_response got = {
        .method = S("REGISTER"), .uri = S(cr.uri), .nonce = S(cr.nonce), .nc = S(cr.nc),
        .cnonce = S(cr.cnonce), .qop = S(cr.qop), .response = S(cr.response),
    };
    assert_true(sip_digest_verify(cr.alg, ha1, &got));
    got.method = S("INVITE");
    assert_false(sip_digest_verify(cr.alg, ha1, &got));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ha1_vectors),
        cmocka_unit_test(rfc7616_responses),
        cmocka_unit_test(joined_raw_vectors),
        cmocka_unit_test(wrong_inputs_fail),
        cmocka_unit_test(malformed_responses_fail),
        cmocka_unit_test(no_qop_md5_only),
        cmocka_unit_test(nonce_valid_and_stale),
        cmocka_unit_test(nonce_forged_or_garbage),
        cmocka_unit_test(nonce_cache_same_answers),
        cmocka_unit_test(nonce_bad_arguments),
        cmocka_unit_test(challenges),
        cmocka_unit_test(algorithm_names),
        cmocka_unit_test(credentials_typical),
        cmocka_unit_test(credentials_forms),
        cmocka_unit_test(credentials_refused),
        cmocka_unit_test(credentials_bounds),
        cmocka_unit_test(credentials_then_verify),
    };
    return cmocka_run_group_tests(tests, setup_secrets, NULL);
}
