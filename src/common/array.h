/*
 * array.h - growing a heap array by doubling, with overflow checks.
 */
#ifndef TN_COMMON_ARRAY_H
#define TN_COMMON_ARRAY_H

#include <stddef.h>

/* Make room for at least need elements of elem_size in *items (capacity
 * *cap), doubling from 16.  Returns 0, or -1 when out of memory or on
 * size overflow (then *items and *cap are unchanged). */
int tn_array_reserve(void **items, size_t *cap, size_t need, size_t elem_size);

#endif
