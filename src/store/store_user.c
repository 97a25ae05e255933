/* store_user.c - users and their digest HA1s in the store (see store.h). */
#include "store/store_internal.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/str.h"

/* ---- names ---- */

int store_check_user(const char *user, tn_err *err)
{
    size_t len = strnlen(user, STORE_USER_MAX + 1);
    if (len == 0)
        return tn_errf(err, "empty user name");
    if (len > STORE_USER_MAX)
        return tn_errf(err, "user name too long (at most %d characters)", STORE_USER_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)user[i];
        if (c <= 0x20 || c >= 0x7f || strchr("@:\"\\", c) != NULL)
            return tn_errf(err, "user name '%s' holds a character not allowed (0x%02x)",
                           user, c);
    }
    return 0;
}

int store_check_domain(const char *domain, tn_err *err)
{
    size_t len = strnlen(domain, STORE_DOMAIN_MAX + 1);
    if (len == 0)
        return tn_errf(err, "empty domain");
    if (len > STORE_DOMAIN_MAX)
        return tn_errf(err, "domain too long (at most %d characters)", STORE_DOMAIN_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = domain[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!ok)
            return tn_errf(err, "domain '%.*s' holds a character not allowed", (int)len,
                           domain);
    }
    return 0;
}

int store_canon_domain(const char *domain, char *out, tn_err *err)
{
    if (store_check_domain(domain, err) < 0)
        return -1;
    size_t i = 0;
    for (; domain[i] != '\0'; i++) {
        char c = domain[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[i] = '\0';
    return 0;
}

int store_canon_aor(const char *aor, char *out, tn_err *err)
{
    size_t len = strnlen(aor, STORE_AOR_MAX + 1);
    if (len > STORE_AOR_MAX)
        return tn_errf(err, "address of record too long (at most %d characters)",
                       STORE_AOR_MAX);
    const char *at = strrchr(aor, '@');
    if (at == NULL || at == aor)
        return tn_errf(err, "address of record '%s' is not user@domain", aor);
    size_t ulen = (size_t)(at - aor);
    if (ulen > STORE_USER_MAX)
        return tn_errf(err, "address of record '%s': user part too long", aor);
    for (size_t i = 0; i < ulen; i++) {
        unsigned char c = (unsigned char)aor[i];
        if (c < 0x20 || c == 0x7f)
            return tn_errf(err, "address of record holds a control character");
    }
    memcpy(out, aor, ulen);
    out[ulen] = '@';
    return store_canon_domain(at + 1, out + ulen + 1, err);
}

/* Both checks, and the lowercase domain into dom. */
static int check_names(const char *user, const char *domain, char *dom, tn_err *err)
{
    if (store_check_user(user, err) < 0)
        return -1;
    return store_canon_domain(domain, dom, err);
}

/* ---- HA1s ---- */

struct ha1s {
    char md5[DIGEST_HEX_MAX];
    char sha256[DIGEST_HEX_MAX];
};

static int make_ha1s(const char *user, const char *realm, const char *password,
                     struct ha1s *h, tn_err *err)
{
    size_t plen = strnlen(password, STORE_PASSWORD_MAX + 1);
    if (plen == 0)
        return tn_errf(err, "empty password");
    if (plen > STORE_PASSWORD_MAX)
        return tn_errf(err, "password too long (at most %d bytes)", STORE_PASSWORD_MAX);
    if (digest_ha1(DIGEST_MD5, user, realm, password, h->md5, sizeof h->md5) < 0 ||
        digest_ha1(DIGEST_SHA256, user, realm, password, h->sha256, sizeof h->sha256) < 0)
        return tn_errf(err, "cannot hash the password");
    return 0;
}

/* Run ST_USER_INSERT or ST_USER_UPDATE; *changed = rows changed. */
static int write_user(store *s, enum store_stmt id, const char *user, const char *dom,
                      const struct ha1s *h, int *changed, tn_err *err)
{
    sqlite3_stmt *st = store_stmt(s, id);
    if (store_bind_text(st, 1, user) < 0 || store_bind_text(st, 2, dom) < 0 ||
        store_bind_text(st, 3, h->md5) < 0 || store_bind_text(st, 4, h->sha256) < 0 ||
        (id == ST_USER_INSERT && store_bind_int(st, 5, (int64_t)time(NULL)) < 0)) {
        store_stmt_done(st);
        return store_sql_error(s, err, "cannot write the user");
    }
    if (store_step_done(s, st, "cannot write the user", err) < 0)
        return -1;
    *changed = sqlite3_changes(s->db);
    return 0;
}

static int put_user(store *s, enum store_stmt id, const char *user, const char *domain,
                    const char *password, tn_err *err)
{
    char dom[STORE_DOMAIN_MAX + 1];
    struct ha1s h;
    int changed = 0;
    if (check_names(user, domain, dom, err) < 0 || make_ha1s(user, dom, password, &h, err) < 0)
        return -1;
    store_lock(s);
    int rc = write_user(s, id, user, dom, &h, &changed, err);
    store_unlock(s);
    OPENSSL_cleanse(&h, sizeof h);
    if (rc < 0)
        return -1;
    return changed > 0 ? 0 : 1;
}

int store_user_add(store *s, const char *user, const char *domain, const char *password,
                   tn_err *err)
{
    int rc = put_user(s, ST_USER_INSERT, user, domain, password, err);
    if (rc == 1)
        tn_errf(err, "user %s@%s already exists", user, domain);
    return rc;
}

int store_user_set_password(store *s, const char *user, const char *domain,
                            const char *password, tn_err *err)
{
    int rc = put_user(s, ST_USER_UPDATE, user, domain, password, err);
    if (rc == 1)
        tn_errf(err, "no user %s@%s", user, domain);
    return rc;
}

/* ---- delete ---- */

static int delete_user_locked(store *s, const char *user, const char *dom, int *deleted,
                              tn_err *err)
{
    char aor[STORE_AOR_MAX + 1];
    if (tn_snprintf(aor, sizeof aor, "%s@%s", user, dom) < 0)
        return tn_errf(err, "address too long");
    sqlite3_stmt *st = store_stmt(s, ST_USER_DELETE);
    if (store_bind_text(st, 1, user) < 0 || store_bind_text(st, 2, dom) < 0 ||
        store_step_done(s, st, "cannot delete the user", err) < 0)
        return -1;
    *deleted = sqlite3_changes(s->db);
    st = store_stmt(s, ST_BINDING_DELETE_AOR);
    if (store_bind_text(st, 1, aor) < 0 ||
        store_step_done(s, st, "cannot delete the user's registrations", err) < 0)
        return -1;
    return 0;
}

int store_user_del(store *s, const char *user, const char *domain, tn_err *err)
{
    char dom[STORE_DOMAIN_MAX + 1];
    int deleted = 0;
    if (check_names(user, domain, dom, err) < 0)
        return -1;
    store_lock(s);
    int rc = store_begin(s, err);
    if (rc == 0 && delete_user_locked(s, user, dom, &deleted, err) < 0) {
        store_rollback(s);
        rc = -1;
    }
    if (rc == 0)
        rc = store_commit(s, err);
    store_unlock(s);
    if (rc < 0)
        return -1;
    if (deleted == 0) {
        tn_errf(err, "no user %s@%s", user, dom);
        return 1;
    }
    return 0;
}

/* ---- list and lookup ---- */

static int list_rows(store *s, sqlite3_stmt *st, store_user_cb cb, void *ctx, tn_err *err)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_user u;
        memset(&u, 0, sizeof u);
        if (store_column_copy(st, 0, u.user, sizeof u.user) < 0 ||
            store_column_copy(st, 1, u.domain, sizeof u.domain) < 0)
            return tn_errf(err, "the store holds an over-long user name");
        u.has_md5 = sqlite3_column_int(st, 2) != 0;
        u.has_sha256 = sqlite3_column_int(st, 3) != 0;
        u.created = sqlite3_column_int64(st, 4);
        u.active_bindings = (unsigned)sqlite3_column_int(st, 5);
        if (cb(&u, ctx) != 0)
            return 0;
    }
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, err, "cannot list users");
}

int store_user_list(store *s, int64_t now, store_user_cb cb, void *ctx, tn_err *err)
{
    store_lock(s);
    sqlite3_stmt *st = store_stmt(s, ST_USER_LIST);
    int rc = store_bind_int(st, 1, now) < 0 ? store_sql_error(s, err, "cannot list users")
                                            : list_rows(s, st, cb, ctx, err);
    store_stmt_done(st);
    store_unlock(s);
    return rc;
}

static int read_ha1(store *s, sqlite3_stmt *st, enum digest_alg alg, char *hex, size_t hexlen,
                    tn_err *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 1;
    if (rc != SQLITE_ROW)
        return store_sql_error(s, err, "cannot read the user");
    int col = alg == DIGEST_SHA256 ? 1 : 0;
    const unsigned char *text = sqlite3_column_text(st, col);
    if (text == NULL)
        return 1;
    size_t want = digest_hex_len(alg);
    if (strlen((const char *)text) != want)
        return tn_errf(err, "the store holds a malformed %s hash", digest_alg_name(alg));
    if (hexlen < want + 1)
        return tn_errf(err, "buffer too small for a %s hash", digest_alg_name(alg));
    memcpy(hex, text, want + 1);
    return 0;
}

int store_user_ha1(store *s, const char *user, const char *domain, enum digest_alg alg,
                   char *hex, size_t hexlen, tn_err *err)
{
    char dom[STORE_DOMAIN_MAX + 1];
    tn_err why;
    /* A name that cannot be stored cannot exist: "not found", not an error,
     * because the name came from the network. */
    if (check_names(user, domain, dom, &why) < 0)
        return 1;
    store_lock(s);
    sqlite3_stmt *st = store_stmt(s, ST_USER_HA1);
    int rc = (store_bind_text(st, 1, user) < 0 || store_bind_text(st, 2, dom) < 0)
                 ? store_sql_error(s, err, "cannot read the user")
                 : read_ha1(s, st, alg, hex, hexlen, err);
    store_stmt_done(st);
    store_unlock(s);
    return rc;
}
