/* idmap.c - id -> pointer hash map (see idmap.h). */
#include "common/idmap.h"

#include <stdlib.h>

static size_t slot_of(uint64_t id, size_t cap)
{
    /* Fibonacci hashing spreads sequential ids. */
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static int grow(struct idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct idmap_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].id == 0)
            continue;
        size_t j = slot_of(m->slots[i].id, cap);
        while (slots[j].id != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int idmap_put(struct idmap *m, uint64_t id, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    size_t i = slot_of(id, m->cap);
    while (m->slots[i].id != 0 && m->slots[i].id != id)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].id == 0)
        m->count++;
    m->slots[i].id = id;
    m->slots[i].value = value;
    return 0;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
    if (m->cap == 0 || id == 0)
        return NULL;
    for (size_t i = slot_of(id, m->cap); m->slots[i].id != 0; i = (i + 1) & (m->cap - 1))
        if (m->slots[i].id == id)
            return m->slots[i].value;
    return NULL;
}

void *idmap_del(struct idmap *m, uint64_t id)
{
    if (m->cap == 0 || id == 0)
        return NULL;
    size_t mask = m->cap - 1, i = slot_of(id, m->cap);
    while (m->slots[i].id != id) {
        if (m->slots[i].id == 0)
            return NULL;
        i = (i + 1) & mask;
    }
    void *value = m->slots[i].value;
    /* Backward-shift the following cluster so lookups never stop early. */
    for (size_t j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->slots[j].id, m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].id = 0;
    m->slots[i].value = NULL;
    m->count--;
    return value;
}

void idmap_free(struct idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}
