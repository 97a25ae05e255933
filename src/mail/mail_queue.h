/*
 * mail_queue.h - the queue manager: sends every committed message on.
 *
 * One manager thread keeps the schedule (which message is due when) and
 * hands due messages to a pool of delivery threads.  A delivery groups a
 * message's pending recipients by next hop (mail_policy_next_hop), sends
 * each group in one SMTP transaction through src/smtp/smtp_client.c, and
 * records per recipient: delivered, failed for good (bounced with a DSN
 * to the sender), or deferred (retried with back-off: 1, 2, 4 ... minutes,
 * at most an hour apart, until mail.queue_lifetime_s, then bounced).
 * Sessions to a next hop stay open for reuse for a few seconds.
 */
#ifndef TN_MAIL_MAIL_QUEUE_H
#define TN_MAIL_MAIL_QUEUE_H

#include "common/err.h"

struct mail_server;
struct mail_queue;

/* Scan the spool and start the manager and delivery threads. */
struct mail_queue *mail_queue_start(struct mail_server *ms, tn_err *err);
/* A message was committed: schedule it now.  From any thread. */
void mail_queue_add(struct mail_queue *q, const char *id);
/* Retry every message now (trustnet mail flush). */
void mail_queue_flush(struct mail_queue *q);
/* Finish the deliveries in progress and stop the threads. */
void mail_queue_stop(struct mail_queue *q);
/* After mail_queue_stop. */
void mail_queue_free(struct mail_queue *q);
/* Messages in the queue: waiting, and being delivered now. */
size_t mail_queue_size(struct mail_queue *q);

#endif
