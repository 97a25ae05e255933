/*
 * sip_edge.h - the edge role's side towards federation partners: a second
 * listener (federation_listen) that requires a client certificate chained
 * to one partner's root, and accepts it only as the edge of THAT partner:
 * a certificate from partner X's CA can never pass as partner Y's edge, and
 * our own servers' certificates are not trusted on this side at all.
 */
#ifndef TN_SIP_EDGE_H
#define TN_SIP_EDGE_H

#include <stdbool.h>

#include "sip/sip_server_internal.h"

/* What the edge trusts on the partner side, all built from one topology:
 * each partner's root, the listener's configuration (a client certificate
 * chained to one of those roots is required) and, per partner, a client
 * configuration that trusts nothing but that partner's root.  A reload
 * builds a new one and swaps it in whole; connections keep the one they
 * started with, so the old one lives until exit. */
struct sip_edge_trust {
    const struct topology *topo; /* its partners, in the order below */
    size_t n;
    X509 **roots;
    tls_config **client_tls;
    tls_trust *listen_trust;
    tls_config *listen_tls;
};

/* Open the partner listener when this server is an edge with partners;
 * nothing to do (0) otherwise. */
int sip_edge_init(struct sip_server *srv, tn_err *err);
void sip_edge_free(struct sip_server *srv);

/* On reload (new certificate, new topology, changed partner root files):
 * build the partner side again from srv's current configuration and
 * topology and swap it in; *old gets the previous one for the caller to
 * free at exit (NULL when this server is no edge).  -1 with err when the
 * new one cannot be built: the old one stays. */
int sip_edge_reload(struct sip_server *srv, struct sip_edge_trust **old, tn_err *err);
void sip_edge_trust_free(struct sip_edge_trust *et);
/* Has a partner root file changed since the partner side was built? */
bool sip_edge_files_changed(const struct sip_server *srv);

/* A connection on the partner listener finished its handshake: find the
 * partner it is the edge of and note it in the connection's SIP state, or
 * log why not and close it. */
void sip_edge_identify(struct sip_server *srv, struct conn *c);

/* Our connection to a partner's edge is up (verified against that
 * partner's root and edge name): note the partner, reuse the connection. */
void sip_edge_connected(struct sip_server *srv, struct conn *c);

#endif
