/* topology.c - loading and freeing a topology (see topology.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology/topo_internal.h"

/* The whole file, at most TOPO_MAX_FILE_BYTES; NULL with err. */
static char *read_bounded(const char *path, size_t *len, tn_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tn_errf(err, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        tn_errf(err, "%s is not a regular file", path);
        close(fd);
        return NULL;
    }
    char *buf = malloc(TOPO_MAX_FILE_BYTES + 1);
    size_t used = 0;
    while (buf != NULL && used <= TOPO_MAX_FILE_BYTES) {
        ssize_t n = read(fd, buf + used, TOPO_MAX_FILE_BYTES + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tn_errf(err, "cannot read %s: %s", path, strerror(errno));
            free(buf);
            buf = NULL;
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    if (buf == NULL) {
        if (err != NULL && err->msg[0] == '\0')
            tn_errf(err, "out of memory reading %s", path);
        return NULL;
    }
    if (used > TOPO_MAX_FILE_BYTES) {
        tn_errf(err, "%s is larger than the limit of %d bytes", path, TOPO_MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    buf[used] = '\0';
    *len = used;
    return buf;
}

static struct topology *new_topology(const char *path, tn_err *err)
{
    struct topology *topo = calloc(1, sizeof *topo);
    struct topo_internal *in = calloc(1, sizeof *in);
    char real[PATH_MAX];
    if (topo == NULL || in == NULL) {
        free(topo);
        free(in);
        tn_errf(err, "out of memory");
        return NULL;
    }
    topo->internal = in;
    in->refs = 1;
    if (realpath(path, real) == NULL) {
        tn_errf(err, "cannot resolve %s: %s", path, strerror(errno));
        topology_free(topo);
        return NULL;
    }
    const char *dir = dirname(real);
    topo->file = topo_arena_strndup(&in->arena, path, strlen(path));
    topo->dir = topo_arena_strndup(&in->arena, dir, strlen(dir));
    if (topo->file == NULL || topo->dir == NULL) {
        tn_errf(err, "out of memory");
        topology_free(topo);
        return NULL;
    }
    return topo;
}

/* Read, parse and validate; the topology even when it has errors (NULL
 * only when the file cannot be read). */
static struct topology *load_any(const char *path, struct topology_diags *diags, tn_err *err)
{
    size_t len;
    char *buf = read_bounded(path, &len, err);
    if (buf == NULL)
        return NULL;
    struct topology *topo = new_topology(path, err);
    if (topo == NULL) {
        free(buf);
        return NULL;
    }
    struct topo_arena *tree_arena = NULL;
    const struct ynode *root = topo_yaml_parse(buf, len, &tree_arena, diags);
    if (root != NULL) {
        struct topo_ctx ctx = {.topo = topo, .arena = &topo->internal->arena, .diags = diags};
        topo_schema_read(&ctx, root);
        topo_validate(&ctx);
        topo_index_server_addresses(&ctx);
    }
    topo_arena_free(tree_arena);
    free(buf);
    return topo;
}

int topology_load(const char *path, struct topology **out, struct topology_diags *diags,
                  tn_err *err)
{
    struct topology_diags local;
    *out = NULL;
    tn_err_clear(err);
    topology_diags_init(&local);
    struct topology_diags *d = diags != NULL ? diags : &local;
    size_t errors_before = d->errors;
    struct topology *topo = load_any(path, d, err);
    size_t errors = d->errors - errors_before;
    topology_diags_free(&local);
    if (topo == NULL)
        return -1;
    if (errors > 0) {
        tn_errf(err, "%s: %zu %s", path, errors, errors == 1 ? "error" : "errors");
        topology_free(topo);
        return -1;
    }
    *out = topo;
    return 0;
}

int topology_load_for_check(const char *path, struct topology **out,
                            struct topology_diags *diags, tn_err *err)
{
    tn_err_clear(err);
    *out = load_any(path, diags, err);
    return *out != NULL ? 0 : -1;
}

struct topology *topology_hold(struct topology *topo)
{
    __atomic_add_fetch(&topo->internal->refs, 1, __ATOMIC_RELAXED);
    return topo;
}

void topology_free(struct topology *topo)
{
    if (topo == NULL)
        return;
    /* The last holder frees; what it read was written before the first
     * hold, so acquire-release on the count orders the frees. */
    if (topo->internal != NULL &&
        __atomic_sub_fetch(&topo->internal->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    free(topo->pools);
    free(topo->servers);
    if (topo->internal != NULL)
        topo_arena_free(topo->internal->arena);
    free(topo->internal);
    free(topo);
}

int topology_load_server(const char *path, const char *fqdn, struct topology **out,
                         tn_err *err)
{
    struct topology *topo = NULL;
    struct topology_diags diags;
    topology_diags_init(&diags);
    int rc = topology_load(path, &topo, &diags, err);
    const struct topo_server *me = rc == 0 ? topology_find_server(topo, fqdn) : NULL;
    if (rc == 0 && me == NULL)
        rc = tn_errf(err, "%s: no server %s in the topology", path, fqdn);
    if (rc == 0 && topology_check_files(topo, me, &diags) < 0)
        rc = tn_errf(err, "%s: the files of server %s have errors", path, fqdn);
    if (diags.errors + diags.warnings > 0)
        topology_diags_print(&diags, path, stderr);
    topology_diags_free(&diags);
    if (rc < 0) {
        topology_free(topo);
        return -1;
    }
    *out = topo;
    return 0;
}
