/*
 * worker_internal.h - what worker.c and handover.c share.
 */
#ifndef TN_NET_WORKER_INTERNAL_H
#define TN_NET_WORKER_INTERNAL_H

#include "net/worker.h"

/* A copy of bytes for a connection of another worker (worker_send).  Its
 * post node is free once the post has run: then it links parked sends. */
struct posted_send {
    struct ev_post_node node;
    uint64_t conn_id;
    size_t len;
    char data[];
};

/* handover.c: keep p (true) when its connection is being handed over to
 * w, to send it once w has the connection. */
bool worker_park_send(struct worker *w, struct posted_send *p);
/* handover.c: conn_id is back with the worker its id names, or closed. */
void worker_forget_move(struct worker_group *g, uint64_t conn_id);

#endif
