/* store_binding.c - SIP registrations (the location service) in the store
 * (see store.h). */
#include "store/store_internal.h"

#include <string.h>
#include <time.h>

#include "common/str.h"

int store_field_set(char *dst, size_t dstsize, const char *what, const char *p, size_t len,
                    tn_err *err)
{
    if (dstsize == 0)
        return tn_errf(err, "%s: no room", what);
    if (len >= dstsize)
        return tn_errf(err, "%s too long (%zu bytes, at most %zu)", what, len, dstsize - 1);
    if (len > 0 && memchr(p, '\0', len) != NULL)
        return tn_errf(err, "%s holds a NUL byte", what);
    if (len > 0)
        memcpy(dst, p, len);
    dst[len] = '\0';
    return 0;
}

/* A field of a caller's struct must be NUL-terminated inside its array. */
#define TERMINATED(field) (strnlen((field), sizeof(field)) < sizeof(field))

static int check_binding(const struct store_binding *b, tn_err *err)
{
    if (!TERMINATED(b->aor) || !TERMINATED(b->contact) || !TERMINATED(b->call_id) ||
        !TERMINATED(b->instance) || !TERMINATED(b->path) || !TERMINATED(b->received) ||
        !TERMINATED(b->flow_id) || !TERMINATED(b->user_agent))
        return tn_errf(err, "binding has an unterminated field");
    if (b->contact[0] == '\0')
        return tn_errf(err, "binding without a contact");
    if (b->q < 0 || b->q > 1000)
        return tn_errf(err, "binding q-value %d out of range (0 to 1000 thousandths)", b->q);
    if (b->expires_at <= 0)
        return tn_errf(err, "binding without an expiry time");
    return 0;
}

static int bind_binding(sqlite3_stmt *st, const char *aor, const struct store_binding *b,
                        int64_t now)
{
    if (store_bind_text(st, 1, aor) < 0 || store_bind_text(st, 2, b->contact) < 0 ||
        store_bind_int(st, 3, b->expires_at) < 0 || store_bind_int(st, 4, b->q) < 0 ||
        store_bind_text(st, 5, b->call_id) < 0 || store_bind_int(st, 6, b->cseq) < 0 ||
        store_bind_text(st, 7, b->instance) < 0 || store_bind_int(st, 8, b->reg_id) < 0 ||
        store_bind_text(st, 9, b->path) < 0 || store_bind_text(st, 10, b->received) < 0 ||
        store_bind_text(st, 11, b->flow_id) < 0 || store_bind_text(st, 12, b->user_agent) < 0 ||
        store_bind_int(st, 13, now) < 0)
        return -1;
    return 0;
}

static int upsert_locked(store *s, const char *aor, const struct store_binding *b,
                         tn_err *err)
{
    sqlite3_stmt *st;
    if (b->instance[0] != '\0') {
        st = store_stmt(s, ST_BINDING_DELETE_INSTANCE);
        if (store_bind_text(st, 1, aor) < 0 || store_bind_text(st, 2, b->instance) < 0 ||
            store_bind_int(st, 3, b->reg_id) < 0 || store_bind_text(st, 4, b->contact) < 0) {
            store_stmt_done(st);
            return store_sql_error(s, err, "cannot replace the instance's binding");
        }
        if (store_step_done(s, st, "cannot replace the instance's binding", err) < 0)
            return -1;
    }
    st = store_stmt(s, ST_BINDING_UPSERT);
    if (bind_binding(st, aor, b, (int64_t)time(NULL)) < 0) {
        store_stmt_done(st);
        return store_sql_error(s, err, "cannot write the binding");
    }
    return store_step_done(s, st, "cannot write the binding", err);
}

int store_binding_upsert(store *s, const struct store_binding *b, tn_err *err)
{
    char aor[STORE_AOR_MAX + 1];
    if (check_binding(b, err) < 0 || store_canon_aor(b->aor, aor, err) < 0)
        return -1;
    store_lock(s);
    int rc = store_begin(s, err);
    if (rc == 0 && upsert_locked(s, aor, b, err) < 0) {
        store_rollback(s);
        rc = -1;
    }
    if (rc == 0)
        rc = store_commit(s, err);
    store_unlock(s);
    return rc;
}

/* Run a DELETE with up to two text parameters (or one integer when text1
 * is NULL) and return how many rows went; the caller holds the lock. */
static int delete_rows_locked(store *s, enum store_stmt id, const char *text1,
                              const char *text2, int64_t num, const char *what, tn_err *err)
{
    sqlite3_stmt *st = store_stmt(s, id);
    int bad = text1 != NULL ? store_bind_text(st, 1, text1) : store_bind_int(st, 1, num);
    if (bad == 0 && text2 != NULL)
        bad = store_bind_text(st, 2, text2);
    int rc;
    if (bad < 0) {
        store_stmt_done(st);
        rc = store_sql_error(s, err, what);
    } else {
        rc = store_step_done(s, st, what, err);
    }
    return rc == 0 ? sqlite3_changes(s->db) : rc;
}

static int delete_rows(store *s, enum store_stmt id, const char *text1, const char *text2,
                       int64_t num, const char *what, tn_err *err)
{
    store_lock(s);
    int rc = delete_rows_locked(s, id, text1, text2, num, what, err);
    store_unlock(s);
    return rc;
}

int store_binding_delete(store *s, const char *aor, const char *contact, tn_err *err)
{
    char canon[STORE_AOR_MAX + 1];
    if (contact == NULL || store_canon_aor(aor, canon, err) < 0)
        return contact == NULL ? tn_errf(err, "no contact") : -1;
    return delete_rows(s, ST_BINDING_DELETE, canon, contact, 0, "cannot delete the binding",
                       err);
}

int store_binding_delete_aor(store *s, const char *aor, tn_err *err)
{
    char canon[STORE_AOR_MAX + 1];
    if (store_canon_aor(aor, canon, err) < 0)
        return -1;
    return delete_rows(s, ST_BINDING_DELETE_AOR, canon, NULL, 0,
                       "cannot delete the bindings", err);
}

int store_bindings_expire(store *s, int64_t now, tn_err *err)
{
    return delete_rows(s, ST_BINDING_EXPIRE, NULL, NULL, now,
                       "cannot delete expired bindings", err);
}

int store_bindings_delete_flow(store *s, const char *flow_id, tn_err *err)
{
    if (flow_id == NULL || flow_id[0] == '\0')
        return tn_errf(err, "no flow id");
    return delete_rows(s, ST_BINDING_DELETE_FLOW, flow_id, NULL, 0,
                       "cannot delete the flow's bindings", err);
}

static int apply_one_locked(store *s, const struct store_binding_change *ch, tn_err *err)
{
    char aor[STORE_AOR_MAX + 1];
    const struct store_binding *b = ch->b;
    if (!TERMINATED(b->aor) || store_canon_aor(b->aor, aor, err) < 0)
        return -1;
    switch (ch->op) {
    case STORE_BINDING_UPSERT:
        return check_binding(b, err) < 0 ? -1 : upsert_locked(s, aor, b, err);
    case STORE_BINDING_DELETE:
        if (!TERMINATED(b->contact))
            return tn_errf(err, "binding has an unterminated field");
        return delete_rows_locked(s, ST_BINDING_DELETE, aor, b->contact, 0,
                                  "cannot delete the binding", err) < 0 ? -1 : 0;
    case STORE_BINDING_DELETE_AOR:
        return delete_rows_locked(s, ST_BINDING_DELETE_AOR, aor, NULL, 0,
                                  "cannot delete the bindings", err) < 0 ? -1 : 0;
    }
    return tn_errf(err, "unknown binding change");
}

int store_bindings_apply(store *s, const struct store_binding_change *changes, size_t n,
                         tn_err *err)
{
    if (n == 0)
        return 0;
    store_lock(s);
    int rc = store_begin(s, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = apply_one_locked(s, &changes[i], err);
    if (rc == 0)
        rc = store_commit(s, err);
    else
        store_rollback(s);
    store_unlock(s);
    return rc;
}

/* ---- reading ---- */

static int read_binding(sqlite3_stmt *st, struct store_binding *b)
{
    memset(b, 0, sizeof *b);
    if (store_column_copy(st, 0, b->aor, sizeof b->aor) < 0 ||
        store_column_copy(st, 1, b->contact, sizeof b->contact) < 0 ||
        store_column_copy(st, 4, b->call_id, sizeof b->call_id) < 0 ||
        store_column_copy(st, 6, b->instance, sizeof b->instance) < 0 ||
        store_column_copy(st, 8, b->path, sizeof b->path) < 0 ||
        store_column_copy(st, 9, b->received, sizeof b->received) < 0 ||
        store_column_copy(st, 10, b->flow_id, sizeof b->flow_id) < 0 ||
        store_column_copy(st, 11, b->user_agent, sizeof b->user_agent) < 0)
        return -1;
    b->expires_at = sqlite3_column_int64(st, 2);
    b->q = sqlite3_column_int(st, 3);
    b->cseq = (uint32_t)sqlite3_column_int64(st, 5);
    b->reg_id = (uint32_t)sqlite3_column_int64(st, 7);
    b->updated_at = sqlite3_column_int64(st, 12);
    return 0;
}

static int each_binding(store *s, sqlite3_stmt *st, store_binding_cb cb, void *ctx,
                        tn_err *err)
{
    struct store_binding b;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_binding(st, &b) < 0)
            return tn_errf(err, "the store holds an over-long binding field");
        if (cb(&b, ctx) != 0)
            return 0;
    }
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, err, "cannot read bindings");
}

int store_bindings_for_aor(store *s, const char *aor, int64_t now, store_binding_cb cb,
                           void *ctx, tn_err *err)
{
    char canon[STORE_AOR_MAX + 1];
    if (store_canon_aor(aor, canon, err) < 0)
        return -1;
    store_lock(s);
    sqlite3_stmt *st = store_stmt(s, ST_BINDING_FOR_AOR);
    int rc = (store_bind_text(st, 1, canon) < 0 || store_bind_int(st, 2, now) < 0)
                 ? store_sql_error(s, err, "cannot read bindings")
                 : each_binding(s, st, cb, ctx, err);
    store_stmt_done(st);
    store_unlock(s);
    return rc;
}

int store_bindings_load_all(store *s, int64_t now, store_binding_cb cb, void *ctx,
                            tn_err *err)
{
    store_lock(s);
    sqlite3_stmt *st = store_stmt(s, ST_BINDING_ALL);
    int rc = store_bind_int(st, 1, now) < 0 ? store_sql_error(s, err, "cannot read bindings")
                                            : each_binding(s, st, cb, ctx, err);
    store_stmt_done(st);
    store_unlock(s);
    return rc;
}
