/* topo_diag.c - collecting and printing topology diagnostics. */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "topology/topo_internal.h"

void topology_diags_init(struct topology_diags *diags)
{
    memset(diags, 0, sizeof *diags);
}

void topology_diags_free(struct topology_diags *diags)
{
    if (diags == NULL)
        return;
    free(diags->items);
    memset(diags, 0, sizeof *diags);
}

void topo_vdiag(struct topology_diags *diags, enum topo_severity severity,
                struct topo_pos pos, const char *fmt, va_list ap)
{
    if (severity == TOPO_ERROR)
        diags->errors++;
    else
        diags->warnings++;
    if (diags->count >= TOPO_MAX_DIAGS)
        return;
    void *items = diags->items;
    if (tn_array_reserve(&items, &diags->cap, diags->count + 1, sizeof *diags->items) < 0)
        return; /* counted, not kept */
    diags->items = items;
    struct topo_diag *d = &diags->items[diags->count++];
    d->severity = severity;
    d->pos = pos;
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
}

void topo_diag(struct topology_diags *diags, enum topo_severity severity, struct topo_pos pos,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    topo_vdiag(diags, severity, pos, fmt, ap);
    va_end(ap);
}

static int by_position(const void *a, const void *b)
{
    const struct topo_diag *x = *(const struct topo_diag *const *)a;
    const struct topo_diag *y = *(const struct topo_diag *const *)b;
    if (x->pos.line != y->pos.line)
        return x->pos.line < y->pos.line ? -1 : 1;
    if (x->pos.col != y->pos.col)
        return x->pos.col < y->pos.col ? -1 : 1;
    return x < y ? -1 : (x > y); /* stable: in the order found */
}

void topology_diags_print(const struct topology_diags *diags, const char *file, FILE *out)
{
    if (diags->count == 0)
        return;
    const struct topo_diag **order = malloc(diags->count * sizeof *order);
    for (size_t i = 0; i < diags->count; i++)
        if (order != NULL)
            order[i] = &diags->items[i];
    if (order != NULL)
        qsort(order, diags->count, sizeof *order, by_position);
    for (size_t i = 0; i < diags->count; i++) {
        const struct topo_diag *d = order != NULL ? order[i] : &diags->items[i];
        const char *sev = d->severity == TOPO_ERROR ? "error" : "warning";
        if (d->pos.line > 0)
            fprintf(out, "%s:%u:%u: %s: %s\n", file, d->pos.line, d->pos.col, sev, d->msg);
        else
            fprintf(out, "%s: %s: %s\n", file, sev, d->msg);
    }
    size_t total = diags->errors + diags->warnings;
    if (total > diags->count)
        fprintf(out, "%s: note: %zu more problems not shown\n", file, total - diags->count);
    free(order);
}
