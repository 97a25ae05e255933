/*
 * handover.c - connections that talk to each other are served by one
 * worker (see worker.h, worker_note_forward).
 *
 * Why: a message from a connection of worker A forwarded to a connection
 * of worker B crosses threads (a post, and a wake-up of B), and so does
 * its answer.  On a small machine the wake-ups cost more CPU than the SIP
 * work; when both connections live on one worker, nothing crosses.
 *
 * How connection c moves from worker O to worker D without losing or
 * reordering what is sent on it:
 *  1. O decides under moved_lock: D's list of expected connections gets c,
 *     and every sender's worker_owner() says D from then on.  D keeps
 *     ("parks") what is sent to c until c arrives.  O stops reading c.
 *  2. O posts a barrier to every other worker, which posts it back.  A
 *     post a worker made for c while it still saw O as the owner is in
 *     O's queue before that worker's barrier comes back (posts between two
 *     threads keep their order): when all are back, O has sent every such
 *     message on c itself (it still owns the socket until then).
 *  3. O forgets c and posts it to D, which adopts it, sends what it parked
 *     in order, then reads what waits.  If c closed on O meanwhile, D drops
 *     what it parked.
 *
 * Thread safety: the moved map, every worker's list of expected
 * connections and their parked messages are under moved_lock; a
 * connection is touched only by its owner, and in between by nobody.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "net/worker_internal.h"

/* Messages in a row to one connection of another worker before c moves:
 * a steady partner, not a passing one. */
#define AFFINITY_VOTES 16

struct handover;

/* One barrier: out to a worker, and back. */
struct handover_barrier {
    struct ev_post_node node;
    struct handover *h;
};

struct handover {
    struct worker_group *g;
    uint64_t conn_id;
    unsigned from, to;
    unsigned barriers_out;         /* touched by 'from' only */
    struct conn *c;                /* posted to 'to'; NULL: it closed */
    struct handover *next;         /* 'to''s list of expected connections */
    struct posted_send *parked, *parked_tail; /* under moved_lock */
    struct ev_post_node adopt_node;
    struct handover_barrier barriers[]; /* one per other worker */
};

static unsigned home_of(uint64_t conn_id)
{
    return (unsigned)(conn_id >> 48);
}

static unsigned owner_locked(struct worker_group *g, uint64_t conn_id)
{
    void *moved = idmap_get(&g->moved, conn_id);
    return moved != NULL ? (unsigned)((uintptr_t)moved - 1) : home_of(conn_id);
}

unsigned worker_owner(struct worker_group *g, uint64_t conn_id)
{
    /* Any view is safe for ordering: a hand-over waits until every worker
     * has seen the new owner (step 2). */
    if (__atomic_load_n(&g->n_moved, __ATOMIC_ACQUIRE) == 0)
        return home_of(conn_id);
    pthread_mutex_lock(&g->moved_lock);
    unsigned owner = owner_locked(g, conn_id);
    pthread_mutex_unlock(&g->moved_lock);
    return owner;
}

static int set_owner_locked(struct worker_group *g, uint64_t conn_id, unsigned owner)
{
    int rc = 0;
    if (owner == home_of(conn_id))
        idmap_del(&g->moved, conn_id);
    else
        rc = idmap_put(&g->moved, conn_id, (void *)(uintptr_t)(owner + 1));
    __atomic_store_n(&g->n_moved, g->moved.count, __ATOMIC_RELEASE);
    return rc;
}

void worker_forget_move(struct worker_group *g, uint64_t conn_id)
{
    pthread_mutex_lock(&g->moved_lock);
    set_owner_locked(g, conn_id, home_of(conn_id));
    pthread_mutex_unlock(&g->moved_lock);
}

/* Does worker a own fewer connections than b (ties: the lower number)? */
static bool lighter(struct worker_group *g, unsigned a, unsigned b)
{
    size_t la = __atomic_load_n(&g->workers[a].owned, __ATOMIC_RELAXED);
    size_t lb = __atomic_load_n(&g->workers[b].owned, __ATOMIC_RELAXED);
    return la < lb || (la == lb && a < b);
}

/* --- on the new owner ------------------------------------------------------- */

static struct handover *expected_locked(struct worker *w, uint64_t conn_id)
{
    for (struct handover *h = w->expecting; h != NULL; h = h->next)
        if (h->conn_id == conn_id)
            return h;
    return NULL;
}

bool worker_park_send(struct worker *w, struct posted_send *p)
{
    pthread_mutex_lock(&w->group->moved_lock);
    struct handover *h = expected_locked(w, p->conn_id);
    if (h != NULL) {
        p->node.next = NULL;
        if (h->parked_tail != NULL)
            h->parked_tail->node.next = &p->node;
        else
            h->parked = p;
        h->parked_tail = p;
    }
    pthread_mutex_unlock(&w->group->moved_lock);
    return h != NULL;
}

static void unlink_expected_locked(struct worker *w, struct handover *h)
{
    for (struct handover **pp = &w->expecting; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            return;
        }
    }
}

/* Send what was parked, in order; drop it when c is gone. */
static bool send_parked(struct handover *h, struct conn *c)
{
    bool alive = c != NULL;
    struct posted_send *p = h->parked;
    while (p != NULL) {
        struct posted_send *next = (struct posted_send *)p->node.next;
        /* After -1 the connection is closed (and freed): drop the rest. */
        if (alive && conn_send(c, p->data, p->len) < 0)
            alive = false;
        free(p);
        p = next;
    }
    h->parked = h->parked_tail = NULL;
    return alive;
}

static void on_adopt(ev_loop *loop, void *arg)
{
    struct handover *h = arg;
    struct worker *to = &h->g->workers[h->to];
    /* Nothing parks any more: what comes now finds c (or nothing). */
    pthread_mutex_lock(&h->g->moved_lock);
    unlink_expected_locked(to, h);
    pthread_mutex_unlock(&h->g->moved_lock);
    struct conn *c = h->c;
    if (c != NULL && conn_adopt(c, to) < 0)
        c = NULL;
    if (send_parked(h, c))
        conn_read_pending(c);
    free(h);
}

/* --- on the old owner --------------------------------------------------------- */

static void hand_off(struct handover *h)
{
    struct worker *from = &h->g->workers[h->from];
    struct conn *c = worker_find_conn(from, h->conn_id);
    if (c != NULL)
        idmap_del(&from->conns, c->id); /* it counts for 'to' already */
    h->c = c;
    ev_post_node(h->g->workers[h->to].loop, &h->adopt_node, on_adopt, h);
}

static void on_barrier_back(ev_loop *loop, void *arg)
{
    struct handover_barrier *b = arg;
    struct handover *h = b->h;
    if (--h->barriers_out == 0)
        hand_off(h);
}

static void on_barrier(ev_loop *loop, void *arg)
{
    struct handover_barrier *b = arg;
    ev_post_node(b->h->g->workers[b->h->from].loop, &b->node, on_barrier_back, b);
}

static struct handover *handover_new(struct conn *c, unsigned to)
{
    struct worker_group *g = c->worker->group;
    struct handover *h = calloc(1, sizeof *h + (g->n - 1) * sizeof h->barriers[0]);
    if (h == NULL)
        return NULL;
    h->g = g;
    h->conn_id = c->id;
    h->from = c->worker->index;
    h->to = to;
    return h;
}

/* Step 1, atomically: 'to' becomes the owner if peer_id is still there and
 * 'to' is still the lighter side (the partner cannot decide the mirror
 * move at the same time: it sees c's new owner, or the same loads).  'to'
 * expects c before any sender can see the new owner. */
static bool commit(struct conn *c, uint64_t peer_id, struct handover *h)
{
    struct worker_group *g = h->g;
    struct worker *to = &g->workers[h->to];
    pthread_mutex_lock(&g->moved_lock);
    bool go = owner_locked(g, peer_id) == h->to && lighter(g, h->to, h->from);
    if (go) {
        h->next = to->expecting;
        to->expecting = h;
        if (set_owner_locked(g, c->id, h->to) < 0) {
            to->expecting = h->next; /* out of memory: nothing moves */
            go = false;
        }
    }
    if (go) {
        __atomic_sub_fetch(&g->workers[h->from].owned, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&to->owned, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&g->moved_lock);
    if (!go)
        free(h);
    return go;
}

static void start(struct conn *c, uint64_t peer_id, unsigned to)
{
    struct worker_group *g = c->worker->group;
    if (!lighter(g, to, c->worker->index))
        return; /* the partner's side moves (checked again under the lock) */
    struct handover *h = handover_new(c, to);
    if (h == NULL || !commit(c, peer_id, h))
        return; /* c stays */
    tn_log(TN_LOG_DEBUG, g->log_component, "peer=%s moves from worker %u to worker %u, "
           "where the connection its messages go to is", c->peer, h->from, to);
    c->moving_to = (uint8_t)(to + 1);
    conn_pause(c);
    unsigned k = 0;
    for (unsigned i = 0; i < g->n; i++) {
        if (i == h->from)
            continue;
        h->barriers[k].h = h;
        h->barriers_out++;
        ev_post_node(g->workers[i].loop, &h->barriers[k].node, on_barrier, &h->barriers[k]);
        k++;
    }
}

void worker_note_forward(struct conn *c, uint64_t to_id)
{
    if (c->moving_to != 0 || (c->state != CONN_OPEN && c->state != CONN_PLAIN) ||
        c->worker->group->n < 2)
        return;
    if (worker_find_conn(c->worker, to_id) != NULL) {
        c->affinity_votes = 0; /* already together */
        return;
    }
    if (c->affinity_peer != to_id) {
        c->affinity_peer = to_id;
        c->affinity_votes = 1;
        return;
    }
    if (++c->affinity_votes < AFFINITY_VOTES)
        return;
    c->affinity_votes = 0;
    if (c->handler->may_move == NULL || !c->handler->may_move(c, c->handler->ctx))
        return;
    unsigned to = worker_owner(c->worker->group, to_id);
    if (to < c->worker->group->n && to != c->worker->index)
        start(c, to_id, to);
}
