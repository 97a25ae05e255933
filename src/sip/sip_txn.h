/*
 * sip_txn.h - proxy transactions (RFC 3261 17 + 16): one server/client
 * transaction pair per forwarded request, owned by one worker.
 *
 * Our Via branch is "z9hG4bK-tn<worker>.<id>.<loop>" so that a response,
 * whichever worker's connection it arrives on, finds the worker and the
 * transaction it belongs to, and a request that comes back to us unchanged
 * is recognised as a loop (<loop> hashes what identifies the request).
 * Over TLS nothing is retransmitted: transactions only keep what is
 * needed to answer, cancel, acknowledge and time out.
 */
#ifndef TN_SIP_TXN_H
#define TN_SIP_TXN_H

#include "sip/sip_build.h"
#include "sip/sip_server_internal.h"

#define SIP_BRANCH_PREFIX "z9hG4bK-tn"

struct proxy_txn;

/* Forward req (already authorised and routed) to out_conn as a new
 * transaction; fwd_edit has everything but the Via, which this adds.
 * hide_inside (towards a partner): the request leaves with our Via and
 * Record-Route only; responses get the original Vias back from the
 * transaction, and our Record-Route becomes the inside one again, followed
 * by the original Record-Routes.
 * Answers the sender itself when the forward cannot be made. */
void sip_txn_forward(struct sip_worker *sw, struct conn *in, const struct sip_msg *req,
                     uint64_t out_conn, struct sip_forward_edit *fwd_edit, uint32_t loop_hash,
                     bool hide_inside);

/* CANCEL from upstream: 200 and cancel downstream, or 481. */
void sip_txn_cancel(struct sip_worker *sw, struct conn *in, const struct sip_msg *cancel);

/* ACK: true when it belonged to a non-2xx final we sent (absorbed). */
bool sip_txn_absorb_ack(struct sip_worker *sw, const struct sip_msg *ack);

/* The connection conn_id went away: transactions of this worker waiting
 * on it are answered 503 (why is the reason phrase) instead of timing out. */
void sip_txn_conn_gone(struct sip_worker *sw, uint64_t conn_id, const char *why);

/* Does req carry our own Via with this loop hash (RFC 3261 16.3 step 4)? */
bool sip_txn_is_loop(const struct sip_server *srv, const struct sip_msg *req, uint32_t loop_hash);

/* The Via value for a forward: "SIP/2.0/TLS sent-by;branch=...". */
int sip_txn_via(struct sip_worker *sw, uint64_t txn_id, uint32_t loop_hash, char *out,
                size_t len);

/* The Record-Route value for a forward: "<sip:sent-by;transport=tls;lr>",
 * or on an edge's partner side "<sip:fqdn:federation-port;...>". */
int sip_txn_record_route(const struct sip_server *srv, bool partner_side, char *out, size_t len);

#endif
