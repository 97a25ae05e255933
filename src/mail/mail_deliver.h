/*
 * mail_deliver.h - one delivery attempt of one queued message, on a
 * delivery thread: its pending recipients grouped by next hop, one SMTP
 * transaction per group (src/smtp/smtp_client.c, sessions kept open for
 * reuse), the outcome per recipient written to the queue, a bounce (DSN)
 * for recipients that failed for good or outlived the queue lifetime.
 */
#ifndef TN_MAIL_MAIL_DELIVER_H
#define TN_MAIL_MAIL_DELIVER_H

#include <stdint.h>

struct mail_server;
struct mail_deliverer;

/* An open session to a next hop is kept this long for the next message. */
#define MAIL_SESSION_IDLE_MS 5000

struct mail_deliverer *mail_deliverer_new(struct mail_server *ms);
void mail_deliverer_free(struct mail_deliverer *d);
/* Close sessions unused for MAIL_SESSION_IDLE_MS. */
void mail_deliverer_close_idle(struct mail_deliverer *d);

/* Try to deliver message id.  Returns when to try again (unix ms), or 0
 * when the message is done (delivered, bounced, or gone). */
int64_t mail_deliver_message(struct mail_deliverer *d, const char *id);

#endif
