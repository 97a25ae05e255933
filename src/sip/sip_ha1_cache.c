/* sip_ha1_cache.c - per-worker HA1 cache (see sip_ha1_cache.h). */
#include "sip/sip_ha1_cache.h"

#include <string.h>

#include "common/hash.h"
#include "common/str.h"

static size_t slot_index(const char *user, const char *domain, enum digest_alg alg)
{
    uint64_t h = tn_fnv1a64(TN_FNV1A64_INIT, &alg, sizeof alg);
    h = tn_fnv1a64(h, user, strlen(user) + 1); /* the NUL separates user and domain */
    h = tn_fnv1a64(h, domain, strlen(domain));
    return (size_t)(h % HA1_CACHE_SLOTS);
}

int ha1_cache_lookup(struct ha1_cache *cache, store *s, const char *user, const char *domain,
                     enum digest_alg alg, uint64_t now_ms, char *hex, size_t hexlen,
                     tn_err *err)
{
    struct ha1_cache_slot *slot = &cache->slots[slot_index(user, domain, alg)];
    if (slot->expires_ms > now_ms && slot->alg == alg && strcmp(slot->user, user) == 0 &&
        strcmp(slot->domain, domain) == 0)
        return tn_strlcpy(hex, slot->ha1, hexlen) < 0 ? tn_errf(err, "HA1 buffer too small")
                                                       : 0;
    int rc = store_user_ha1(s, user, domain, alg, hex, hexlen, err);
    if (rc != 0)
        return rc;
    if (tn_strlcpy(slot->user, user, sizeof slot->user) == 0 &&
        tn_strlcpy(slot->domain, domain, sizeof slot->domain) == 0 &&
        tn_strlcpy(slot->ha1, hex, sizeof slot->ha1) == 0) {
        slot->alg = alg;
        slot->expires_ms = now_ms + HA1_CACHE_TTL_MS;
    } else {
        slot->expires_ms = 0;
    }
    return 0;
}
