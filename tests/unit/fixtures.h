/*
 * fixtures.h - small helpers the unit tests share.  Test code only:
 * include it after <cmocka.h>, whose assertions it uses.
 *
 * A temporary directory for a group of tests: setup makes it, teardown
 * removes it with everything below it.
 *
 *     struct fixture { char dir[TEMP_DIR_MAX]; ... };
 *     setup:    temp_dir_make(f->dir, "spool");   // /tmp/trustnet-spool.XXXXXX
 *     teardown: return temp_dir_remove(f->dir);   // 0, or -1: the group fails
 */
#ifndef TN_TEST_FIXTURES_H
#define TN_TEST_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

#define TEMP_DIR_MAX 64

/* A new, empty directory /tmp/trustnet-NAME.XXXXXX (the X's made unique)
 * into dir; the test fails when it cannot be made. */
static inline void temp_dir_make(char dir[TEMP_DIR_MAX], const char *name)
{
    int n = snprintf(dir, TEMP_DIR_MAX, "/tmp/trustnet-%s.XXXXXX", name);
    assert_true(n > 0 && n < TEMP_DIR_MAX);
    assert_non_null(mkdtemp(dir));
}

/* Remove dir and everything below it: 0, or -1 when that failed. */
static inline int temp_dir_remove(const char *dir)
{
    char cmd[TEMP_DIR_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
