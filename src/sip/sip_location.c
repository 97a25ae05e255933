/* sip_location.c - the shared location service (see sip_location.h). */
#include "sip/sip_location.h"

#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/hash.h"
#include "common/str.h"

#define N_BUCKETS 4096

/* Sized to what they hold: most users have one or two devices, and a
 * server holds many users, so neither bindings nor names are reserved
 * for the maximum (a struct loc_binding is 1.2 KB of fixed fields; ten
 * of them were once kept for every registered user).  A stored binding
 * keeps its numbers inline and its three strings packed in one
 * allocation; the entry's aor is not repeated in it. */
struct loc_slot {
    char *text; /* contact NUL call_id NUL instance NUL */
    uint16_t call_id_at, instance_at; /* offsets into text */
    uint32_t cseq, reg_id;
    int q;
    time_t expires_at;
    uint64_t conn_id;
};

struct loc_entry {
    struct loc_slot *bindings; /* n used of cap, cap <= LOC_MAX_BINDINGS_PER_AOR */
    size_t n, cap;
    struct loc_entry *next;
    char aor[]; /* NUL-terminated */
};

struct loc_alias {
    uint64_t conn_id;
    struct loc_alias *next;
    size_t len;
    char contact[]; /* len bytes, then NUL */
};

/* What one connection is referenced by, so that its close drops exactly
 * those bindings and aliases instead of scanning everything. */
struct conn_ref {
    bool alias;  /* key is a contact (alias), else an AOR (bindings) */
    char *key;
};

struct conn_refs {
    struct conn_ref *items;
    size_t n, cap;
};

static void note_conn_ref(struct sip_location *loc, uint64_t conn_id, bool alias,
                          const char *key, size_t len)
{
    if (conn_id == 0)
        return;
    struct conn_refs *refs = idmap_get(&loc->by_conn, conn_id);
    if (refs == NULL) {
        if ((refs = calloc(1, sizeof *refs)) == NULL || idmap_put(&loc->by_conn, conn_id, refs) < 0) {
            free(refs);
            return;
        }
    }
    for (size_t i = 0; i < refs->n; i++)
        if (refs->items[i].alias == alias && strlen(refs->items[i].key) == len &&
            memcmp(refs->items[i].key, key, len) == 0)
            return;
    char *copy = malloc(len + 1);
    if (copy == NULL ||
        tn_array_reserve((void **)&refs->items, &refs->cap, refs->n + 1, sizeof *refs->items) < 0) {
        free(copy);
        return;
    }
    memcpy(copy, key, len);
    copy[len] = '\0';
    refs->items[refs->n++] = (struct conn_ref){.alias = alias, .key = copy};
}

static void free_refs(struct conn_refs *refs)
{
    for (size_t i = 0; i < refs->n; i++)
        free(refs->items[i].key);
    free(refs->items);
    free(refs);
}

static size_t hash_text(const char *s, size_t len, size_t n_buckets)
{
    return (size_t)(tn_fnv1a64(TN_FNV1A64_INIT, s, len) % n_buckets);
}

int sip_location_init(struct sip_location *loc, tn_err *err)
{
    memset(loc, 0, sizeof *loc);
    loc->buckets = calloc(N_BUCKETS, sizeof *loc->buckets);
    loc->aliases = calloc(N_BUCKETS, sizeof *loc->aliases);
    if (loc->buckets == NULL || loc->aliases == NULL) {
        free(loc->buckets);
        free(loc->aliases);
        return tn_errf(err, "out of memory");
    }
    loc->n_buckets = loc->n_alias_buckets = N_BUCKETS;
    pthread_mutex_init(&loc->lock, NULL);
    return 0;
}

void sip_location_free(struct sip_location *loc)
{
    for (size_t i = 0; i < loc->n_buckets; i++) {
        for (struct loc_entry *e = loc->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            for (size_t k = 0; k < e->n; k++)
                free(e->bindings[k].text);
            free(e->bindings);
            free(e);
        }
        for (struct loc_alias *a = loc->aliases[i], *next; a != NULL; a = next) {
            next = a->next;
            free(a);
        }
    }
    for (size_t i = 0; i < loc->by_conn.cap; i++)
        if (loc->by_conn.slots[i].id != 0)
            free_refs(loc->by_conn.slots[i].value);
    idmap_free(&loc->by_conn);
    free(loc->buckets);
    free(loc->aliases);
    pthread_mutex_destroy(&loc->lock);
}

static struct loc_entry **find_entry(struct sip_location *loc, const char *aor)
{
    struct loc_entry **p = &loc->buckets[hash_text(aor, strlen(aor), loc->n_buckets)];
    while (*p != NULL && strcmp((*p)->aor, aor) != 0)
        p = &(*p)->next;
    return p;
}

/* --- aliases (caller holds the lock) ---------------------------------------- */

static struct loc_alias **find_alias(struct sip_location *loc, const char *contact, size_t len)
{
    struct loc_alias **p = &loc->aliases[hash_text(contact, len, loc->n_alias_buckets)];
    while (*p != NULL && !((*p)->len == len && memcmp((*p)->contact, contact, len) == 0))
        p = &(*p)->next;
    return p;
}

static void set_alias(struct sip_location *loc, const char *contact, size_t len,
                      uint64_t conn_id)
{
    if (len == 0 || len >= LOC_CONTACT_MAX || conn_id == 0)
        return;
    struct loc_alias **p = find_alias(loc, contact, len);
    if (*p == NULL) {
        struct loc_alias *a = calloc(1, sizeof *a + len + 1);
        if (a == NULL)
            return;
        memcpy(a->contact, contact, len);
        a->len = len;
        *p = a;
    }
    (*p)->conn_id = conn_id;
    note_conn_ref(loc, conn_id, true, contact, len);
}

/* --- bindings ------------------------------------------------------------------ */

static const char *slot_contact(const struct loc_slot *s)
{
    return s->text;
}

static const char *slot_call_id(const struct loc_slot *s)
{
    return s->text + s->call_id_at;
}

static const char *slot_instance(const struct loc_slot *s)
{
    return s->text + s->instance_at;
}

/* Store b in s (its strings in a new allocation, the old one freed only
 * once that worked); false when out of memory, s unchanged. */
static bool slot_set(struct loc_slot *s, const struct loc_binding *b)
{
    size_t lc = strnlen(b->contact, sizeof b->contact - 1);
    size_t li = strnlen(b->call_id, sizeof b->call_id - 1);
    size_t ln = strnlen(b->instance, sizeof b->instance - 1);
    char *text = malloc(lc + li + ln + 3);
    if (text == NULL)
        return false;
    memcpy(text, b->contact, lc);
    text[lc] = '\0';
    memcpy(text + lc + 1, b->call_id, li);
    text[lc + 1 + li] = '\0';
    memcpy(text + lc + li + 2, b->instance, ln);
    text[lc + li + 2 + ln] = '\0';
    free(s->text);
    *s = (struct loc_slot){.text = text, .call_id_at = (uint16_t)(lc + 1),
                           .instance_at = (uint16_t)(lc + li + 2), .cseq = b->cseq,
                           .reg_id = b->reg_id, .q = b->q, .expires_at = b->expires_at,
                           .conn_id = b->conn_id};
    return true;
}

/* The binding as callers see it. */
static void slot_expand(const struct loc_entry *e, const struct loc_slot *s,
                        struct loc_binding *out)
{
    memset(out, 0, sizeof *out);
    tn_strlcpy(out->aor, e->aor, sizeof out->aor);
    tn_strlcpy(out->contact, slot_contact(s), sizeof out->contact);
    tn_strlcpy(out->call_id, slot_call_id(s), sizeof out->call_id);
    tn_strlcpy(out->instance, slot_instance(s), sizeof out->instance);
    out->cseq = s->cseq;
    out->reg_id = s->reg_id;
    out->q = s->q;
    out->expires_at = s->expires_at;
    out->conn_id = s->conn_id;
}

/* Tell fn (if any) that binding i goes, and why. */
static void tell(loc_gone_fn *fn, const struct loc_entry *e, size_t i, const char *why, void *ctx)
{
    if (fn == NULL)
        return;
    struct loc_binding b;
    slot_expand(e, &e->bindings[i], &b);
    fn(&b, why, ctx);
}

static void remove_binding(struct loc_entry *e, size_t i)
{
    free(e->bindings[i].text);
    e->bindings[i] = e->bindings[--e->n];
}

static void drop_empty(struct loc_entry **p)
{
    if (*p != NULL && (*p)->n == 0) {
        struct loc_entry *dead = *p;
        *p = dead->next;
        free(dead->bindings);
        free(dead);
    }
}

/* Room for one more binding below the limit; false when out of memory. */
static bool grow(struct loc_entry *e)
{
    if (e->n < e->cap)
        return true;
    size_t cap = e->cap == 0 ? 1 : e->cap * 2;
    if (cap > LOC_MAX_BINDINGS_PER_AOR)
        cap = LOC_MAX_BINDINGS_PER_AOR;
    struct loc_slot *more = realloc(e->bindings, cap * sizeof *more);
    if (more == NULL)
        return false;
    e->bindings = more;
    e->cap = cap;
    return true;
}

/* RFC 5626 6 / RFC 5627: a device (instance) names its binding, per
 * flow (reg-id); without instances, the Contact URI does. */
static bool same_binding(const struct loc_slot *old, const struct loc_binding *b)
{
    if (slot_instance(old)[0] != '\0' && b->instance[0] != '\0')
        return strcmp(slot_instance(old), b->instance) == 0 && old->reg_id == b->reg_id;
    return strcmp(slot_contact(old), b->contact) == 0;
}

/* Room for one more binding in a full entry: expired bindings go first,
 * then the flowless one (loaded after a restart) that expires first: its
 * client is behind NAT and can only be reached over a connection it opens
 * again, so it is dead weight.  Without this, clients that come back on a
 * new port after each restart would fill the entry.  Bindings with a live
 * flow are never pushed out. */
static bool make_room(struct loc_entry *e, time_t now, loc_gone_fn *evicted, void *ctx)
{
    for (size_t i = 0; i < e->n;) {
        if (e->bindings[i].expires_at <= now)
            remove_binding(e, i);
        else
            i++;
    }
    if (e->n < LOC_MAX_BINDINGS_PER_AOR)
        return true;
    size_t victim = e->n;
    for (size_t i = 0; i < e->n; i++)
        if (e->bindings[i].conn_id == 0 &&
            (victim == e->n || e->bindings[i].expires_at < e->bindings[victim].expires_at))
            victim = i;
    if (victim == e->n)
        return false;
    tell(evicted, e, victim, "no connection since the restart, dropped to make room", ctx);
    remove_binding(e, victim);
    return true;
}

static enum loc_update_result update_locked(struct sip_location *loc,
                                            const struct loc_binding *b, time_t now,
                                            bool *existed, loc_gone_fn *evicted, void *ctx)
{
    struct loc_entry **p = find_entry(loc, b->aor);
    *existed = false;
    if (*p == NULL) {
        if (b->expires_at <= now)
            return LOC_UPDATED;
        size_t len = strnlen(b->aor, sizeof b->aor - 1);
        struct loc_entry *e = calloc(1, sizeof *e + len + 1);
        if (e == NULL)
            return LOC_NO_MEMORY;
        memcpy(e->aor, b->aor, len);
        *p = e;
    }
    struct loc_entry *e = *p;
    for (size_t i = 0; i < e->n; i++) {
        struct loc_slot *old = &e->bindings[i];
        if (!same_binding(old, b))
            continue;
        if (strcmp(slot_call_id(old), b->call_id) == 0 && b->cseq <= old->cseq)
            return LOC_OUT_OF_ORDER;
        *existed = true;
        bool same_contact = strcmp(slot_contact(old), b->contact) == 0;
        if (b->expires_at <= now) {
            if (!same_contact)
                tell(evicted, e, i, "replaced by a new registration of the same device", ctx);
            remove_binding(e, i);
            drop_empty(p);
            return LOC_UPDATED;
        }
        if (same_contact)
            return slot_set(old, b) ? LOC_UPDATED : LOC_NO_MEMORY;
        struct loc_slot fresh = {0};
        if (!slot_set(&fresh, b))
            return LOC_NO_MEMORY;
        tell(evicted, e, i, "replaced by a new registration of the same device", ctx);
        free(old->text);
        *old = fresh;
        return LOC_UPDATED;
    }
    if (b->expires_at <= now)
        return LOC_UPDATED;
    if (e->n == LOC_MAX_BINDINGS_PER_AOR && !make_room(e, now, evicted, ctx))
        return LOC_TOO_MANY;
    if (!grow(e)) {
        drop_empty(p); /* a new, still empty entry */
        return LOC_NO_MEMORY;
    }
    e->bindings[e->n] = (struct loc_slot){0};
    if (!slot_set(&e->bindings[e->n], b)) {
        drop_empty(p);
        return LOC_NO_MEMORY;
    }
    e->n++;
    return LOC_UPDATED;
}

enum loc_update_result sip_location_update(struct sip_location *loc, const struct loc_binding *b,
                                           bool *existed, loc_gone_fn *evicted, void *ctx)
{
    bool was_there;
    pthread_mutex_lock(&loc->lock);
    enum loc_update_result r = update_locked(loc, b, time(NULL), &was_there, evicted, ctx);
    if (existed != NULL)
        *existed = was_there;
    if (r == LOC_UPDATED && b->expires_at > time(NULL)) {
        note_conn_ref(loc, b->conn_id, false, b->aor, strlen(b->aor));
        set_alias(loc, b->contact, strlen(b->contact), b->conn_id);
    }
    pthread_mutex_unlock(&loc->lock);
    return r;
}

void sip_location_remove_aor(struct sip_location *loc, const char *aor)
{
    pthread_mutex_lock(&loc->lock);
    struct loc_entry **p = find_entry(loc, aor);
    while (*p != NULL && (*p)->n > 0)
        remove_binding(*p, (*p)->n - 1);
    drop_empty(p);
    pthread_mutex_unlock(&loc->lock);
}

static int by_q_desc(const void *a, const void *b)
{
    const struct loc_binding *x = a, *y = b;
    return (y->q > x->q) - (y->q < x->q);
}

size_t sip_location_lookup(struct sip_location *loc, const char *aor, time_t now,
                           struct loc_binding *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&loc->lock);
    struct loc_entry **p = find_entry(loc, aor);
    for (size_t i = 0; *p != NULL && i < (*p)->n;) {
        if ((*p)->bindings[i].expires_at <= now) {
            remove_binding(*p, i); /* expired: forget it on the way */
            continue;
        }
        if (n < max)
            slot_expand(*p, &(*p)->bindings[i], &out[n++]);
        i++;
    }
    drop_empty(p);
    pthread_mutex_unlock(&loc->lock);
    qsort(out, n, sizeof *out, by_q_desc);
    return n;
}

uint64_t sip_location_best_conn(struct sip_location *loc, const char *aor, time_t now)
{
    uint64_t conn = 0;
    int best_q = -1;
    time_t best_exp = 0;
    pthread_mutex_lock(&loc->lock);
    struct loc_entry **p = find_entry(loc, aor);
    for (size_t i = 0; *p != NULL && i < (*p)->n;) {
        const struct loc_slot *b = &(*p)->bindings[i];
        if (b->expires_at <= now) {
            remove_binding(*p, i); /* expired: forget it on the way */
            continue;
        }
        /* Equal q: the most recently refreshed flow (RFC 5626 7), which
         * with one registration interval is the one that expires last. */
        if (b->conn_id != 0 && (b->q > best_q || (b->q == best_q && b->expires_at > best_exp))) {
            best_q = b->q;
            best_exp = b->expires_at;
            conn = b->conn_id;
        }
        i++;
    }
    drop_empty(p);
    pthread_mutex_unlock(&loc->lock);
    return conn;
}

static size_t drop_aor_bindings(struct sip_location *loc, const char *aor, uint64_t conn_id,
                                loc_gone_fn *gone, void *ctx)
{
    size_t dropped = 0;
    struct loc_entry **p = find_entry(loc, aor);
    for (size_t i = 0; *p != NULL && i < (*p)->n;) {
        if ((*p)->bindings[i].conn_id == conn_id) {
            tell(gone, *p, i, "connection gone", ctx);
            remove_binding(*p, i);
            dropped++;
        } else {
            i++;
        }
    }
    drop_empty(p);
    return dropped;
}

static void drop_alias(struct sip_location *loc, const char *contact, uint64_t conn_id)
{
    struct loc_alias **p = find_alias(loc, contact, strlen(contact));
    if (*p != NULL && (*p)->conn_id == conn_id) {
        struct loc_alias *dead = *p;
        *p = dead->next;
        free(dead);
    }
}

size_t sip_location_drop_conn(struct sip_location *loc, uint64_t conn_id, loc_gone_fn *gone,
                              void *ctx)
{
    size_t dropped = 0;
    pthread_mutex_lock(&loc->lock);
    struct conn_refs *refs = idmap_del(&loc->by_conn, conn_id);
    for (size_t i = 0; refs != NULL && i < refs->n; i++) {
        if (refs->items[i].alias)
            drop_alias(loc, refs->items[i].key, conn_id);
        else
            dropped += drop_aor_bindings(loc, refs->items[i].key, conn_id, gone, ctx);
    }
    pthread_mutex_unlock(&loc->lock);
    if (refs != NULL)
        free_refs(refs);
    return dropped;
}

void sip_location_alias(struct sip_location *loc, const char *contact, size_t len,
                        uint64_t conn_id)
{
    pthread_mutex_lock(&loc->lock);
    set_alias(loc, contact, len, conn_id);
    pthread_mutex_unlock(&loc->lock);
}

uint64_t sip_location_conn_for_contact(struct sip_location *loc, const char *contact,
                                       size_t len, time_t now)
{
    (void)now;
    pthread_mutex_lock(&loc->lock);
    struct loc_alias **p = find_alias(loc, contact, len);
    uint64_t id = *p != NULL ? (*p)->conn_id : 0;
    pthread_mutex_unlock(&loc->lock);
    return id;
}

size_t sip_location_count(struct sip_location *loc, time_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&loc->lock);
    for (size_t i = 0; i < loc->n_buckets; i++)
        for (const struct loc_entry *e = loc->buckets[i]; e != NULL; e = e->next)
            for (size_t k = 0; k < e->n; k++)
                n += e->bindings[k].expires_at > now;
    pthread_mutex_unlock(&loc->lock);
    return n;
}
