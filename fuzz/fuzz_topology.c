/*
 * fuzz_topology.c - libFuzzer target for the topology file
 * (src/topology/): YAML syntax, schema and cross-references, on whatever
 * an operator's slip or a hostile edit could put in the file.  The loader
 * reads a path, so each input is written to one file in a private
 * directory, then loaded as "trustnet topology check" loads it (the
 * topology even when it has errors) and as a server loads it.  Invariants
 * that abort:
 *   - every kept diagnostic has a message, and a line (when known) inside
 *     the input; there are never more kept than counted, nor more than
 *     TOPO_MAX_DIAGS;
 *   - the server's load succeeds exactly when the check found no error;
 *   - a topology without errors holds together: each pool's servers lie
 *     inside the server table and point back at their pool; each server is
 *     found by its FQDN, each user by its address and homed on the pool
 *     the lookup by address gives; each SIP domain is local.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *devnull;

static void setup(void)
{
    char dir[] = "/tmp/tn-fuzz-topology-XXXXXX";
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/topology.yaml", dir);
    devnull = fopen("/dev/null", "w");
    if (devnull == NULL)
        abort();
}

static void write_input(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

/* Lines as YAML counts them: a line ends at LF, CR LF, a lone CR, or
 * the UTF-8 forms of NEL, LS and PS. */
static unsigned lines_of(const uint8_t *data, size_t size)
{
    unsigned n = 1;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n')))
            n++;
        else if (i + 1 < size && data[i] == 0xC2 && data[i + 1] == 0x85)
            n++;
        else if (i + 2 < size && data[i] == 0xE2 && data[i + 1] == 0x80 &&
                 (data[i + 2] == 0xA8 || data[i + 2] == 0xA9))
            n++;
    }
    return n;
}

static void check_diags(const struct topology_diags *d, unsigned lines)
{
    if (d->count > d->errors + d->warnings || d->count > TOPO_MAX_DIAGS)
        abort();
    for (size_t i = 0; i < d->count; i++) {
        const struct topo_diag *g = &d->items[i];
        size_t len = strnlen(g->msg, sizeof g->msg);
        if (len == 0 || len == sizeof g->msg || g->pos.line > lines)
            abort();
    }
    topology_diags_print(d, path, devnull);
}

static void check_pools(const struct topology *t)
{
    const struct topo_server *end = t->servers + t->n_servers;
    for (size_t p = 0; p < t->n_pools; p++) {
        const struct topo_pool *pool = &t->pools[p];
        if (pool->fqdn == NULL || (pool->n_servers > 0 && pool->servers < t->servers) ||
            pool->servers + pool->n_servers > end || topology_find_pool(t, pool->fqdn) != pool)
            abort();
        for (size_t s = 0; s < pool->n_servers; s++)
            if (pool->servers[s].pool != pool)
                abort();
    }
}

static void check_consistent(const struct topology *t)
{
    check_pools(t);
    for (size_t i = 0; i < t->n_servers; i++) {
        const struct topo_server *s = &t->servers[i];
        if (s->fqdn == NULL || s->pool == NULL || topology_find_server(t, s->fqdn) != s)
            abort();
    }
    for (size_t i = 0; i < t->n_users; i++) {
        const struct topo_user *u = &t->users[i];
        if (u->address == NULL || u->pool == NULL || topology_find_user(t, u->address) != u ||
            topology_user_pool(t, u->address) != u->pool)
            abort();
    }
    for (size_t i = 0; i < t->sip.domains.count; i++)
        if (!topology_is_local_domain(t, t->sip.domains.items[i]))
            abort();
    size_t n = 0;
    if (topology_server_addresses(t, &n) == NULL && n != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (devnull == NULL)
        setup();
    write_input(data, size);
    unsigned lines = lines_of(data, size);

    struct topology_diags d;
    struct topology *checked = NULL;
    tn_err err;
    topology_diags_init(&d);
    if (topology_load_for_check(path, &checked, &d, &err) < 0)
        abort(); /* the file is there: only unreadable files fail here */
    check_diags(&d, lines);
    bool clean = d.errors == 0;
    topology_free(checked);
    topology_diags_free(&d);

    struct topology *served = NULL;
    topology_diags_init(&d);
    int rc = topology_load(path, &served, &d, &err);
    check_diags(&d, lines);
    if ((rc == 0) != clean || (rc == 0) != (served != NULL))
        abort();
    if (served != NULL)
        check_consistent(served);
    topology_free(served);
    topology_diags_free(&d);
    return 0;
}
