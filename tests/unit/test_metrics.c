/* Unit tests: metrics sources, rendering and the file writer
 * (src/common/metrics.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/metrics.h"

struct thing {
    const char *name;
    tn_counter events;
};

static void print_thing(struct tn_metrics_out *o, void *ctx)
{
    struct thing *t = ctx;
    char family[64];
    snprintf(family, sizeof family, "%s_events_total", t->name);
    tn_metrics_family(o, family, "counter", "Events of the thing.");
    tn_metrics_sample(o, family, "kind=\"a\"", tn_counter_get(&t->events));
}

static char *render(void)
{
    struct tn_metrics_out o;
    assert_int_equal(tn_metrics_render(&o, "fe1.corp.test"), 0);
    return o.buf;
}

/* Each source prints its families; every sample carries the server. */
static void sources_are_rendered(void **state)
{
    struct thing a = {.name = "alpha"}, b = {.name = "beta"};
    tn_err err;
    assert_int_equal(tn_metrics_add_source(print_thing, &a, &err), 0);
    assert_int_equal(tn_metrics_add_source(print_thing, &b, &err), 0);
    tn_counter_add(&a.events, 3);
    tn_counter_add(&b.events, 1);
    tn_counter_add(&b.events, 1);
    char *text = render();
    assert_non_null(strstr(text, "# HELP alpha_events_total Events of the thing.\n"
                                 "# TYPE alpha_events_total counter\n"
                                 "alpha_events_total{server=\"fe1.corp.test\",kind=\"a\"} 3\n"));
    assert_non_null(strstr(text, "beta_events_total{server=\"fe1.corp.test\",kind=\"a\"} 2\n"));
    assert_non_null(strstr(text, "trustnet_start_time_seconds{server=\"fe1.corp.test\"} "));
    free(text);
    tn_metrics_remove_source(print_thing, &a);
    tn_metrics_remove_source(print_thing, &b);
    tn_metrics_stop(); /* forgets the final counts */
}

/* A removed source is no longer called, and its final counts stay. */
static void removed_source_keeps_its_final_counts(void **state)
{
    struct thing *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->name = "gone";
    tn_err err;
    assert_int_equal(tn_metrics_start(NULL, "fe1.corp.test", 0, &err), 0);
    assert_int_equal(tn_metrics_add_source(print_thing, a, &err), 0);
    tn_counter_add(&a->events, 7);
    tn_metrics_remove_source(print_thing, a);
    free(a); /* a later rendering must not touch it */
    char *text = render();
    assert_non_null(strstr(text, "gone_events_total{server=\"fe1.corp.test\",kind=\"a\"} 7\n"));
    assert_null(strstr(text + (strstr(text, "gone_events_total{") - text) + 1,
                       "gone_events_total{"));
    free(text);
    tn_metrics_stop();
    text = render();
    assert_null(strstr(text, "gone_events_total"));
    free(text);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The writer puts a file at once, keeps no temporary file, and writes the
 * last counts when a source goes and when it stops. */
static void writer_writes_the_file(void **state)
{
    char dir[] = "/tmp/trustnet-metrics-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], tmp[140];
    snprintf(path, sizeof path, "%s/trustnet-fe1.prom", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct thing a = {.name = "written"};
    tn_err err;
    assert_int_equal(tn_metrics_add_source(print_thing, &a, &err), 0);
    assert_int_equal(tn_metrics_start(path, "fe1.corp.test", 60000, &err), 0);
    char *text = NULL;
    for (int i = 0; i < 100 && (text = slurp(path)) == NULL; i++)
        usleep(10000);
    assert_non_null(text);
    assert_non_null(strstr(text, "written_events_total{server=\"fe1.corp.test\",kind=\"a\"} 0\n"));
    tn_counter_add(&a.events, 5);
    tn_metrics_remove_source(print_thing, &a); /* writes at once, not in 60 s */
    text = slurp(path);
    assert_non_null(strstr(text, "written_events_total{server=\"fe1.corp.test\",kind=\"a\"} 5\n"));
    tn_metrics_stop();
    text = slurp(path);
    assert_non_null(strstr(text, "written_events_total{server=\"fe1.corp.test\",kind=\"a\"} 5\n"));
    assert_int_equal(access(tmp, F_OK), -1);
    unlink(path);
    rmdir(dir);
}

/* A directory that cannot be written is logged, not fatal. */
static void unwritable_path_is_survived(void **state)
{
    tn_err err;
    assert_int_equal(tn_metrics_start("/nonexistent-dir/x.prom", "fe1", 60000, &err), 0);
    tn_metrics_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sources_are_rendered),
        cmocka_unit_test(removed_source_keeps_its_final_counts),
        cmocka_unit_test(writer_writes_the_file),
        cmocka_unit_test(unwritable_path_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
