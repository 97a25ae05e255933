/* store.c - opening the store: file mode, pragmas, schema migrations and
 * the prepared-statement cache (see store.h for the durability choice). */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"

/* 'trnt': marks a SQLite file as a trustnet store. */
#define STORE_APPLICATION_ID 0x74726e74
/* How long a writer waits for another process (trustnet user ...) that
 * holds the write lock before giving up. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Migration i brings the schema from version i to version i + 1.  Append
 * new entries; never edit a released one. */
static const char *const migrations[] = {
    /* 0 -> 1: users and bindings */
    "CREATE TABLE users ("
    "  user TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  ha1_md5 TEXT,"
    "  ha1_sha256 TEXT,"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (user, domain)"
    ") WITHOUT ROWID;"
    "CREATE TABLE bindings ("
    "  aor TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  q INTEGER NOT NULL,"
    "  call_id TEXT NOT NULL,"
    "  cseq INTEGER NOT NULL,"
    "  instance TEXT NOT NULL,"
    "  reg_id INTEGER NOT NULL,"
    "  path TEXT NOT NULL,"
    "  received TEXT NOT NULL,"
    "  flow_id TEXT NOT NULL,"
    "  user_agent TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (aor, contact)"
    ");"
    "CREATE INDEX bindings_by_expiry ON bindings (expires_at);"
    "CREATE INDEX bindings_by_flow ON bindings (flow_id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define BINDING_COLUMNS                                                         \
    "aor, contact, expires_at, q, call_id, cseq, instance, reg_id, path, "     \
    "received, flow_id, user_agent, updated_at"

static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_USER_INSERT] = "INSERT INTO users (user, domain, ha1_md5, ha1_sha256, created) "
                       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    [ST_USER_UPDATE] = "UPDATE users SET ha1_md5 = ?3, ha1_sha256 = ?4 "
                       "WHERE user = ?1 AND domain = ?2",
    [ST_USER_DELETE] = "DELETE FROM users WHERE user = ?1 AND domain = ?2",
    [ST_USER_LIST] = "SELECT u.user, u.domain, u.ha1_md5 IS NOT NULL, "
                     "u.ha1_sha256 IS NOT NULL, u.created, "
                     "(SELECT count(*) FROM bindings b WHERE b.aor = u.user || '@' || "
                     "u.domain AND b.expires_at > ?1) "
                     "FROM users u ORDER BY u.domain, u.user",
    [ST_USER_HA1] = "SELECT ha1_md5, ha1_sha256 FROM users WHERE user = ?1 AND domain = ?2",
    [ST_BINDING_UPSERT] =
        "INSERT INTO bindings (" BINDING_COLUMNS ") "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
        "ON CONFLICT (aor, contact) DO UPDATE SET expires_at = excluded.expires_at, "
        "q = excluded.q, call_id = excluded.call_id, cseq = excluded.cseq, "
        "instance = excluded.instance, reg_id = excluded.reg_id, path = excluded.path, "
        "received = excluded.received, flow_id = excluded.flow_id, "
        "user_agent = excluded.user_agent, updated_at = excluded.updated_at",
    [ST_BINDING_DELETE_INSTANCE] = "DELETE FROM bindings WHERE aor = ?1 AND instance = ?2 "
                                   "AND reg_id = ?3 AND contact <> ?4",
    [ST_BINDING_DELETE] = "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2",
    [ST_BINDING_DELETE_AOR] = "DELETE FROM bindings WHERE aor = ?1",
    [ST_BINDING_FOR_AOR] = "SELECT " BINDING_COLUMNS " FROM bindings "
                           "WHERE aor = ?1 AND expires_at > ?2 "
                           "ORDER BY q DESC, updated_at DESC, contact",
    [ST_BINDING_ALL] = "SELECT " BINDING_COLUMNS " FROM bindings WHERE expires_at > ?1 "
                       "ORDER BY aor, q DESC, updated_at DESC, contact",
    [ST_BINDING_EXPIRE] = "DELETE FROM bindings WHERE expires_at <= ?1",
    [ST_BINDING_DELETE_FLOW] = "DELETE FROM bindings WHERE flow_id = ?1",
};

/* ---- helpers shared by the store's files ---- */

void store_lock(store *s)
{
    pthread_mutex_lock(&s->lock);
}

void store_unlock(store *s)
{
    pthread_mutex_unlock(&s->lock);
}

sqlite3_stmt *store_stmt(store *s, enum store_stmt id)
{
    return s->stmt[id];
}

void store_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int store_sql_error(store *s, tn_err *err, const char *what)
{
    return tn_errf(err, "%s: %s", what, sqlite3_errmsg(s->db));
}

int store_step_done(store *s, sqlite3_stmt *st, const char *what, tn_err *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        store_sql_error(s, err, what);
    store_stmt_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_begin(store *s, tn_err *err)
{
    return store_step_done(s, s->stmt[ST_BEGIN], "cannot start a store transaction", err);
}

int store_commit(store *s, tn_err *err)
{
    if (store_step_done(s, s->stmt[ST_COMMIT], "cannot commit to the store", err) < 0) {
        store_rollback(s);
        return -1;
    }
    return 0;
}

void store_rollback(store *s)
{
    if (sqlite3_get_autocommit(s->db) == 0) {
        sqlite3_step(s->stmt[ST_ROLLBACK]);
        store_stmt_done(s->stmt[ST_ROLLBACK]);
    }
}

int store_bind_text(sqlite3_stmt *st, int idx, const char *text)
{
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

int store_bind_int(sqlite3_stmt *st, int idx, int64_t value)
{
    return sqlite3_bind_int64(st, idx, (sqlite3_int64)value) == SQLITE_OK ? 0 : -1;
}

int store_column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsize)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    return tn_strlcpy(dst, text == NULL ? "" : (const char *)text, dstsize);
}

/* ---- opening ---- */

/* Create the file 0600 if missing; refuse anything but a regular file
 * that only its owner can read or write. */
static int prepare_file(const char *path, tn_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return tn_errf(err, "cannot open store %s: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st);
    int saved = errno;
    close(fd);
    if (rc < 0)
        return tn_errf(err, "cannot stat store %s: %s", path, strerror(saved));
    if (!S_ISREG(st.st_mode))
        return tn_errf(err, "store %s is not a regular file", path);
    if ((st.st_mode & 077) != 0)
        return tn_errf(err,
                       "store %s is accessible to other users (mode %04o) and holds "
                       "password hashes: chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    return 0;
}

static int exec_sql(store *s, const char *sql, const char *what, tn_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tn_errf(err, "%s: %s", what, msg != NULL ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The single integer a query such as "PRAGMA user_version" returns. */
static int query_int(store *s, const char *sql, int64_t *out, tn_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "cannot read the store");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        store_sql_error(s, err, "cannot read the store");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int set_pragmas(store *s, tn_err *err)
{
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(s->db, 1);
    /* A corrupt or crafted file must not be able to run code or write
     * through the schema. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, err, "not a usable store");
    int rc = sqlite3_step(st);
    const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    bool wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
    if (rc != SQLITE_ROW)
        store_sql_error(s, err, "not a usable store");
    else if (!wal)
        tn_errf(err, "the store cannot use write-ahead logging (journal mode %s)", mode);
    sqlite3_finalize(st);
    if (!wal)
        return -1;
    return exec_sql(s, "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
                    "cannot configure the store", err);
}

/* Refuse a SQLite file that belongs to something else or to a newer
 * trustnet.  Called inside the migration transaction. */
static int check_identity(store *s, int64_t version, tn_err *err)
{
    int64_t app = 0, objects = 0;
    if (query_int(s, "PRAGMA application_id", &app, err) < 0)
        return -1;
    if (app == 0 && version == 0) {
        if (query_int(s, "SELECT count(*) FROM sqlite_schema", &objects, err) < 0)
            return -1;
        if (objects == 0)
            return 0; /* a new, empty file */
    }
    if (app != STORE_APPLICATION_ID)
        return tn_errf(err, "not a trustnet store (a SQLite database of something else)");
    if (version > SCHEMA_VERSION)
        return tn_errf(err, "store schema version %lld is newer than this trustnet's (%d)",
                       (long long)version, SCHEMA_VERSION);
    return 0;
}

static int migrate_locked(store *s, tn_err *err)
{
    int64_t version = 0;
    if (query_int(s, "PRAGMA user_version", &version, err) < 0 ||
        check_identity(s, version, err) < 0)
        return -1;
    for (int64_t v = version; v < SCHEMA_VERSION; v++) {
        char sql[64];
        if (exec_sql(s, migrations[v], "cannot update the store schema", err) < 0)
            return -1;
        tn_snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)(v + 1));
        if (exec_sql(s, sql, "cannot update the store schema", err) < 0)
            return -1;
    }
    if (version == 0) {
        char sql[64];
        tn_snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        return exec_sql(s, sql, "cannot update the store schema", err);
    }
    return 0;
}

/* Bring the schema up to date in one write transaction, so that two
 * processes opening a new store at once cannot both create it. */
static int migrate(store *s, tn_err *err)
{
    if (exec_sql(s, "BEGIN IMMEDIATE", "cannot lock the store", err) < 0)
        return -1;
    if (migrate_locked(s, err) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return exec_sql(s, "COMMIT", "cannot update the store schema", err);
}

static int prepare_statements(store *s, tn_err *err)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->stmt[i], NULL) != SQLITE_OK)
            return store_sql_error(s, err, "cannot prepare the store's queries");
    return 0;
}

static int store_open_db(store *s, const char *path, tn_err *err)
{
    if (prepare_file(path, err) < 0)
        return -1;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        if (s->db == NULL)
            return tn_errf(err, "cannot open store %s: out of memory", path);
        return tn_errf(err, "cannot open store %s: %s", path, sqlite3_errmsg(s->db));
    }
    tn_err why;
    if (set_pragmas(s, &why) < 0 || migrate(s, &why) < 0 || prepare_statements(s, &why) < 0)
        return tn_errf(err, "store %s: %s", path, why.msg);
    return 0;
}

store *store_open(const char *path, tn_err *err)
{
    if (path == NULL || path[0] == '\0') {
        tn_errf(err, "no store file given");
        return NULL;
    }
    store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        tn_errf(err, "cannot create the store lock");
        return NULL;
    }
    if (store_open_db(s, path, err) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db); /* checkpoints the WAL when this is the last user */
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int store_set_sync_full(store *s, bool full, tn_err *err)
{
    store_lock(s);
    int rc = exec_sql(s, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                      "cannot set the store's synchronous mode", err);
    store_unlock(s);
    return rc;
}
