/* Unit tests: the location service (src/sip/sip_location.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "sip/sip_location.h"

static struct loc_binding binding(const char *aor, const char *contact, const char *call_id,
                                  uint32_t cseq, long ttl, uint64_t conn)
{
    struct loc_binding b = {.cseq = cseq, .expires_at = time(NULL) + ttl, .q = 1000,
                            .conn_id = conn};
    tn_strlcpy(b.aor, aor, sizeof b.aor);
    tn_strlcpy(b.contact, contact, sizeof b.contact);
    tn_strlcpy(b.call_id, call_id, sizeof b.call_id);
    return b;
}

/* Binding n of a@corp.test (contact sip:a@h:n), for ttl seconds on
 * connection conn: the location service must take it. */
static void add_nth(struct sip_location *loc, int n, long ttl, uint64_t conn)
{
    char contact[64];
    snprintf(contact, sizeof contact, "sip:a@h:%d", n);
    struct loc_binding b = binding("a@corp.test", contact, "c", 1, ttl, conn);
    assert_int_equal(sip_location_update(loc, &b, NULL, NULL, NULL), LOC_UPDATED);
}

static void register_refresh_and_expire(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    struct loc_binding b = binding("alice@corp.test", "sip:alice@10.0.0.1:5070", "c1", 1, 60, 7);
    assert_int_equal(sip_location_update(&loc, &b, NULL, NULL, NULL), LOC_UPDATED);
    struct loc_binding out[4];
    assert_int_equal(sip_location_lookup(&loc, "alice@corp.test", time(NULL), out, 4), 1);
    assert_int_equal(out[0].conn_id, 7);
    /* Same Call-ID, same CSeq: out of order (RFC 3261 10.3 step 7). */
    assert_int_equal(sip_location_update(&loc, &b, NULL, NULL, NULL), LOC_OUT_OF_ORDER);
    b.cseq = 2;
    b.expires_at = time(NULL) - 1; /* Expires: 0 */
    assert_int_equal(sip_location_update(&loc, &b, NULL, NULL, NULL), LOC_UPDATED);
    assert_int_equal(sip_location_lookup(&loc, "alice@corp.test", time(NULL), out, 4), 0);
    sip_location_free(&loc);
}

/* Routing takes the highest-q binding that has a connection. */
static void best_connection(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    assert_int_equal(sip_location_best_conn(&loc, "alice@corp.test", time(NULL)), 0);
    struct loc_binding restored = binding("alice@corp.test", "sip:alice@h:1", "c1", 1, 60, 0);
    restored.q = 1000; /* loaded after a restart: no flow */
    struct loc_binding low = binding("alice@corp.test", "sip:alice@h:2", "c2", 1, 60, 7);
    low.q = 200;
    struct loc_binding high = binding("alice@corp.test", "sip:alice@h:3", "c3", 1, 60, 8);
    high.q = 800;
    sip_location_update(&loc, &restored, NULL, NULL, NULL);
    assert_int_equal(sip_location_best_conn(&loc, "alice@corp.test", time(NULL)), 0);
    sip_location_update(&loc, &low, NULL, NULL, NULL);
    sip_location_update(&loc, &high, NULL, NULL, NULL);
    assert_int_equal(sip_location_best_conn(&loc, "alice@corp.test", time(NULL)), 8);
    /* Expired bindings do not count (and are forgotten on the way). */
    assert_int_equal(sip_location_best_conn(&loc, "alice@corp.test", time(NULL) + 120), 0);
    struct loc_binding out[4];
    assert_int_equal(sip_location_lookup(&loc, "alice@corp.test", time(NULL), out, 4), 0);
    sip_location_free(&loc);
}

static void closed_connection_drops_its_bindings_and_aliases(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    struct loc_binding a = binding("alice@corp.test", "sip:alice@h:1", "c1", 1, 60, 7);
    struct loc_binding b = binding("bob@corp.test", "sip:bob@h:2", "c2", 1, 60, 8);
    sip_location_update(&loc, &a, NULL, NULL, NULL);
    sip_location_update(&loc, &b, NULL, NULL, NULL);
    sip_location_alias(&loc, "sip:carol@h:3", 13, 7);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:alice@h:1", 13, time(NULL)), 7);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:carol@h:3", 13, time(NULL)), 7);
    assert_int_equal(sip_location_drop_conn(&loc, 7, NULL, NULL), 1);
    struct loc_binding out[4];
    assert_int_equal(sip_location_lookup(&loc, "alice@corp.test", time(NULL), out, 4), 0);
    assert_int_equal(sip_location_lookup(&loc, "bob@corp.test", time(NULL), out, 4), 1);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:carol@h:3", 13, time(NULL)), 0);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:bob@h:2", 11, time(NULL)), 8);
    assert_int_equal(sip_location_drop_conn(&loc, 7, NULL, NULL), 0); /* twice: nothing left */
    sip_location_free(&loc);
}

static void alias_moved_to_another_connection_survives(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    sip_location_alias(&loc, "sip:x@h:1", 9, 1);
    sip_location_alias(&loc, "sip:x@h:1", 9, 2); /* the client reconnected */
    sip_location_drop_conn(&loc, 1, NULL, NULL);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:x@h:1", 9, time(NULL)), 2);
    sip_location_free(&loc);
}

static void at_most_ten_bindings(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    for (int i = 0; i < LOC_MAX_BINDINGS_PER_AOR; i++)
        add_nth(&loc, i + 1, 60, 1);
    struct loc_binding extra = binding("a@corp.test", "sip:a@h:99", "c", 1, 60, 1);
    assert_int_equal(sip_location_update(&loc, &extra, NULL, NULL, NULL), LOC_TOO_MANY);
    sip_location_free(&loc);
}

/* Entries and aliases are sized to what they hold: many users with one to
 * three devices each, every binding (strings and numbers) found again intact, aliases told
 * apart when one contact is a prefix of another, and a closed connection
 * takes exactly its own bindings. */
static void many_users_sized_to_fit(void **state)
{
    (void)state;
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    enum { USERS = 2000 };
    size_t total = 0;
    for (int u = 0; u < USERS; u++) {
        char aor[64], contact[96];
        snprintf(aor, sizeof aor, "user%d@corp.test", u);
        for (int d = 0; d <= u % 3; d++) {
            snprintf(contact, sizeof contact, "sip:user%d@10.0.%d.%d:5061", u, d, u % 250);
            char call_id[32];
            snprintf(call_id, sizeof call_id, "call-%d-%d", u, d);
            struct loc_binding b = binding(aor, contact, call_id, (uint32_t)u, 60, (uint64_t)(d + 1));
            if (d == 2) {
                snprintf(b.instance, sizeof b.instance, "<urn:uuid:%08d-0000-4000-8000-000000000000>", u);
                b.reg_id = 1;
            }
            assert_int_equal(sip_location_update(&loc, &b, NULL, NULL, NULL), LOC_UPDATED);
            total++;
        }
    }
    assert_int_equal(sip_location_count(&loc, time(NULL)), total);
    for (int u = 0; u < USERS; u++) {
        char aor[64], contact[96];
        struct loc_binding found[LOC_MAX_BINDINGS_PER_AOR];
        snprintf(aor, sizeof aor, "user%d@corp.test", u);
        size_t n = sip_location_lookup(&loc, aor, time(NULL), found, LOC_MAX_BINDINGS_PER_AOR);
        assert_int_equal(n, (size_t)(u % 3 + 1));
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(found[k].aor, aor);
            snprintf(contact, sizeof contact, "sip:user%d@10.0.%d.%d:5061", u,
                     (int)found[k].conn_id - 1, u % 250);
            assert_string_equal(found[k].contact, contact);
            char call_id[32], instance[64] = "";
            snprintf(call_id, sizeof call_id, "call-%d-%d", u, (int)found[k].conn_id - 1);
            if (found[k].conn_id == 3)
                snprintf(instance, sizeof instance, "<urn:uuid:%08d-0000-4000-8000-000000000000>", u);
            assert_string_equal(found[k].call_id, call_id);
            assert_string_equal(found[k].instance, instance);
            assert_int_equal(found[k].cseq, (uint32_t)u);
            assert_int_equal(found[k].reg_id, found[k].conn_id == 3 ? 1 : 0);
            assert_int_equal(found[k].q, 1000);
        }
    }
    /* connection 3 holds the third device of every third user */
    assert_int_equal(sip_location_drop_conn(&loc, 3, NULL, NULL), USERS / 3);
    assert_int_equal(sip_location_count(&loc, time(NULL)), total - USERS / 3);

    sip_location_alias(&loc, "sip:x@h", 7, 7);
    sip_location_alias(&loc, "sip:x@h:1", 9, 8);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:x@h", 7, time(NULL)), 7);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:x@h:1", 9, time(NULL)), 8);
    assert_int_equal(sip_location_conn_for_contact(&loc, "sip:x@h:", 8, time(NULL)), 0);
    sip_location_free(&loc);
}

static void note_evicted(const struct loc_binding *b, const char *why, void *ctx)
{
    (void)why;
    tn_strlcpy(ctx, b->contact, LOC_CONTACT_MAX);
}

/* Bindings loaded after a restart have no flow (conn 0): a full entry
 * drops the one that expires first to take a binding with a live flow,
 * and says which; bindings with a live flow are never pushed out. */
static void flowless_bindings_make_room(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    char evicted[LOC_CONTACT_MAX] = "";
    for (int i = 0; i < LOC_MAX_BINDINGS_PER_AOR; i++) {
        /* 3 and 5 are flowless; 5 expires first */
        uint64_t conn = i == 2 || i == 4 ? 0 : (uint64_t)i + 1;
        add_nth(&loc, i + 1, i == 4 ? 30 : 60, conn);
    }
    struct loc_binding n1 = binding("a@corp.test", "sip:a@h:98", "c", 1, 60, 98);
    assert_int_equal(sip_location_update(&loc, &n1, NULL, note_evicted, evicted), LOC_UPDATED);
    assert_string_equal(evicted, "sip:a@h:5");
    struct loc_binding n2 = binding("a@corp.test", "sip:a@h:99", "c", 1, 60, 99);
    assert_int_equal(sip_location_update(&loc, &n2, NULL, note_evicted, evicted), LOC_UPDATED);
    assert_string_equal(evicted, "sip:a@h:3");
    /* now every binding has a flow: the next one is refused */
    struct loc_binding n3 = binding("a@corp.test", "sip:a@h:100", "c", 1, 60, 100);
    evicted[0] = '\0';
    assert_int_equal(sip_location_update(&loc, &n3, NULL, note_evicted, evicted), LOC_TOO_MANY);
    assert_string_equal(evicted, "");
    struct loc_binding out[LOC_MAX_BINDINGS_PER_AOR + 1];
    size_t n = sip_location_lookup(&loc, "a@corp.test", time(NULL), out, LOC_MAX_BINDINGS_PER_AOR + 1);
    assert_int_equal(n, LOC_MAX_BINDINGS_PER_AOR);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i].conn_id != 0);
    sip_location_free(&loc);
}

/* An expired binding makes room before anything else. */
static void expired_bindings_make_room(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    for (int i = 0; i < LOC_MAX_BINDINGS_PER_AOR; i++)
        add_nth(&loc, i + 1, i == 7 ? 1 : 60, (uint64_t)i + 1);
    /* binding 8 expires (within 2 s) and is not refreshed */
    time_t gone_at = time(NULL) + 1;
    while (time(NULL) < gone_at)
        usleep(50 * 1000);
    struct loc_binding extra = binding("a@corp.test", "sip:a@h:99", "c", 1, 60, 99);
    assert_int_equal(sip_location_update(&loc, &extra, NULL, NULL, NULL), LOC_UPDATED);
    sip_location_free(&loc);
}

static struct loc_binding device(const char *contact, const char *instance, uint32_t reg_id,
                                 uint32_t cseq, uint64_t conn)
{
    struct loc_binding b = binding("a@corp.test", contact, "c", cseq, 60, conn);
    tn_strlcpy(b.instance, instance, sizeof b.instance);
    b.reg_id = reg_id;
    return b;
}

/* RFC 5626/5627: a device's new registration replaces its binding even
 * under a new Contact URI (new port, new connection), and the replaced
 * one is told; another reg-id is another flow of the same device; without
 * instances the Contact URI decides, as before. */
static void device_replaces_its_binding(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    char evicted[LOC_CONTACT_MAX] = "";
    struct loc_binding first = device("sip:a@h:5001", "<urn:uuid:1>", 1, 1, 11);
    struct loc_binding again = device("sip:a@h:5002", "<urn:uuid:1>", 1, 2, 12);
    struct loc_binding flow2 = device("sip:a@h:5003", "<urn:uuid:1>", 2, 3, 13);
    struct loc_binding other = device("sip:a@h:5004", "<urn:uuid:2>", 1, 4, 14);
    struct loc_binding plain = binding("a@corp.test", "sip:a@h:5002", "c", 5, 60, 15);
    bool existed;
    assert_int_equal(sip_location_update(&loc, &first, &existed, note_evicted, evicted),
                     LOC_UPDATED);
    assert_false(existed);
    assert_int_equal(sip_location_update(&loc, &again, &existed, note_evicted, evicted),
                     LOC_UPDATED);
    assert_true(existed);
    assert_string_equal(evicted, "sip:a@h:5001");
    evicted[0] = '\0';
    assert_int_equal(sip_location_update(&loc, &flow2, NULL, note_evicted, evicted), LOC_UPDATED);
    assert_int_equal(sip_location_update(&loc, &other, NULL, note_evicted, evicted), LOC_UPDATED);
    /* a binding without an instance matches by URI: 5002 is device 1's */
    assert_int_equal(sip_location_update(&loc, &plain, &existed, note_evicted, evicted),
                     LOC_UPDATED);
    assert_true(existed);
    assert_string_equal(evicted, "");
    struct loc_binding out[8];
    size_t n = sip_location_lookup(&loc, "a@corp.test", time(NULL), out, 8);
    assert_int_equal(n, 3);
    /* the same device and flow, an older CSeq of the same call: refused */
    struct loc_binding stale = device("sip:a@h:5009", "<urn:uuid:1>", 2, 1, 16);
    assert_int_equal(sip_location_update(&loc, &stale, NULL, NULL, NULL), LOC_OUT_OF_ORDER);
    sip_location_free(&loc);
}

/* With equal q, requests go over the flow refreshed last. */
static void most_recent_flow_wins(void **state)
{
    struct sip_location loc;
    tn_err err;
    assert_int_equal(sip_location_init(&loc, &err), 0);
    struct loc_binding f1 = device("sip:a@h:5001", "<urn:uuid:1>", 1, 1, 21);
    struct loc_binding f2 = device("sip:a@h:5002", "<urn:uuid:1>", 2, 2, 22);
    f2.expires_at = f1.expires_at + 5; /* registered 5 s later */
    sip_location_update(&loc, &f2, NULL, NULL, NULL);
    sip_location_update(&loc, &f1, NULL, NULL, NULL);
    assert_int_equal(sip_location_best_conn(&loc, "a@corp.test", time(NULL)), 22);
    sip_location_free(&loc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_refresh_and_expire),
        cmocka_unit_test(flowless_bindings_make_room),
        cmocka_unit_test(device_replaces_its_binding),
        cmocka_unit_test(most_recent_flow_wins),
        cmocka_unit_test(expired_bindings_make_room),
        cmocka_unit_test(best_connection),
        cmocka_unit_test(closed_connection_drops_its_bindings_and_aliases),
        cmocka_unit_test(alias_moved_to_another_connection_survives),
        cmocka_unit_test(at_most_ten_bindings),
        cmocka_unit_test(many_users_sized_to_fit),
    };
    return cmocka_run_group_tests_name("sip_location", tests, NULL, NULL);
}
