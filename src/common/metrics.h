/*
 * metrics.h - counters and gauges for operators, written as a Prometheus
 * text file (the node_exporter "textfile" collector format).
 *
 * trustnet opens no plaintext port for metrics (every connection of ours is
 * TLS): a server rewrites one file, atomically (write, then rename), every
 * few seconds and once more when a subsystem stops.  node_exporter's
 * textfile collector, a monitoring agent, or `trustnet stats` reads it.
 *
 * Subsystems keep their own counters (tn_counter: any thread adds, relaxed
 * atomics, no lock) and register a source that prints them.  Each source
 * prints its own metric families, so names never repeat across sources
 * (the format wants a family's samples together).
 */
#ifndef TN_COMMON_METRICS_H
#define TN_COMMON_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A count that only grows. */
typedef struct {
    _Atomic uint64_t n;
} tn_counter;

static inline void tn_counter_add(tn_counter *c, uint64_t k)
{
    atomic_fetch_add_explicit(&c->n, k, memory_order_relaxed);
}

static inline uint64_t tn_counter_get(const tn_counter *c)
{
    return atomic_load_explicit(&((tn_counter *)c)->n, memory_order_relaxed);
}

/* One rendering of every source, as text. */
struct tn_metrics_out {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory: the rendering is dropped */
    char server[256];
};

/* "# HELP" and "# TYPE" of a family; type is "counter" or "gauge". */
void tn_metrics_family(struct tn_metrics_out *o, const char *name, const char *type,
                       const char *help);
/* One sample; labels is "" or label="value" pairs ('a="x",b="y"') whose
 * values the caller knows need no escaping.  The server label is added. */
void tn_metrics_sample(struct tn_metrics_out *o, const char *name, const char *labels,
                       uint64_t value);

/* A family of one sample that has no labels but the server's. */
void tn_metrics_single(struct tn_metrics_out *o, const char *name, const char *type,
                       const char *help, uint64_t value);

typedef void tn_metrics_source_fn(struct tn_metrics_out *o, void *ctx);

/* Print fn(ctx)'s families in every rendering from now on. */
int tn_metrics_add_source(tn_metrics_source_fn *fn, void *ctx, tn_err *err);
/* Stop calling fn(ctx): what it prints now (its final counts) stays in
 * every later rendering, and the file is written at once.  Returns once no
 * rendering uses ctx any more. */
void tn_metrics_remove_source(tn_metrics_source_fn *fn, void *ctx);

/* Render every source now (the caller frees o->buf). */
int tn_metrics_render(struct tn_metrics_out *o, const char *server);

/* Write path every interval_ms from a thread of its own, for server (the
 * label of every sample); path NULL: nothing is written.  Call before
 * sources are removed, so that their final counts carry the label. */
int tn_metrics_start(const char *path, const char *server, unsigned interval_ms, tn_err *err);
/* Stop the thread after a last write. */
void tn_metrics_stop(void);

#endif
