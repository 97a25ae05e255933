/*
 * mail_bounce.h - tell a sender that mail failed: a delivery status
 * notification (RFC 3464, src/mail/dsn.c) for the recipients that failed
 * for good in one attempt, queued like any message with the null sender
 * (so it is never bounced itself).  A message with the null sender gets
 * no bounce (RFC 5321 6.1), only a log line.
 */
#ifndef TN_MAIL_MAIL_BOUNCE_H
#define TN_MAIL_MAIL_BOUNCE_H

#include <stddef.h>

#include "mail/spool.h"

struct mail_server;

/* rcpts: indexes into msg's recipients (their state holds the reason). */
void mail_bounce(struct mail_server *ms, const struct spool_message *msg, const size_t *rcpts,
                 size_t n);

#endif
