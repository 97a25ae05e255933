/*
 * sip_peers.h - the other servers of the topology, over mutual TLS: which
 * connection reaches each of them (one per peer, reused in both
 * directions), and a back-off after a failed connection.
 *
 * Two servers that start talking at the same moment each open a
 * connection to the other (simultaneous open).  Both ends settle on the
 * same one, as BGP resolves a connection collision (RFC 4271 6.8): the
 * connection opened by the server whose name sorts first.  The other
 * carries what was already queued on it and idles out.
 */
#ifndef TN_SIP_PEERS_H
#define TN_SIP_PEERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SIP_PEERS_MAX 256
#define SIP_PEER_BACKOFF_MIN_MS 1000
#define SIP_PEER_BACKOFF_MAX_MS 60000
/* A second connection in the other direction within this time of the
 * first is a collision; later, it replaces the first (the peer restarted,
 * and the old connection may be dead without our knowing yet). */
#define SIP_PEER_COLLISION_MS 5000

struct sip_peer {
    char fqdn[256];
    uint64_t conn_id;        /* 0: none */
    bool up;                 /* handshake done and peer verified */
    bool outgoing;           /* conn_id was opened by us */
    uint64_t attached_ms;    /* when conn_id became the peer's connection */
    uint64_t retry_after_ms; /* back-off after a failure */
    unsigned failures;
};

struct sip_peers {
    pthread_mutex_t lock;
    char self[256]; /* our own name, for collisions */
    struct sip_peer items[SIP_PEERS_MAX];
    size_t n;
};

/* self: this server's FQDN. */
void sip_peers_init(struct sip_peers *p, const char *self);
void sip_peers_free(struct sip_peers *p);

enum sip_peer_state { PEER_CONNECTED, PEER_MUST_CONNECT, PEER_BACKING_OFF };

/* The connection to fqdn (PEER_CONNECTED, *conn_id set: possibly still in
 * its handshake, then output waits), or whether the caller should open one
 * now (PEER_MUST_CONNECT) or the peer is in back-off. */
enum sip_peer_state sip_peers_lookup(struct sip_peers *p, const char *fqdn, uint64_t now_ms,
                                     uint64_t *conn_id);
/* A connection to fqdn exists: opened by us (outgoing), or accepted and
 * identified.  It becomes the peer's connection unless it loses a
 * collision with the one the peer has. */
void sip_peers_attach(struct sip_peers *p, const char *fqdn, uint64_t conn_id, bool up,
                      bool outgoing, uint64_t now_ms);
/* A connection closed: forget it; a peer never reached backs off. */
void sip_peers_detach(struct sip_peers *p, uint64_t conn_id, uint64_t now_ms);

#endif
