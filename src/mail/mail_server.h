/*
 * mail_server.h - the mail role of `trustnet serve`: an SMTP listener
 * (src/smtp/smtp_server.c) on event-loop workers, a committer thread that
 * makes received mail durable before it is acknowledged, and a queue
 * manager whose delivery threads send it on (src/mail/mail_queue.c).
 *
 * Started next to the SIP roles in one process (mail_server_start /
 * _reload / _stop, signals handled by the SIP server), or alone
 * (mail_server_run, which handles SIGTERM, SIGINT and SIGHUP itself).
 */
#ifndef TN_MAIL_MAIL_SERVER_H
#define TN_MAIL_MAIL_SERVER_H

#include "common/err.h"
#include "topology/topology.h"

typedef struct mail_server mail_server;

/* Run the mail role of server fqdn of topo (loaded and checked with
 * topology_load_server) in background threads; the role holds topo
 * (topology_hold) until it stops or reloads.  NULL with err when it
 * cannot start. */
mail_server *mail_server_start(struct topology *topo, const char *fqdn, tn_err *err);

/* Apply a newly loaded topology (held as above): domains, connectors,
 * routes, certificates and CAs apply to new connections and deliveries.
 * On error the old ones stay. */
int mail_server_reload(mail_server *ms, struct topology *topo, tn_err *err);

/* Stop accepting, finish commits in flight, stop the queue, free. */
void mail_server_stop(mail_server *ms);

/* The mail role alone in the foreground until SIGTERM/SIGINT; SIGHUP
 * reads topo's file again. */
int mail_server_run(struct topology *topo, const char *fqdn, tn_err *err);

#endif
