/* sip_binding_writer.c - registrations reach the store in batches (see
 * sip_binding_writer.h). */
#include "sip/sip_binding_writer.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/str.h"

struct bw_entry {
    uint64_t key;              /* hash of aor and contact, never 0 */
    struct bw_entry *same_key; /* the next entry with that hash */
    struct bw_entry *next;     /* the next entry (or wipe) */
    bool upsert;               /* else the binding is gone */
    bool maybe_stored;         /* the store may hold it from an earlier batch */
    struct store_binding b;    /* aor and contact; all of it for an upsert */
};

void binding_writer_init(struct binding_writer *bw, store *s)
{
    memset(bw, 0, sizeof *bw);
    pthread_mutex_init(&bw->lock, NULL);
    bw->store = s;
}

static void free_list(struct bw_entry *e)
{
    while (e != NULL) {
        struct bw_entry *next = e->next;
        free(e);
        e = next;
    }
}

void binding_writer_free(struct binding_writer *bw)
{
    free_list(bw->entries);
    free_list(bw->wipes);
    idmap_free(&bw->by_key);
    pthread_mutex_destroy(&bw->lock);
}

static uint64_t key_of(const char *aor, const char *contact)
{
    uint64_t h = tn_fnv1a64(TN_FNV1A64_INIT, aor, strlen(aor) + 1); /* with its NUL */
    h = tn_fnv1a64(h, contact, strlen(contact));
    return h != 0 ? h : 1;
}

static struct bw_entry *find_locked(struct binding_writer *bw, uint64_t key, const char *aor,
                                    const char *contact)
{
    for (struct bw_entry *e = idmap_get(&bw->by_key, key); e != NULL; e = e->same_key)
        if (strcmp(e->b.aor, aor) == 0 && strcmp(e->b.contact, contact) == 0)
            return e;
    return NULL;
}

/* Index e (its key set) and list it. */
static int insert_locked(struct binding_writer *bw, struct bw_entry *e)
{
    struct bw_entry *same = idmap_get(&bw->by_key, e->key);
    if (idmap_put(&bw->by_key, e->key, e) < 0)
        return -1;
    e->same_key = same;
    e->next = bw->entries;
    bw->entries = e;
    bw->n_entries++;
    return 0;
}

/* The entry of (aor, contact), made when missing with maybe_stored as
 * given (an existing one keeps its own: what the store held before this
 * batch).  NULL when out of memory or a name does not fit. */
static struct bw_entry *entry_locked(struct binding_writer *bw, const char *aor,
                                     const char *contact, bool maybe_stored)
{
    uint64_t key = key_of(aor, contact);
    struct bw_entry *e = find_locked(bw, key, aor, contact);
    if (e != NULL)
        return e;
    if ((e = malloc(sizeof *e)) == NULL)
        return NULL;
    e->key = key;
    e->maybe_stored = maybe_stored;
    if (tn_strlcpy(e->b.aor, aor, sizeof e->b.aor) < 0 ||
        tn_strlcpy(e->b.contact, contact, sizeof e->b.contact) < 0 ||
        insert_locked(bw, e) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

int binding_writer_put(struct binding_writer *bw, const struct store_binding *b, bool existed)
{
    pthread_mutex_lock(&bw->lock);
    struct bw_entry *e = entry_locked(bw, b->aor, b->contact, existed);
    if (e != NULL) {
        e->b = *b;
        e->upsert = true;
    }
    pthread_mutex_unlock(&bw->lock);
    return e != NULL ? 0 : -1;
}

int binding_writer_del(struct binding_writer *bw, const char *aor, const char *contact)
{
    pthread_mutex_lock(&bw->lock);
    struct bw_entry *e = entry_locked(bw, aor, contact, true);
    if (e != NULL)
        e->upsert = false;
    pthread_mutex_unlock(&bw->lock);
    return e != NULL ? 0 : -1;
}

static void unindex_locked(struct binding_writer *bw, struct bw_entry *e)
{
    struct bw_entry *head = idmap_get(&bw->by_key, e->key);
    if (head == e) {
        if (e->same_key != NULL)
            idmap_put(&bw->by_key, e->key, e->same_key); /* replaces: no allocation */
        else
            idmap_del(&bw->by_key, e->key);
        return;
    }
    for (struct bw_entry *p = head; p != NULL; p = p->same_key) {
        if (p->same_key == e) {
            p->same_key = e->same_key;
            return;
        }
    }
}

static bool wiped(const struct bw_entry *wipes, const char *aor)
{
    for (const struct bw_entry *w = wipes; w != NULL; w = w->next)
        if (strcmp(w->b.aor, aor) == 0)
            return true;
    return false;
}

static int add_wipe_locked(struct binding_writer *bw, const char *aor)
{
    if (wiped(bw->wipes, aor))
        return 0;
    struct bw_entry *w = calloc(1, sizeof *w);
    if (w == NULL || tn_strlcpy(w->b.aor, aor, sizeof w->b.aor) < 0) {
        free(w);
        return -1;
    }
    w->next = bw->wipes;
    bw->wipes = w;
    return 0;
}

int binding_writer_wipe(struct binding_writer *bw, const char *aor)
{
    pthread_mutex_lock(&bw->lock);
    /* Earlier changes of the AOR are moot; later ones are written after
     * the wipe (a flush writes wipes first). */
    for (struct bw_entry **pp = &bw->entries; *pp != NULL;) {
        struct bw_entry *e = *pp;
        if (strcmp(e->b.aor, aor) != 0) {
            pp = &e->next;
            continue;
        }
        unindex_locked(bw, e);
        *pp = e->next;
        bw->n_entries--;
        free(e);
    }
    int rc = add_wipe_locked(bw, aor);
    pthread_mutex_unlock(&bw->lock);
    return rc;
}

/* --- flushing ------------------------------------------------------------------ */

/* What one flush takes out of the writer. */
struct bw_batch {
    struct idmap by_key;
    struct bw_entry *entries, *wipes;
    size_t n_entries;
};

static void take(struct binding_writer *bw, struct bw_batch *batch)
{
    pthread_mutex_lock(&bw->lock);
    batch->by_key = bw->by_key;
    batch->entries = bw->entries;
    batch->wipes = bw->wipes;
    batch->n_entries = bw->n_entries;
    memset(&bw->by_key, 0, sizeof bw->by_key);
    bw->entries = bw->wipes = NULL;
    bw->n_entries = 0;
    pthread_mutex_unlock(&bw->lock);
}

static void batch_free(struct bw_batch *batch)
{
    free_list(batch->entries);
    free_list(batch->wipes);
    idmap_free(&batch->by_key);
}

/* The store refused the batch: its changes go back, unless newer ones
 * (everything now recorded is newer) replaced them. */
static void give_back(struct binding_writer *bw, struct bw_batch *batch)
{
    pthread_mutex_lock(&bw->lock);
    for (struct bw_entry *e = batch->entries, *next; e != NULL; e = next) {
        next = e->next;
        if (find_locked(bw, e->key, e->b.aor, e->b.contact) != NULL ||
            wiped(bw->wipes, e->b.aor) || insert_locked(bw, e) < 0)
            free(e); /* superseded (or out of memory: lost, as in a crash) */
    }
    for (struct bw_entry *w = batch->wipes; w != NULL; w = w->next)
        add_wipe_locked(bw, w->b.aor);
    pthread_mutex_unlock(&bw->lock);
    batch->entries = NULL;
    batch_free(batch);
}

/* Wipes first, then each binding's last state; a binding the store
 * cannot hold that is gone again needs nothing. */
static size_t changes_of(const struct bw_batch *batch, struct store_binding_change *out)
{
    size_t n = 0;
    for (const struct bw_entry *w = batch->wipes; w != NULL; w = w->next)
        out[n++] = (struct store_binding_change){STORE_BINDING_DELETE_AOR, &w->b};
    for (const struct bw_entry *e = batch->entries; e != NULL; e = e->next) {
        if (e->upsert)
            out[n++] = (struct store_binding_change){STORE_BINDING_UPSERT, &e->b};
        else if (e->maybe_stored)
            out[n++] = (struct store_binding_change){STORE_BINDING_DELETE, &e->b};
    }
    return n;
}

int binding_writer_flush(struct binding_writer *bw, tn_err *err)
{
    struct bw_batch batch;
    take(bw, &batch);
    size_t n_wipes = 0;
    for (const struct bw_entry *w = batch.wipes; w != NULL; w = w->next)
        n_wipes++;
    if (batch.n_entries + n_wipes == 0) {
        batch_free(&batch);
        return 0;
    }
    struct store_binding_change *changes =
        calloc(batch.n_entries + n_wipes, sizeof *changes);
    if (changes == NULL) {
        give_back(bw, &batch);
        return tn_errf(err, "out of memory");
    }
    size_t n = changes_of(&batch, changes);
    int rc = store_bindings_apply(bw->store, changes, n, err);
    free(changes);
    if (rc < 0) {
        give_back(bw, &batch);
        return -1;
    }
    batch_free(&batch);
    return (int)n;
}
