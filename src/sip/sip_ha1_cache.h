/*
 * sip_ha1_cache.h - a per-worker cache of users' digest HA1s, so that an
 * authenticated request costs no store query (and no lock shared between
 * workers).  Entries live HA1_CACHE_TTL_MS: a changed or deleted password
 * takes effect within that time.  Direct-mapped and bounded.
 */
#ifndef TN_SIP_HA1_CACHE_H
#define TN_SIP_HA1_CACHE_H

#include <stdint.h>

#include "sip/sip_digest.h"
#include "store/store.h"

#define HA1_CACHE_SLOTS 512
#define HA1_CACHE_TTL_MS 5000

struct ha1_cache_slot {
    uint64_t expires_ms; /* 0: empty */
    enum digest_alg alg;
    char user[STORE_USER_MAX + 1];
    char domain[STORE_DOMAIN_MAX + 1];
    char ha1[DIGEST_HEX_MAX];
};

struct ha1_cache {
    struct ha1_cache_slot slots[HA1_CACHE_SLOTS];
};

/* Like store_user_ha1 (0 found, 1 no such user, -1 error), answering from
 * the cache while the entry is fresh. */
int ha1_cache_lookup(struct ha1_cache *cache, store *s, const char *user, const char *domain,
                     enum digest_alg alg, uint64_t now_ms, char *hex, size_t hexlen,
                     tn_err *err);

#endif
