/* sip_peers.c - connections to the other servers (see sip_peers.h). */
#include "sip/sip_peers.h"

#include <string.h>
#include <strings.h>

#include "common/str.h"

void sip_peers_init(struct sip_peers *p, const char *self)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    tn_strlcpy(p->self, self, sizeof p->self);
}

void sip_peers_free(struct sip_peers *p)
{
    pthread_mutex_destroy(&p->lock);
}

static struct sip_peer *find(struct sip_peers *p, const char *fqdn, bool create)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->items[i].fqdn, fqdn) == 0)
            return &p->items[i];
    if (!create || p->n == SIP_PEERS_MAX)
        return NULL;
    struct sip_peer *peer = &p->items[p->n];
    memset(peer, 0, sizeof *peer);
    if (tn_strlcpy(peer->fqdn, fqdn, sizeof peer->fqdn) < 0)
        return NULL;
    p->n++;
    return peer;
}

enum sip_peer_state sip_peers_lookup(struct sip_peers *p, const char *fqdn, uint64_t now_ms,
                                     uint64_t *conn_id)
{
    enum sip_peer_state st = PEER_MUST_CONNECT;
    pthread_mutex_lock(&p->lock);
    struct sip_peer *peer = find(p, fqdn, true);
    if (peer == NULL)
        st = PEER_BACKING_OFF; /* table full: refuse rather than grow */
    else if (peer->conn_id != 0) {
        *conn_id = peer->conn_id;
        st = PEER_CONNECTED;
    } else if (peer->retry_after_ms > now_ms) {
        st = PEER_BACKING_OFF;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* Whether the peer's connection stays when another one, opened in the
 * other direction, comes up within the collision window: it stays when
 * it was opened by the server whose name sorts first. */
static bool current_wins(const struct sip_peers *p, const struct sip_peer *peer, bool outgoing,
                         uint64_t now_ms)
{
    /* now_ms comes from the caller's loop, which may lag the attaching one */
    uint64_t age = now_ms > peer->attached_ms ? now_ms - peer->attached_ms : 0;
    if (peer->conn_id == 0 || peer->outgoing == outgoing || age > SIP_PEER_COLLISION_MS)
        return false;
    bool we_sort_first = strcasecmp(p->self, peer->fqdn) < 0;
    return peer->outgoing == we_sort_first;
}

void sip_peers_attach(struct sip_peers *p, const char *fqdn, uint64_t conn_id, bool up,
                      bool outgoing, uint64_t now_ms)
{
    pthread_mutex_lock(&p->lock);
    struct sip_peer *peer = find(p, fqdn, true);
    if (peer != NULL && peer->conn_id != conn_id && !current_wins(p, peer, outgoing, now_ms)) {
        peer->conn_id = conn_id;
        peer->outgoing = outgoing;
        peer->attached_ms = now_ms;
        peer->up = false;
    }
    if (peer != NULL && peer->conn_id == conn_id && up) {
        peer->up = true;
        peer->failures = 0;
    }
    pthread_mutex_unlock(&p->lock);
}

void sip_peers_detach(struct sip_peers *p, uint64_t conn_id, uint64_t now_ms)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n; i++) {
        struct sip_peer *peer = &p->items[i];
        if (peer->conn_id != conn_id)
            continue;
        /* Doubling back-off for a peer we never got through to. */
        if (!peer->up) {
            uint64_t wait = SIP_PEER_BACKOFF_MIN_MS << (peer->failures < 6 ? peer->failures : 6);
            peer->retry_after_ms = now_ms + (wait > SIP_PEER_BACKOFF_MAX_MS
                                                 ? SIP_PEER_BACKOFF_MAX_MS : wait);
            peer->failures++;
        }
        peer->conn_id = 0;
        peer->up = false;
    }
    pthread_mutex_unlock(&p->lock);
}
