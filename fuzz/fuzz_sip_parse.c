/*
 * fuzz_sip_parse.c - libFuzzer target for the SIP message layer.
 *
 * The input is a TLS stream: it is framed (whole, and again fed in small
 * pieces through the resume state, which must agree), every framed
 * message is parsed, every header value goes through its sub-parser, and
 * the builders run on every parsed message.  Invariants that abort:
 *   - split delivery frames exactly like whole delivery;
 *   - a response built for a valid request parses back;
 *   - a forwarded valid request parses back with one more Via;
 *   - a forwarded valid response parses back with one Via less.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_build.h"
#include "sip/sip_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (SIP_MAX_MSG + 4096)

static struct sip_msg msg, back;
static char out[OUT_MAX];

static void sub_parse(const struct sip_header *h)
{
    struct sip_name_addr na;
    struct sip_via via;
    struct sip_digest_params dp;
    struct sip_uri u;
    struct sip_param p;
    uint32_t n;
    sip_str s, rest = h->value;
    size_t cl;
    (void)sip_name_addr_parse(h->value, &na);
    (void)sip_via_parse(h->value, &via);
    (void)sip_cseq_parse(h->value, &n, &s);
    (void)sip_digest_params_parse(h->value, &dp);
    (void)sip_uri_parse(h->value, &u);
    (void)sip_content_length_parse(h->value, SIP_MAX_MSG, &cl);
    const char *semi = h->value.len ? memchr(h->value.p, ';', h->value.len) : NULL;
    if (semi)
        rest = sip_str_make(semi, h->value.len - (size_t)(semi - h->value.p));
    while (sip_param_next(&rest, &p) == 1) {
        char tmp[64];
        if (p.quoted)
            (void)sip_unquote(p.value, tmp, sizeof(tmp));
    }
}

static void must_parse(int n, size_t vias)
{
    struct sip_parse_error e;
    if (n < 0)
        abort();
    if (sip_parse(&back, out, (size_t)n, &e) < 0 ||
        sip_msg_count(&back, SIP_HDR_VIA) != vias)
        abort();
}

static void build_request(const struct sip_msg *m, bool valid)
{
    int n = sip_build_response(out, sizeof(out), m, 400, "Bad Request", "tt",
                               "X-A: 1\r\n", "b", 1, "text/plain");
    if (valid)
        must_parse(n, sip_msg_count(m, SIP_HDR_VIA));
    if (!valid || m->max_forwards == 0)
        return;
    static const enum sip_hdr_id drop[] = { SIP_HDR_PROXY_AUTHORIZATION };
    struct sip_forward_edit e = {
        .ruri = "sip:x@192.0.2.1:5061;transport=tls",
        .via = "SIP/2.0/TLS fe.example;branch=z9hG4bKf",
        .record_route = "<sip:fe.example;lr>",
        .drop_routes = sip_msg_count(m, SIP_HDR_ROUTE) ? 1 : 0,
        .drop_ids = drop,
        .ndrop_ids = 1,
    };
    must_parse(sip_build_forward(out, sizeof(out), m, &e),
               sip_msg_count(m, SIP_HDR_VIA) + 1);
}

static void check_message(const char *buf, size_t len)
{
    struct sip_parse_error e;
    bool valid = sip_parse(&msg, buf, len, &e) == 0;
    if (!msg.headers_ok)
        return;
    for (size_t k = 0; k < msg.nhdrs; k++)
        sub_parse(&msg.hdrs[k]);
    if (msg.is_request) {
        build_request(&msg, valid);
    } else {
        size_t vias = sip_msg_count(&msg, SIP_HDR_VIA);
        int n = sip_build_forward_response(out, sizeof(out), &msg, NULL);
        if (valid && vias > 1)
            must_parse(n, vias - 1);
    }
}

/* Feed the stream in pieces of `chunk` bytes; the first unit framed must
 * equal what whole delivery gave. */
static void check_split(const char *buf, size_t size, size_t chunk,
                        enum sip_frame_result whole, size_t whole_used)
{
    struct sip_frame_state st = { 0, 0 };
    struct sip_parse_error e;
    size_t used = 0;
    enum sip_frame_result r = SIP_FRAME_NEED_MORE;
    for (size_t have = 0; have < size && r == SIP_FRAME_NEED_MORE;) {
        have = have + chunk > size ? size : have + chunk;
        r = sip_frame_resume(buf, have, SIP_MAX_MSG, &st, &used, &e);
    }
    if (r != whole || (r != SIP_FRAME_ERROR && used != whole_used))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t off = 0;
    bool first = true;
    while (off < size) {
        size_t used;
        struct sip_parse_error e;
        enum sip_frame_result r = sip_frame(buf + off, size - off, SIP_MAX_MSG,
                                            &used, &e);
        if (first)
            check_split(buf, size, 1 + size % 13, r, used);
        first = false;
        if (r == SIP_FRAME_NEED_MORE || r == SIP_FRAME_ERROR)
            break;
        if (r == SIP_FRAME_MESSAGE)
            check_message(buf + off, used);
        off += used;
    }
    /* unframed too: the parser must also survive what the framer refuses */
    check_message(buf, size);
    return 0;
}
