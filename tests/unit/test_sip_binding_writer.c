/* Unit tests: registrations reach the store in batches
 * (src/sip/sip_binding_writer.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixtures.h"
#include "sip/sip_binding_writer.h"

#define NOW 1000
#define LATER 5000

struct fixture {
    char dir[TEMP_DIR_MAX];
    char path[128];
    store *s;
    struct binding_writer bw;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    temp_dir_make(f->dir, "bw");
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    tn_err err;
    f->s = store_open(f->path, &err);
    if (f->s == NULL)
        fail_msg("store_open: %s", err.msg);
    binding_writer_init(&f->bw, f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    binding_writer_free(&f->bw);
    store_close(f->s);
    int rc = temp_dir_remove(f->dir);
    free(f);
    return rc;
}

static struct store_binding binding(const char *aor, const char *contact, uint32_t cseq)
{
    struct store_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.aor, sizeof b.aor, "%s", aor);
    snprintf(b.contact, sizeof b.contact, "%s", contact);
    b.expires_at = LATER;
    b.q = 1000;
    snprintf(b.call_id, sizeof b.call_id, "call-1");
    b.cseq = cseq;
    snprintf(b.flow_id, sizeof b.flow_id, "1");
    return b;
}

struct seen {
    int n;
    uint32_t cseq[8];
    char contact[8][STORE_CONTACT_MAX + 1];
};

static int collect(const struct store_binding *b, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        s->cseq[s->n] = b->cseq;
        snprintf(s->contact[s->n], sizeof s->contact[0], "%s", b->contact);
    }
    s->n++;
    return 0;
}

static struct seen stored(struct fixture *f, const char *aor)
{
    struct seen s = {0};
    tn_err err;
    if (store_bindings_for_aor(f->s, aor, NOW, collect, &s, &err) < 0)
        fail_msg("for_aor: %s", err.msg);
    return s;
}

static int flush(struct fixture *f)
{
    tn_err err;
    int n = binding_writer_flush(&f->bw, &err);
    if (n < 0)
        fail_msg("flush: %s", err.msg);
    return n;
}

/* A connection that registers and closes within one batch costs the store
 * nothing. */
static void come_and_go_within_a_batch(void **state)
{
    struct fixture *f = *state;
    struct store_binding b = binding("alice@corp.test", "sip:alice@10.0.0.1", 1);
    assert_int_equal(binding_writer_put(&f->bw, &b, false), 0);
    assert_int_equal(binding_writer_del(&f->bw, b.aor, b.contact), 0);
    assert_int_equal(flush(f), 0);
    assert_int_equal(stored(f, "alice@corp.test").n, 0);
    assert_int_equal(flush(f), 0); /* nothing left */
}

static void written_then_removed(void **state)
{
    struct fixture *f = *state;
    struct store_binding b = binding("alice@corp.test", "sip:alice@10.0.0.1", 1);
    assert_int_equal(binding_writer_put(&f->bw, &b, false), 0);
    b.cseq = 2;
    assert_int_equal(binding_writer_put(&f->bw, &b, true), 0); /* the last state wins */
    assert_int_equal(flush(f), 1);
    struct seen s = stored(f, "alice@corp.test");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.cseq[0], 2);
    /* Stored by an earlier batch: its removal is written. */
    assert_int_equal(binding_writer_del(&f->bw, b.aor, b.contact), 0);
    assert_int_equal(flush(f), 1);
    assert_int_equal(stored(f, "alice@corp.test").n, 0);
}

/* Refreshed after being stored (existed), then gone: the store forgets it. */
static void refreshed_then_gone(void **state)
{
    struct fixture *f = *state;
    struct store_binding b = binding("bob@corp.test", "sip:bob@10.0.0.2", 1);
    assert_int_equal(binding_writer_put(&f->bw, &b, false), 0);
    assert_int_equal(flush(f), 1);
    b.cseq = 2;
    assert_int_equal(binding_writer_put(&f->bw, &b, true), 0);
    assert_int_equal(binding_writer_del(&f->bw, b.aor, b.contact), 0);
    assert_int_equal(flush(f), 1);
    assert_int_equal(stored(f, "bob@corp.test").n, 0);
}

/* Contact: * removes what came before it, not what came after. */
static void wipe_then_register_again(void **state)
{
    struct fixture *f = *state;
    struct store_binding a = binding("carol@corp.test", "sip:carol@10.0.0.3", 1);
    struct store_binding b = binding("carol@corp.test", "sip:carol@10.0.0.4", 1);
    struct store_binding c = binding("carol@corp.test", "sip:carol@10.0.0.5", 1);
    assert_int_equal(binding_writer_put(&f->bw, &a, false), 0);
    assert_int_equal(flush(f), 1);
    assert_int_equal(binding_writer_put(&f->bw, &b, false), 0);
    assert_int_equal(binding_writer_wipe(&f->bw, "carol@corp.test"), 0);
    assert_int_equal(binding_writer_put(&f->bw, &c, false), 0);
    assert_int_equal(flush(f), 2); /* the wipe, then c */
    struct seen s = stored(f, "carol@corp.test");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.contact[0], "sip:carol@10.0.0.5");
}

/* Many bindings with colliding or distinct keys stay apart. */
static void many_bindings(void **state)
{
    struct fixture *f = *state;
    char contact[64];
    for (int i = 0; i < 500; i++) {
        snprintf(contact, sizeof contact, "sip:dave@10.0.%d.%d", i / 200, i % 200);
        struct store_binding b = binding("dave@corp.test", contact, 1);
        assert_int_equal(binding_writer_put(&f->bw, &b, false), 0);
    }
    for (int i = 0; i < 500; i += 2) {
        snprintf(contact, sizeof contact, "sip:dave@10.0.%d.%d", i / 200, i % 200);
        assert_int_equal(binding_writer_del(&f->bw, "dave@corp.test", contact), 0);
    }
    assert_int_equal(flush(f), 250);
    assert_int_equal(stored(f, "dave@corp.test").n, 250);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(come_and_go_within_a_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(written_then_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(refreshed_then_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(wipe_then_register_again, setup, teardown),
        cmocka_unit_test_setup_teardown(many_bindings, setup, teardown),
    };
    return cmocka_run_group_tests_name("sip_binding_writer", tests, NULL, NULL);
}
