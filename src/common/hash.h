/*
 * hash.h - FNV-1a, the one non-cryptographic hash of trustnet (hash tables,
 * transaction keys, loop detection).  Never for anything a peer could
 * exploit by choosing colliding input beyond slower lookups.
 */
#ifndef TN_COMMON_HASH_H
#define TN_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TN_FNV1A64_INIT 1469598103934665603ull

/* Continue hash h over len bytes of data (start with TN_FNV1A64_INIT). */
static inline uint64_t tn_fnv1a64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

#endif
