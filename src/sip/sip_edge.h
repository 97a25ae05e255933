/*
 * sip_edge.h - the edge role's side towards federation partners: a second
 * listener (federation_listen) that requires a client certificate chained
 * to one partner's root, and accepts it only as the edge of THAT partner:
 * a certificate from partner X's CA can never pass as partner Y's edge, and
 * our own servers' certificates are not trusted on this side at all.
 */
#ifndef TN_SIP_EDGE_H
#define TN_SIP_EDGE_H

#include "sip/sip_server_internal.h"

/* Open the partner listener when this server is an edge with partners;
 * nothing to do (0) otherwise. */
int sip_edge_init(struct sip_server *srv, tn_err *err);
void sip_edge_free(struct sip_server *srv);

/* A connection on the partner listener finished its handshake: find the
 * partner it is the edge of and note it in the connection's SIP state, or
 * log why not and close it. */
void sip_edge_identify(struct sip_server *srv, struct conn *c);

/* Our connection to a partner's edge is up (verified against that
 * partner's root and edge name): note the partner, reuse the connection. */
void sip_edge_connected(struct sip_server *srv, struct conn *c);

#endif
