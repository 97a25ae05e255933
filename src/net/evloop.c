/* evloop.c - epoll event loop with timers and cross-thread posts. */
#include "net/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/array.h"

struct io_watch {
    ev_io_fn *fn;
    void *ctx;
    unsigned events;
};

#define NO_SLOT UINT32_MAX

struct timer {
    uint64_t deadline;
    ev_timer_fn *fn; /* NULL when the slot is free */
    void *ctx;
    size_t heap_pos;
    uint32_t gen;
    uint32_t next_free;
};

struct ev_loop {
    int epfd;
    int wakefd;
    bool stop;
    uint64_t now;
    struct io_watch *watches; /* indexed by fd */
    size_t n_watches;
    struct timer *timers; /* slab */
    size_t n_timers, cap_timers;
    uint32_t free_slot;
    uint32_t *heap; /* slab indices, earliest deadline first */
    size_t n_heap, cap_heap;
    pthread_mutex_t post_lock;
    struct ev_post_node *posts_head, *posts_tail;
    /* Set while the loop is (about to be) blocked in epoll_wait: only then
     * does a post need the eventfd to wake it.  Sequentially consistent
     * with the queue check before sleeping (see wait_timeout). */
    atomic_bool sleeping;
};

uint64_t ev_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ev_now_ms(const ev_loop *loop)
{
    return loop->now;
}

ev_loop *ev_loop_new(tn_err *err)
{
    ev_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->free_slot = NO_SLOT;
    loop->now = ev_clock_ms();
    pthread_mutex_init(&loop->post_lock, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = -1};
    if (loop->epfd < 0 || loop->wakefd < 0 ||
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
        tn_errf(err, "cannot create event loop: %s", strerror(errno));
        ev_loop_free(loop);
        return NULL;
    }
    return loop;
}

void ev_loop_free(ev_loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    /* Posts never run: only the nodes ev_post allocated are ours. */
    struct ev_post_node *p = loop->posts_head;
    while (p != NULL) {
        struct ev_post_node *next = p->next;
        if (p->owned_by_loop)
            free(p);
        p = next;
    }
    pthread_mutex_destroy(&loop->post_lock);
    free(loop->watches);
    free(loop->heap);
    free(loop->timers);
    free(loop);
}

static uint32_t epoll_bits(unsigned events)
{
    return ((events & EV_READ) ? EPOLLIN | EPOLLRDHUP : 0) | ((events & EV_WRITE) ? EPOLLOUT : 0);
}

int ev_io_set(ev_loop *loop, int fd, unsigned events, ev_io_fn *fn, void *ctx)
{
    if (fd < 0)
        return -1;
    size_t need = (size_t)fd + 1;
    if (need > loop->n_watches) {
        size_t cap = loop->n_watches;
        if (tn_array_reserve((void **)&loop->watches, &cap, need, sizeof *loop->watches) < 0)
            return -1;
        memset(loop->watches + loop->n_watches, 0,
               (cap - loop->n_watches) * sizeof *loop->watches);
        loop->n_watches = cap;
    }
    struct io_watch *w = &loop->watches[fd];
    if (w->fn == fn && w->ctx == ctx && w->events == events)
        return 0; /* unchanged: no system call */
    struct epoll_event ev = {.events = epoll_bits(events), .data.fd = fd};
    int op = w->fn == NULL ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0)
        return -1;
    w->fn = fn;
    w->ctx = ctx;
    w->events = events;
    return 0;
}

void ev_io_forget(ev_loop *loop, int fd)
{
    if (fd >= 0 && (size_t)fd < loop->n_watches)
        memset(&loop->watches[fd], 0, sizeof loop->watches[fd]);
}

void ev_io_del(ev_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->n_watches || loop->watches[fd].fn == NULL)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    ev_io_forget(loop, fd);
}

/* --- timers ----------------------------------------------------------------
 * Timers live in a slab; a binary min-heap of slab indices orders them by
 * deadline, and each slot knows its heap position, so a cancel removes it
 * in O(log n).  An id is (generation << 32 | slot): a stale id (the timer
 * fired or was cancelled, the slot reused) never cancels a newer timer. */

static ev_timer_id make_id(uint32_t slot, uint32_t gen)
{
    return ((uint64_t)gen << 32) | slot;
}

static void heap_set(ev_loop *loop, size_t pos, uint32_t slot)
{
    loop->heap[pos] = slot;
    loop->timers[slot].heap_pos = pos;
}

static bool earlier(const ev_loop *loop, size_t a, size_t b)
{
    return loop->timers[loop->heap[a]].deadline < loop->timers[loop->heap[b]].deadline;
}

static void heap_up(ev_loop *loop, size_t i)
{
    while (i > 0 && earlier(loop, i, (i - 1) / 2)) {
        uint32_t a = loop->heap[i], b = loop->heap[(i - 1) / 2];
        heap_set(loop, i, b);
        heap_set(loop, (i - 1) / 2, a);
        i = (i - 1) / 2;
    }
}

static void heap_down(ev_loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->n_heap && earlier(loop, l, m))
            m = l;
        if (r < loop->n_heap && earlier(loop, r, m))
            m = r;
        if (m == i)
            return;
        uint32_t a = loop->heap[i], b = loop->heap[m];
        heap_set(loop, i, b);
        heap_set(loop, m, a);
        i = m;
    }
}

static void heap_remove(ev_loop *loop, size_t pos)
{
    uint32_t last = loop->heap[--loop->n_heap];
    if (pos == loop->n_heap)
        return;
    heap_set(loop, pos, last);
    heap_up(loop, pos);
    heap_down(loop, loop->timers[last].heap_pos);
}

static void slot_release(ev_loop *loop, uint32_t slot)
{
    struct timer *t = &loop->timers[slot];
    t->fn = NULL;
    t->gen++;
    t->next_free = loop->free_slot;
    loop->free_slot = slot;
}

static int slot_take(ev_loop *loop, uint32_t *slot)
{
    if (loop->free_slot != NO_SLOT) {
        *slot = loop->free_slot;
        loop->free_slot = loop->timers[*slot].next_free;
        return 0;
    }
    if (loop->n_timers == UINT32_MAX - 1 ||
        tn_array_reserve((void **)&loop->timers, &loop->cap_timers, loop->n_timers + 1,
                         sizeof *loop->timers) < 0 ||
        tn_array_reserve((void **)&loop->heap, &loop->cap_heap, loop->n_timers + 1,
                         sizeof *loop->heap) < 0)
        return -1;
    *slot = (uint32_t)loop->n_timers++;
    loop->timers[*slot].gen = 1;
    return 0;
}

ev_timer_id ev_timer_add(ev_loop *loop, uint64_t ms, ev_timer_fn *fn, void *ctx)
{
    uint32_t slot;
    if (slot_take(loop, &slot) < 0)
        return 0;
    struct timer *t = &loop->timers[slot];
    t->deadline = ev_clock_ms() + ms;
    t->fn = fn;
    t->ctx = ctx;
    heap_set(loop, loop->n_heap++, slot);
    heap_up(loop, loop->n_heap - 1);
    return make_id(slot, t->gen);
}

void ev_timer_cancel(ev_loop *loop, ev_timer_id id)
{
    uint32_t slot = (uint32_t)id;
    if (id == 0 || slot >= loop->n_timers)
        return;
    struct timer *t = &loop->timers[slot];
    if (t->gen != (uint32_t)(id >> 32) || t->fn == NULL)
        return;
    heap_remove(loop, t->heap_pos);
    slot_release(loop, slot);
}

static int next_timeout(const ev_loop *loop)
{
    if (loop->n_heap == 0)
        return 1000;
    uint64_t now = ev_clock_ms();
    uint64_t due = loop->timers[loop->heap[0]].deadline;
    return due <= now ? 0 : (int)(due - now > 1000 ? 1000 : due - now);
}

static void run_due_timers(ev_loop *loop)
{
    loop->now = ev_clock_ms();
    while (loop->n_heap > 0 && loop->timers[loop->heap[0]].deadline <= loop->now) {
        uint32_t slot = loop->heap[0];
        ev_timer_fn *fn = loop->timers[slot].fn;
        void *ctx = loop->timers[slot].ctx;
        heap_remove(loop, 0);
        slot_release(loop, slot);
        /* The slot is free before the callback, which may add timers. */
        fn(loop, ctx);
    }
}

/* --- posts from other threads ---------------------------------------------- */

static void wake(ev_loop *loop)
{
    uint64_t one = 1;
    ssize_t w = write(loop->wakefd, &one, sizeof one);
    (void)w; /* a full counter still wakes the loop */
}

static void enqueue(ev_loop *loop, struct ev_post_node *node, ev_post_fn *fn, void *arg)
{
    node->fn = fn;
    node->arg = arg;
    node->next = NULL;
    pthread_mutex_lock(&loop->post_lock);
    if (loop->posts_tail != NULL)
        loop->posts_tail->next = node;
    else
        loop->posts_head = node;
    loop->posts_tail = node;
    pthread_mutex_unlock(&loop->post_lock);
    /* A loop that is awake runs the queue before it sleeps again: no
     * system call, no wake-up. */
    if (atomic_load(&loop->sleeping))
        wake(loop);
}

void ev_post_node(ev_loop *loop, struct ev_post_node *node, ev_post_fn *fn, void *arg)
{
    node->owned_by_loop = false;
    enqueue(loop, node, fn, arg);
}

int ev_post(ev_loop *loop, ev_post_fn *fn, void *arg)
{
    struct ev_post_node *node = malloc(sizeof *node);
    if (node == NULL)
        return -1;
    node->owned_by_loop = true;
    enqueue(loop, node, fn, arg);
    return 0;
}

static size_t run_posts(ev_loop *loop)
{
    size_t n = 0;
    pthread_mutex_lock(&loop->post_lock);
    struct ev_post_node *p = loop->posts_head;
    loop->posts_head = loop->posts_tail = NULL;
    pthread_mutex_unlock(&loop->post_lock);
    while (p != NULL) {
        /* fn may free the node or post it again: read it first. */
        struct ev_post_node *next = p->next;
        bool owned = p->owned_by_loop;
        p->fn(loop, p->arg);
        if (owned)
            free(p);
        p = next;
        n++;
    }
    return n;
}

size_t ev_loop_run_posts(ev_loop *loop)
{
    return run_posts(loop);
}

static bool posts_waiting(ev_loop *loop)
{
    pthread_mutex_lock(&loop->post_lock);
    bool waiting = loop->posts_head != NULL;
    pthread_mutex_unlock(&loop->post_lock);
    return waiting;
}

static void drain_wakefd(ev_loop *loop)
{
    uint64_t count;
    ssize_t r = read(loop->wakefd, &count, sizeof count);
    (void)r;
}

void ev_loop_stop(ev_loop *loop)
{
    __atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
    wake(loop);
}

static void dispatch(ev_loop *loop, const struct epoll_event *ev)
{
    int fd = ev->data.fd;
    if (fd < 0) {
        drain_wakefd(loop); /* the posts run after this batch of events */
        return;
    }
    if ((size_t)fd >= loop->n_watches || loop->watches[fd].fn == NULL)
        return; /* removed by an earlier callback in this batch */
    struct io_watch *w = &loop->watches[fd];
    unsigned events = 0;
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        events |= EV_READ;
    if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        events |= EV_WRITE;
    events &= w->events | ((ev->events & (EPOLLHUP | EPOLLERR)) ? EV_READ : 0);
    if (events != 0)
        w->fn(loop, fd, events, w->ctx);
}

/* Announce the sleep before the last look at the queue: a poster either
 * sees the flag (and writes the eventfd) or its post is seen here. */
static int wait_timeout(ev_loop *loop)
{
    atomic_store(&loop->sleeping, true);
    if (posts_waiting(loop))
        return 0;
    return next_timeout(loop);
}

void ev_loop_run(ev_loop *loop)
{
    struct epoll_event events[64];
    while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(loop->epfd, events, 64, wait_timeout(loop));
        atomic_store(&loop->sleeping, false);
        loop->now = ev_clock_ms();
        for (int i = 0; i < n; i++)
            dispatch(loop, &events[i]);
        run_posts(loop);
        run_due_timers(loop);
    }
}
