/*
 * fuzz_digest_credentials.c - libFuzzer target for HTTP Digest
 * (src/sip/sip_digest.c): the Authorization value parser, nonce checks and
 * response verification on whatever the parser accepted.  Invariants that
 * abort:
 *   - every accepted field is NUL-terminated within its bound;
 *   - a response computed for the parsed fields verifies, and the same
 *     response with its first digit changed does not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ha1_md5[] = "0eab6d40eba8fd86e6c9eb54233f23a0";
static const char ha1_sha256[] =
    "4ed2cc15d1f70b1eee1b20abbfb83b5a170c025ae14c12663a652ddf65000dcb";

static struct digest_str S(const char *s)
{
    return (struct digest_str){s, strlen(s)};
}

static void check_bounded(const char *field, size_t size)
{
    if (strnlen(field, size) >= size)
        abort();
}

static void verify_roundtrip(const struct sip_digest_credentials *cr)
{
    const char *ha1 = cr->alg == DIGEST_SHA256 ? ha1_sha256 : ha1_md5;
    struct sip_digest_response r = {
        .method = S("REGISTER"), .uri = S(cr->uri), .nonce = S(cr->nonce),
        .nc = S(cr->nc), .cnonce = S(cr->cnonce), .qop = S(cr->qop),
        .response = S(cr->response),
    };
    (void)sip_digest_verify(cr->alg, ha1, &r);
    char resp[DIGEST_HEX_MAX];
    if (sip_digest_compute(cr->alg, ha1, &r, resp, sizeof resp) < 0)
        return;
    r.response = S(resp);
    if (!sip_digest_verify(cr->alg, ha1, &r))
        abort();
    resp[0] = resp[0] == '0' ? '1' : '0';
    if (sip_digest_verify(cr->alg, ha1, &r))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sip_digest_secret secret; /* all zero: deterministic */
    struct sip_digest_credentials cr;
    tn_err err;
    (void)sip_digest_nonce_check(&secret, "corp.test",
                                 (struct digest_str){(const char *)data, size}, 1000, 300);
    if (sip_digest_parse_credentials((const char *)data, size, &cr, &err) < 0)
        return 0;
    check_bounded(cr.username, sizeof cr.username);
    check_bounded(cr.realm, sizeof cr.realm);
    check_bounded(cr.nonce, sizeof cr.nonce);
    check_bounded(cr.uri, sizeof cr.uri);
    check_bounded(cr.response, sizeof cr.response);
    check_bounded(cr.cnonce, sizeof cr.cnonce);
    check_bounded(cr.opaque, sizeof cr.opaque);
    check_bounded(cr.nc, sizeof cr.nc);
    check_bounded(cr.qop, sizeof cr.qop);
    (void)sip_digest_nonce_check(&secret, cr.realm[0] ? cr.realm : "corp.test", S(cr.nonce),
                                 1000, 300);
    char challenge[SIP_DIGEST_CHALLENGE_MAX];
    (void)sip_digest_challenge(challenge, sizeof challenge, cr.realm, cr.nonce, cr.alg, true);
    verify_roundtrip(&cr);
    return 0;
}
