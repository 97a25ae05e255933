/*
 * store_internal.h - what the files of src/store/ share: the store object,
 * its cached prepared statements, the lock, and small SQLite helpers.
 * Not for use outside src/store/.
 */
#ifndef TN_STORE_STORE_INTERNAL_H
#define TN_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

enum store_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_USER_INSERT,
    ST_USER_UPDATE,
    ST_USER_DELETE,
    ST_USER_LIST,
    ST_USER_HA1,
    ST_BINDING_UPSERT,
    ST_BINDING_DELETE_INSTANCE,
    ST_BINDING_DELETE,
    ST_BINDING_DELETE_AOR,
    ST_BINDING_FOR_AOR,
    ST_BINDING_ALL,
    ST_BINDING_EXPIRE,
    ST_BINDING_DELETE_FLOW,
    ST_COUNT
};

struct store {
    sqlite3 *db;
    pthread_mutex_t lock; /* one operation (bind, step, reset) at a time */
    sqlite3_stmt *stmt[ST_COUNT];
};

/* Every public operation runs between these two. */
void store_lock(store *s);
void store_unlock(store *s);

/* The cached statement id, ready to bind (reset, bindings cleared). */
sqlite3_stmt *store_stmt(store *s, enum store_stmt id);

/* Reset a statement after use so it holds no read lock. */
void store_stmt_done(sqlite3_stmt *st);

/* "WHAT: <sqlite message>" into err; returns -1. */
int store_sql_error(store *s, tn_err *err, const char *what);

/* Step st once expecting SQLITE_DONE, then reset it.  Returns 0 or -1. */
int store_step_done(store *s, sqlite3_stmt *st, const char *what, tn_err *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK with the cached statements. */
int store_begin(store *s, tn_err *err);
int store_commit(store *s, tn_err *err);
void store_rollback(store *s);

/* Bind a NUL-terminated string (or an integer) to parameter idx (1-based).
 * The text must outlive the statement's use (it is bound SQLITE_STATIC). */
int store_bind_text(sqlite3_stmt *st, int idx, const char *text);
int store_bind_int(sqlite3_stmt *st, int idx, int64_t value);

/* Copy text column col of the current row into dst; -1 if it does not fit
 * (a store edited by hand with over-long values). */
int store_column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsize);

/* The domain lowercased into out (STORE_DOMAIN_MAX + 1), after the check. */
int store_canon_domain(const char *domain, char *out, tn_err *err);

/* The AOR "user@domain" with its domain lowercased, into out
 * (STORE_AOR_MAX + 1).  The user part must be 1..64 characters without
 * control characters. */
int store_canon_aor(const char *aor, char *out, tn_err *err);

#endif
