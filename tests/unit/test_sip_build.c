/* Unit tests: SIP message builders (src/sip/sip_build.c); every output is
 * parsed back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_build.h"

static struct sip_msg req, out;
static char buf[8192];

static void parse_req(const char *text)
{
    struct sip_parse_error e;
    if (sip_parse(&req, text, strlen(text), &e) < 0)
        fail_msg("request did not parse: %s", e.reason);
}

static void parse_out(int n)
{
    struct sip_parse_error e;
    assert_true(n > 0);
    if (sip_parse(&out, buf, (size_t)n, &e) < 0)
        fail_msg("output did not parse: %s\n%.*s", e.reason, n, buf);
}

static const char invite[] =
    "INVITE sip:bob@corp.example SIP/2.0\r\n"
    "Via: SIP/2.0/TLS p1.example;branch=z9hG4bK1, SIP/2.0/TLS p2.example"
    ";branch=z9hG4bK2\r\n"
    "v: SIP/2.0/TLS ua.example;branch=z9hG4bK3;rport\r\n"
    "Route: <sip:fe1.corp.example;lr>, <sip:fe2.corp.example;lr>\r\n"
    "Route: <sip:fe3.corp.example;lr>\r\n"
    "Max-Forwards: 10\r\n"
    "To: Bob <sip:bob@corp.example>\r\n"
    "f: Alice <sip:alice@corp.example>;tag=1\r\n"
    "Call-ID: c1@ua.example\r\n"
    "CSeq: 7 INVITE\r\n"
    "Timestamp: 54\r\n"
    "Proxy-Authorization: Digest username=\"alice\"\r\n"
    "Subject: folded\r\n line\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n\r\nhello";

static void response(void **state)
{
    parse_req(invite);
    int n = sip_build_response(buf, sizeof(buf), &req, 180, "Ringing", "totag",
                               "Contact: <sip:bob@10.0.0.2>\r\n", NULL, 0, NULL);
    parse_out(n);
    assert_int_equal(out.status, 180);
    assert_true(sip_str_eq_lit(out.reason, "Ringing"));
    assert_int_equal(sip_msg_count(&out, SIP_HDR_VIA), 3);
    const struct sip_header *v = sip_msg_first(&out, SIP_HDR_VIA);
    assert_true(sip_str_eq_lit(v->value, "SIP/2.0/TLS p1.example;branch=z9hG4bK1"));
    v = sip_msg_next(&out, sip_msg_next(&out, v));
    assert_true(sip_str_eq_lit(v->value, "SIP/2.0/TLS ua.example;branch=z9hG4bK3;rport"));
    assert_true(sip_str_eq_lit(out.to_tag, "totag"));
    assert_true(sip_str_eq_lit(out.from_tag, "1"));
    assert_true(sip_str_eq_lit(out.call_id, "c1@ua.example"));
    assert_int_equal(out.cseq_num, 7);
    assert_int_equal(out.cseq_method, SIP_INVITE);
    assert_non_null(sip_msg_first(&out, SIP_HDR_CONTACT));
    assert_null(sip_msg_first(&out, SIP_HDR_TIMESTAMP)); /* only for 100 */
    assert_null(sip_msg_first(&out, SIP_HDR_ROUTE));
    assert_int_equal(out.content_length, 0);

    n = sip_build_response(buf, sizeof(buf), &req, 100, "Trying", NULL, NULL,
                           NULL, 0, NULL);
    parse_out(n);
    assert_int_equal(out.to_tag.len, 0);
    assert_non_null(sip_msg_first(&out, SIP_HDR_TIMESTAMP));

    n = sip_build_response(buf, sizeof(buf), &req, 200, "OK", "t", NULL,
                           "body!", 5, "text/plain");
    parse_out(n);
    assert_true(sip_str_eq_lit(out.body, "body!"));
    assert_true(sip_str_eq_lit(sip_msg_first(&out, SIP_HDR_CONTENT_TYPE)->value,
                               "text/plain"));
}

static void response_keeps_existing_tag(void **state)
{
    parse_req("BYE sip:bob@corp.example SIP/2.0\r\n"
              "Via: SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
              "To: <sip:bob@corp.example>;tag=old\r\n"
              "From: <sip:alice@corp.example>;tag=1\r\n"
              "Call-ID: c1\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n");
    int n = sip_build_response(buf, sizeof(buf), &req, 200, "OK", "new", NULL,
                               NULL, 0, NULL);
    parse_out(n);
    assert_true(sip_str_eq_lit(out.to_tag, "old"));
}

static void response_to_malformed(void **state)
{
    /* the request fails (CSeq mismatch) but a 400 can still be built */
    const char *bad = "INVITE sip:bob@corp.example SIP/2.0\r\n"
                      "Via: SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
                      "To: <sip:bob@corp.example>\r\n"
                      "From: <sip:alice@corp.example>;tag=1\r\n"
                      "Call-ID: c1\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n";
    struct sip_parse_error e;
    assert_int_equal(sip_parse(&req, bad, strlen(bad), &e), -1);
    assert_true(req.headers_ok);
    int n = sip_build_response(buf, sizeof(buf), &req, e.status, e.reason,
                               "x", NULL, NULL, 0, NULL);
    parse_out(n);
    assert_int_equal(out.status, 400);
    assert_true(sip_str_eq_lit(out.reason,
                "Bad Request - CSeq method does not match request method"));
    assert_true(sip_str_eq_lit(out.via.branch, "z9hG4bK3"));
}

static void response_refusals(void **state)
{
    parse_req(invite);
    assert_int_equal(sip_build_response(buf, 100, &req, 200, "OK", NULL, NULL,
                                        NULL, 0, NULL), -1);
    assert_int_equal(sip_build_response(buf, sizeof(buf), &req, 200, "O\r\nX: y",
                                        NULL, NULL, NULL, 0, NULL), -1);
    assert_int_equal(sip_build_response(buf, sizeof(buf), &req, 200, "OK",
                                        "t\n", NULL, NULL, 0, NULL), -1);
    assert_int_equal(sip_build_response(buf, sizeof(buf), &req, 200, "OK", NULL,
                                        "X: no crlf", NULL, 0, NULL), -1);
    assert_int_equal(sip_build_response(buf, sizeof(buf), &req, 200, "OK", NULL,
                                        "X: a\r\n\r\nY: b\r\n", NULL, 0, NULL), -1);
    assert_int_equal(sip_build_response(buf, sizeof(buf), &req, 99, "OK", NULL,
                                        NULL, NULL, 0, NULL), -1);
    /* every size below the full length overflows cleanly */
    int full = sip_build_response(buf, sizeof(buf), &req, 200, "OK", "t", NULL,
                                  "xyz", 3, "a/b");
    assert_true(full > 0);
    for (int k = 0; k < full; k++)
        assert_int_equal(sip_build_response(buf, (size_t)k, &req, 200, "OK",
                                            "t", NULL, "xyz", 3, "a/b"), -1);
}

static void forward(void **state)
{
    parse_req(invite);
    static const enum sip_hdr_id drop[] = { SIP_HDR_PROXY_AUTHORIZATION };
    struct sip_forward_edit e = {
        .ruri = "sip:bob@10.0.0.2:5061;transport=tls",
        .via = "SIP/2.0/TLS fe1.corp.example:5061;branch=z9hG4bKnew",
        .record_route = "<sip:fe1.corp.example;transport=tls;lr>",
        .drop_routes = 1,
        .drop_ids = drop,
        .ndrop_ids = 1,
        .extra_headers = "X-Trace: 1\r\n",
    };
    int n = sip_build_forward(buf, sizeof(buf), &req, &e);
    parse_out(n);
    assert_true(sip_str_eq_lit(out.ruri, "sip:bob@10.0.0.2:5061;transport=tls"));
    assert_true(sip_str_eq_lit(out.via.branch, "z9hG4bKnew"));
    assert_int_equal(sip_msg_count(&out, SIP_HDR_VIA), 4);
    assert_int_equal(out.max_forwards, 9);
    assert_true(sip_str_eq_lit(sip_msg_first(&out, SIP_HDR_RECORD_ROUTE)->value,
                               "<sip:fe1.corp.example;transport=tls;lr>"));
    assert_int_equal(sip_msg_count(&out, SIP_HDR_ROUTE), 2);
    const struct sip_header *r = sip_msg_first(&out, SIP_HDR_ROUTE);
    assert_true(sip_str_eq_lit(r->value, "<sip:fe2.corp.example;lr>"));
    assert_true(sip_str_eq_lit(sip_msg_next(&out, r)->value,
                               "<sip:fe3.corp.example;lr>"));
    assert_null(sip_msg_first(&out, SIP_HDR_PROXY_AUTHORIZATION));
    assert_non_null(sip_msg_find(&out, "X-Trace"));
    assert_true(sip_str_eq_lit(sip_msg_first(&out, SIP_HDR_SUBJECT)->value,
                               "folded\r\n line"));
    assert_true(sip_str_eq_lit(out.body, "hello"));
    assert_int_equal(out.content_length, 5);
    assert_true(sip_str_eq_lit(out.from_tag, "1"));
    /* untouched lines are byte-exact (compact "f:" survives) */
    assert_non_null(memmem(buf, (size_t)n, "f: Alice <sip:alice@corp.example>;tag=1\r\n", 41));

    /* dropping all three routes removes both lines */
    struct sip_forward_edit e2 = { .drop_routes = 3 };
    parse_out(sip_build_forward(buf, sizeof(buf), &req, &e2));
    assert_null(sip_msg_first(&out, SIP_HDR_ROUTE));
    assert_true(sip_str_eq_lit(out.ruri, "sip:bob@corp.example"));
    struct sip_forward_edit e3 = { .drop_routes = 4 };
    assert_int_equal(sip_build_forward(buf, sizeof(buf), &req, &e3), -1);
}

static void forward_max_forwards(void **state)
{
    struct sip_forward_edit e = { 0 };
    parse_req("MESSAGE sip:bob@corp.example SIP/2.0\r\n"
              "Via: SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
              "To: <sip:bob@corp.example>\r\n"
              "From: <sip:alice@corp.example>;tag=1\r\n"
              "Call-ID: c1\r\nCSeq: 8 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    parse_out(sip_build_forward(buf, sizeof(buf), &req, &e));
    assert_int_equal(out.max_forwards, SIP_DEFAULT_MAX_FORWARDS);
    parse_req("MESSAGE sip:bob@corp.example SIP/2.0\r\n"
              "Via: SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
              "Max-Forwards: 0\r\n"
              "To: <sip:bob@corp.example>\r\n"
              "From: <sip:alice@corp.example>;tag=1\r\n"
              "Call-ID: c1\r\nCSeq: 8 MESSAGE\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(sip_build_forward(buf, sizeof(buf), &req, &e), -1);
    struct sip_forward_edit bad = { .via = "x\r\nInjected: 1" };
    parse_req(invite);
    assert_int_equal(sip_build_forward(buf, sizeof(buf), &req, &bad), -1);
}

static void forward_response(void **state)
{
    parse_req("SIP/2.0 200 OK\r\n"
              "Via: SIP/2.0/TLS fe1.corp.example;branch=z9hG4bKa, "
              "SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
              "Record-Route: <sip:fe1.corp.example;lr>\r\n"
              "To: <sip:bob@corp.example>;tag=2\r\n"
              "From: <sip:alice@corp.example>;tag=1\r\n"
              "Call-ID: c1\r\nCSeq: 8 INVITE\r\nl: 2\r\n\r\nhi");
    int n = sip_build_forward_response(buf, sizeof(buf), &req, NULL);
    parse_out(n);
    assert_int_equal(sip_msg_count(&out, SIP_HDR_VIA), 1);
    assert_true(sip_str_eq_lit(out.via.branch, "z9hG4bK3"));
    assert_int_equal(out.status, 200);
    assert_true(sip_str_eq_lit(out.body, "hi"));
    assert_non_null(sip_msg_first(&out, SIP_HDR_RECORD_ROUTE));
    /* the only Via on its own line: the line goes */
    parse_req("SIP/2.0 180 Ringing\r\n"
              "Via: SIP/2.0/TLS fe1.corp.example;branch=z9hG4bKa\r\n"
              "Via: SIP/2.0/TLS ua.example;branch=z9hG4bK3\r\n"
              "To: <sip:bob@corp.example>;tag=2\r\n"
              "From: <sip:alice@corp.example>;tag=1\r\n"
              "Call-ID: c1\r\nCSeq: 8 INVITE\r\nContent-Length: 0\r\n\r\n");
    parse_out(sip_build_forward_response(buf, sizeof(buf), &req, NULL));
    assert_int_equal(sip_msg_count(&out, SIP_HDR_VIA), 1);
    assert_true(sip_str_eq_lit(out.via.host, "ua.example"));
    parse_req(invite);
    assert_int_equal(sip_build_forward_response(buf, sizeof(buf), &req, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(response),
        cmocka_unit_test(response_keeps_existing_tag),
        cmocka_unit_test(response_to_malformed),
        cmocka_unit_test(response_refusals),
        cmocka_unit_test(forward),
        cmocka_unit_test(forward_max_forwards),
        cmocka_unit_test(forward_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
