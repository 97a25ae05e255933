/* Unit tests: the SIP message parser (src/sip/sip_msg.c): every method,
 * compact forms, folding, list splitting, and a negative case naming the
 * problem for each rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_msg.h"

static struct sip_msg msg;
static struct sip_parse_error perr;

#define HDRS(method) \
    "Via: SIP/2.0/TLS client.example.com:5061;branch=z9hG4bK776asdhds\r\n" \
    "Max-Forwards: 70\r\n" \
    "To: Bob <sip:bob@corp.example>\r\n" \
    "From: Alice <sip:alice@corp.example>;tag=1928301774\r\n" \
    "Call-ID: a84b4c76e66710@pc33.corp.example\r\n" \
    "CSeq: 314159 " method "\r\n"

#define REQ(method) method " sip:bob@corp.example SIP/2.0\r\n" HDRS(method) \
    "Content-Length: 0\r\n\r\n"

static int parse(const char *text)
{
    memset(&perr, 0, sizeof(perr));
    return sip_parse(&msg, text, strlen(text), &perr);
}

/* The parse must fail with status and a reason containing want. */
static void expect_error(const char *text, int status, const char *want)
{
    int rc = parse(text);
    if (rc == 0 || perr.status != status || !strstr(perr.reason, want))
        fail_msg("wanted %d \"%s\", got rc %d: %d \"%s\" for:\n%s", status,
                 want, rc, perr.status, perr.reason, text);
}

static void all_methods(void **state)
{
    static const struct {
        const char *text;
        enum sip_method m;
    } cases[] = {
        { REQ("INVITE"), SIP_INVITE },     { REQ("ACK"), SIP_ACK },
        { REQ("BYE"), SIP_BYE },           { REQ("CANCEL"), SIP_CANCEL },
        { REQ("REGISTER"), SIP_REGISTER }, { REQ("OPTIONS"), SIP_OPTIONS },
        { REQ("MESSAGE"), SIP_MESSAGE },   { REQ("SUBSCRIBE"), SIP_SUBSCRIBE },
        { REQ("NOTIFY"), SIP_NOTIFY },     { REQ("PRACK"), SIP_PRACK },
        { REQ("UPDATE"), SIP_UPDATE },     { REQ("INFO"), SIP_INFO },
        { REQ("REFER"), SIP_REFER },       { REQ("PUBLISH"), SIP_PUBLISH },
        { REQ("FOOBAR"), SIP_METHOD_OTHER },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        assert_int_equal(parse(cases[k].text), 0);
        assert_true(msg.is_request);
        assert_int_equal(msg.method, cases[k].m);
        assert_int_equal(msg.cseq_method, cases[k].m);
        assert_true(sip_str_eq(msg.method_str, msg.cseq_method_str));
    }
}

static void invite_fields(void **state)
{
    const char *text =
        "INVITE sip:bob@corp.example;transport=tls SIP/2.0\r\n" HDRS("INVITE")
        "Contact: <sip:alice@10.0.0.1:5061;transport=tls>;expires=60\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 4\r\n\r\nv=0\n";
    assert_int_equal(parse(text), 0);
    assert_true(sip_str_eq_lit(msg.ruri, "sip:bob@corp.example;transport=tls"));
    assert_true(msg.ruri_is_sip);
    assert_true(sip_str_eq_lit(msg.ruri_uri.user, "bob"));
    assert_true(sip_str_eq_lit(msg.ruri_uri.transport, "tls"));
    assert_int_equal(msg.cseq_num, 314159);
    assert_int_equal(msg.max_forwards, 70);
    assert_int_equal(msg.content_length, 4);
    assert_true(sip_str_eq_lit(msg.body, "v=0\n"));
    assert_true(sip_str_eq_lit(msg.call_id, "a84b4c76e66710@pc33.corp.example"));
    assert_true(sip_str_eq_lit(msg.from_tag, "1928301774"));
    assert_int_equal(msg.to_tag.len, 0);
    assert_true(sip_str_eq_lit(msg.via.transport, "TLS"));
    assert_true(sip_str_eq_lit(msg.via.host, "client.example.com"));
    assert_int_equal(msg.via.port, 5061);
    assert_true(sip_str_eq_lit(msg.via.branch, "z9hG4bK776asdhds"));
    assert_true(sip_str_eq_lit(msg.from.uri.user, "alice"));
    assert_true(sip_str_eq_lit(msg.to.display, "Bob"));
    const struct sip_header *c = sip_msg_first(&msg, SIP_HDR_CONTACT);
    assert_non_null(c);
    assert_true(sip_str_eq_lit(c->value,
                "<sip:alice@10.0.0.1:5061;transport=tls>;expires=60"));
    assert_non_null(sip_msg_find(&msg, "content-type"));
    assert_null(sip_msg_find(&msg, "X-Nothing"));
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_VIA), 1);
}

static void response(void **state)
{
    const char *text = "SIP/2.0 180 Ringing\r\n" HDRS("INVITE")
                       "Content-Length: 0\r\n\r\n";
    assert_int_equal(parse(text), 0);
    assert_false(msg.is_request);
    assert_int_equal(msg.status, 180);
    assert_true(sip_str_eq_lit(msg.reason, "Ringing"));
    assert_int_equal(msg.cseq_method, SIP_INVITE);
    /* empty reason phrase, with and without the space */
    assert_int_equal(parse("SIP/2.0 200 \r\n" HDRS("BYE")
                           "Content-Length: 0\r\n\r\n"), 0);
    assert_int_equal(parse("SIP/2.0 200\r\n" HDRS("BYE")
                           "Content-Length: 0\r\n\r\n"), 0);
    /* lower-case version is accepted (RFC 3261 7.1) */
    assert_int_equal(parse("sip/2.0 404 Not Found\r\n" HDRS("BYE")
                           "Content-Length: 0\r\n\r\n"), 0);
    assert_int_equal(msg.status, 404);
    expect_error("SIP/2.0 99 Low\r\n" HDRS("BYE") "Content-Length: 0\r\n\r\n",
                 400, "malformed status line");
    expect_error("SIP/2.0 700 High\r\n" HDRS("BYE") "Content-Length: 0\r\n\r\n",
                 400, "malformed status line");
    expect_error("SIP/2.0 2000 OK\r\n" HDRS("BYE") "Content-Length: 0\r\n\r\n",
                 400, "malformed status line");
    expect_error("SIP/2.0 20x OK\r\n" HDRS("BYE") "Content-Length: 0\r\n\r\n",
                 400, "malformed status line");
    expect_error("SIP/2.0 200 OK\r\n" HDRS("BYE") "\r\n", 400,
                 "missing Content-Length");
}

static void compact_forms(void **state)
{
    const char *text =
        "MESSAGE sip:bob@corp.example SIP/2.0\r\n"
        "v: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1;rport\r\n"
        "t: <sip:bob@corp.example>\r\n"
        "f: <sip:alice@corp.example>;tag=x\r\n"
        "i: abc\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "m: <sip:alice@192.0.2.1>\r\n"
        "c: text/plain\r\n"
        "e: gzip\r\n"
        "k: outbound, path\r\n"
        "s: hi\r\n"
        "o: presence\r\n"
        "u: presence\r\n"
        "r: <sip:carol@corp.example>\r\n"
        "b: <sip:alice@corp.example>\r\n"
        "x: 1800\r\n"
        "a: *;audio\r\n"
        "j: *;video\r\n"
        "d: proxy\r\n"
        "y: abc\r\n"
        "n: <https://x.example/cert>\r\n"
        "l: 2\r\n\r\nhi";
    assert_int_equal(parse(text), 0);
    static const enum sip_hdr_id ids[] = {
        SIP_HDR_VIA, SIP_HDR_TO, SIP_HDR_FROM, SIP_HDR_CALL_ID, SIP_HDR_CSEQ,
        SIP_HDR_CONTACT, SIP_HDR_CONTENT_TYPE, SIP_HDR_CONTENT_ENCODING,
        SIP_HDR_SUPPORTED, SIP_HDR_SUPPORTED, SIP_HDR_SUBJECT, SIP_HDR_EVENT,
        SIP_HDR_ALLOW_EVENTS, SIP_HDR_REFER_TO, SIP_HDR_REFERRED_BY,
        SIP_HDR_SESSION_EXPIRES, SIP_HDR_ACCEPT_CONTACT,
        SIP_HDR_REJECT_CONTACT, SIP_HDR_REQUEST_DISPOSITION,
        SIP_HDR_IDENTITY, SIP_HDR_IDENTITY_INFO, SIP_HDR_CONTENT_LENGTH,
    };
    assert_int_equal(msg.nhdrs, sizeof(ids) / sizeof(ids[0]));
    for (size_t k = 0; k < msg.nhdrs; k++)
        assert_int_equal(msg.hdrs[k].id, ids[k]);
    assert_true(msg.via.has_rport);
    assert_int_equal(msg.via.rport.len, 0);
    assert_int_equal(msg.max_forwards, -1); /* absent is accepted */
    assert_true(sip_str_eq_lit(msg.body, "hi"));
}

static void case_insensitive_names(void **state)
{
    const char *text =
        "OPTIONS sip:corp.example SIP/2.0\r\n"
        "VIA: SIP/2.0/TLS h.example;branch=z9hG4bK1\r\n"
        "tO: <sip:x@corp.example>\r\n"
        "FROM: <sip:y@corp.example>;tag=1\r\n"
        "call-id: 1\r\n"
        "cseq: 1 OPTIONS\r\n"
        "V: SIP/2.0/TLS g.example;branch=z9hG4bK2\r\n"
        "content-LENGTH : 0\r\n\r\n";
    assert_int_equal(parse(text), 0);
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_VIA), 2);
    assert_true(sip_str_eq_lit(msg.via.host, "h.example"));
}

static void folding(void **state)
{
    const char *text =
        "OPTIONS sip:corp.example SIP/2.0\r\n"
        "Via: SIP/2.0/TLS h.example\r\n ;branch=z9hG4bK1\r\n"
        "To:\r\n\t<sip:x@corp.example>\r\n"
        "From: <sip:y@corp.example>\r\n  ;tag=1\r\n"
        "Subject: a long\r\n subject\r\n"
        "Call-ID: 1\r\n"
        "CSeq: 1\r\n OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n";
    assert_int_equal(parse(text), 0);
    assert_true(sip_str_eq_lit(msg.via.branch, "z9hG4bK1"));
    assert_true(sip_str_eq_lit(msg.from_tag, "1"));
    const struct sip_header *s = sip_msg_first(&msg, SIP_HDR_SUBJECT);
    assert_true(sip_str_eq_lit(s->value, "a long\r\n subject"));
    /* the line range covers the continuation */
    assert_memory_equal(text + s->line_start, "Subject: a long\r\n subject\r\n",
                        s->line_end - s->line_start);
    expect_error("OPTIONS sip:corp.example SIP/2.0\r\n"
                 " Via: SIP/2.0/TLS h.example;branch=z9hG4bK1\r\n\r\n",
                 400, "folded line without header");
}

static void list_values(void **state)
{
    const char *text =
        "INVITE sip:bob@corp.example SIP/2.0\r\n"
        "Via: SIP/2.0/TLS a.example;branch=z9hG4bK1, SIP/2.0/TLS b.example"
        ";branch=z9hG4bK2\r\n"
        "Via: SIP/2.0/TLS c.example;branch=z9hG4bK3\r\n"
        "Route: <sip:p1.example;lr>,<sip:p2.example;lr>\r\n"
        "Contact: \"Doe, John\" <sip:j@h.example>;q=0.5,"
        " <sip:k,l@h.example;x=a>\r\n"
        "Allow: INVITE, ACK ,BYE\r\n"
        "Supported:\r\n"
        "Subject: a, b\r\n"
        "To: <sip:bob@corp.example>\r\n"
        "From: \"Smith, A\" <sip:a@corp.example>;tag=9\r\n"
        "Call-ID: 1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n";
    assert_int_equal(parse(text), 0);
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_VIA), 3);
    const struct sip_header *v1 = sip_msg_first(&msg, SIP_HDR_VIA);
    const struct sip_header *v2 = sip_msg_next(&msg, v1);
    const struct sip_header *v3 = sip_msg_next(&msg, v2);
    assert_true(sip_str_eq_lit(v2->value,
                               "SIP/2.0/TLS b.example;branch=z9hG4bK2"));
    assert_int_equal(v1->line_start, v2->line_start);
    assert_int_equal(v1->line_end, v2->line_end);
    assert_true(v3->line_start >= v2->line_end);
    assert_null(sip_msg_next(&msg, v3));
    assert_true(sip_str_eq_lit(msg.via.host, "a.example"));
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_ROUTE), 2);
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_CONTACT), 2);
    const struct sip_header *c = sip_msg_first(&msg, SIP_HDR_CONTACT);
    assert_true(sip_str_eq_lit(c->value, "\"Doe, John\" <sip:j@h.example>;q=0.5"));
    assert_true(sip_str_eq_lit(sip_msg_next(&msg, c)->value,
                               "<sip:k,l@h.example;x=a>"));
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_ALLOW), 3);
    assert_true(sip_str_eq_lit(sip_msg_next(&msg, sip_msg_first(&msg,
                SIP_HDR_ALLOW))->value, "ACK"));
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_SUPPORTED), 1);
    assert_int_equal(sip_msg_first(&msg, SIP_HDR_SUPPORTED)->value.len, 0);
    assert_int_equal(sip_msg_count(&msg, SIP_HDR_SUBJECT), 1); /* not a list */
    assert_true(sip_str_eq_lit(msg.from.display, "Smith, A"));
}

static void ipv6(void **state)
{
    const char *text =
        "REGISTER sip:[2001:db8::1]:5061 SIP/2.0\r\n"
        "Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK1;"
        "received=[2001:db8::10];rport=5062\r\n"
        "To: <sip:a@[2001:db8::1]>\r\n"
        "From: <sip:a@[2001:db8::1]>;tag=1\r\n"
        "Contact: <sip:a@[2001:db8::9]:5061;transport=tls;ob>;reg-id=1;"
        "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"\r\n"
        "Call-ID: 1\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(parse(text), 0);
    assert_true(msg.ruri_uri.host_is_ipv6);
    assert_true(sip_str_eq_lit(msg.ruri_uri.host, "2001:db8::1"));
    assert_int_equal(msg.ruri_uri.port, 5061);
    assert_true(msg.via.host_is_ipv6);
    assert_true(sip_str_eq_lit(msg.via.host, "2001:db8::9"));
    assert_true(sip_str_eq_lit(msg.via.received, "[2001:db8::10]"));
    assert_true(sip_str_eq_lit(msg.via.rport, "5062"));
    expect_error("REGISTER sip:[2001:db8::zz] SIP/2.0\r\n" HDRS("REGISTER")
                 "Content-Length: 0\r\n\r\n", 400, "malformed Request-URI");
}

static void other_uri_schemes(void **state)
{
    assert_int_equal(parse("OPTIONS urn:service:sos SIP/2.0\r\n" HDRS("OPTIONS")
                           "Content-Length: 0\r\n\r\n"), 0);
    assert_false(msg.ruri_is_sip);
    assert_int_equal(parse("OPTIONS tel:+1-201-555-0123 SIP/2.0\r\n"
                           HDRS("OPTIONS") "Content-Length: 0\r\n\r\n"), 0);
    assert_true(msg.ruri_is_sip);
    assert_int_equal(msg.ruri_uri.scheme, SIP_URI_TEL);
}

static void bad_request_line(void **state)
{
    const char *tail = HDRS("INVITE") "Content-Length: 0\r\n\r\n";
    char text[2048];
    static const struct {
        const char *line;
        int status;
        const char *why;
    } cases[] = {
        { "INVITE sip:bob@corp.example", 400, "malformed request line" },
        { "INVITE  sip:bob@corp.example SIP/2.0", 400, "malformed request line" },
        { "INVITE sip:bob@corp.example  SIP/2.0", 400, "malformed request line" },
        { "INVITE sip:bob@corp.example SIP/2.0 ", 400, "malformed request line" },
        { "INV(TE sip:bob@corp.example SIP/2.0", 400, "malformed request line" },
        { "INVITE sip:bob@corp.example HTTP/1.1", 400, "malformed request line" },
        { "INVITE sip:bob@corp.example SIP/3.0", 505, "Version Not Supported" },
        { "INVITE sip:bob@@corp.example SIP/2.0", 400, "malformed Request-URI" },
        { "INVITE sip:bob@corp.example:99999 SIP/2.0", 400, "malformed Request-URI" },
        { "INVITE sip: SIP/2.0", 400, "malformed Request-URI" },
        { "INVITE bob SIP/2.0", 400, "malformed Request-URI" },
        { "INVITE sip:bob@corp\x01.example SIP/2.0", 400, "malformed request line" },
        { "", 400, "malformed request line" },
        { "SIP/2.0", 400, "malformed status line" },
        { "SIP/2.1 200 OK", 505, "Version Not Supported" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        snprintf(text, sizeof(text), "%s\r\n%s", cases[k].line, tail);
        expect_error(text, cases[k].status, cases[k].why);
    }
}

static void missing_mandatory(void **state)
{
    static const struct {
        const char *drop;
        const char *why;
    } cases[] = {
        { "Via:", "missing Via" },       { "From:", "missing From" },
        { "To:", "missing To" },         { "Call-ID:", "missing Call-ID" },
        { "CSeq:", "missing CSeq" },
        { "Content-Length:", "missing Content-Length" },
    };
    const char *full = REQ("INVITE");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char text[2048] = "";
        const char *line = full;
        /* copy every line except the one starting with cases[k].drop */
        while (*line) {
            const char *eol = strstr(line, "\r\n") + 2;
            if (strncmp(line, cases[k].drop, strlen(cases[k].drop)) != 0)
                strncat(text, line, (size_t)(eol - line));
            line = eol;
        }
        expect_error(text, 400, cases[k].why);
        assert_true(msg.headers_ok); /* a 400 can still be built */
    }
    /* Max-Forwards is only a SHOULD: accepted and recorded absent */
    assert_int_equal(parse("OPTIONS sip:a@corp.example SIP/2.0\r\n"
                           "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
                           "To: <sip:a@corp.example>\r\nFrom: <sip:b@corp.example>;tag=1\r\n"
                           "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
                     0);
    assert_int_equal(msg.max_forwards, -1);
}

#define WITH(line) "OPTIONS sip:a@corp.example SIP/2.0\r\n" \
    "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n" \
    "To: <sip:a@corp.example>\r\nFrom: <sip:b@corp.example>;tag=1\r\n" \
    "Call-ID: x\r\n" line "\r\n\r\n"

static void cseq_rules(void **state)
{
    expect_error(WITH("CSeq: 1 INVITE\r\nContent-Length: 0"), 400,
                 "CSeq method does not match request method");
    expect_error(WITH("CSeq: 1 options\r\nContent-Length: 0"), 400,
                 "CSeq method does not match request method");
    expect_error(WITH("CSeq: x OPTIONS\r\nContent-Length: 0"), 400,
                 "malformed CSeq header");
    expect_error(WITH("CSeq: 2147483648 OPTIONS\r\nContent-Length: 0"), 400,
                 "malformed CSeq header");
    expect_error(WITH("CSeq: 99999999999999999999 OPTIONS\r\nContent-Length: 0"),
                 400, "malformed CSeq header");
    expect_error(WITH("CSeq: -1 OPTIONS\r\nContent-Length: 0"), 400,
                 "malformed CSeq header");
    expect_error(WITH("CSeq: 1OPTIONS\r\nContent-Length: 0"), 400,
                 "malformed CSeq header");
    expect_error(WITH("CSeq: 1 OPTIONS extra\r\nContent-Length: 0"), 400,
                 "malformed CSeq header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0"),
                 400, "duplicate CSeq header");
    assert_int_equal(parse(WITH("CSeq: 2147483647 OPTIONS\r\nContent-Length: 0")),
                     0);
    assert_int_equal(msg.cseq_num, 2147483647u);
    assert_int_equal(parse(WITH("CSeq: 0 OPTIONS\r\nContent-Length: 0")), 0);
}

static void numeric_headers(void **state)
{
    expect_error(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: abc\r\nContent-Length: 0"),
                 400, "malformed Max-Forwards header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: 256\r\nContent-Length: 0"),
                 400, "malformed Max-Forwards header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: 4294967366\r\n"
                      "Content-Length: 0"), 400, "malformed Max-Forwards header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: \r\nContent-Length: 0"),
                 400, "malformed Max-Forwards header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: 1\r\nMax-Forwards: 1\r\n"
                      "Content-Length: 0"), 400, "duplicate Max-Forwards header");
    assert_int_equal(parse(WITH("CSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\n"
                                "Content-Length: 0")), 0);
    assert_int_equal(msg.max_forwards, 0);
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: x"), 400,
                 "malformed Content-Length header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: -1"), 400,
                 "malformed Content-Length header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: 18446744073709551616"),
                 400, "malformed Content-Length header");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: 0\r\nl: 1"), 400,
                 "conflicting Content-Length headers");
    assert_int_equal(parse(WITH("CSeq: 1 OPTIONS\r\nContent-Length: 0\r\nl: 0")), 0);
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: 5") "abc", 400,
                 "Content-Length does not match body length");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nContent-Length: 1"), 400,
                 "Content-Length does not match body length");
}

static void bad_lines(void **state)
{
    expect_error(WITH("CSeq: 1 OPTIONS\r\nNoColonHere\r\nContent-Length: 0"),
                 400, "header without colon");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nBad Name: x\r\nContent-Length: 0"),
                 400, "header without colon");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nBa(d: x\r\nContent-Length: 0"),
                 400, "malformed header name");
    expect_error(WITH("CSeq: 1 OPTIONS\r\n: x\r\nContent-Length: 0"),
                 400, "malformed header name");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nX: a\nY: b\r\nContent-Length: 0"),
                 400, "bare LF");
    expect_error(WITH("CSeq: 1 OPTIONS\r\nX: a\rY: b\r\nContent-Length: 0"),
                 400, "bare CR");
    expect_error("OPTIONS sip:a@corp.example SIP/2.0\r\nVia: x", 400,
                 "no blank line");
    /* a NUL in the header block */
    static const char nul[] = WITH("CSeq: 1 OPTIONS\r\nX: a\0b\r\nContent-Length: 0");
    assert_int_equal(sip_parse(&msg, nul, sizeof(nul) - 1, &perr), -1);
    assert_int_equal(perr.status, 400);
    assert_non_null(strstr(perr.reason, "NUL byte"));
    /* ... but a NUL in a body is just data */
    static const char nulbody[] = WITH("CSeq: 1 OPTIONS\r\nContent-Length: 3") "a\0b";
    assert_int_equal(sip_parse(&msg, nulbody, sizeof(nulbody) - 1, &perr), 0);
    assert_int_equal(msg.body.len, 3);
}

static void bad_headers(void **state)
{
    static const struct {
        const char *line;
        const char *why;
    } cases[] = {
        { "Via: SIP/2.0/TLS h;branch=z9hG4bK2, garbage", "malformed Via header" },
        { "Via: SIP/3.0/TLS h", "malformed Via header" },
        { "Via: SIP/2.0/TLS", "malformed Via header" },
        { "Via: SIP/2.0/TLS h:0", "malformed Via header" },
        { "Via: SIP/2.0/TLS h;branch=a;branch=b", "malformed Via header" },
        { "Via: SIP/2.0/TLS h;rport=70000", "malformed Via header" },
        { "Via: SIP/2.0/TLS h;=x", "malformed Via header" },
        { "Via: SIP/2.0/TLS [::1", "malformed Via header" },
        { "Via:", "malformed Via header" },
        { "Contact: <sip:a@h", "malformed Contact header" },
        { "Contact: \"unterminated <sip:a@h>", "malformed Contact header" },
        { "Contact: *, <sip:a@h>", "malformed Contact header" },
        { "Contact: <sip:a@h>;expires=x", "malformed Contact header" },
        { "Contact: <sip:a@h>;q=2", "malformed Contact header" },
        { "Contact: <http://h>", "malformed Contact header" },
        { "Route: *", "malformed Route header" },
        { "Route: <sip:a b>", "malformed Route header" },
        { "Record-Route: <>", "malformed Record-Route header" },
        { "From: <sip:c@h>;tag=2", "duplicate From header" },
        { "To: <sip:c@h>", "duplicate To header" },
        { "Call-ID: y", "duplicate Call-ID header" },
        { "Content-Type: a/b\r\nContent-Type: a/b", "duplicate Content-Type header" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char text[2048];
        snprintf(text, sizeof(text), WITH("CSeq: 1 OPTIONS\r\n%s\r\n"
                 "Content-Length: 0"), cases[k].line);
        expect_error(text, 400, cases[k].why);
    }
    expect_error("OPTIONS sip:a@corp.example SIP/2.0\r\n"
                 "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
                 "To: <sip:a@corp.example>\r\nFrom: sip:b@corp.example;tag=1;tag=2\r\n"
                 "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                 400, "malformed From header");
    expect_error("OPTIONS sip:a@corp.example SIP/2.0\r\n"
                 "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
                 "To: <sip:a@corp.example>\r\nFrom: <sip:b@corp.example>\r\n"
                 "Call-ID: x y\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                 400, "malformed Call-ID header");
    expect_error("OPTIONS sip:a@corp.example SIP/2.0\r\n"
                 "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
                 "To: *\r\nFrom: <sip:b@corp.example>\r\n"
                 "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                 400, "malformed To header");
    /* Contact: * alone is fine */
    assert_int_equal(parse(WITH("CSeq: 1 OPTIONS\r\nContact: *\r\n"
                                "Content-Length: 0")), 0);
}

static void limits(void **state)
{
    /* too many header values: one per line and many per line */
    char *text = malloc(2 * SIP_MAX_MSG);
    assert_non_null(text);
    strcpy(text, WITH("CSeq: 1 OPTIONS"));
    text[strlen(text) - 2] = '\0'; /* drop the blank line */
    for (int k = 0; k < SIP_MAX_HEADERS; k++)
        strcat(text, "X: y\r\n");
    strcat(text, "Content-Length: 0\r\n\r\n");
    expect_error(text, 400, "too many headers");

    strcpy(text, WITH("CSeq: 1 OPTIONS\r\nAllow: A"));
    text[strlen(text) - 2] = '\0';
    text[strlen(text) - 2] = '\0';
    for (int k = 0; k < SIP_MAX_HEADERS; k++)
        strcat(text, ",A");
    strcat(text, "\r\nContent-Length: 0\r\n\r\n");
    expect_error(text, 400, "too many headers");

    /* one header line longer than SIP_MAX_LINE */
    strcpy(text, WITH("CSeq: 1 OPTIONS\r\nX: "));
    text[strlen(text) - 4] = '\0';
    size_t n = strlen(text);
    memset(text + n, 'a', SIP_MAX_LINE);
    strcpy(text + n + SIP_MAX_LINE, "\r\nContent-Length: 0\r\n\r\n");
    expect_error(text, 400, "header line too long");

    /* whole message too large */
    strcpy(text, WITH("CSeq: 1 OPTIONS\r\nContent-Length: 65500"));
    n = strlen(text);
    memset(text + n, 'b', 65500);
    assert_int_equal(sip_parse(&msg, text, n + 65500, &perr), -1);
    assert_int_equal(perr.status, 513);
    assert_string_equal(perr.reason, "Message Too Large");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_methods),
        cmocka_unit_test(invite_fields),
        cmocka_unit_test(response),
        cmocka_unit_test(compact_forms),
        cmocka_unit_test(case_insensitive_names),
        cmocka_unit_test(folding),
        cmocka_unit_test(list_values),
        cmocka_unit_test(ipv6),
        cmocka_unit_test(other_uri_schemes),
        cmocka_unit_test(bad_request_line),
        cmocka_unit_test(missing_mandatory),
        cmocka_unit_test(cseq_rules),
        cmocka_unit_test(numeric_headers),
        cmocka_unit_test(bad_lines),
        cmocka_unit_test(bad_headers),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
