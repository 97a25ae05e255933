/* mail_bounce.c - queue a bounce for failed recipients (see mail_bounce.h). */
#include "mail/mail_bounce.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mail/dsn.h"
#include "mail/mail_queue.h"
#include "mail/mail_server_internal.h"

/* "4.4.7 delivery time expired; ..." from settle(): the expiry's status. */
static const char *status_of(const char *reply)
{
    return strncmp(reply, "4.4.7 ", 6) == 0 ? "4.4.7" : NULL;
}

void mail_bounce(struct mail_server *ms, const struct spool_message *msg, const size_t *rcpts,
                 size_t n)
{
    struct dsn_recipient *failed = calloc(n, sizeof *failed);
    if (failed == NULL) {
        tn_log(TN_LOG_ERROR, "queue", "%s: out of memory: no bounce sent", msg->id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct spool_rcpt_state *r = &msg->state.rcpts[rcpts[i]];
        failed[i] = (struct dsn_recipient){.address = msg->rcpts[rcpts[i]],
                                           .status = status_of(r->reply),
                                           .reply = r->reply,
                                           .remote_mta = r->remote_mta};
    }
    struct spool_data data;
    tn_err err;
    bool have_data = spool_open_data(ms->spool, msg->id, &data, &err) == 0;
    struct dsn_input in = {.reporting_mta = ms->fqdn, .msg = msg, .rcpts = failed,
                           .n_rcpts = n, .data = have_data ? &data : NULL};
    char id[SPOOL_ID_MAX];
    int rc = dsn_queue(ms->spool, &in, id, &err);
    if (rc < 0)
        tn_log(TN_LOG_ERROR, "queue", "%s: bounce to <%s> not queued: %s", msg->id,
               msg->sender, err.msg);
    else if (rc == 0) {
        tn_log(TN_LOG_INFO, "queue", "%s: %zu recipient(s) failed: bounce %s queued to <%s>",
               msg->id, n, id, msg->sender);
        mail_queue_add(ms->queue, id);
    }
    if (have_data)
        spool_data_close(&data);
    free(failed);
}
