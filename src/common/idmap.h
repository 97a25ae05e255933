/*
 * idmap.h - a hash map from 64-bit ids to pointers (open addressing,
 * linear probing, tombstone-free deletion by backward shift).
 */
#ifndef TN_COMMON_IDMAP_H
#define TN_COMMON_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
    uint64_t id; /* 0 = empty */
    void *value;
};

struct idmap {
    struct idmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

/* Ids must not be 0.  put returns -1 when out of memory. */
int idmap_put(struct idmap *m, uint64_t id, void *value);
void *idmap_get(const struct idmap *m, uint64_t id);
void *idmap_del(struct idmap *m, uint64_t id);
void idmap_free(struct idmap *m);

#endif
