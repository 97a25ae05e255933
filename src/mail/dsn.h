/*
 * dsn.h - bounces: the delivery status notification sent to the sender of
 * a message some recipients of which failed for good.
 *
 * The bounce is a multipart/report (RFC 6522, formerly RFC 3462) with
 * three parts: a human explanation (text/plain), the machine-readable
 * report (message/delivery-status, RFC 3464: Reporting-MTA, Arrival-Date,
 * and per recipient Final-Recipient, Action: failed, Status (RFC 3463),
 * Remote-MTA when known, Diagnostic-Code), and the original message's
 * header section (text/rfc822-headers; the body is not returned, so a
 * bounce never carries a large or harmful attachment back).
 *
 * It comes from MAILER-DAEMON@<our name>, goes to the original envelope
 * sender, and is queued with the null sender <>, so that a bounce that
 * fails is never bounced in turn: a message with the null sender gets no
 * bounce at all (logged instead).
 */
#ifndef TN_MAIL_DSN_H
#define TN_MAIL_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "mail/spool.h"

/* At most this much of the original header section is returned; longer
 * ones are cut at a line end, and the bounce says so. */
#define DSN_HEADERS_MAX (64 * 1024)

struct dsn_recipient {
    const char *address;    /* the recipient as given in RCPT TO */
    const char *status;     /* "5.1.1"; "4.4.7" when the queue lifetime ran out;
                               NULL: from the reply's enhanced code, else
                               x.0.0 from its reply code, else 5.0.0 */
    const char *reply;      /* the next hop's reply ("550 5.1.1 ..."), or our
                               reason ("TLS is required, ..."); NULL: none */
    const char *remote_mta; /* the host that replied; NULL or "": none */
};

struct dsn_input {
    const char *reporting_mta;          /* our FQDN */
    const struct spool_message *msg;    /* the original (id, sender, arrival) */
    const struct dsn_recipient *rcpts;  /* the failed recipients, 1..SPOOL_RCPTS_MAX */
    size_t n_rcpts;
    const struct spool_data *data;      /* the original's data; NULL: no headers part */
    int64_t now;                        /* the bounce's Date:; 0: now */
};

/* Build the bounce into a malloc'ed buffer (*out, *len; CRLF lines, as a
 * message is stored in the queue).  *flags: the spool flags its envelope
 * needs (8BITMIME when the returned headers or addresses hold 8-bit
 * bytes, SMTPUTF8 when the sender's address does).  Returns 0; 1 when no
 * bounce is due because the original sender is null (logged); -1. */
int dsn_build(const struct dsn_input *in, char **out, size_t *len, unsigned *flags,
              tn_err *err);

/* Build the bounce and commit it to the spool (envelope sender <>, the
 * original sender as recipient): it is then delivered like any message.
 * Returns 0 with the bounce's id; 1 when no bounce is due; -1. */
int dsn_queue(spool *s, const struct dsn_input *in, char id[SPOOL_ID_MAX], tn_err *err);

#endif
