/*
 * evloop.h - a small epoll event loop: one per worker thread.
 *
 * File descriptors with read/write interest, one-shot timers (a binary
 * heap; cancelling is O(1) and lazy), and a thread-safe post() so other
 * workers can hand work to this loop's thread.  Callbacks take a void *
 * context, as in Redis' ae.c.
 */
#ifndef TN_NET_EVLOOP_H
#define TN_NET_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define EV_READ 1u
#define EV_WRITE 2u

typedef struct ev_loop ev_loop;
typedef void ev_io_fn(ev_loop *loop, int fd, unsigned events, void *ctx);
typedef void ev_timer_fn(ev_loop *loop, void *ctx);
typedef void ev_post_fn(ev_loop *loop, void *arg);
typedef uint64_t ev_timer_id; /* 0 is never a valid id */

ev_loop *ev_loop_new(tn_err *err);
void ev_loop_free(ev_loop *loop);

/* Watch fd for events (EV_READ|EV_WRITE); replaces an earlier watch. */
int ev_io_set(ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *ctx);
/* Stop watching fd, which stays open (a hand-over). */
void ev_io_del(ev_loop *loop, int fd);
/* Forget fd just before closing it: closing removes it from epoll, so no
 * system call is needed (fd must not be shared with another process). */
void ev_io_forget(ev_loop *loop, int fd);

/* Call fn(ctx) once, after ms milliseconds. */
ev_timer_id ev_timer_add(ev_loop *loop, uint64_t ms, ev_timer_fn *fn, void *ctx);
/* Cancel a timer that has not fired; unknown or fired ids are ignored. */
void ev_timer_cancel(ev_loop *loop, ev_timer_id id);

/* From any thread: run fn(loop, arg) on the loop's thread soon.  Returns
 * -1 only when out of memory (arg is then still the caller's). */
int ev_post(ev_loop *loop, ev_post_fn *fn, void *arg);

/* The same without an allocation: the node lives inside what is posted
 * (it must stay valid until fn runs, and may be freed or posted again by
 * fn).  Posts from one thread to one loop run in the order they were made. */
struct ev_post_node {
    ev_post_fn *fn;
    void *arg;
    struct ev_post_node *next;
    bool owned_by_loop; /* allocated by ev_post: freed after fn */
};
void ev_post_node(ev_loop *loop, struct ev_post_node *node, ev_post_fn *fn, void *arg);

/* Run what was posted to a loop that no longer runs (shutdown), on the
 * calling thread.  Returns how many posts ran. */
size_t ev_loop_run_posts(ev_loop *loop);

/* Run until ev_loop_stop() (callable from any thread). */
void ev_loop_run(ev_loop *loop);
void ev_loop_stop(ev_loop *loop);

/* Milliseconds of a monotonic clock, cached per loop iteration. */
uint64_t ev_now_ms(const ev_loop *loop);
uint64_t ev_clock_ms(void);

#endif
