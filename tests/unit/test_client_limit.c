/* Unit tests: connections per client address (src/net/client_limit.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net/client_limit.h"

/* The key of an IPv4 or IPv6 address in text. */
static struct client_key key_of(const char *ip)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1)
        sin->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1)
        sin6->sin6_family = AF_INET6;
    else
        fail_msg("not an address: %s", ip);
    struct client_key k;
    assert_true(client_key_of((struct sockaddr *)&ss, &k));
    return k;
}

/* Nothing may be left once every connection is released. */
static void free_expecting_empty(struct client_limit *cl)
{
    for (size_t i = 0; i < cl->n_buckets; i++)
        assert_null(cl->buckets[i]);
    client_limit_free(cl);
}

/* Up to the limit per address, each address on its own; a release makes
 * room again; an address with nothing open is forgotten. */
static void counts_each_address(void **state)
{
    (void)state;
    struct client_limit cl;
    assert_int_equal(client_limit_init(&cl, 2), 0);
    struct client_key a = key_of("192.0.2.1"), b = key_of("192.0.2.2");
    unsigned held = 9;
    assert_true(client_limit_take(&cl, &a, &held));
    assert_int_equal(held, 1);
    assert_true(client_limit_take(&cl, &a, &held));
    assert_int_equal(held, 2);
    assert_false(client_limit_take(&cl, &a, &held));
    assert_int_equal(held, 2);
    assert_true(client_limit_take(&cl, &b, NULL));
    client_limit_release(&cl, &a);
    assert_true(client_limit_take(&cl, &a, &held));
    assert_int_equal(held, 2);
    for (int i = 0; i < 2; i++)
        client_limit_release(&cl, &a);
    client_limit_release(&cl, &b);
    free_expecting_empty(&cl);
}

/* An IPv4 address and its IPv4-mapped IPv6 form are one client; other
 * IPv6 addresses are not. */
static void ipv4_mapped_is_the_same_client(void **state)
{
    (void)state;
    struct client_limit cl;
    assert_int_equal(client_limit_init(&cl, 1), 0);
    struct client_key v4 = key_of("198.51.100.7"), mapped = key_of("::ffff:198.51.100.7");
    struct client_key other = key_of("2001:db8::7");
    assert_memory_equal(&v4, &mapped, sizeof v4);
    assert_true(client_limit_take(&cl, &v4, NULL));
    assert_false(client_limit_take(&cl, &mapped, NULL));
    assert_true(client_limit_take(&cl, &other, NULL));
    client_limit_free(&cl);
}

/* Exempt addresses (our servers) and a limit of 0 never refuse. */
static void exempt_and_unlimited(void **state)
{
    (void)state;
    struct client_limit cl;
    assert_int_equal(client_limit_init(&cl, 1), 0);
    struct sockaddr_in srv = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.1.1.1", &srv.sin_addr);
    assert_true(client_limit_exempt(&cl, (struct sockaddr *)&srv));
    struct client_key k = key_of("10.1.1.1");
    for (int i = 0; i < 100; i++)
        assert_true(client_limit_take(&cl, &k, NULL));
    for (int i = 0; i < 100; i++)
        client_limit_release(&cl, &k);
    client_limit_free(&cl);

    assert_int_equal(client_limit_init(&cl, 0), 0);
    for (int i = 0; i < 100; i++)
        assert_true(client_limit_take(&cl, &k, NULL));
    client_limit_release(&cl, &k);
    client_limit_free(&cl);
}

static struct client_key nth_key(int i)
{
    char ip[32];
    snprintf(ip, sizeof ip, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
    return key_of(ip);
}

/* Many addresses at the limit, then all released: nothing is left. */
static void many_addresses(void **state)
{
    (void)state;
    struct client_limit cl;
    assert_int_equal(client_limit_init(&cl, 3), 0);
    for (int i = 0; i < 20000; i++) {
        struct client_key k = nth_key(i);
        for (int n = 0; n < 3; n++)
            assert_true(client_limit_take(&cl, &k, NULL));
        assert_false(client_limit_take(&cl, &k, NULL));
    }
    for (int i = 0; i < 20000 * 3; i++) {
        struct client_key k = nth_key(i / 3);
        client_limit_release(&cl, &k);
    }
    free_expecting_empty(&cl);
}

static void other_families_are_not_counted(void **state)
{
    (void)state;
    struct sockaddr sa = {.sa_family = AF_UNIX};
    struct client_key k;
    assert_false(client_key_of(&sa, &k));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_each_address),
        cmocka_unit_test(ipv4_mapped_is_the_same_client),
        cmocka_unit_test(exempt_and_unlimited),
        cmocka_unit_test(many_addresses),
        cmocka_unit_test(other_families_are_not_counted),
    };
    return cmocka_run_group_tests_name("client_limit", tests, NULL, NULL);
}
