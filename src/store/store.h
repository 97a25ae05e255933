/*
 * store.h - the embedded store of a trustnet SIP server (SQLite): users'
 * digest credentials and SIP registrations (the location service).
 *
 * One store object per process, shared by every worker thread: each call
 * is one short transaction under the store's lock.  Callbacks run under
 * that lock and must not call back into the store; a callback returns 0
 * to go on or non-zero to stop the iteration early.
 *
 * Durability: the database is in WAL mode with synchronous=NORMAL.  Every
 * call that returned 0 is in the WAL file in the kernel's page cache, so
 * it survives a crash of trustnet itself (kill -9, abort, OOM kill).  (The
 * SIP server hands registrations to the store in batches, once a second:
 * see sip/sip_binding_writer.h for what a crash loses there.)  A power loss
 * or kernel crash can lose the last commits since the WAL was last synced
 * (at each checkpoint); the database itself is never corrupted.  The
 * alternative, synchronous=FULL, would fsync on every REGISTER and stall
 * the worker's event loop for the length of a disk flush; clients refresh
 * their registrations anyway (RFC 3261 10.2.1).  store_set_sync_full()
 * asks for FULL where that trade is wrong (the user command uses it).
 *
 * Names: the domain is kept in lowercase (the store lowercases it), the
 * user part as given; the digest realm of a user is its domain.  An AOR
 * is "user@domain"; the store lowercases its domain part too.
 *
 * Passwords are never stored: only HA1 = H(user:realm:password), for MD5
 * and SHA-256.  HA1 is password-equivalent for that realm, so the file is
 * created with mode 0600 and a file readable by other users is refused.
 */
#ifndef TN_STORE_STORE_H
#define TN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "sip/sip_digest.h"

typedef struct store store;

/* Fixed limits; longer values are refused with an error naming them. */
#define STORE_USER_MAX 64
#define STORE_DOMAIN_MAX 253
#define STORE_AOR_MAX (STORE_USER_MAX + 1 + STORE_DOMAIN_MAX)
#define STORE_PASSWORD_MAX 1024
#define STORE_CONTACT_MAX 1024
#define STORE_CALL_ID_MAX 256
#define STORE_INSTANCE_MAX 256
#define STORE_PATH_MAX 2048
#define STORE_RECEIVED_MAX 64
#define STORE_FLOW_ID_MAX 64
#define STORE_USER_AGENT_MAX 256

/* Open (or create, mode 0600) the store at path and bring its schema to
 * the current version.  Refuses a file that is not a trustnet store, one
 * written by a newer trustnet, and one readable or writable by others. */
store *store_open(const char *path, tn_err *err);
void store_close(store *s);

/* fsync every commit (synchronous=FULL) when full is true. */
int store_set_sync_full(store *s, bool full, tn_err *err);

/* ---- users ---- */

struct store_user {
    char user[STORE_USER_MAX + 1];
    char domain[STORE_DOMAIN_MAX + 1];
    bool has_md5;
    bool has_sha256;
    int64_t created;          /* unix seconds */
    unsigned active_bindings; /* registrations not expired at "now" */
};

typedef int (*store_user_cb)(const struct store_user *user, void *ctx);

/* Add a user with HA1s for every algorithm.  Returns 0, 1 if the user
 * already exists (nothing changed), -1 on error. */
int store_user_add(store *s, const char *user, const char *domain, const char *password,
                   tn_err *err);

/* Replace an existing user's HA1s.  Returns 0, 1 if no such user, -1. */
int store_user_set_password(store *s, const char *user, const char *domain,
                            const char *password, tn_err *err);

/* Delete a user and its registrations.  Returns 0, 1 if no such user, -1. */
int store_user_del(store *s, const char *user, const char *domain, tn_err *err);

/* Call cb for each user, ordered by domain then user; active_bindings
 * counts bindings with expires_at > now.  Returns 0 or -1. */
int store_user_list(store *s, int64_t now, store_user_cb cb, void *ctx, tn_err *err);

/* The HA1 (lowercase hex, digest_hex_len(alg) digits) of user@domain for
 * alg into hex.  Returns 0 found, 1 no such user (or no HA1 for alg), -1. */
int store_user_ha1(store *s, const char *user, const char *domain, enum digest_alg alg,
                   char *hex, size_t hexlen, tn_err *err);

/* Syntax checks used by the store (and by callers that want them early):
 * a user is 1..64 printable ASCII characters without '@', ':', '"', '\\'
 * or space; a domain is 1..253 letters, digits, '-' and '.'. */
int store_check_user(const char *user, tn_err *err);
int store_check_domain(const char *domain, tn_err *err);

/* ---- bindings (RFC 3261 10, RFC 5626) ---- */

struct store_binding {
    char aor[STORE_AOR_MAX + 1];              /* "alice@corp.test" */
    char contact[STORE_CONTACT_MAX + 1];      /* the Contact URI */
    int64_t expires_at;                       /* unix seconds */
    int q;                                    /* q-value in thousandths, 0..1000 */
    char call_id[STORE_CALL_ID_MAX + 1];
    uint32_t cseq;
    char instance[STORE_INSTANCE_MAX + 1];    /* +sip.instance, or "" */
    uint32_t reg_id;                          /* reg-id, or 0 */
    char path[STORE_PATH_MAX + 1];            /* Path header values, or "" */
    char received[STORE_RECEIVED_MAX + 1];    /* "ip:port" of the flow */
    char flow_id[STORE_FLOW_ID_MAX + 1];      /* "<worker>:<conn serial>" */
    char user_agent[STORE_USER_AGENT_MAX + 1];
    int64_t updated_at;                       /* set by the store on upsert */
};

/* One change of a batch (store_bindings_apply): UPSERT writes b; DELETE
 * removes b->aor's binding of b->contact; DELETE_AOR every binding of
 * b->aor. */
enum store_binding_op { STORE_BINDING_UPSERT, STORE_BINDING_DELETE, STORE_BINDING_DELETE_AOR };

struct store_binding_change {
    enum store_binding_op op;
    const struct store_binding *b;
};

typedef int (*store_binding_cb)(const struct store_binding *b, void *ctx);

/* Copy a counted string into a binding field of size dstsize, refusing
 * (with "WHAT too long (N bytes, at most M)") what does not fit and NUL
 * bytes.  A helper for whoever fills a struct store_binding from a parsed
 * message. */
int store_field_set(char *dst, size_t dstsize, const char *what, const char *p, size_t len,
                    tn_err *err);

/* Insert or replace the binding (aor, contact).  When instance is set, it
 * also replaces the other bindings of the aor with the same instance and
 * reg_id (RFC 5626 6, RFC 5627: an instance's binding is keyed by its
 * instance and reg-id, not by its contact URI).  Returns 0 or -1. */
int store_binding_upsert(store *s, const struct store_binding *b, tn_err *err);

/* Delete one binding / all bindings of an AOR.  Return the number deleted
 * (0 when there was none) or -1. */
int store_binding_delete(store *s, const char *aor, const char *contact, tn_err *err);
int store_binding_delete_aor(store *s, const char *aor, tn_err *err);

/* Call cb for each binding of aor with expires_at > now, highest q first
 * then most recently updated.  Returns 0 or -1. */
int store_bindings_for_aor(store *s, const char *aor, int64_t now, store_binding_cb cb,
                           void *ctx, tn_err *err);

/* Call cb for every binding with expires_at > now (to fill the location
 * cache at start).  Returns 0 or -1. */
int store_bindings_load_all(store *s, int64_t now, store_binding_cb cb, void *ctx,
                            tn_err *err);

/* Delete bindings with expires_at <= now; returns how many, or -1. */
int store_bindings_expire(store *s, int64_t now, tn_err *err);

/* Delete the bindings of a connection that died (RFC 5626: a flow's
 * bindings go with it); returns how many, or -1. */
int store_bindings_delete_flow(store *s, const char *flow_id, tn_err *err);

/* Apply n changes in order, in one transaction: all or nothing.  Returns
 * 0 or -1. */
int store_bindings_apply(store *s, const struct store_binding_change *changes, size_t n,
                         tn_err *err);

#endif
