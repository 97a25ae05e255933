/*
 * sip_binding_writer.h - registrations reach the store in batches.
 *
 * The registrar changes the location service (memory) at once and records
 * each change here; binding_writer_flush() (every second, and at shutdown)
 * writes what was recorded in one transaction, and only the last state of
 * each binding: a binding that came and went between two flushes, such as
 * one of a connection that registered and closed within a second, never
 * touches the disk.  Kamailio's usrloc db_mode=2 (write-back) does the
 * same.
 *
 * What a crash (kill -9, OOM kill) can lose: the changes of the last
 * second.  A lost registration is harmless: the crash closed the client's
 * connection, so its binding could not be used anyway, and the client
 * registers again when it reconnects.  A lost removal leaves a binding
 * without a flow in the store until it expires.  A clean shutdown flushes
 * everything.  When the store refuses a batch, it is kept and tried again
 * at the next flush (newer changes of the same binding win).
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the recorded changes and is never held while the store is
 * written.
 */
#ifndef TN_SIP_BINDING_WRITER_H
#define TN_SIP_BINDING_WRITER_H

#include <pthread.h>
#include <stdbool.h>

#include "common/idmap.h"
#include "store/store.h"

struct bw_entry;

struct binding_writer {
    pthread_mutex_t lock;
    store *store;
    struct idmap by_key;     /* hash of (aor, contact) -> entries with that hash */
    struct bw_entry *entries; /* every recorded binding */
    size_t n_entries;
    struct bw_entry *wipes;  /* AORs whose bindings all go (Contact: *) */
};

void binding_writer_init(struct binding_writer *bw, store *s);
void binding_writer_free(struct binding_writer *bw);

/* The binding is now b.  existed: the location service held it before
 * this change (so the store may hold it too).  -1 when out of memory. */
int binding_writer_put(struct binding_writer *bw, const struct store_binding *b, bool existed);
/* aor's binding of contact is gone.  -1 when out of memory. */
int binding_writer_del(struct binding_writer *bw, const char *aor, const char *contact);
/* Every binding of aor is gone.  -1 when out of memory. */
int binding_writer_wipe(struct binding_writer *bw, const char *aor);

/* Write what was recorded since the last flush.  Returns how many store
 * operations it took (0: nothing to write), or -1 with err (the changes
 * are kept for the next flush). */
int binding_writer_flush(struct binding_writer *bw, tn_err *err);

#endif
