/* Unit tests: bounces (src/mail/dsn.h): the multipart/report structure,
 * the delivery-status fields, the returned headers (bounded, never the
 * body), no bounce for the null sender, and queueing a bounce. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixtures.h"
#include "common/log.h"
#include "mail/dsn.h"
#include "mail/spool.h"

struct fixture {
    char dir[TEMP_DIR_MAX];
    spool *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    temp_dir_make(f->dir, "dsn");
    tn_err err;
    f->s = spool_open(f->dir, true, &err);
    if (f->s == NULL)
        fail_msg("spool_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    spool_close(f->s);
    int rc = temp_dir_remove(f->dir);
    free(f);
    return rc;
}

/* A bounce to make: the original message, queued from sender to bob and
 * carol with data and loaded back, and the input of its bounce for the
 * n failed recipients r (the test may change the input further). */
struct bounce {
    struct spool_message *m;
    struct spool_data d;
    struct dsn_input in;
};

static void bounce_for(struct bounce *b, spool *s, const char *sender, const char *data,
                       size_t len, const struct dsn_recipient *r, size_t n)
{
    static const char *const rcpts[] = {"bob@bank.test", "carol@bank.test"};
    tn_err err;
    char id[SPOOL_ID_MAX];
    struct spool_writer *w = spool_begin(s, &err);
    assert_non_null(w);
    assert_int_equal(spool_write(w, data, len, &err), 0);
    struct spool_envelope env = {.arrival = 1764259200, .sender = sender, .rcpts = rcpts,
                                 .n_rcpts = 2, .client = "192.0.2.7", .helo = "client.test"};
    assert_int_equal(spool_commit(s, w, &env, id, &err), 0);
    assert_int_equal(spool_load(s, id, &b->m, &err), 0);
    assert_int_equal(spool_open_data(s, id, &b->d, &err), 0);
    b->in = (struct dsn_input){.reporting_mta = "mail.corp.test", .msg = b->m, .rcpts = r,
                               .n_rcpts = n, .data = &b->d};
}

static void bounce_free(struct bounce *b)
{
    spool_data_close(&b->d);
    spool_message_free(b->m);
}

/* The usual failed recipient. */
static const struct dsn_recipient bob_unknown[] = {
    {.address = "bob@bank.test", .reply = "550 5.1.1 no"}};

static char *build(const struct dsn_input *in, size_t *len, unsigned *flags)
{
    char *out = NULL;
    tn_err err;
    if (dsn_build(in, &out, len, flags, &err) != 0)
        fail_msg("dsn_build: %s", err.msg);
    /* The whole bounce: NUL-free CRLF lines of at most 998 octets. */
    size_t line = 0;
    for (size_t i = 0; i < *len; i++) {
        assert_true(out[i] != '\0');
        if (out[i] == '\n') {
            assert_true(i > 0 && out[i - 1] == '\r');
            line = 0;
        } else {
            assert_true(out[i] != '\r' || (i + 1 < *len && out[i + 1] == '\n'));
            assert_true(++line <= 999); /* 998 + the CR */
        }
    }
    assert_true(*len >= 2 && out[*len - 1] == '\n');
    char *z = realloc(out, *len + 1);
    assert_non_null(z);
    z[*len] = '\0';
    return z;
}

/* The text of part n (1-based) between the boundaries, NUL-terminated in
 * a copy; NULL when there is no such part. */
static char *part(const char *msg, int n)
{
    const char *b = strstr(msg, "boundary=\"");
    assert_non_null(b);
    b += 10;
    char delim[400];
    size_t blen = (size_t)(strchr(b, '"') - b);
    snprintf(delim, sizeof delim, "\r\n--%.*s", (int)blen, b);
    const char *p = strstr(msg, delim);
    for (int i = 1; p != NULL && i < n; i++)
        p = strstr(p + 1, delim);
    if (p == NULL || strncmp(p + strlen(delim), "--", 2) == 0)
        return NULL;
    p += strlen(delim) + 2;
    const char *end = strstr(p, delim);
    assert_non_null(end);
    return strndup(p, (size_t)(end - p));
}

static const char message[] =
    "Received: from client.test ([192.0.2.7]) by mail.corp.test with ESMTPS\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@bank.test\r\n"
    "Subject: quarterly report\r\n"
    "Message-ID: <abc@example.org>\r\n"
    "\r\n"
    "SECRET BODY LINE that must never come back in a bounce\r\n";

static void report_structure(void **state)
{
    struct fixture *f = *state;
    const struct dsn_recipient r[] = {
        {.address = "bob@bank.test", .reply = "550 5.1.1 <bob@bank.test>: Recipient address "
                                               "rejected: User unknown",
         .remote_mta = "mx.bank.test"},
        {.address = "carol@bank.test", .status = "4.4.7",
         .reply = "451 4.7.0 TLS is required, but was not offered", .remote_mta = "mx2.bank.test"},
        {.address = "dave@bank.test", .reply = "554 no"},
        {.address = "erin@bank.test", .reply = "TLS is required, but was not offered by "
                                                "mx.bank.test"},
    };
    struct bounce b;
    bounce_for(&b, f->s, "alice@example.org", message, sizeof message - 1, r, 4);
    b.in.now = 1764345600;
    size_t len;
    unsigned flags = 99;
    char *out = build(&b.in, &len, &flags);
    assert_int_equal(flags, 0);

    /* top-level headers */
    assert_true(strncmp(out, "Date: Fri, 28 Nov 2025 16:00:00 +0000\r\n", 39) == 0);
    assert_non_null(strstr(out, "\r\nFrom: Mail Delivery System "
                                "<MAILER-DAEMON@mail.corp.test>\r\n"));
    assert_non_null(strstr(out, "\r\nTo: <alice@example.org>\r\n"));
    assert_non_null(strstr(out, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
    assert_non_null(strstr(out, "\r\nAuto-Submitted: auto-replied\r\n"));
    assert_non_null(strstr(out, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(out, "\r\nContent-Type: multipart/report; "
                                "report-type=delivery-status;\r\n\tboundary=\""));
    assert_non_null(strstr(out, "@mail.corp.test>\r\n"));  /* Message-ID */

    /* 1: the human part */
    char *p1 = part(out, 1);
    assert_non_null(p1);
    assert_non_null(strstr(p1, "Content-Type: text/plain; charset=us-ascii\r\n\r\n"));
    assert_non_null(strstr(p1, "<bob@bank.test>: host mx.bank.test said: 550 5.1.1"));
    assert_non_null(strstr(p1, "<carol@bank.test>: delivery time expired"));
    assert_non_null(strstr(p1, "<erin@bank.test>: TLS is required"));
    free(p1);

    /* 2: the delivery status */
    char *p2 = part(out, 2);
    assert_non_null(p2);
    assert_non_null(strstr(p2, "Content-Type: message/delivery-status\r\n\r\n"
                               "Reporting-MTA: dns; mail.corp.test\r\n"));
    assert_non_null(strstr(p2, "\r\nArrival-Date: Thu, 27 Nov 2025 16:00:00 +0000\r\n"));
    assert_non_null(strstr(p2, "\r\n\r\nFinal-Recipient: rfc822; bob@bank.test\r\n"
                               "Action: failed\r\nStatus: 5.1.1\r\n"
                               "Remote-MTA: dns; mx.bank.test\r\n"
                               "Diagnostic-Code: smtp; 550 5.1.1 <bob@bank.test>: Recipient "
                               "address rejected: User unknown\r\n"));
    assert_non_null(strstr(p2, "Final-Recipient: rfc822; carol@bank.test\r\nAction: failed\r\n"
                               "Status: 4.4.7\r\nRemote-MTA: dns; mx2.bank.test\r\n"));
    assert_non_null(strstr(p2, "Final-Recipient: rfc822; dave@bank.test\r\nAction: failed\r\n"
                               "Status: 5.0.0\r\nDiagnostic-Code: smtp; 554 no\r\n"));
    assert_non_null(strstr(p2, "Final-Recipient: rfc822; erin@bank.test\r\nAction: failed\r\n"
                               "Status: 5.0.0\r\nDiagnostic-Code: X-Trustnet; TLS is required"));
    free(p2);

    /* 3: the headers, never the body */
    char *p3 = part(out, 3);
    assert_non_null(p3);
    assert_non_null(strstr(p3, "Content-Type: text/rfc822-headers\r\n\r\nReceived: from "
                               "client.test"));
    assert_non_null(strstr(p3, "Subject: quarterly report\r\nMessage-ID: <abc@example.org>\r\n"));
    free(p3);
    assert_null(strstr(out, "SECRET BODY"));
    assert_null(part(out, 4));
    assert_true(len > 6 && memcmp(out + len - 4, "--\r\n", 4) == 0); /* closing delimiter */
    free(out);
    bounce_free(&b);
}

static void no_bounce_for_null_sender(void **state)
{
    struct fixture *f = *state;
    struct bounce b;
    bounce_for(&b, f->s, "", message, sizeof message - 1, bob_unknown, 1);
    char *out = (char *)"untouched";
    size_t len = 7;
    unsigned flags = 7;
    tn_err err;
    assert_int_equal(dsn_build(&b.in, &out, &len, &flags, &err), 1);
    assert_string_equal(out, "untouched");
    char id[SPOOL_ID_MAX];
    assert_int_equal(dsn_queue(f->s, &b.in, id, &err), 1);
    assert_string_equal(id, "");
    bounce_free(&b);
}

/* Huge, hostile headers: the copy is bounded and says it was cut; lines
 * are cut at 998 octets, bare LF becomes CRLF, NUL bytes go. */
static void headers_copy_bounded(void **state)
{
    struct fixture *f = *state;
    size_t cap = 300 * 1024, n = 0;
    char *data = malloc(cap);
    assert_non_null(data);
    n += (size_t)snprintf(data + n, cap - n, "Subject: bare LF\nX-Nul: a");
    data[n++] = '\0';
    n += (size_t)snprintf(data + n, cap - n, "b\r\nX-Long: ");
    memset(data + n, 'L', 5000);
    n += 5000;
    n += (size_t)snprintf(data + n, cap - n, "\r\n");
    while (n < 200 * 1024)
        n += (size_t)snprintf(data + n, cap - n, "X-Filler: %zu xxxxxxxxxxxxxxxxxxxxxxxx\r\n", n);
    n += (size_t)snprintf(data + n, cap - n, "\r\nBODY-MARKER\r\n");
    struct bounce b;
    bounce_for(&b, f->s, "alice@example.org", data, n, bob_unknown, 1);
    size_t len;
    unsigned flags;
    char *out = build(&b.in, &len, &flags);
    assert_true(len < DSN_HEADERS_MAX + 4096);
    assert_non_null(strstr(out, "cut after 65536 bytes"));
    assert_null(strstr(out, "BODY-MARKER"));
    char *p3 = part(out, 3);
    assert_non_null(p3);
    assert_non_null(strstr(p3, "\r\n\r\nSubject: bare LF\r\nX-Nul: ab\r\nX-Long: LLL"));
    char *longline = strstr(p3, "X-Long: ");
    assert_int_equal(strcspn(longline, "\r"), 998);
    assert_true(strlen(p3) < DSN_HEADERS_MAX + 200);
    free(p3);
    free(out);
    free(data);
    bounce_free(&b);
}

static void headers_only_and_no_headers(void **state)
{
    struct fixture *f = *state;
    const struct dsn_recipient r[] = {{.address = "bob@bank.test"}};
    const char *cases[] = {"Subject: no body and no final newline", "\r\nonly a body\r\n"};
    const char *want[] = {"\r\n\r\nSubject: no body and no final newline\r\n\r\n--",
                          "rfc822-headers\r\n\r\n\r\n--"};
    for (int i = 0; i < 2; i++) {
        struct bounce b;
        bounce_for(&b, f->s, "alice@example.org", cases[i], strlen(cases[i]), r, 1);
        size_t len;
        unsigned flags;
        char *out = build(&b.in, &len, &flags);
        char *p3 = part(out, 3);
        assert_non_null(p3);
        assert_non_null(strstr(out, want[i]));
        assert_null(strstr(out, "only a body"));
        assert_non_null(strstr(out, "<bob@bank.test>: no reason was recorded"));
        assert_non_null(strstr(out, "Status: 5.0.0\r\n"));
        free(p3);
        free(out);
        bounce_free(&b);
    }
}

/* The longest address, host and reply fit: the human line is wrapped. */
static void long_fields_wrapped(void **state)
{
    struct fixture *f = *state;
    static char addr[SPOOL_ADDR_MAX + 1], host[SPOOL_HOST_MAX + 1], reply[SPOOL_REPLY_MAX];
    memset(addr, 'a', SPOOL_ADDR_MAX);
    memset(host, 'h', SPOOL_HOST_MAX);
    memcpy(reply, "550 5.7.1 ", 10);
    memset(reply + 10, 'r', SPOOL_REPLY_MAX - 11);
    const struct dsn_recipient r[] = {{.address = addr, .reply = reply, .remote_mta = host}};
    struct bounce b;
    bounce_for(&b, f->s, "alice@example.org", message, sizeof message - 1, r, 1);
    size_t len;
    unsigned flags;
    char *out = build(&b.in, &len, &flags); /* checks every line's length */
    assert_non_null(strstr(out, "Status: 5.7.1\r\n"));
    free(out);
    static char toolong[SPOOL_REPLY_MAX + 1];
    memset(toolong, 'x', SPOOL_REPLY_MAX);
    const struct dsn_recipient bad[] = {{.address = "b@x", .reply = toolong}};
    b.in.rcpts = bad;
    char *o2;
    tn_err err;
    assert_int_equal(dsn_build(&b.in, &o2, &len, &flags, &err), -1);
    b.in.n_rcpts = 0;
    assert_int_equal(dsn_build(&b.in, &o2, &len, &flags, &err), -1);
    bounce_free(&b);
}

static void eight_bit_flags(void **state)
{
    struct fixture *f = *state;
    static const char data[] = "Subject: r\xc3\xa9sum\xc3\xa9\r\n\r\nbody\r\n";
    struct bounce b;
    bounce_for(&b, f->s, "j\xc3\xb6rg@example.org", data, sizeof data - 1, bob_unknown, 1);
    size_t len;
    unsigned flags;
    char *out = build(&b.in, &len, &flags);
    assert_int_equal(flags, SPOOL_F_8BITMIME | SPOOL_F_SMTPUTF8);
    assert_non_null(strstr(out, "Content-Type: text/rfc822-headers\r\n"
                                "Content-Transfer-Encoding: 8bit\r\n"));
    assert_non_null(strstr(out, "Content-Transfer-Encoding: 8bit\r\n\r\nThis is a MIME"));
    free(out);
    bounce_free(&b);
}

static void queued_bounce(void **state)
{
    struct fixture *f = *state;
    const struct dsn_recipient r[] = {{.address = "bob@bank.test", .reply = "550 5.1.1 no",
                                       .remote_mta = "mx.bank.test"}};
    struct bounce orig;
    bounce_for(&orig, f->s, "alice@example.org", message, sizeof message - 1, r, 1);
    char id[SPOOL_ID_MAX];
    tn_err err;
    assert_int_equal(dsn_queue(f->s, &orig.in, id, &err), 0);
    struct spool_message *b;
    assert_int_equal(spool_load(f->s, id, &b, &err), 0);
    assert_string_equal(b->sender, "");
    assert_int_equal(b->n_rcpts, 1);
    assert_string_equal(b->rcpts[0], "alice@example.org");
    assert_string_equal(b->helo, "mail.corp.test");
    assert_string_equal(b->client, "");
    struct spool_data bd;
    assert_int_equal(spool_open_data(f->s, id, &bd, &err), 0);
    char *text = malloc(bd.length + 1);
    assert_non_null(text);
    assert_int_equal(pread(bd.fd, text, bd.length, bd.offset), (ssize_t)bd.length);
    text[bd.length] = '\0';
    assert_non_null(strstr(text, "Subject: Undelivered Mail Returned to Sender\r\n"));
    assert_non_null(strstr(text, "Final-Recipient: rfc822; bob@bank.test\r\n"));
    free(text);
    spool_data_close(&bd);
    /* a bounce of the bounce is refused */
    struct dsn_input again = {.reporting_mta = "mail.corp.test", .msg = b, .rcpts = r,
                              .n_rcpts = 1, .data = NULL};
    assert_int_equal(dsn_queue(f->s, &again, id, &err), 1);
    spool_message_free(b);
    bounce_free(&orig);
}

int main(void)
{
    tn_log_set_level(TN_LOG_ERROR); /* the "no bounce" lines are INFO */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(report_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(no_bounce_for_null_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(headers_copy_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(headers_only_and_no_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(long_fields_wrapped, setup, teardown),
        cmocka_unit_test_setup_teardown(eight_bit_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_bounce, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
