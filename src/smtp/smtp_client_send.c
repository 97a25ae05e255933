/* smtp_client_send.c - one mail transaction on an open session: [RSET],
 * MAIL, RCPT..., DATA, the message, with or without PIPELINING (see
 * smtp_client.h). */
#include "smtp/smtp_client_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

/* A command line: "RCPT TO:<" address ">" and parameters, with CRLF. */
#define CMD_ROOM (SMTP_ADDRESS_MAX + 64)

enum rcpt_state {
    RCPT_OPEN,     /* nothing decided yet */
    RCPT_ACCEPTED, /* RCPT got 2xx: the reply after the message decides */
    RCPT_DONE,     /* results[i] is final */
};

struct txn {
    struct smtp_session *s;
    const char *const *rcpts;
    size_t n;
    struct smtp_rcpt_result *results;
    unsigned char *state; /* enum rcpt_state of each recipient */
    const struct smtp_message_source *msg;
    bool mail_ok;
    size_t accepted;
    tn_err *err;
};

/* ---- results ------------------------------------------------------------ */

static void set_result(struct smtp_rcpt_result *res, enum smtp_status st, int code,
                       const char *enhanced, const char *text)
{
    res->status = st;
    res->code = code;
    tn_strlcpy(res->enhanced, enhanced, sizeof res->enhanced);
    tn_strlcpy(res->text, text, sizeof res->text);
}

static void decide(struct txn *t, size_t i, enum smtp_status st, int code, const char *enhanced,
                   const char *text)
{
    set_result(&t->results[i], st, code, enhanced, text);
    t->state[i] = RCPT_DONE;
}

static enum smtp_status status_of(const struct smtp_reply *r)
{
    switch (smtp_reply_class(r)) {
    case 2: return SMTP_STATUS_OK;
    case 5: return SMTP_STATUS_PERMANENT;
    default: return SMTP_STATUS_TEMPORARY; /* 4xx, and 3xx where none belongs */
    }
}

static void decide_by_reply(struct txn *t, size_t i, const struct smtp_reply *r)
{
    decide(t, i, status_of(r), r->code, r->enhanced, r->text);
}

/* The reply after the message (or to DATA) decides for the accepted. */
static void settle_accepted(struct txn *t, const struct smtp_reply *r)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->state[i] == RCPT_ACCEPTED)
            decide_by_reply(t, i, r);
    t->accepted = 0;
}

/* A failure of ours or of the session: whoever is not decided is deferred,
 * with err's reason. */
static void defer_open_ones(struct txn *t, const char *enhanced)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->state[i] != RCPT_DONE)
            decide(t, i, SMTP_STATUS_TEMPORARY, 0, enhanced, t->err->msg);
    t->accepted = 0;
}

/* The connection or the dialogue broke: -1, for the caller to return. */
static int broken(struct txn *t)
{
    t->s->broken = true;
    defer_open_ones(t, "4.4.2"); /* RFC 3463: bad connection */
    return -1;
}

/* ---- I/O ------------------------------------------------------------------ */

static int read_reply(struct txn *t, struct smtp_reply *r)
{
    char peer[320];
    tn_err why;
    if (smtp_io_read_reply(&t->s->io, r, &why) < 0) {
        smtp_session_peer_text(t->s, peer, sizeof peer);
        return tn_errf(t->err, "%s: %s", peer, why.msg);
    }
    if (r->code == 421) /* the server is closing the channel */
        t->s->broken = true;
    return 0;
}

static int write_all(struct txn *t, const char *buf, size_t len)
{
    char peer[320];
    tn_err why;
    if (smtp_io_write(&t->s->io, buf, len, &why) < 0) {
        smtp_session_peer_text(t->s, peer, sizeof peer);
        return tn_errf(t->err, "%s: %s", peer, why.msg);
    }
    return 0;
}

/* ---- the data phase --------------------------------------------------------- */

/* After 354: the message (or, with nobody to send it to, an empty one as
 * RFC 2920 3.1 asks), then the reply that decides. */
static int data_phase(struct txn *t)
{
    struct smtp_reply r;
    if (!t->mail_ok || t->accepted == 0) {
        if (write_all(t, ".\r\n", 3) < 0 || read_reply(t, &r) < 0)
            return broken(t);
        return 0;
    }
    bool local_error;
    tn_err why;
    if (smtp_client_send_message(t->s, t->msg, &local_error, &why) < 0) {
        char peer[320];
        smtp_session_peer_text(t->s, peer, sizeof peer);
        if (local_error)
            tn_errf(t->err, "%s", why.msg);
        else
            tn_errf(t->err, "%s: %s", peer, why.msg);
        t->s->broken = true;
        defer_open_ones(t, local_error ? "4.3.0" : "4.4.2");
        return -1;
    }
    if (read_reply(t, &r) < 0)
        return broken(t);
    settle_accepted(t, &r);
    return 0;
}

/* ---- replies --------------------------------------------------------------- */

static int on_rset(struct txn *t, const struct smtp_reply *r)
{
    if (r->code == 250)
        return 0;
    char said[SMTP_REPLY_TEXT_MAX + 32];
    smtp_reply_describe(r, said, sizeof said);
    return tn_errf(t->err, "RSET refused: %s", said);
}

static void on_mail(struct txn *t, const struct smtp_reply *r)
{
    t->mail_ok = smtp_reply_class(r) == 2;
    if (t->mail_ok)
        return;
    for (size_t i = 0; i < t->n; i++)
        if (t->state[i] == RCPT_OPEN)
            decide_by_reply(t, i, r);
}

static void on_rcpt(struct txn *t, size_t i, const struct smtp_reply *r)
{
    if (!t->mail_ok)
        return; /* pipelined after a refused MAIL: MAIL's reply decided */
    if (smtp_reply_class(r) != 2) {
        decide_by_reply(t, i, r);
        return;
    }
    set_result(&t->results[i], SMTP_STATUS_TEMPORARY, r->code, r->enhanced,
               "accepted by RCPT, message not yet sent");
    t->state[i] = RCPT_ACCEPTED;
    t->accepted++;
}

static int on_data(struct txn *t, const struct smtp_reply *r)
{
    if (r->code == 354)
        return data_phase(t);
    if (!t->mail_ok || t->accepted == 0)
        return 0; /* refused, as it should be with nobody to send to */
    int cls = smtp_reply_class(r);
    if (cls == 4 || cls == 5) {
        settle_accepted(t, r); /* DATA refused: 4xx defers, 5xx bounces */
        return 0;
    }
    /* Anything else would let a "250" to DATA pass for a delivery. */
    tn_errf(t->err, "DATA answered with %d instead of 354", r->code);
    return broken(t);
}

/* ---- commands -------------------------------------------------------------- */

/* An address we can put between <>: printable ASCII without <>, at most
 * SMTP_ADDRESS_MAX bytes.  Anything else could end the command early or
 * smuggle another one. */
static bool address_ok(const char *a, bool may_be_empty)
{
    size_t len = a ? strnlen(a, SMTP_ADDRESS_MAX + 1) : SMTP_ADDRESS_MAX + 1;
    if (len > SMTP_ADDRESS_MAX || (len == 0 && !may_be_empty))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c < 0x20 || c >= 0x7f || c == '<' || c == '>')
            return false;
    }
    return true;
}

/* The commands of this transaction, each a CRLF line, all in buf:
 * [RSET] MAIL RCPT... DATA.  Command i is buf[off[i]..off[i+1]);
 * rcpt_of[i] is the recipient of a RCPT. */
struct commands {
    char *buf;
    size_t len, room, n;
    size_t *off;
    size_t *rcpt_of;
    bool rset;
};

static int add_command(struct commands *c, size_t rcpt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_command(struct commands *c, size_t rcpt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->buf + c->len, c->room - c->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= c->room - c->len)
        return -1;
    c->rcpt_of[c->n] = rcpt;
    c->len += (size_t)n;
    c->off[++c->n] = c->len;
    return 0;
}

static int build_commands(struct txn *t, const char *sender, struct commands *c)
{
    const struct smtp_ehlo_ext *ext = &t->s->ext;
    size_t max_cmds = t->n + 3;
    memset(c, 0, sizeof *c);
    c->room = max_cmds * CMD_ROOM;
    c->buf = malloc(c->room);
    c->off = calloc(max_cmds + 1, sizeof *c->off);
    c->rcpt_of = calloc(max_cmds, sizeof *c->rcpt_of);
    if (c->buf == NULL || c->off == NULL || c->rcpt_of == NULL)
        return tn_errf(t->err, "out of memory");
    /* After an earlier transaction the server's state is reset, whatever
     * became of it (refused recipients leave a MAIL open). */
    c->rset = t->s->transactions > 0;
    char size[32] = "";
    if (ext->size)
        tn_snprintf(size, sizeof size, " SIZE=%" PRIu64, t->msg->length);
    int rc = c->rset ? add_command(c, SIZE_MAX, "RSET\r\n") : 0;
    rc |= add_command(c, SIZE_MAX, "MAIL FROM:<%s>%s%s\r\n", sender, size,
                      ext->eightbitmime && t->msg->eight_bit ? " BODY=8BITMIME" : "");
    for (size_t i = 0; i < t->n; i++)
        if (t->state[i] == RCPT_OPEN)
            rc |= add_command(c, i, "RCPT TO:<%s>\r\n", t->rcpts[i]);
    rc |= add_command(c, SIZE_MAX, "DATA\r\n");
    return rc < 0 ? tn_errf(t->err, "SMTP commands do not fit their buffer") : 0;
}

static void free_commands(struct commands *c)
{
    free(c->buf);
    free(c->off);
    free(c->rcpt_of);
}

/* ---- the dialogue ------------------------------------------------------------ */

enum step { STEP_NEXT, STEP_STOP, STEP_FAILED };

/* The reply to command i.  STEP_STOP: nothing more to send (MAIL refused,
 * no recipient accepted); STEP_FAILED: the session failed. */
static enum step on_reply(struct txn *t, const struct commands *c, size_t i,
                          const struct smtp_reply *r)
{
    size_t mail = c->rset ? 1 : 0, data = c->n - 1;
    if (i < mail)
        return on_rset(t, r) == 0 ? STEP_NEXT : STEP_FAILED;
    if (i == mail) {
        on_mail(t, r);
        return t->mail_ok ? STEP_NEXT : STEP_STOP;
    }
    if (i < data) {
        on_rcpt(t, c->rcpt_of[i], r);
        return i + 1 == data && t->accepted == 0 ? STEP_STOP : STEP_NEXT;
    }
    return on_data(t, r) == 0 ? STEP_NEXT : STEP_FAILED;
}

/* RFC 2920: with PIPELINING the whole group goes in one write, then every
 * reply is read in order (3.1: even DATA's after all recipients were
 * refused).  Without: one command, one reply; no RCPT after a refused
 * MAIL, no DATA for nobody. */
static void dialogue(struct txn *t, const struct commands *c)
{
    bool pipelining = t->s->ext.pipelining;
    if (pipelining && write_all(t, c->buf, c->len) < 0) {
        broken(t);
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        struct smtp_reply r;
        if (!pipelining && write_all(t, c->buf + c->off[i], c->off[i + 1] - c->off[i]) < 0) {
            broken(t);
            return;
        }
        if (read_reply(t, &r) < 0) {
            broken(t);
            return;
        }
        enum step step = on_reply(t, c, i, &r);
        if (step == STEP_FAILED) {
            broken(t);
            return;
        }
        if (step == STEP_STOP && !pipelining)
            return;
    }
}

/* ---- the transaction --------------------------------------------------------- */

static void decide_all(struct txn *t, enum smtp_status st, const char *enhanced,
                       const char *text)
{
    for (size_t i = 0; i < t->n; i++)
        decide(t, i, st, 0, enhanced, text);
}

/* Refusals of our own, before a byte is sent.  False: nothing to send. */
static bool check_before_sending(struct txn *t, const char *sender)
{
    char peer[320];
    smtp_session_peer_text(t->s, peer, sizeof peer);
    if (!smtp_session_reusable(t->s)) {
        tn_errf(t->err, "the session to %s cannot be used any more", peer);
        defer_open_ones(t, "4.4.2");
        return false;
    }
    if (!address_ok(sender, true)) {
        tn_errf(t->err, "unusable sender address");
        decide_all(t, SMTP_STATUS_PERMANENT, "5.1.7", t->err->msg);
        return false;
    }
    const struct smtp_ehlo_ext *ext = &t->s->ext;
    if (ext->size && ext->size_max > 0 && t->msg->length > ext->size_max) {
        tn_errf(t->err, "message size %" PRIu64 " exceeds size limit %" PRIu64
                " of server %s", t->msg->length, ext->size_max, peer);
        decide_all(t, SMTP_STATUS_PERMANENT, "5.3.4", t->err->msg);
        return false;
    }
    size_t usable = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (address_ok(t->rcpts[i], false))
            usable++;
        else
            decide(t, i, SMTP_STATUS_PERMANENT, 0, "5.1.3", "unusable recipient address");
    }
    if (usable == 0)
        tn_errf(t->err, "no usable recipient address");
    return usable > 0;
}

/* OK if anyone got it, else TEMPORARY if anyone may still get it. */
static enum smtp_status summarize(const struct txn *t, char *buf, size_t len)
{
    size_t count[3] = {0, 0, 0}, first[3] = {t->n, t->n, t->n};
    for (size_t i = 0; i < t->n; i++) {
        enum smtp_status st = t->results[i].status;
        if (st > SMTP_STATUS_PERMANENT)
            st = SMTP_STATUS_TEMPORARY;
        if (count[st]++ == 0)
            first[st] = i;
    }
    /* The words that explain the outcome: the acceptance, else the first
     * deferral, else the first bounce. */
    size_t pick = first[SMTP_STATUS_OK] < t->n ? first[SMTP_STATUS_OK]
                  : first[SMTP_STATUS_TEMPORARY] < t->n ? first[SMTP_STATUS_TEMPORARY]
                                                        : first[SMTP_STATUS_PERMANENT];
    const struct smtp_rcpt_result *why = &t->results[pick];
    char code[8] = "";
    if (why->code != 0)
        tn_snprintf(code, sizeof code, "%d ", why->code);
    tn_snprintf(buf, len, "sent %zu, deferred %zu, bounced %zu: %s%s%s%s",
                count[SMTP_STATUS_OK], count[SMTP_STATUS_TEMPORARY],
                count[SMTP_STATUS_PERMANENT], code, why->enhanced, why->enhanced[0] ? " " : "",
                why->text);
    if (count[SMTP_STATUS_OK] > 0)
        return SMTP_STATUS_OK;
    return count[SMTP_STATUS_TEMPORARY] > 0 ? SMTP_STATUS_TEMPORARY : SMTP_STATUS_PERMANENT;
}

static void transaction(struct txn *t, const char *sender)
{
    if (!check_before_sending(t, sender))
        return;
    struct commands c;
    if (build_commands(t, sender, &c) < 0)
        defer_open_ones(t, "4.3.0");
    else
        dialogue(t, &c);
    free_commands(&c);
    t->s->transactions++;
}

enum smtp_status smtp_session_send(struct smtp_session *s, const char *sender,
                                   const char *const *rcpts, size_t n_rcpts,
                                   const struct smtp_message_source *msg,
                                   struct smtp_rcpt_result *results,
                                   struct smtp_delivery_log *log, tn_err *err)
{
    tn_err local;
    struct txn t = {.s = s, .rcpts = rcpts, .n = n_rcpts, .results = results, .msg = msg,
                    .err = err ? err : &local};
    *log = s->facts;
    smtp_delivery_log_recipients(log, rcpts, n_rcpts);
    tn_err_clear(t.err);
    if (n_rcpts == 0 || n_rcpts > SMTP_CLIENT_MAX_RCPTS ||
        (t.state = calloc(n_rcpts, sizeof *t.state)) == NULL) {
        tn_errf(t.err, "cannot send to %zu recipients in one transaction (1 to %d)", n_rcpts,
                SMTP_CLIENT_MAX_RCPTS);
        for (size_t i = 0; i < n_rcpts; i++)
            set_result(&results[i], SMTP_STATUS_TEMPORARY, 0, "4.3.0", t.err->msg);
        tn_strlcpy(log->result, t.err->msg, sizeof log->result);
        return SMTP_STATUS_TEMPORARY;
    }
    for (size_t i = 0; i < n_rcpts; i++)
        set_result(&results[i], SMTP_STATUS_TEMPORARY, 0, "", "not attempted");
    transaction(&t, sender);
    free(t.state);
    char summary[sizeof log->result];
    enum smtp_status st = summarize(&t, summary, sizeof summary);
    tn_strlcpy(log->result, summary, sizeof log->result);
    if (t.err->msg[0] == '\0')
        tn_errf(t.err, "%s", summary);
    return st;
}
