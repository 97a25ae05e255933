/* client_limit.c - connections per client address (see client_limit.h). */
#include "net/client_limit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/hash.h"

#define CLIENT_LIMIT_BUCKETS 4096

struct client_count {
    struct client_key key;
    unsigned n;
    struct client_count *next;
};

bool client_key_of(const struct sockaddr *sa, struct client_key *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET6) {
        memcpy(out->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    if (sa->sa_family == AF_INET) {
        out->ip[10] = 0xff;
        out->ip[11] = 0xff;
        memcpy(out->ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    return false;
}

int client_limit_init(struct client_limit *cl, unsigned per_client)
{
    memset(cl, 0, sizeof *cl);
    pthread_mutex_init(&cl->lock, NULL);
    cl->per_client = per_client;
    if (per_client == 0)
        return 0;
    if (getrandom(&cl->seed, sizeof cl->seed, 0) != (ssize_t)sizeof cl->seed)
        cl->seed = (uint64_t)(uintptr_t)cl; /* no entropy yet: still not a constant */
    cl->buckets = calloc(CLIENT_LIMIT_BUCKETS, sizeof *cl->buckets);
    if (cl->buckets == NULL)
        return -1;
    cl->n_buckets = CLIENT_LIMIT_BUCKETS;
    return 0;
}

void client_limit_free(struct client_limit *cl)
{
    for (size_t i = 0; i < cl->n_buckets; i++)
        for (struct client_count *c = cl->buckets[i], *next; c != NULL; c = next) {
            next = c->next;
            free(c);
        }
    free(cl->buckets);
    free(cl->exempt);
    pthread_mutex_destroy(&cl->lock);
    memset(cl, 0, sizeof *cl);
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct client_key));
}

static bool is_exempt(const struct client_limit *cl, const struct client_key *key)
{
    return cl->n_exempt > 0 &&
           bsearch(key, cl->exempt, cl->n_exempt, sizeof *key, key_cmp) != NULL;
}

bool client_limit_exempt(struct client_limit *cl, const struct sockaddr *sa)
{
    struct client_key k;
    if (!client_key_of(sa, &k) || is_exempt(cl, &k))
        return true; /* other families are never counted anyway */
    struct client_key *more = realloc(cl->exempt, (cl->n_exempt + 1) * sizeof *more);
    if (more == NULL)
        return false;
    cl->exempt = more;
    cl->exempt[cl->n_exempt++] = k;
    qsort(cl->exempt, cl->n_exempt, sizeof k, key_cmp); /* a few, once, at start */
    return true;
}

/* FNV-1a from a per-process random seed: clients choose their IPv6
 * addresses, and should not be able to choose them into one chain. */
static size_t bucket_of(const struct client_limit *cl, const struct client_key *key)
{
    uint64_t h = tn_fnv1a64(TN_FNV1A64_INIT ^ cl->seed, key->ip, sizeof key->ip);
    return (size_t)(h ^ (h >> 32)) % cl->n_buckets;
}

static struct client_count **find(struct client_limit *cl, const struct client_key *key)
{
    struct client_count **p = &cl->buckets[bucket_of(cl, key)];
    while (*p != NULL && memcmp(&(*p)->key, key, sizeof *key) != 0)
        p = &(*p)->next;
    return p;
}

bool client_limit_take(struct client_limit *cl, const struct client_key *key, unsigned *held)
{
    if (held != NULL)
        *held = 0;
    if (cl->per_client == 0 || is_exempt(cl, key))
        return true;
    pthread_mutex_lock(&cl->lock);
    struct client_count **p = find(cl, key);
    bool ok = true;
    if (*p == NULL) {
        struct client_count *c = calloc(1, sizeof *c);
        if (c != NULL) {
            c->key = *key;
            *p = c;
        } /* out of memory: let it in uncounted rather than refuse everyone */
    }
    if (*p != NULL) {
        ok = (*p)->n < cl->per_client;
        if (ok)
            (*p)->n++;
        if (held != NULL)
            *held = (*p)->n;
    }
    pthread_mutex_unlock(&cl->lock);
    return ok;
}

void client_limit_release(struct client_limit *cl, const struct client_key *key)
{
    if (cl->per_client == 0 || is_exempt(cl, key))
        return;
    pthread_mutex_lock(&cl->lock);
    struct client_count **p = find(cl, key);
    if (*p != NULL && --(*p)->n == 0) {
        struct client_count *dead = *p;
        *p = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&cl->lock);
}
