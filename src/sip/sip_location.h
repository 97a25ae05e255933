/*
 * sip_location.h - the location service: which contacts (and over which
 * connection) each address-of-record can be reached at, shared by all
 * workers under one lock.
 *
 * A binding remembers the connection (flow) it was registered over:
 * requests for the user go back over that very TLS connection (RFC 5626),
 * because clients sit behind NAT.  When the connection dies its bindings
 * are dropped.  Besides registrations, the service keeps "contact aliases":
 * the Contact of any dialog-forming request that arrived on a client
 * connection, so that in-dialog requests addressed to that Contact can be
 * sent back over the same connection.
 */
#ifndef TN_SIP_LOCATION_H
#define TN_SIP_LOCATION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "common/idmap.h"

#define LOC_AOR_MAX 256
#define LOC_CONTACT_MAX 512
#define LOC_CALLID_MAX 256
#define LOC_INSTANCE_MAX 128 /* "<urn:uuid:...>" is 47 */
#define LOC_MAX_BINDINGS_PER_AOR 10

struct loc_binding {
    char aor[LOC_AOR_MAX];         /* "alice@corp.test" */
    char contact[LOC_CONTACT_MAX]; /* the Contact URI, without <> or params */
    char call_id[LOC_CALLID_MAX];
    uint32_t cseq;
    time_t expires_at;
    int q; /* 0-1000 */
    uint64_t conn_id; /* the flow; 0 when unknown (loaded after a restart) */
    /* The device (+sip.instance, RFC 5626/5627) and its flow number
     * (reg-id; 0: none).  With an instance, a binding is that device's
     * (and flow's), whatever its Contact URI: a new REGISTER from the
     * device replaces it, so a client that comes back on a new port or
     * connection leaves no stale binding behind. */
    char instance[LOC_INSTANCE_MAX];
    uint32_t reg_id;
};

struct loc_entry;
struct loc_alias;

struct sip_location {
    pthread_mutex_t lock;
    struct idmap by_conn; /* conn id -> struct conn_refs: what to drop on close */
    struct loc_entry **buckets;
    size_t n_buckets;
    struct loc_alias **aliases;
    size_t n_alias_buckets;
};

enum loc_update_result {
    LOC_UPDATED,
    LOC_OUT_OF_ORDER, /* same Call-ID, CSeq not higher: 500 (RFC 3261 10.3) */
    LOC_TOO_MANY,     /* more than LOC_MAX_BINDINGS_PER_AOR */
    LOC_NO_MEMORY,
};

int sip_location_init(struct sip_location *loc, tn_err *err);
void sip_location_free(struct sip_location *loc);

/* Told of a binding the service dropped by itself, and why, under the
 * location's lock (it must not call back into the location service). */
typedef void loc_gone_fn(const struct loc_binding *b, const char *why, void *ctx);

/* Add or refresh a binding (expires_at in the past removes it): the one
 * of the same device and reg-id when both have an instance, else the one
 * of the same Contact URI.  existed (may be NULL): whether it was there
 * before.  A binding replaced under another Contact URI is told to
 * evicted (may be NULL), as is one dropped to make room: an
 * address-of-record with LOC_MAX_BINDINGS_PER_AOR bindings drops one
 * without a flow (loaded after a restart); LOC_TOO_MANY when every
 * binding has a live flow. */
enum loc_update_result sip_location_update(struct sip_location *loc,
                                           const struct loc_binding *b, bool *existed,
                                           loc_gone_fn *evicted, void *ctx);
/* Remove every binding of aor (Contact: *). */
void sip_location_remove_aor(struct sip_location *loc, const char *aor);
/* Current bindings of aor, best q first; returns how many were written. */
size_t sip_location_lookup(struct sip_location *loc, const char *aor, time_t now,
                           struct loc_binding *out, size_t max);
/* How many bindings are current (for metrics: walks every entry). */
size_t sip_location_count(struct sip_location *loc, time_t now);
/* The connection of aor's best current binding (highest q) that has one,
 * or 0: what routing needs, without copying the bindings. */
uint64_t sip_location_best_conn(struct sip_location *loc, const char *aor, time_t now);
/* A connection died: drop its bindings and aliases.  Returns how many
 * bindings went; gone (may be NULL) is called for each. */
size_t sip_location_drop_conn(struct sip_location *loc, uint64_t conn_id, loc_gone_fn *gone,
                              void *ctx);

/* Remember that contact is reachable over conn_id (dialog routing). */
void sip_location_alias(struct sip_location *loc, const char *contact, size_t len,
                        uint64_t conn_id);
/* The connection behind a contact, from bindings or aliases; 0 if none. */
uint64_t sip_location_conn_for_contact(struct sip_location *loc, const char *contact,
                                       size_t len, time_t now);

#endif
