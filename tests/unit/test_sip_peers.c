/* Unit tests: connections to the other servers (src/sip/sip_peers.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sip/sip_peers.h"

static uint64_t conn_of(struct sip_peers *p, const char *fqdn, uint64_t now)
{
    uint64_t id = 0;
    return sip_peers_lookup(p, fqdn, now, &id) == PEER_CONNECTED ? id : 0;
}

/* fe1 and fe2 open connections to each other at once: fe1's (1) and
 * fe2's (2).  Both ends keep the one fe1 opened, whatever the order in
 * which they saw them. */
static void simultaneous_open_settles_on_one_connection(void **state)
{
    struct sip_peers fe1, fe2;
    sip_peers_init(&fe1, "fe1.corp.test");
    sip_peers_init(&fe2, "fe2.corp.test");
    /* each opens its own, then identifies the other's */
    sip_peers_attach(&fe1, "fe2.corp.test", 1, false, true, 1000);
    sip_peers_attach(&fe2, "fe1.corp.test", 2, false, true, 1000);
    sip_peers_attach(&fe1, "fe2.corp.test", 2, true, false, 1010);
    sip_peers_attach(&fe2, "fe1.corp.test", 1, true, false, 1010);
    /* then their own handshakes complete */
    sip_peers_attach(&fe1, "fe2.corp.test", 1, true, true, 1020);
    sip_peers_attach(&fe2, "fe1.corp.test", 2, true, true, 1020);
    assert_int_equal(conn_of(&fe1, "fe2.corp.test", 1030), 1);
    assert_int_equal(conn_of(&fe2, "fe1.corp.test", 1030), 1);
    sip_peers_free(&fe1);
    sip_peers_free(&fe2);
}

/* Outside the collision window a new connection replaces the old one:
 * the peer restarted, the old connection may be dead. */
static void later_connection_replaces(void **state)
{
    struct sip_peers fe1;
    sip_peers_init(&fe1, "fe1.corp.test");
    sip_peers_attach(&fe1, "fe2.corp.test", 1, true, true, 1000);
    sip_peers_attach(&fe1, "fe2.corp.test", 2, true, false, 1000 + SIP_PEER_COLLISION_MS + 1);
    assert_int_equal(conn_of(&fe1, "fe2.corp.test", 20000), 2);
    sip_peers_free(&fe1);
}

/* Two connections in the same direction are no collision: the newest. */
static void same_direction_newest_wins(void **state)
{
    struct sip_peers fe1;
    sip_peers_init(&fe1, "fe1.corp.test");
    sip_peers_attach(&fe1, "fe2.corp.test", 1, true, true, 1000);
    sip_peers_attach(&fe1, "fe2.corp.test", 2, false, true, 1001);
    assert_int_equal(conn_of(&fe1, "fe2.corp.test", 1002), 2);
    sip_peers_attach(&fe1, "fe0.corp.test", 3, true, false, 1000);
    sip_peers_attach(&fe1, "fe0.corp.test", 4, true, false, 1001);
    assert_int_equal(conn_of(&fe1, "fe0.corp.test", 1002), 4);
    sip_peers_free(&fe1);
}

/* A caller whose loop clock lags the attaching one is still within the
 * window (no unsigned wrap-around). */
static void lagging_clock_is_within_the_window(void **state)
{
    struct sip_peers fe2;
    sip_peers_init(&fe2, "fe2.corp.test");
    sip_peers_attach(&fe2, "fe1.corp.test", 1, true, false, 1000);
    sip_peers_attach(&fe2, "fe1.corp.test", 2, true, true, 999);
    assert_int_equal(conn_of(&fe2, "fe1.corp.test", 1000), 1);
    sip_peers_free(&fe2);
}

/* A peer never reached backs off, doubling; a verified connection resets
 * the count. */
static void failed_peer_backs_off(void **state)
{
    struct sip_peers fe1;
    sip_peers_init(&fe1, "fe1.corp.test");
    uint64_t id = 0;
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 0, &id), PEER_MUST_CONNECT);
    sip_peers_attach(&fe1, "fe2.corp.test", 1, false, true, 0);
    sip_peers_detach(&fe1, 1, 0);
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 999, &id), PEER_BACKING_OFF);
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 1000, &id), PEER_MUST_CONNECT);
    sip_peers_attach(&fe1, "fe2.corp.test", 2, false, true, 1000);
    sip_peers_detach(&fe1, 2, 1000);
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 2999, &id), PEER_BACKING_OFF);
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 3000, &id), PEER_MUST_CONNECT);
    sip_peers_attach(&fe1, "fe2.corp.test", 3, true, true, 3000);
    assert_int_equal(conn_of(&fe1, "fe2.corp.test", 3000), 3);
    sip_peers_detach(&fe1, 3, 4000); /* it was up: no back-off */
    assert_int_equal(sip_peers_lookup(&fe1, "fe2.corp.test", 4000, &id), PEER_MUST_CONNECT);
    sip_peers_free(&fe1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simultaneous_open_settles_on_one_connection),
        cmocka_unit_test(later_connection_replaces),
        cmocka_unit_test(same_direction_newest_wins),
        cmocka_unit_test(lagging_clock_is_within_the_window),
        cmocka_unit_test(failed_peer_backs_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
