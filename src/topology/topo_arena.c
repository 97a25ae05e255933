/* topo_arena.c - many small allocations freed at once (see topo_internal.h). */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "topology/topo_internal.h"

#define ARENA_CHUNK (64 * 1024)

struct topo_arena {
    struct topo_arena *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

static size_t round_up(size_t n)
{
    size_t a = alignof(max_align_t);
    return (n + a - 1) / a * a;
}

void *topo_arena_alloc(struct topo_arena **arena, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size = round_up(size == 0 ? 1 : size);
    struct topo_arena *a = *arena;
    if (a == NULL || a->cap - a->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        struct topo_arena *chunk = malloc(sizeof *chunk + cap);
        if (chunk == NULL)
            return NULL;
        chunk->next = a;
        chunk->used = 0;
        chunk->cap = cap;
        *arena = a = chunk;
    }
    void *p = a->data + a->used;
    a->used += size;
    memset(p, 0, size);
    return p;
}

char *topo_arena_strndup(struct topo_arena **arena, const char *s, size_t len)
{
    char *p = topo_arena_alloc(arena, len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void topo_arena_free(struct topo_arena *arena)
{
    while (arena != NULL) {
        struct topo_arena *next = arena->next;
        free(arena);
        arena = next;
    }
}
