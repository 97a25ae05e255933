/* Unit tests: the SQLite store of users and registrations (src/store/). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "fixtures.h"
#include "store/store.h"

struct fixture {
    char dir[TEMP_DIR_MAX];
    char path[128];
    store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    temp_dir_make(f->dir, "store");
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    tn_err err;
    f->s = store_open(f->path, &err);
    if (f->s == NULL)
        fail_msg("store_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    int rc = temp_dir_remove(f->dir);
    free(f);
    return rc;
}

static void reopen(struct fixture *f)
{
    tn_err err;
    store_close(f->s);
    f->s = store_open(f->path, &err);
    if (f->s == NULL)
        fail_msg("store_open again: %s", err.msg);
}

/* ---- files ---- */

static void file_created_0600(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* SQLite gives the WAL and shared-memory files the database's mode. */
    tn_err err;
    assert_int_equal(store_user_add(f->s, "alice", "corp.test", "pw", &err), 0);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(wal, sizeof wal, "%s-shm", f->path);
    assert_int_equal(stat(wal, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void refuses_readable_file(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    char path[160];
    snprintf(path, sizeof path, "%s/open.db", f->dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    fchmod(fd, 0644);
    close(fd);
    assert_null(store_open(path, &err));
    assert_non_null(strstr(err.msg, "chmod 600"));
}

static void refuses_foreign_files(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    char path[160];
    /* Not SQLite at all. */
    snprintf(path, sizeof path, "%s/text.db", f->dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello, this is not a database at all, no no no no no no\n", 56),
                     56);
    close(fd);
    assert_null(store_open(path, &err));
    /* Another application's SQLite database. */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    chmod(path, 0600);
    assert_null(store_open(path, &err));
    assert_non_null(strstr(err.msg, "not a trustnet store"));
    /* A directory; an empty name. */
    assert_null(store_open(f->dir, &err));
    assert_null(store_open("", &err));
    assert_null(store_open(NULL, &err));
}

static void refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    f->s = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    tn_err err;
    assert_null(store_open(f->path, &err));
    assert_non_null(strstr(err.msg, "newer"));
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    reopen(f);
}

static void wal_mode(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    tn_err err;
    assert_int_equal(store_set_sync_full(f->s, true, &err), 0);
    assert_int_equal(store_set_sync_full(f->s, false, &err), 0);
}

/* ---- users ---- */

struct user_list {
    int n;
    struct store_user users[8];
};

static int collect_user(const struct store_user *u, void *ctx)
{
    struct user_list *l = ctx;
    if (l->n < 8)
        l->users[l->n] = *u;
    l->n++;
    return 0;
}

static void users_add_dup_del(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    assert_int_equal(store_user_add(f->s, "alice", "Corp.Test", "secret", &err), 0);
    assert_int_equal(store_user_add(f->s, "bob", "corp.test", "hunter2", &err), 0);
    assert_int_equal(store_user_add(f->s, "alice", "corp.test", "other", &err), 1);
    assert_non_null(strstr(err.msg, "already exists"));
    /* The user part is case-sensitive, the domain is not. */
    assert_int_equal(store_user_add(f->s, "Alice", "corp.test", "x", &err), 0);

    struct user_list l = {0};
    assert_int_equal(store_user_list(f->s, 0, collect_user, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.users[0].user, "Alice");
    assert_string_equal(l.users[1].user, "alice");
    assert_string_equal(l.users[1].domain, "corp.test");
    assert_true(l.users[1].has_md5 && l.users[1].has_sha256);
    assert_true(l.users[1].created > 1700000000);
    assert_int_equal(l.users[1].active_bindings, 0);

    assert_int_equal(store_user_del(f->s, "alice", "CORP.test", &err), 0);
    assert_int_equal(store_user_del(f->s, "alice", "corp.test", &err), 1);
    assert_non_null(strstr(err.msg, "no user"));
    l.n = 0;
    assert_int_equal(store_user_list(f->s, 0, collect_user, &l, &err), 0);
    assert_int_equal(l.n, 2);
}

static int stop_after_one(const struct store_user *u, void *ctx)
{
    (*(int *)ctx)++;
    return 1;
}

static void users_list_stops(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    int n = 0;
    store_user_add(f->s, "a", "corp.test", "x", &err);
    store_user_add(f->s, "b", "corp.test", "x", &err);
    assert_int_equal(store_user_list(f->s, 0, stop_after_one, &n, &err), 0);
    assert_int_equal(n, 1);
    /* The statement was reset: the next call sees everything again. */
    struct user_list l = {0};
    assert_int_equal(store_user_list(f->s, 0, collect_user, &l, &err), 0);
    assert_int_equal(l.n, 2);
}

static void ha1_matches_digest(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    char hex[DIGEST_HEX_MAX], want[DIGEST_HEX_MAX];
    assert_int_equal(store_user_add(f->s, "alice", "Corp.Test", "secret", &err), 0);
    assert_int_equal(store_user_ha1(f->s, "alice", "corp.test", DIGEST_SHA256, hex, sizeof hex,
                                    &err), 0);
    /* The realm is the lowercase domain. */
    digest_ha1(DIGEST_SHA256, "alice", "corp.test", "secret", want, sizeof want);
    assert_string_equal(hex, want);
    assert_string_equal(hex, "4ed2cc15d1f70b1eee1b20abbfb83b5a170c025ae14c12663a652ddf65000dcb");
    assert_int_equal(store_user_ha1(f->s, "alice", "CORP.TEST", DIGEST_MD5, hex, sizeof hex,
                                    &err), 0);
    assert_string_equal(hex, "0eab6d40eba8fd86e6c9eb54233f23a0");
    /* Unknown users, and names that cannot exist, are "not found". */
    assert_int_equal(store_user_ha1(f->s, "mallory", "corp.test", DIGEST_MD5, hex, sizeof hex,
                                    &err), 1);
    assert_int_equal(store_user_ha1(f->s, "alice", "other.test", DIGEST_MD5, hex, sizeof hex,
                                    &err), 1);
    assert_int_equal(store_user_ha1(f->s, "al ice", "corp.test", DIGEST_MD5, hex, sizeof hex,
                                    &err), 1);
    assert_int_equal(store_user_ha1(f->s, "alice", "corp.test'--", DIGEST_MD5, hex,
                                    sizeof hex, &err), 1);
    /* Too small a buffer is an error. */
    assert_int_equal(store_user_ha1(f->s, "alice", "corp.test", DIGEST_SHA256, hex, 64, &err),
                     -1);

    assert_int_equal(store_user_set_password(f->s, "alice", "corp.test", "new", &err), 0);
    assert_int_equal(store_user_ha1(f->s, "alice", "corp.test", DIGEST_SHA256, hex, sizeof hex,
                                    &err), 0);
    digest_ha1(DIGEST_SHA256, "alice", "corp.test", "new", want, sizeof want);
    assert_string_equal(hex, want);
    assert_int_equal(store_user_set_password(f->s, "nobody", "corp.test", "new", &err), 1);
}

static void password_never_stored(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    assert_int_equal(store_user_add(f->s, "carol", "corp.test", "PlainTextMarker", &err), 0);
    store_close(f->s);
    f->s = NULL;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "grep -rqa PlainTextMarker '%s'", f->dir);
    assert_int_not_equal(system(cmd), 0);
    reopen(f);
}

static void user_limits(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    char user[STORE_USER_MAX + 2];
    memset(user, 'u', sizeof user - 1);
    user[sizeof user - 1] = '\0';
    assert_int_equal(store_user_add(f->s, user, "corp.test", "pw", &err), -1);
    assert_non_null(strstr(err.msg, "too long"));
    user[STORE_USER_MAX] = '\0';
    assert_int_equal(store_user_add(f->s, user, "corp.test", "pw", &err), 0);

    char domain[STORE_DOMAIN_MAX + 2];
    memset(domain, 'd', sizeof domain - 1);
    domain[sizeof domain - 1] = '\0';
    assert_int_equal(store_user_add(f->s, "u", domain, "pw", &err), -1);
    domain[STORE_DOMAIN_MAX] = '\0';
    assert_int_equal(store_user_add(f->s, "u", domain, "pw", &err), 0);

    static const char *const bad_users[] = {"", "a@b", "a b", "a:b", "a\"b", "a\\b", "a\tb",
                                            "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_users / sizeof bad_users[0]; i++)
        assert_int_equal(store_user_add(f->s, bad_users[i], "corp.test", "pw", &err), -1);
    static const char *const bad_domains[] = {"", "corp test", "corp_test", "corp.test/x",
                                              "c@d"};
    for (size_t i = 0; i < sizeof bad_domains / sizeof bad_domains[0]; i++)
        assert_int_equal(store_user_add(f->s, "u", bad_domains[i], "pw", &err), -1);

    assert_int_equal(store_user_add(f->s, "v", "corp.test", "", &err), -1);
    char pw[STORE_PASSWORD_MAX + 2];
    memset(pw, 'p', sizeof pw - 1);
    pw[sizeof pw - 1] = '\0';
    assert_int_equal(store_user_add(f->s, "v", "corp.test", pw, &err), -1);
    pw[STORE_PASSWORD_MAX] = '\0';
    assert_int_equal(store_user_add(f->s, "v", "corp.test", pw, &err), 0);
}

/* ---- bindings ---- */

static struct store_binding binding(const char *aor, const char *contact, int64_t expires_at,
                                    const char *flow)
{
    struct store_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.aor, sizeof b.aor, "%s", aor);
    snprintf(b.contact, sizeof b.contact, "%s", contact);
    b.expires_at = expires_at;
    b.q = 1000;
    snprintf(b.call_id, sizeof b.call_id, "call-%s", contact);
    b.cseq = 1;
    snprintf(b.received, sizeof b.received, "127.0.0.1:40000");
    snprintf(b.flow_id, sizeof b.flow_id, "%s", flow);
    snprintf(b.user_agent, sizeof b.user_agent, "test-ua/1.0");
    return b;
}

struct binding_list {
    int n;
    struct store_binding b[8];
};

static int collect_binding(const struct store_binding *b, void *ctx)
{
    struct binding_list *l = ctx;
    if (l->n < 8)
        l->b[l->n] = *b;
    l->n++;
    return 0;
}

static int count_for(store *s, const char *aor, int64_t now)
{
    struct binding_list l = {0};
    tn_err err;
    if (store_bindings_for_aor(s, aor, now, collect_binding, &l, &err) < 0)
        fail_msg("for_aor: %s", err.msg);
    return l.n;
}

static void bindings_upsert_update(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct store_binding b = binding("alice@Corp.Test", "sip:alice@10.0.0.1:5061;transport=tls",
                                     2000, "0:1");
    snprintf(b.path, sizeof b.path, "<sip:edge.corp.test;lr>");
    snprintf(b.instance, sizeof b.instance, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
    b.reg_id = 1;
    b.q = 500;
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);

    struct binding_list l = {0};
    assert_int_equal(store_bindings_for_aor(f->s, "alice@corp.test", 1000, collect_binding, &l,
                                            &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.b[0].aor, "alice@corp.test");
    assert_string_equal(l.b[0].contact, b.contact);
    assert_int_equal(l.b[0].expires_at, 2000);
    assert_int_equal(l.b[0].q, 500);
    assert_string_equal(l.b[0].call_id, b.call_id);
    assert_int_equal(l.b[0].cseq, 1);
    assert_string_equal(l.b[0].instance, b.instance);
    assert_int_equal(l.b[0].reg_id, 1);
    assert_string_equal(l.b[0].path, "<sip:edge.corp.test;lr>");
    assert_string_equal(l.b[0].received, "127.0.0.1:40000");
    assert_string_equal(l.b[0].flow_id, "0:1");
    assert_string_equal(l.b[0].user_agent, "test-ua/1.0");
    assert_true(l.b[0].updated_at > 1700000000);

    /* Same (aor, contact): updated in place. */
    b.expires_at = 3000;
    b.cseq = 2;
    snprintf(b.flow_id, sizeof b.flow_id, "1:7");
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);
    l.n = 0;
    store_bindings_for_aor(f->s, "alice@corp.test", 1000, collect_binding, &l, &err);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.b[0].expires_at, 3000);
    assert_int_equal(l.b[0].cseq, 2);
    assert_string_equal(l.b[0].flow_id, "1:7");

    /* Same instance and reg-id, new contact (a new flow after NAT
     * rebinding): replaces the old binding. */
    snprintf(b.contact, sizeof b.contact, "sip:alice@10.0.0.1:6000;transport=tls");
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);
    l.n = 0;
    store_bindings_for_aor(f->s, "alice@corp.test", 1000, collect_binding, &l, &err);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.b[0].contact, "sip:alice@10.0.0.1:6000;transport=tls");

    /* Another reg-id of the same instance (a second flow) adds one. */
    b.reg_id = 2;
    snprintf(b.contact, sizeof b.contact, "sip:alice@10.0.0.1:6001;transport=tls");
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);
    /* A device without an instance adds one; q orders them. */
    struct store_binding c = binding("alice@corp.test", "sip:alice@10.0.0.2", 2500, "0:2");
    assert_int_equal(store_binding_upsert(f->s, &c, &err), 0);
    l.n = 0;
    store_bindings_for_aor(f->s, "alice@corp.test", 1000, collect_binding, &l, &err);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.b[0].contact, "sip:alice@10.0.0.2");
    assert_int_equal(count_for(f->s, "bob@corp.test", 1000), 0);
}

static void bindings_persist(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct store_binding b = binding("alice@corp.test", "sip:alice@10.0.0.1", 2000, "0:1");
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);
    assert_int_equal(store_user_add(f->s, "alice", "corp.test", "pw", &err), 0);
    reopen(f);
    assert_int_equal(count_for(f->s, "alice@corp.test", 1000), 1);
    char hex[DIGEST_HEX_MAX];
    assert_int_equal(store_user_ha1(f->s, "alice", "corp.test", DIGEST_MD5, hex, sizeof hex,
                                    &err), 0);
}

/* A process killed right after a call returned: the data is there.  The
 * child writes and _exit()s without closing the store (no checkpoint). */
static void bindings_survive_a_crash(void **state)
{
    struct fixture *f = *state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tn_err err;
        store *s = store_open(f->path, &err);
        struct store_binding b = binding("crash@corp.test", "sip:c@10.0.0.9", 5000, "0:9");
        _exit(s != NULL && store_binding_upsert(s, &b, &err) == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(count_for(f->s, "crash@corp.test", 1000), 1);
}

static void bindings_expire(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct store_binding a = binding("alice@corp.test", "sip:a1", 1000, "0:1");
    struct store_binding b = binding("alice@corp.test", "sip:a2", 2000, "0:2");
    struct store_binding c = binding("bob@corp.test", "sip:b1", 3000, "0:3");
    store_binding_upsert(f->s, &a, &err);
    store_binding_upsert(f->s, &b, &err);
    store_binding_upsert(f->s, &c, &err);
    /* Expired bindings are not returned even before they are deleted. */
    assert_int_equal(count_for(f->s, "alice@corp.test", 999), 2);
    assert_int_equal(count_for(f->s, "alice@corp.test", 1000), 1);
    struct binding_list l = {0};
    assert_int_equal(store_bindings_load_all(f->s, 1500, collect_binding, &l, &err), 0);
    assert_int_equal(l.n, 2);

    assert_int_equal(store_user_add(f->s, "alice", "corp.test", "pw", &err), 0);
    struct user_list ul = {0};
    store_user_list(f->s, 1500, collect_user, &ul, &err);
    assert_int_equal(ul.users[0].active_bindings, 1);

    assert_int_equal(store_bindings_expire(f->s, 999, &err), 0);
    assert_int_equal(store_bindings_expire(f->s, 2000, &err), 2);
    assert_int_equal(store_bindings_expire(f->s, 2000, &err), 0);
    l.n = 0;
    assert_int_equal(store_bindings_load_all(f->s, 0, collect_binding, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.b[0].aor, "bob@corp.test");
}

static void bindings_delete(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct store_binding a = binding("alice@corp.test", "sip:a1", 9000, "0:1");
    struct store_binding b = binding("alice@corp.test", "sip:a2", 9000, "1:5");
    struct store_binding c = binding("bob@corp.test", "sip:b1", 9000, "0:1");
    struct store_binding d = binding("carol@corp.test", "sip:c1", 9000, "1:6");
    store_binding_upsert(f->s, &a, &err);
    store_binding_upsert(f->s, &b, &err);
    store_binding_upsert(f->s, &c, &err);
    store_binding_upsert(f->s, &d, &err);

    /* A connection died: both of its bindings go. */
    assert_int_equal(store_bindings_delete_flow(f->s, "0:1", &err), 2);
    assert_int_equal(store_bindings_delete_flow(f->s, "0:1", &err), 0);
    assert_int_equal(store_bindings_delete_flow(f->s, "", &err), -1);
    assert_int_equal(count_for(f->s, "alice@corp.test", 0), 1);
    assert_int_equal(count_for(f->s, "bob@corp.test", 0), 0);

    assert_int_equal(store_binding_delete(f->s, "alice@CORP.TEST", "sip:a2", &err), 1);
    assert_int_equal(store_binding_delete(f->s, "alice@corp.test", "sip:a2", &err), 0);
    assert_int_equal(store_binding_delete_aor(f->s, "carol@corp.test", &err), 1);
    assert_int_equal(count_for(f->s, "carol@corp.test", 0), 0);

    /* Deleting a user deletes its registrations. */
    store_binding_upsert(f->s, &a, &err);
    store_user_add(f->s, "alice", "corp.test", "pw", &err);
    assert_int_equal(store_user_del(f->s, "alice", "corp.test", &err), 0);
    assert_int_equal(count_for(f->s, "alice@corp.test", 0), 0);
}

static void binding_limits(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct store_binding b = binding("alice@corp.test", "sip:a1", 9000, "0:1");

    char big[STORE_CONTACT_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(store_field_set(b.contact, sizeof b.contact, "contact", big, sizeof big,
                                     &err), -1);
    assert_string_equal(err.msg, "contact too long (1025 bytes, at most 1024)");
    assert_int_equal(store_field_set(b.contact, sizeof b.contact, "contact", big,
                                     STORE_CONTACT_MAX, &err), 0);
    assert_int_equal(strlen(b.contact), STORE_CONTACT_MAX);
    assert_int_equal(store_binding_upsert(f->s, &b, &err), 0);
    assert_int_equal(store_field_set(b.call_id, sizeof b.call_id, "Call-ID", "a\0b", 3, &err),
                     -1);

    struct store_binding bad = binding("alice@corp.test", "sip:a1", 9000, "0:1");
    memset(bad.flow_id, 'f', sizeof bad.flow_id); /* unterminated */
    assert_int_equal(store_binding_upsert(f->s, &bad, &err), -1);
    bad = binding("alice@corp.test", "", 9000, "0:1");
    assert_int_equal(store_binding_upsert(f->s, &bad, &err), -1);
    bad = binding("alice@corp.test", "sip:a", 9000, "0:1");
    bad.q = 1001;
    assert_int_equal(store_binding_upsert(f->s, &bad, &err), -1);
    bad = binding("alice@corp.test", "sip:a", 0, "0:1");
    assert_int_equal(store_binding_upsert(f->s, &bad, &err), -1);
    static const char *const bad_aors[] = {"alice", "@corp.test", "alice@", "alice@corp test",
                                           "a\x01@corp.test"};
    for (size_t i = 0; i < sizeof bad_aors / sizeof bad_aors[0]; i++) {
        bad = binding(bad_aors[i], "sip:a", 9000, "0:1");
        assert_int_equal(store_binding_upsert(f->s, &bad, &err), -1);
        assert_int_equal(store_bindings_for_aor(f->s, bad_aors[i], 0, collect_binding, NULL,
                                                &err), -1);
    }
    /* A user part with '@' in it: the domain is after the last '@'. */
    bad = binding("a@b@corp.test", "sip:a", 9000, "0:1");
    assert_int_equal(store_binding_upsert(f->s, &bad, &err), 0);
}

/* Several threads hammer one store: no error, nothing lost. */

struct worker {
    store *s;
    int id;
    int failures;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    tn_err err;
    for (int i = 0; i < 50; i++) {
        char contact[64], flow[32];
        snprintf(contact, sizeof contact, "sip:w%d-%d@10.0.0.1", w->id, i);
        snprintf(flow, sizeof flow, "%d:%d", w->id, i);
        struct store_binding b = binding("load@corp.test", contact, 9000, flow);
        if (store_binding_upsert(w->s, &b, &err) < 0 ||
            store_bindings_for_aor(w->s, "load@corp.test", 0, collect_binding,
                                   &(struct binding_list){0}, &err) < 0)
            w->failures++;
        if (i % 2 == 0 && store_bindings_delete_flow(w->s, flow, &err) != 1)
            w->failures++;
    }
    return NULL;
}

static void threads_share_a_store(void **state)
{
    struct fixture *f = *state;
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){f->s, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    struct binding_list l = {0};
    tn_err err;
    store_bindings_for_aor(f->s, "load@corp.test", 0, collect_binding, &l, &err);
    assert_int_equal(l.n, 4 * 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(file_created_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_readable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_foreign_files, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(users_add_dup_del, setup, teardown),
        cmocka_unit_test_setup_teardown(users_list_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(ha1_matches_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(password_never_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(user_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_upsert_update, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_survive_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(bindings_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(binding_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_share_a_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
