/* Unit tests: the SMTP delivery client (src/smtp/smtp_client*.c) against a
 * scripted fake server on a loopback socket, run by a thread: pipelining,
 * per-recipient results, RSET between messages, HELO fallback, forced TLS
 * without STARTTLS, response injection, SIZE, message sources, and
 * hostile servers (garbage, huge replies, slowloris, hang-ups).  TLS
 * itself is proven against real peers in tests/integration/smtp_client.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "smtp/smtp_client.h"

/* ---- the scripted server ---------------------------------------------------- */

enum op {
    SAY,      /* send text */
    DRIP,     /* send text one byte every 100 ms */
    HEAR,     /* read exactly text (any number of reads) */
    HEAR_ONE, /* read exactly text in one read: one write of the client */
    HEAR_MSG, /* read the message up to and with CRLF.CRLF into data */
    PAUSE,    /* sleep 400 ms */
    HANG_UP,  /* close the connection now */
    END,
};

struct step {
    enum op op;
    const char *text;
};

#define DATA_MAX (512 * 1024)

struct fake {
    int lfd, fd;
    struct sockaddr_in addr;
    const struct step *script;
    pthread_t thread;
    char why[512];             /* the first mismatch, or "" */
    char *data;                /* what HEAR_MSG read */
    size_t data_len;
    char rest[4096];           /* what came after the script, until EOF */
    size_t rest_len;
};

static int wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 3000) == 1 ? 0 : -1;
}

static int hear(struct fake *f, const char *want, bool one_read)
{
    size_t len = strlen(want), got = 0;
    char buf[8192];
    if (one_read)
        usleep(20 * 1000); /* let a single write arrive whole */
    while (got < len) {
        if (wait_readable(f->fd) < 0)
            return snprintf(f->why, sizeof f->why, "timeout waiting for '%s'", want), -1;
        ssize_t n = recv(f->fd, buf + got, len - got + (one_read ? 1 : 0), 0);
        if (n <= 0)
            return snprintf(f->why, sizeof f->why, "EOF waiting for '%s'", want), -1;
        got += (size_t)n;
        if (one_read && got != len)
            return snprintf(f->why, sizeof f->why, "'%.*s' in %zu of %zu bytes, not one read",
                            (int)got, buf, got, len), -1;
    }
    if (memcmp(buf, want, len) != 0)
        return snprintf(f->why, sizeof f->why, "heard '%.*s', wanted '%s'", (int)len, buf,
                        want), -1;
    return 0;
}

static bool message_ended(const struct fake *f)
{
    return (f->data_len == 3 && memcmp(f->data, ".\r\n", 3) == 0) ||
           (f->data_len >= 5 && memcmp(f->data + f->data_len - 5, "\r\n.\r\n", 5) == 0);
}

/* The next message (data keeps the last one only). */
static int hear_message(struct fake *f)
{
    f->data_len = 0;
    while (!message_ended(f)) {
        if (f->data_len == DATA_MAX || wait_readable(f->fd) < 0)
            return snprintf(f->why, sizeof f->why, "no end of message"), -1;
        ssize_t n = recv(f->fd, f->data + f->data_len, DATA_MAX - f->data_len, 0);
        if (n <= 0)
            return snprintf(f->why, sizeof f->why, "EOF in the message"), -1;
        f->data_len += (size_t)n;
    }
    return 0;
}

static void say(struct fake *f, const char *text, bool drip)
{
    size_t len = strlen(text);
    for (size_t i = 0; drip && i < len; i++) {
        if (send(f->fd, text + i, 1, MSG_NOSIGNAL) != 1)
            return;
        usleep(100 * 1000);
    }
    if (!drip && send(f->fd, text, len, MSG_NOSIGNAL) != (ssize_t)len)
        snprintf(f->why, sizeof f->why, "cannot send '%s'", text);
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    if (wait_readable(f->lfd) < 0 || (f->fd = accept(f->lfd, NULL, NULL)) < 0) {
        snprintf(f->why, sizeof f->why, "no connection");
        return NULL;
    }
    for (const struct step *s = f->script; s->op != END && f->why[0] == '\0'; s++) {
        switch (s->op) {
        case SAY: say(f, s->text, false); break;
        case DRIP: say(f, s->text, true); break;
        case HEAR: hear(f, s->text, false); break;
        case HEAR_ONE: hear(f, s->text, true); break;
        case HEAR_MSG: hear_message(f); break;
        case PAUSE: usleep(400 * 1000); break;
        case HANG_UP: close(f->fd); f->fd = -1; return NULL;
        case END: break;
        }
    }
    while (f->rest_len < sizeof f->rest && wait_readable(f->fd) == 0) {
        ssize_t n = recv(f->fd, f->rest + f->rest_len, sizeof f->rest - f->rest_len, 0);
        if (n <= 0)
            break;
        f->rest_len += (size_t)n;
    }
    close(f->fd);
    f->fd = -1;
    return NULL;
}

static struct fake *fake_start(const struct step *script)
{
    struct fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->data = malloc(DATA_MAX);
    assert_non_null(f->data);
    f->script = script;
    f->addr.sin_family = AF_INET;
    f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof f->addr;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&f->addr, len), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&f->addr, &len), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
    return f;
}

/* Wait for the server to finish its script; it must have had no mismatch. */
static void fake_finish(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
    if (f->why[0] != '\0')
        fail_msg("fake server: %s", f->why);
    f->rest[f->rest_len < sizeof f->rest ? f->rest_len : sizeof f->rest - 1] = '\0';
    f->data[f->data_len < DATA_MAX ? f->data_len : DATA_MAX - 1] = '\0';
}

static void fake_free(struct fake *f)
{
    free(f->data);
    free(f);
}

/* ---- the client side ------------------------------------------------------------ */

static tls_config *unused_tls; /* forced policies need one; no handshake here */

static struct smtp_hop hop_for(const struct fake *f, enum smtp_tls_policy policy)
{
    struct smtp_hop hop;
    memset(&hop, 0, sizeof hop);
    memcpy(&hop.addr, &f->addr, sizeof f->addr);
    hop.addrlen = sizeof f->addr;
    hop.host = "fake.test";
    hop.helo_name = "client.test";
    hop.policy = policy;
    hop.tls = unused_tls;
    hop.expect.name = "fake.test";
    hop.timeout_ms = 2000;
    return hop;
}

static struct smtp_session *open_ok(struct smtp_hop *hop, struct smtp_delivery_log *log)
{
    struct smtp_session *s = NULL;
    tn_err err;
    enum smtp_status st = smtp_session_open(hop, &s, log, &err);
    if (st != SMTP_STATUS_OK)
        fail_msg("open: %d %s", st, err.msg);
    return s;
}

/* One test's conversation: the fake server playing a script, the hop to
 * it, and (once opened) the client session with its log. */
struct talk {
    struct fake *f;
    struct smtp_hop hop;
    struct smtp_delivery_log log;
    struct smtp_session *s;
    tn_err err;
};

/* Start the server on script and aim a hop with policy at it. */
static void talk_start(struct talk *t, const struct step *script, enum smtp_tls_policy policy)
{
    memset(t, 0, sizeof *t);
    t->f = fake_start(script);
    t->hop = hop_for(t->f, policy);
}

/* The same with opportunistic TLS, and the session opened (it must open). */
static void talk_open(struct talk *t, const struct step *script)
{
    talk_start(t, script, SMTP_TLS_OPPORTUNISTIC);
    t->s = open_ok(&t->hop, &t->log);
}

static enum smtp_status talk_send_source(struct talk *t, const char *sender,
                                         const char *const *rcpts, size_t n,
                                         const struct smtp_message_source *m,
                                         struct smtp_rcpt_result *res)
{
    return smtp_session_send(t->s, sender, rcpts, n, m, res, &t->log, &t->err);
}

/* Send text, a message in memory, from sender to the first n of rcpts. */
static enum smtp_status talk_send(struct talk *t, const char *sender, const char *const *rcpts,
                                  size_t n, const char *text, struct smtp_rcpt_result *res)
{
    struct smtp_message_source m = {.data = text, .length = strlen(text)};
    return talk_send_source(t, sender, rcpts, n, &m, res);
}

/* Close the session and wait for the server, which must have heard its
 * script to the letter; then t->f->data and t->f->rest may be checked
 * before talk_free. */
static void talk_close(struct talk *t)
{
    smtp_session_close(t->s);
    fake_finish(t->f);
}

static void talk_free(struct talk *t)
{
    fake_free(t->f);
}

/* A file already unlinked: closing fd removes it. */
static int unlinked_temp_file(void)
{
    char path[] = "/tmp/test_smtp_client.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

#define GREET {SAY, "220 fake.test ESMTP\r\n"}
#define EHLO {HEAR, "EHLO client.test\r\n"}
#define QUIT {HEAR, "QUIT\r\n"}, {SAY, "221 bye\r\n"}

static const char *const two[] = {"a@d.test", "b@d.test"};

static void pipelined_delivery(void **state)
{
    static const struct step script[] = {
        GREET, EHLO,
        {SAY, "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
              "250 ENHANCEDSTATUSCODES\r\n"},
        {HEAR_ONE, "MAIL FROM:<s@c.test> SIZE=24 BODY=8BITMIME\r\nRCPT TO:<a@d.test>\r\n"
                   "RCPT TO:<b@d.test>\r\nDATA\r\n"},
        {SAY, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 <b@d.test>: unknown\r\n354 go\r\n"},
        {HEAR_MSG, NULL},
        {SAY, "250 2.0.0 Ok: queued as 1\r\n"},
        QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    assert_string_equal(t.log.verdict, "plaintext: STARTTLS not offered");
    assert_true(smtp_session_extensions(t.s)->pipelining);
    assert_false(smtp_session_tls(t.s));
    const char *text = "Subject: x\n\n.dot\nline\r\n\xe9";
    struct smtp_message_source m = {.data = text, .length = strlen(text), .eight_bit = true};
    struct smtp_rcpt_result res[2];
    assert_int_equal(talk_send_source(&t, "s@c.test", two, 2, &m, res), SMTP_STATUS_OK);
    assert_int_equal(res[0].status, SMTP_STATUS_OK);
    assert_int_equal(res[0].code, 250);
    assert_string_equal(res[0].enhanced, "2.0.0");
    assert_string_equal(res[0].text, "Ok: queued as 1");
    assert_int_equal(res[1].status, SMTP_STATUS_PERMANENT);
    assert_int_equal(res[1].code, 550);
    assert_string_equal(res[1].enhanced, "5.1.1");
    assert_true(smtp_session_reusable(t.s));
    char line[SMTP_LOG_LINE_MAX];
    smtp_delivery_log_format(&t.log, line, sizeof line);
    assert_string_equal(strstr(line, " policy="),
                        " policy=\"opportunistic\" tls=none cipher=- group=- verdict=\"plaintext: "
                        "STARTTLS not offered\" result=\"sent 1, deferred 0, bounced 1: 250 "
                        "2.0.0 Ok: queued as 1\"");
    assert_memory_equal(line, "domain=d.test relay=fake.test[127.0.0.1:", 40);
    talk_close(&t);
    assert_string_equal(t.f->data, "Subject: x\r\n\r\n..dot\r\nline\r\n\xe9\r\n.\r\n");
    talk_free(&t);
}

/* The second message on a session starts with RSET, in the same write. */
static void reuse_with_rset(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "250-fake.test\r\n250 PIPELINING\r\n"},
        {HEAR_ONE, "MAIL FROM:<>\r\nRCPT TO:<a@d.test>\r\nDATA\r\n"},
        {SAY, "250 ok\r\n250 ok\r\n354 go\r\n"}, {HEAR_MSG, NULL}, {SAY, "250 one\r\n"},
        {HEAR_ONE, "RSET\r\nMAIL FROM:<>\r\nRCPT TO:<a@d.test>\r\nDATA\r\n"},
        {SAY, "250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n"}, {HEAR_MSG, NULL},
        {SAY, "250 two\r\n"}, QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send(&t, "", two, 1, "hi\r\n", res), SMTP_STATUS_OK);
    assert_string_equal(res[0].text, "one");
    assert_true(smtp_session_reusable(t.s));
    assert_int_equal(talk_send(&t, "", two, 1, "hi\r\n", res), SMTP_STATUS_OK);
    assert_string_equal(res[0].text, "two");
    talk_close(&t);
    talk_free(&t);
}

/* Without PIPELINING: one command per write; no DATA when nobody is left. */
static void step_by_step_without_pipelining(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "250 fake.test\r\n"},
        {HEAR_ONE, "MAIL FROM:<s@c.test>\r\n"}, {SAY, "250 ok\r\n"},
        {HEAR_ONE, "RCPT TO:<a@d.test>\r\n"}, {SAY, "550 no\r\n"},
        {HEAR_ONE, "RCPT TO:<b@d.test>\r\n"}, {SAY, "452 4.5.3 too many\r\n"},
        QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    struct smtp_rcpt_result res[2];
    assert_int_equal(talk_send(&t, "s@c.test", two, 2, "hi\r\n", res), SMTP_STATUS_TEMPORARY);
    assert_int_equal(res[0].status, SMTP_STATUS_PERMANENT);
    assert_int_equal(res[1].status, SMTP_STATUS_TEMPORARY);
    assert_int_equal(res[1].code, 452);
    assert_string_equal(t.log.result, "sent 0, deferred 1, bounced 1: 452 4.5.3 too many");
    talk_close(&t);
    talk_free(&t);
}

static void helo_fallback_in_plaintext(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "502 5.5.1 what is EHLO\r\n"},
        {HEAR, "HELO client.test\r\n"}, {SAY, "250 fake.test\r\n"},
        {HEAR_ONE, "MAIL FROM:<s@c.test>\r\n"}, {SAY, "250 ok\r\n"},
        {HEAR_ONE, "RCPT TO:<a@d.test>\r\n"}, {SAY, "250 ok\r\n"},
        {HEAR_ONE, "DATA\r\n"}, {SAY, "354 go\r\n"}, {HEAR_MSG, NULL}, {SAY, "250 ok\r\n"},
        QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send(&t, "s@c.test", two, 1, "hi\r\n", res), SMTP_STATUS_OK);
    talk_close(&t);
    talk_free(&t);
}

/* open must fail, temporarily (never PERMANENT: another MX or a later try
 * may deliver), with a reason containing want; the server must hear
 * nothing more after its script (rest), in particular no MAIL. */
static void expect_open_failure(const struct step *script, enum smtp_tls_policy policy,
                                const char *want)
{
    struct talk t;
    talk_start(&t, script, policy);
    t.hop.timeout_ms = 300;
    t.s = (struct smtp_session *)&t.log; /* must become NULL */
    assert_int_equal(smtp_session_open(&t.hop, &t.s, &t.log, &t.err), SMTP_STATUS_TEMPORARY);
    assert_null(t.s);
    if (strstr(t.err.msg, want) == NULL)
        fail_msg("wanted '%s' in '%s'", want, t.err.msg);
    assert_string_equal(t.log.result, t.err.msg);
    fake_finish(t.f);
    assert_string_equal(t.f->rest, "");
    talk_free(&t);
}

static void forced_tls_not_offered(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "250-fake.test\r\n250 PIPELINING\r\n"}, {END, NULL}};
    expect_open_failure(script, SMTP_TLS_CONNECTOR,
                        "TLS is required, but was not offered by host fake.test[127.0.0.1:");
    expect_open_failure(script, SMTP_TLS_INTERNAL,
                        "TLS is required, but was not offered by host fake.test[127.0.0.1:");
}

static void forced_tls_refused(void **state)
{
    static const struct step no_ehlo[] = {GREET, EHLO, {SAY, "502 no EHLO here\r\n"}, {END, NULL}};
    expect_open_failure(no_ehlo, SMTP_TLS_CONNECTOR,
                        "TLS is required, but host fake.test[127.0.0.1:");
    static const struct step refused[] = {
        GREET, EHLO, {SAY, "250-fake.test\r\n250 STARTTLS\r\n"}, {HEAR, "STARTTLS\r\n"},
        {SAY, "454 4.7.0 TLS not available\r\n"}, {END, NULL}};
    expect_open_failure(refused, SMTP_TLS_CONNECTOR,
                        "refused STARTTLS: 454 4.7.0 TLS not available");
}

static void opportunistic_starttls_refused_goes_plain(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "250-fake.test\r\n250 STARTTLS\r\n"}, {HEAR, "STARTTLS\r\n"},
        {SAY, "454 4.7.0 TLS not available\r\n"}, QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    assert_string_equal(t.log.verdict,
                        "plaintext: STARTTLS refused: 454 4.7.0 TLS not available");
    talk_close(&t);
    talk_free(&t);
}

static void response_injection(void **state)
{
    static const struct step script[] = {
        GREET, EHLO, {SAY, "250-fake.test\r\n250 STARTTLS\r\n"}, {HEAR, "STARTTLS\r\n"},
        {SAY, "220 2.0.0 Ready to start TLS\r\n250 injected\r\n"}, {END, NULL}};
    expect_open_failure(script, SMTP_TLS_OPPORTUNISTIC,
                        "(response injection): connection dropped");
    expect_open_failure(script, SMTP_TLS_CONNECTOR, "(response injection): connection dropped");
}

/* The server's first (and only) step, and the reason open fails with. */
static void hostile_greetings(void **state)
{
    static const struct {
        struct step greeting;
        const char *want;
    } cases[] = {
        {{SAY, "421 4.3.2 busy\r\n"}, "refused to talk to us: 421 4.3.2 busy"},
        {{SAY, "554 5.7.1 go away\r\n"}, "refused to talk to us: 554 5.7.1 go away"},
        {{SAY, "HTTP/1.1 400 Bad Request\r\n"}, "does not start with a reply code"},
        {{DRIP, "220 slow\r\n"}, "timed out after 300 ms"},
        {{HANG_UP, NULL}, "server closed the connection"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct step script[] = {cases[i].greeting, {END, NULL}};
        expect_open_failure(script, SMTP_TLS_OPPORTUNISTIC, cases[i].want);
    }
}

static void huge_ehlo_reply(void **state)
{
    static char reply[71 * 9 + 1];
    reply[0] = '\0';
    for (int i = 0; i < 70; i++)
        strcat(reply, "250-abc\r\n");
    strcat(reply, "250 end\r\n");
    static const struct step script[] = {GREET, EHLO, {SAY, reply}, {END, NULL}};
    expect_open_failure(script, SMTP_TLS_OPPORTUNISTIC, "more than 64 lines");
}

static void bad_hops(void **state)
{
    struct fake f;
    memset(&f, 0, sizeof f);
    f.addr.sin_family = AF_INET;
    struct smtp_delivery_log log;
    struct smtp_session *s;
    tn_err err;
    struct smtp_hop hop = hop_for(&f, SMTP_TLS_INTERNAL);
    hop.expect.rules = TLS_NAME_WILDCARD;
    assert_int_equal(smtp_session_open(&hop, &s, &log, &err), SMTP_STATUS_TEMPORARY);
    assert_non_null(strstr(err.msg, "needs an exact expected name"));
    hop = hop_for(&f, SMTP_TLS_CONNECTOR);
    hop.plaintext_retry = true;
    assert_int_equal(smtp_session_open(&hop, &s, &log, &err), SMTP_STATUS_TEMPORARY);
    assert_non_null(strstr(err.msg, "never falls back to plaintext"));
    hop = hop_for(&f, SMTP_TLS_OPPORTUNISTIC);
    hop.helo_name = "bad name\r\nMAIL";
    assert_int_equal(smtp_session_open(&hop, &s, &log, &err), SMTP_STATUS_TEMPORARY);
    assert_non_null(strstr(err.msg, "unusable HELO name"));
}

/* A session on which a test runs one transaction: greeting, EHLO (with
 * PIPELINING and SIZE 100), then the rest of the script. */
#define PIPELINED GREET, EHLO, {SAY, "250-fake.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n"}

static void size_over_limit_sends_nothing(void **state)
{
    static const struct step script[] = {PIPELINED, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    struct smtp_rcpt_result res[2];
    assert_int_equal(talk_send(&t, "s@c.test", two, 2, big, res), SMTP_STATUS_PERMANENT);
    assert_int_equal(res[1].status, SMTP_STATUS_PERMANENT);
    assert_string_equal(res[1].enhanced, "5.3.4");
    assert_non_null(strstr(res[1].text, "message size 200 exceeds size limit 100 of server fake.test"));
    talk_close(&t);
    assert_string_equal(t.f->rest, "QUIT\r\n"); /* and no MAIL */
    talk_free(&t);
}

static void bad_addresses_never_reach_the_wire(void **state)
{
    static const struct step script[] = {
        PIPELINED, {HEAR_ONE, "MAIL FROM:<s@c.test> SIZE=4\r\nRCPT TO:<b@d.test>\r\nDATA\r\n"},
        {SAY, "250 ok\r\n250 ok\r\n354 go\r\n"}, {HEAR_MSG, NULL}, {SAY, "250 ok\r\n"},
        {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    struct smtp_rcpt_result res[3];
    const char *const bad_sender[] = {"a@d.test"};
    assert_int_equal(talk_send(&t, "s@c.test>\r\nRCPT TO:<x@y", bad_sender, 1, "hi\r\n", res),
                     SMTP_STATUS_PERMANENT);
    assert_string_equal(res[0].enhanced, "5.1.7");
    const char *const rcpts[] = {"a@d.test> NOTIFY=NEVER", "b@d.test", "c@d\r\n.test"};
    assert_int_equal(talk_send(&t, "s@c.test", rcpts, 3, "hi\r\n", res), SMTP_STATUS_OK);
    assert_int_equal(res[0].status, SMTP_STATUS_PERMANENT);
    assert_string_equal(res[0].enhanced, "5.1.3");
    assert_int_equal(res[1].status, SMTP_STATUS_OK);
    assert_int_equal(res[2].status, SMTP_STATUS_PERMANENT);
    talk_close(&t);
    talk_free(&t);
}

/* RFC 2920 3.1: DATA accepted although no recipient was: an empty message. */
static void pipelined_nobody_accepted(void **state)
{
    static const struct step script[] = {
        PIPELINED, {HEAR_ONE, "MAIL FROM:<s@c.test> SIZE=4\r\nRCPT TO:<a@d.test>\r\nDATA\r\n"},
        {SAY, "250 ok\r\n550 5.1.1 no\r\n354 go anyway\r\n"}, {HEAR, ".\r\n"},
        {SAY, "554 no valid recipients\r\n"}, QUIT, {END, NULL}};
    struct talk t;
    talk_open(&t, script);
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send(&t, "s@c.test", two, 1, "hi\r\n", res), SMTP_STATUS_PERMANENT);
    assert_int_equal(res[0].code, 550);
    assert_true(smtp_session_reusable(t.s));
    talk_close(&t);
    talk_free(&t);
}

/* One transaction on a pipelining session whose server answers with
 * replies; every recipient must end with status want and text. */
static void expect_transaction(const char *replies, const struct step *after,
                               enum smtp_status want, const char *text, bool reusable)
{
    struct step script[] = {
        PIPELINED, {HEAR_ONE, "MAIL FROM:<s@c.test> SIZE=4\r\nRCPT TO:<a@d.test>\r\n"
                              "RCPT TO:<b@d.test>\r\nDATA\r\n"},
        {SAY, replies}, after[0], after[1], after[2], {END, NULL}};
    struct talk t;
    talk_start(&t, script, SMTP_TLS_OPPORTUNISTIC);
    t.hop.timeout_ms = 300;
    t.s = open_ok(&t.hop, &t.log);
    struct smtp_rcpt_result res[2];
    assert_int_equal(talk_send(&t, "s@c.test", two, 2, "hi\r\n", res), want);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(res[i].status, want);
        if (strstr(res[i].text, text) == NULL)
            fail_msg("wanted '%s' in '%s'", text, res[i].text);
    }
    assert_int_equal(smtp_session_reusable(t.s), reusable);
    talk_close(&t);
    talk_free(&t);
}

static const struct step nothing_more[] = {{END, NULL}, {END, NULL}, {END, NULL}};
static const struct step quit[] = {QUIT, {END, NULL}};

static void transaction_failures(void **state)
{
    expect_transaction("550 5.7.1 sender refused\r\n503 no\r\n503 no\r\n503 no\r\n", quit,
                       SMTP_STATUS_PERMANENT, "sender refused", true);
    expect_transaction("451 4.3.0 later\r\n503 no\r\n503 no\r\n503 no\r\n", quit,
                       SMTP_STATUS_TEMPORARY, "later", true);
    expect_transaction("250 ok\r\n250 ok\r\n250 ok\r\n554 5.5.0 no data for you\r\n", quit,
                       SMTP_STATUS_PERMANENT, "no data for you", true);
    expect_transaction("250 ok\r\n250 ok\r\n250 ok\r\n250 sure\r\n", nothing_more,
                       SMTP_STATUS_TEMPORARY, "DATA answered with 250 instead of 354", false);
    /* Hang-up and silence after the message: deferred, never "sent". */
    static const struct step hang_up[] = {{HEAR_MSG, NULL}, {HANG_UP, NULL}, {END, NULL}};
    expect_transaction("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", hang_up,
                       SMTP_STATUS_TEMPORARY, "server closed the connection", false);
    static const struct step silence[] = {{HEAR_MSG, NULL}, {PAUSE, NULL}, {END, NULL}};
    expect_transaction("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", silence,
                       SMTP_STATUS_TEMPORARY, "timed out after 300 ms", false);
    static const struct step closing[] = {{HEAR_MSG, NULL}, {SAY, "421 4.4.2 bye\r\n"},
                                          {END, NULL}};
    expect_transaction("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", closing,
                       SMTP_STATUS_TEMPORARY, "bye", false);
}

/* The start of a one-recipient transaction on a session with PIPELINING
 * (and no SIZE). */
#define ONE_RCPT_TO_DATA                                                         \
    GREET, EHLO, {SAY, "250-fake.test\r\n250 PIPELINING\r\n"},                   \
        {HEAR_ONE, "MAIL FROM:<s@c.test>\r\nRCPT TO:<a@d.test>\r\nDATA\r\n"},    \
        {SAY, "250 ok\r\n250 ok\r\n354 go\r\n"}

/* A spool file: the message at an offset, read in chunks (the 64 KiB
 * chunk borders fall inside lines that need stuffing). */
static void message_from_a_file(void **state)
{
    static const struct step script[] = {
        ONE_RCPT_TO_DATA, {HEAR_MSG, NULL}, {SAY, "250 ok\r\n"}, QUIT, {END, NULL}};
    enum { LINES = 1500, BODY = LINES * 100 };
    int fd = unlinked_temp_file();
    char *body = malloc(BODY);
    assert_non_null(body);
    for (size_t i = 0; i < BODY; i++) /* lines ".aaa...a\n" */
        body[i] = i % 100 == 99 ? '\n' : i % 100 == 0 ? '.' : 'a';
    assert_int_equal(write(fd, "junk before", 11), 11);
    assert_int_equal(write(fd, body, BODY), BODY);
    struct talk t;
    talk_open(&t, script);
    struct smtp_message_source m = {.fd = fd, .offset = 11, .length = BODY};
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send_source(&t, "s@c.test", two, 1, &m, res), SMTP_STATUS_OK);
    talk_close(&t);
    assert_int_equal(t.f->data_len, LINES * 102 + 3);
    for (size_t l = 0; l < LINES; l++) {
        const char *line = t.f->data + l * 102;
        assert_memory_equal(line, "..aaaa", 6);
        assert_memory_equal(line + 100, "\r\n", 2);
    }
    assert_string_equal(t.f->data + LINES * 102, ".\r\n");
    free(body);
    close(fd);
    talk_free(&t);
}

/* A spool file shorter than the message: deferred as our failure, and the
 * server never gets an end marker that would make it accept half a message. */
static void short_file_never_ends_the_data(void **state)
{
    static const struct step script[] = {ONE_RCPT_TO_DATA, {END, NULL}};
    int fd = unlinked_temp_file();
    assert_int_equal(write(fd, "Subject: short\r\n", 16), 16);
    struct talk t;
    talk_open(&t, script);
    struct smtp_message_source m = {.fd = fd, .length = 100};
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send_source(&t, "s@c.test", two, 1, &m, res), SMTP_STATUS_TEMPORARY);
    assert_string_equal(res[0].enhanced, "4.3.0");
    assert_non_null(strstr(res[0].text, "file shorter than the message"));
    assert_false(smtp_session_reusable(t.s));
    talk_close(&t);
    assert_string_equal(t.f->rest, "");
    close(fd);
    talk_free(&t);
}

/* A server that gives up on an idle session: not reusable. */
static void idle_session_closed_by_server(void **state)
{
    static const struct step script[] = {
        PIPELINED, {SAY, "421 4.4.2 idle timeout\r\n"}, {HANG_UP, NULL}};
    struct talk t;
    talk_open(&t, script);
    fake_finish(t.f);
    assert_false(smtp_session_reusable(t.s));
    struct smtp_rcpt_result res[1];
    assert_int_equal(talk_send(&t, "s@c.test", two, 1, "hi\r\n", res), SMTP_STATUS_TEMPORARY);
    assert_non_null(strstr(t.err.msg, "cannot be used any more"));
    smtp_session_close(t.s);
    talk_free(&t);
}
static int setup(void **state)
{
    tn_err err;
    unused_tls = tls_config_new(TLS_SIDE_CLIENT, &err);
    return unused_tls ? 0 : -1;
}

static int teardown(void **state)
{
    tls_config_free(unused_tls);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipelined_delivery),
        cmocka_unit_test(reuse_with_rset),
        cmocka_unit_test(step_by_step_without_pipelining),
        cmocka_unit_test(helo_fallback_in_plaintext),
        cmocka_unit_test(forced_tls_not_offered),
        cmocka_unit_test(forced_tls_refused),
        cmocka_unit_test(opportunistic_starttls_refused_goes_plain),
        cmocka_unit_test(response_injection),
        cmocka_unit_test(hostile_greetings),
        cmocka_unit_test(huge_ehlo_reply),
        cmocka_unit_test(bad_hops),
        cmocka_unit_test(size_over_limit_sends_nothing),
        cmocka_unit_test(bad_addresses_never_reach_the_wire),
        cmocka_unit_test(pipelined_nobody_accepted),
        cmocka_unit_test(transaction_failures),
        cmocka_unit_test(message_from_a_file),
        cmocka_unit_test(short_file_never_ends_the_data),
        cmocka_unit_test(idle_session_closed_by_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
