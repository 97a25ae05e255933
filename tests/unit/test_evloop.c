/* Unit tests: the epoll event loop (src/net/evloop.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "net/evloop.h"

struct record {
    char order[32];
    size_t n;
    ev_loop *loop;
};

static void mark(ev_loop *loop, void *ctx, char c)
{
    struct record *r = ctx;
    if (r->n + 1 < sizeof r->order)
        r->order[r->n++] = c;
}

static void fire_a(ev_loop *loop, void *ctx) { mark(loop, ctx, 'a'); }
static void fire_b(ev_loop *loop, void *ctx) { mark(loop, ctx, 'b'); }
static void fire_c(ev_loop *loop, void *ctx) { mark(loop, ctx, 'c'); }
static void fire_stop(ev_loop *loop, void *ctx) { ev_loop_stop(loop); }

static void timers_fire_in_deadline_order(void **state)
{
    tn_err err;
    ev_loop *loop = ev_loop_new(&err);
    struct record r = {0};
    ev_timer_add(loop, 30, fire_c, &r);
    ev_timer_add(loop, 10, fire_a, &r);
    ev_timer_add(loop, 20, fire_b, &r);
    ev_timer_add(loop, 50, fire_stop, NULL);
    ev_loop_run(loop);
    assert_string_equal(r.order, "abc");
    ev_loop_free(loop);
}

static ev_timer_id first_id;

/* Fires first: its slot is free now and is reused by the timer it adds;
 * cancelling its own (stale) id must not cancel that new timer. */
static void fire_a_then_reuse(ev_loop *loop, void *ctx)
{
    mark(loop, ctx, 'a');
    ev_timer_add(loop, 5, fire_c, ctx);
    ev_timer_cancel(loop, first_id);
}

static void cancelled_and_stale_timers(void **state)
{
    tn_err err;
    ev_loop *loop = ev_loop_new(&err);
    struct record r = {0};
    first_id = ev_timer_add(loop, 10, fire_a_then_reuse, &r);
    ev_timer_id b = ev_timer_add(loop, 20, fire_b, &r);
    ev_timer_cancel(loop, b);
    ev_timer_cancel(loop, b); /* twice: harmless */
    ev_timer_cancel(loop, 0);
    ev_timer_add(loop, 60, fire_stop, NULL);
    ev_loop_run(loop);
    assert_string_equal(r.order, "ac");
    ev_loop_free(loop);
}

static void many_timers_and_cancels(void **state)
{
    tn_err err;
    ev_loop *loop = ev_loop_new(&err);
    struct record r = {0};
    ev_timer_id ids[1000];
    for (int i = 0; i < 1000; i++)
        ids[i] = ev_timer_add(loop, (uint64_t)(i % 7), fire_a, &r);
    for (int i = 0; i < 1000; i++)
        if (i != 500)
            ev_timer_cancel(loop, ids[i]);
    ev_timer_add(loop, 30, fire_stop, NULL);
    ev_loop_run(loop);
    assert_string_equal(r.order, "a");
    ev_loop_free(loop);
}

static void on_readable(ev_loop *loop, int fd, unsigned events, void *ctx)
{
    char buf[8];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 && (events & EV_READ))
        mark(loop, ctx, buf[0]);
    ev_io_del(loop, fd);
    ev_loop_stop(loop);
}

static void io_readiness(void **state)
{
    tn_err err;
    ev_loop *loop = ev_loop_new(&err);
    struct record r = {0};
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(ev_io_set(loop, p[0], EV_READ, on_readable, &r), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    ev_loop_run(loop);
    assert_string_equal(r.order, "x");
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void on_post(ev_loop *loop, void *arg)
{
    mark(loop, arg, 'p');
    ev_loop_stop(loop);
}

static void *poster(void *arg)
{
    struct record *r = arg;
    usleep(10000);
    ev_post(r->loop, on_post, r);
    return NULL;
}

static void post_from_another_thread(void **state)
{
    tn_err err;
    ev_loop *loop = ev_loop_new(&err);
    struct record r = {.loop = loop};
    pthread_t t;
    pthread_create(&t, NULL, poster, &r);
    ev_loop_run(loop);
    pthread_join(t, NULL);
    assert_string_equal(r.order, "p");
    ev_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_deadline_order),
        cmocka_unit_test(cancelled_and_stale_timers),
        cmocka_unit_test(many_timers_and_cancels),
        cmocka_unit_test(io_readiness),
        cmocka_unit_test(post_from_another_thread),
    };
    return cmocka_run_group_tests_name("evloop", tests, NULL, NULL);
}
