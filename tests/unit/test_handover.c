/* Unit tests: connections handed over between workers (src/net/handover.c)
 * keep every message and its order, and end up on one worker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/worker.h"

#define LINES 3000

/* Two plaintext connections A (worker 0) and B (worker 1); every line that
 * arrives on one is forwarded to the other, as a proxy would. */
struct pair {
    struct worker_group g;
    struct conn_handler handler;
    uint64_t id[2];       /* A and B, written by their first worker */
    int app[2];           /* the test's ends of the socket pairs */
    int srv[2];           /* the workers' ends */
    pthread_mutex_t lock;
    pthread_cond_t ready;
    int started;
};

static uint64_t partner_of(struct pair *p, uint64_t id)
{
    pthread_mutex_lock(&p->lock);
    uint64_t other = id == p->id[0] ? p->id[1] : p->id[0];
    pthread_mutex_unlock(&p->lock);
    return other;
}

static size_t on_data(struct conn *c, const char *buf, size_t len, void *ctx)
{
    struct pair *p = ctx;
    size_t used = 0;
    const char *nl;
    while ((nl = memchr(buf + used, '\n', len - used)) != NULL) {
        size_t line = (size_t)(nl - (buf + used)) + 1;
        uint64_t to = partner_of(p, c->id);
        worker_send(&p->g, to, buf + used, line);
        worker_note_forward(c, to);
        used += line;
    }
    return used;
}

static bool may_move(struct conn *c, void *ctx)
{
    return true;
}

struct start_arg {
    struct pair *p;
    int which;
};

static void start_conn(ev_loop *loop, void *arg)
{
    struct start_arg *a = arg;
    struct pair *p = a->p;
    struct sockaddr sa = {.sa_family = AF_UNIX};
    __atomic_add_fetch(&p->g.connections, 1, __ATOMIC_RELAXED);
    struct conn *c = conn_new(worker_current(), p->srv[a->which], &sa, NULL, &p->handler,
                              &p->g.limits);
    pthread_mutex_lock(&p->lock);
    p->id[a->which] = c != NULL ? c->id : 0;
    p->started++;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
}

static void pair_start(struct pair *p)
{
    tn_err err;
    struct conn_limits limits = {.max_buffer = 65536, .max_queue = 1 << 22,
                                 .handshake_ms = 5000, .idle_ms = 60000};
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->handler = (struct conn_handler){.on_data = on_data, .may_move = may_move, .ctx = p};
    assert_int_equal(worker_group_init(&p->g, 2, NULL, NULL, &p->handler, &limits, 100, &err),
                     0);
    for (int i = 0; i < 2; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        p->app[i] = sv[0];
        p->srv[i] = sv[1];
    }
    assert_int_equal(worker_group_start(&p->g, &err), 0);
    struct start_arg args[2] = {{p, 0}, {p, 1}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(ev_post(p->g.workers[i].loop, start_conn, &args[i]), 0);
    pthread_mutex_lock(&p->lock);
    while (p->started < 2)
        pthread_cond_wait(&p->ready, &p->lock);
    pthread_mutex_unlock(&p->lock);
    assert_true(p->id[0] != 0 && p->id[1] != 0);
}

static void pair_stop(struct pair *p)
{
    worker_group_stop(&p->g);
    worker_group_free(&p->g);
    close(p->app[0]);
    close(p->app[1]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->ready);
}

/* Reader state for one side: expects "i\n" for i = 0, 1, 2... */
struct reader {
    char buf[256];
    size_t len;
    int next;
};

static void read_lines(int fd, struct reader *r)
{
    ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len);
    if (n <= 0) {
        assert_true(n < 0 && errno == EAGAIN);
        return;
    }
    r->len += (size_t)n;
    char *nl;
    while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
        *nl = '\0';
        assert_int_equal(atoi(r->buf), r->next); /* nothing lost, nothing reordered */
        r->next++;
        size_t line = (size_t)(nl - r->buf) + 1;
        memmove(r->buf, r->buf + line, r->len - line);
        r->len -= line;
    }
}

static void send_line(int fd, int i)
{
    char line[16];
    int n = snprintf(line, sizeof line, "%d\n", i);
    /* A full socket buffer: let the workers drain it. */
    while (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n && errno == EAGAIN)
        usleep(100);
}

static void partners_end_up_on_one_worker_in_order(void **state)
{
    struct pair p;
    pair_start(&p);
    struct reader r[2] = {{.next = 0}, {.next = 0}};
    for (int i = 0; i < LINES; i++) {
        send_line(p.app[0], i);
        send_line(p.app[1], i);
        read_lines(p.app[0], &r[0]);
        read_lines(p.app[1], &r[1]);
    }
    for (int spin = 0; spin < 5000 && (r[0].next < LINES || r[1].next < LINES); spin++) {
        usleep(1000);
        read_lines(p.app[0], &r[0]);
        read_lines(p.app[1], &r[1]);
    }
    assert_int_equal(r[0].next, LINES);
    assert_int_equal(r[1].next, LINES);
    /* Exactly one of them moved, to the other's worker. */
    assert_int_equal(worker_owner(&p.g, p.id[0]), worker_owner(&p.g, p.id[1]));
    assert_int_equal(p.g.workers[0].owned + p.g.workers[1].owned, 2);
    pair_stop(&p);
}

/* A peer that goes away while messages cross: no crash, no leak (ASan). */
static void partner_closing_midway(void **state)
{
    struct pair p;
    pair_start(&p);
    for (int i = 0; i < 200; i++) {
        send_line(p.app[0], i);
        if (i < 25)
            send_line(p.app[1], i);
        else if (i == 25)
            shutdown(p.app[1], SHUT_RDWR);
    }
    usleep(20000);
    pair_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partners_end_up_on_one_worker_in_order),
        cmocka_unit_test(partner_closing_midway),
    };
    return cmocka_run_group_tests_name("handover", tests, NULL, NULL);
}
