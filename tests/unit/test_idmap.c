/* Unit tests: id -> pointer map (src/common/idmap.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>

#include "common/idmap.h"

static void put_get_del_many(void **state)
{
    struct idmap m = {0};
    static int values[5000];
    for (uint64_t i = 1; i <= 5000; i++)
        assert_int_equal(idmap_put(&m, i * 7919, &values[i - 1]), 0);
    assert_int_equal(m.count, 5000);
    for (uint64_t i = 1; i <= 5000; i++)
        assert_ptr_equal(idmap_get(&m, i * 7919), &values[i - 1]);
    for (uint64_t i = 1; i <= 5000; i += 2)
        assert_ptr_equal(idmap_del(&m, i * 7919), &values[i - 1]);
    for (uint64_t i = 1; i <= 5000; i++)
        assert_ptr_equal(idmap_get(&m, i * 7919), (i % 2) ? NULL : &values[i - 1]);
    assert_null(idmap_del(&m, 12345));
    assert_null(idmap_get(&m, 0));
    assert_int_equal(m.count, 2500);
    idmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(put_get_del_many)};
    return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}
