/*
 * topo_schema.c - the YAML node tree -> struct topology.
 *
 * Each mapping of the format is a table of keys: name, required or not,
 * value type and where the value goes.  read_map() walks a mapping against
 * its table, so unknown keys (typos), duplicate keys, missing keys and
 * wrong types are found the same way everywhere and named with their line.
 * Cross-references (pools, unique names, ...) are topo_validate.c's job.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "common/array.h"
#include "common/str.h"
#include "topology/topo_internal.h"

enum vtype {
    V_TEXT,      /* const char *: a short human name */
    V_DNS,       /* const char *: a DNS host name */
    V_DNS_LIST,  /* struct topo_names: a non-empty list of DNS names */
    V_PATH,      /* struct topo_file: a path, relative to the topology file */
    V_UINT,      /* unsigned, min..max */
    V_BOOL,      /* bool: true or false */
    V_LISTEN,    /* struct topo_addr: IP literal and port (default: min) */
    V_REMOTE,    /* struct topo_addr: IP literal or DNS name, and port */
    V_USER,      /* const char *: user@domain */
    V_PEER_NAME, /* const char *: a DNS name or *.domain */
    V_CA_REF,    /* struct topo_ca_ref: a path or "system" */
    V_CUSTOM,    /* custom(ctx, value, obj) */
};

struct key_spec {
    const char *name;
    bool required;
    enum vtype type;
    size_t offset;        /* of the field in obj */
    unsigned min, max;    /* V_UINT range; V_LISTEN/V_REMOTE: min is the default port */
    void (*custom)(struct topo_ctx *ctx, const char *key, const struct ynode *value, void *obj);
};

#define MAX_KEYS 16
#define N_KEYS(specs) (sizeof specs / sizeof specs[0])

static void *field(void *obj, const struct key_spec *spec)
{
    return (char *)obj + spec->offset;
}

static void oom(struct topo_ctx *ctx, struct topo_pos pos)
{
    topo_diag(ctx->diags, TOPO_ERROR, pos, "out of memory");
}

/* ---- scalars ------------------------------------------------------------ */

/* The scalar text of value, or NULL after a diagnostic. */
static const char *scalar(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                          const char *expected)
{
    if (value->kind != YNODE_SCALAR || ynode_is_null(value)) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' must be %s, found %s", key,
                  expected, ynode_kind_name(value));
        return NULL;
    }
    for (size_t i = 0; i < value->len; i++) {
        unsigned char c = (unsigned char)value->value[i];
        if (c < 0x20 || c == 0x7f) {
            topo_diag(ctx->diags, TOPO_ERROR, value->pos,
                      "'%s' contains a control character (0x%02x)", key, c);
            return NULL;
        }
    }
    /* The tree is freed after loading: the topology keeps its own copy. */
    const char *copy = topo_arena_strndup(ctx->arena, value->value, value->len);
    if (copy == NULL)
        oom(ctx, value->pos);
    return copy;
}

static void read_text(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                      const char **out)
{
    const char *s = scalar(ctx, key, value, "a name");
    if (s == NULL)
        return;
    if (value->len > 255) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' is longer than 255 bytes", key);
        return;
    }
    *out = s;
}

static void read_dns(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                     const char **out)
{
    const char *s = scalar(ctx, key, value, "a DNS name");
    if (s == NULL)
        return;
    if (!topo_is_dns_name(s)) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos,
                  "'%s': '%s' is not a DNS name (letters, digits and '-' in labels of "
                  "1 to 63 characters separated by dots)", key, s);
        return;
    }
    *out = s;
}

static void read_path(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                      struct topo_file *out)
{
    const char *s = scalar(ctx, key, value, "a file path");
    if (s == NULL)
        return;
    char path[PATH_MAX];
    int rc = s[0] == '/' ? tn_strlcpy(path, s, sizeof path)
                         : tn_snprintf(path, sizeof path, "%s/%s", ctx->topo->dir, s);
    if (rc < 0) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s': path is too long", key);
        return;
    }
    out->path = topo_arena_strndup(ctx->arena, path, strlen(path));
    if (out->path == NULL)
        oom(ctx, value->pos);
    out->pos = value->pos;
}

static void read_uint(struct topo_ctx *ctx, const struct key_spec *spec,
                      const struct ynode *value, unsigned *out)
{
    const char *s = value->kind == YNODE_SCALAR && value->plain ? value->value : NULL;
    unsigned long v = 0;
    bool ok = s != NULL && s[0] != '\0' && value->len <= 10;
    for (size_t i = 0; ok && s[i]; i++) {
        ok = s[i] >= '0' && s[i] <= '9';
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (!ok || v < spec->min || v > spec->max) {
        const char *shown = value->kind == YNODE_SCALAR ? value->value : ynode_kind_name(value);
        topo_diag(ctx->diags, TOPO_ERROR, value->pos,
                  "'%s' must be a whole number from %u to %u, found '%s'%s", spec->name,
                  spec->min, spec->max, shown,
                  value->kind == YNODE_SCALAR && !value->plain ? " (write numbers without quotes)"
                                                               : "");
        return;
    }
    *out = (unsigned)v;
}

static void read_bool(struct topo_ctx *ctx, const char *key, const struct ynode *value, bool *out)
{
    if (value->kind == YNODE_SCALAR && value->plain && strcmp(value->value, "true") == 0) {
        *out = true;
        return;
    }
    if (value->kind == YNODE_SCALAR && value->plain && strcmp(value->value, "false") == 0) {
        *out = false;
        return;
    }
    topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' must be true or false, found '%s'", key,
              value->kind == YNODE_SCALAR ? value->value : ynode_kind_name(value));
}

static void read_addr(struct topo_ctx *ctx, const struct key_spec *spec,
                      const struct ynode *value, struct topo_addr *out)
{
    bool names = spec->type == V_REMOTE;
    const char *s = scalar(ctx, spec->name, value, names ? "HOST:PORT" : "an IP address and port");
    if (s == NULL)
        return;
    char why[320];
    if (topo_parse_addr(s, (uint16_t)spec->min, names, out, why, sizeof why) < 0) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s': bad address '%s': %s", spec->name,
                  s, why);
        out->pos = value->pos; /* given, though unusable: not "missing" as well */
        return;
    }
    out->pos = value->pos;
}

/* RFC 3261 user part: unreserved, escaped, user-unreserved. */
static bool is_sip_user(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || strchr("-_.!~*'()&=+$,;?/", c) != NULL)
            continue;
        if (c == '%' && i + 2 < len && strchr("0123456789abcdefABCDEF", s[i + 1]) &&
            strchr("0123456789abcdefABCDEF", s[i + 2])) {
            i += 2;
            continue;
        }
        return false;
    }
    return true;
}

static void read_user(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                      const char **out)
{
    const char *s = scalar(ctx, key, value, "an address user@domain");
    if (s == NULL)
        return;
    const char *at = strchr(s, '@');
    if (at == NULL || !is_sip_user(s, (size_t)(at - s)) || !topo_is_dns_name(at + 1)) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos,
                  "'%s': '%s' is not an address of the form user@domain", key, s);
        return;
    }
    *out = s;
}

static void read_peer_name(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                           const char **out)
{
    const char *s = scalar(ctx, key, value, "a DNS name or *.domain");
    if (s == NULL)
        return;
    const char *base = strncmp(s, "*.", 2) == 0 ? s + 2 : s;
    if (!topo_is_dns_name(base) || (base != s && strchr(base, '.') == NULL)) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos,
                  "'%s': '%s' is neither a DNS name nor a wildcard *.domain with at least "
                  "two labels after the '*'", key, s);
        return;
    }
    *out = s;
}

static void read_ca_ref(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                        struct topo_ca_ref *out)
{
    if (value->kind == YNODE_SCALAR && strcmp(value->value, "system") == 0) {
        out->system = true;
        out->file.pos = value->pos;
        return;
    }
    read_path(ctx, key, value, &out->file);
}

/* A list node with min..max items, or false after a diagnostic. */
static bool check_list(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                       size_t min, size_t max, const char *example)
{
    if (value->kind != YNODE_LIST) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' must be a list%s%s, found %s", key,
                  example ? ", e.g. " : "", example ? example : "", ynode_kind_name(value));
        return false;
    }
    if (value->count < min) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' is empty: it needs at least %zu %s",
                  key, min, min == 1 ? "item" : "items");
        return false;
    }
    if (value->count > max) {
        topo_diag(ctx->diags, TOPO_ERROR, value->pos, "'%s' has %zu items, more than the limit "
                  "of %zu", key, value->count, max);
        return false;
    }
    return true;
}

static void read_dns_list(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                          struct topo_names *out)
{
    if (!check_list(ctx, key, value, 1, TOPO_MAX_LIST, "[corp.test]"))
        return;
    out->items = topo_arena_alloc(ctx->arena, value->count * sizeof *out->items);
    if (out->items == NULL)
        {
        oom(ctx, value->pos);
        return;
    }
    out->pos = value->pos;
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        const char *name = NULL;
        read_dns(ctx, key, item, &name);
        if (name == NULL)
            continue;
        if (topo_names_contain(out, name)) {
            topo_diag(ctx->diags, TOPO_ERROR, item->pos, "'%s' lists %s twice", key, name);
            continue;
        }
        out->items[out->count++] = name;
    }
}

/* ---- mappings ----------------------------------------------------------- */

static void read_value(struct topo_ctx *ctx, const struct key_spec *spec,
                       const struct ynode *value, void *obj)
{
    void *f = field(obj, spec);
    switch (spec->type) {
    case V_TEXT:
        read_text(ctx, spec->name, value, f);
        break;
    case V_DNS:
        read_dns(ctx, spec->name, value, f);
        break;
    case V_DNS_LIST:
        read_dns_list(ctx, spec->name, value, f);
        break;
    case V_PATH:
        read_path(ctx, spec->name, value, f);
        break;
    case V_UINT:
        read_uint(ctx, spec, value, f);
        break;
    case V_BOOL:
        read_bool(ctx, spec->name, value, f);
        break;
    case V_LISTEN:
    case V_REMOTE:
        read_addr(ctx, spec, value, f);
        break;
    case V_USER:
        read_user(ctx, spec->name, value, f);
        break;
    case V_PEER_NAME:
        read_peer_name(ctx, spec->name, value, f);
        break;
    case V_CA_REF:
        read_ca_ref(ctx, spec->name, value, f);
        break;
    case V_CUSTOM:
        spec->custom(ctx, spec->name, value, obj);
        break;
    }
}

/* Levenshtein distance, capped: enough to suggest a key for a typo. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void unknown_key(struct topo_ctx *ctx, const struct ynode *key, const char *what,
                        const struct key_spec *specs, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(key->value, specs[i].name);
        if (d < best_d) {
            best_d = d;
            best = specs[i].name;
        }
    }
    if (best != NULL) {
        topo_diag(ctx->diags, TOPO_ERROR, key->pos, "unknown key '%s' in %s (did you mean '%s'?)",
                  key->value, what, best);
        return;
    }
    char known[400] = "";
    for (size_t i = 0; i < n; i++)
        tn_appendf(known, sizeof known, "%s%s", i ? ", " : "", specs[i].name);
    topo_diag(ctx->diags, TOPO_ERROR, key->pos, "unknown key '%s' in %s (known keys: %s)",
              key->value, what, known);
}

static const struct ynode *map_get(const struct ynode *map, const char *name)
{
    if (map->kind != YNODE_MAP)
        return NULL;
    for (const struct ynode *k = map->first; k != NULL && k->next != NULL; k = k->next->next)
        if (k->kind == YNODE_SCALAR && strcmp(k->value, name) == 0)
            return k->next;
    return NULL;
}

/* Walk map against specs, filling obj.  what names the mapping in messages
 * ("server 'fe1.corp.test'").  False when map is not a mapping. */
static bool read_map(struct topo_ctx *ctx, const struct ynode *map, const char *what,
                     const struct key_spec *specs, size_t n, void *obj)
{
    if (map->kind != YNODE_MAP) {
        topo_diag(ctx->diags, TOPO_ERROR, map->pos, "%s must be a mapping of keys, found %s",
                  what, ynode_kind_name(map));
        return false;
    }
    struct topo_pos seen[MAX_KEYS] = {{0, 0}};
    for (const struct ynode *key = map->first; key != NULL && key->next != NULL;
         key = key->next->next) {
        if (key->kind != YNODE_SCALAR || ynode_is_null(key)) {
            topo_diag(ctx->diags, TOPO_ERROR, key->pos, "a key in %s must be a name, found %s",
                      what, ynode_kind_name(key));
            continue;
        }
        size_t i = 0;
        while (i < n && strcmp(specs[i].name, key->value) != 0)
            i++;
        if (i == n) {
            unknown_key(ctx, key, what, specs, n);
        } else if (seen[i].line != 0) {
            topo_diag(ctx->diags, TOPO_ERROR, key->pos,
                      "duplicate key '%s' in %s (first given at line %u)", key->value, what,
                      seen[i].line);
        } else {
            seen[i] = key->pos;
            read_value(ctx, &specs[i], key->next, obj);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (specs[i].required && seen[i].line == 0)
            topo_diag(ctx->diags, TOPO_ERROR, map->pos, "%s: missing required key '%s'", what,
                      specs[i].name);
    return true;
}

/* "server 'fe1.corp.test'" when the mapping has a usable name key. */
static void describe(char *buf, size_t len, const char *kind, const struct ynode *map,
                     const char *name_key)
{
    const struct ynode *name = map_get(map, name_key);
    if (name != NULL && name->kind == YNODE_SCALAR && !ynode_is_null(name) && name->len < 100)
        tn_snprintf(buf, len, "%s '%s'", kind, name->value);
    else
        tn_snprintf(buf, len, "%s", kind);
}

/* ---- servers, pools, sites ---------------------------------------------- */

static void read_roles(struct topo_ctx *ctx, const char *key, const struct ynode *value, void *obj)
{
    static const struct { const char *name; unsigned bit; } roles[] = {
        {"frontend", TOPO_ROLE_FRONTEND}, {"edge", TOPO_ROLE_EDGE}, {"mail", TOPO_ROLE_MAIL},
    };
    struct topo_server *server = obj;
    if (!check_list(ctx, key, value, 1, 3, "[frontend] or [edge] or [mail]"))
        return;
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        const char *s = scalar(ctx, key, item, "a role");
        if (s == NULL)
            continue;
        size_t i = 0;
        while (i < 3 && strcmp(roles[i].name, s) != 0)
            i++;
        if (i == 3)
            topo_diag(ctx->diags, TOPO_ERROR, item->pos,
                      "unknown role '%s' (roles are frontend, edge and mail)", s);
        else if (server->roles & roles[i].bit)
            topo_diag(ctx->diags, TOPO_ERROR, item->pos, "role '%s' is listed twice", s);
        else
            server->roles |= roles[i].bit;
    }
}

static const struct key_spec server_keys[] = {
    {"fqdn", true, V_DNS, offsetof(struct topo_server, fqdn), 0, 0, NULL},
    {"roles", true, V_CUSTOM, 0, 0, 0, read_roles},
    {"sip_listen", false, V_LISTEN, offsetof(struct topo_server, sip_listen), 5061, 0, NULL},
    {"federation_listen", false, V_LISTEN, offsetof(struct topo_server, federation_listen), 5061,
     0, NULL},
    {"smtp_listen", false, V_LISTEN, offsetof(struct topo_server, smtp_listen), 25, 0, NULL},
    {"certificate", true, V_PATH, offsetof(struct topo_server, certificate), 0, 0, NULL},
    {"key", true, V_PATH, offsetof(struct topo_server, key), 0, 0, NULL},
    {"store", false, V_PATH, offsetof(struct topo_server, store), 0, 0, NULL},
    {"spool", false, V_PATH, offsetof(struct topo_server, spool), 0, 0, NULL},
    {"workers", false, V_UINT, offsetof(struct topo_server, workers), 1, 256, NULL},
};

/* Grow a heap array of the topology by one zeroed element. */
static void *grow(struct topo_ctx *ctx, void **items, size_t *count, size_t *cap, size_t size,
                  struct topo_pos pos)
{
    if (tn_array_reserve(items, cap, *count + 1, size) < 0) {
        oom(ctx, pos);
        return NULL;
    }
    void *p = (char *)*items + *count * size;
    memset(p, 0, size);
    (*count)++;
    return p;
}

static void read_servers(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                         void *obj)
{
    struct topology *t = ctx->topo;
    if (!check_list(ctx, key, value, 1, TOPO_MAX_LIST, NULL))
        return;
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        if (t->n_servers >= TOPO_MAX_SERVERS) {
            topo_diag(ctx->diags, TOPO_ERROR, item->pos, "more than %d servers",
                      TOPO_MAX_SERVERS);
            return;
        }
        void *items = t->servers;
        struct topo_server *server = grow(ctx, &items, &t->n_servers,
                                          &t->internal->servers_cap, sizeof *server, item->pos);
        t->servers = items;
        if (server == NULL)
            return;
        server->pos = item->pos;
        server->pool_index = ctx->cur_pool;
        t->pools[ctx->cur_pool].n_servers++;
        char what[160];
        describe(what, sizeof what, "server", item, "fqdn");
        read_map(ctx, item, what, server_keys, N_KEYS(server_keys), server);
    }
}

static const struct key_spec pool_keys[] = {
    {"fqdn", true, V_DNS, offsetof(struct topo_pool, fqdn), 0, 0, NULL},
    {"servers", true, V_CUSTOM, 0, 0, 0, read_servers},
};

static void read_pools(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                       void *obj)
{
    struct topology *t = ctx->topo;
    if (!check_list(ctx, key, value, 1, TOPO_MAX_LIST, NULL))
        return;
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        if (t->n_pools >= TOPO_MAX_LIST) {
            topo_diag(ctx->diags, TOPO_ERROR, item->pos, "more than %d pools", TOPO_MAX_LIST);
            return;
        }
        void *items = t->pools;
        struct topo_pool *pool = grow(ctx, &items, &t->n_pools, &t->internal->pools_cap,
                                      sizeof *pool, item->pos);
        t->pools = items;
        if (pool == NULL)
            return;
        pool->pos = item->pos;
        pool->site_index = ctx->cur_site;
        pool->first_server = t->n_servers;
        t->sites[ctx->cur_site].n_pools++;
        ctx->cur_pool = t->n_pools - 1;
        char what[160];
        describe(what, sizeof what, "pool", item, "fqdn");
        /* pool stays valid: only servers grow while its keys are read. */
        read_map(ctx, item, what, pool_keys, N_KEYS(pool_keys), pool);
    }
}

static const struct key_spec site_keys[] = {
    {"name", true, V_TEXT, offsetof(struct topo_site, name), 0, 0, NULL},
    {"pools", true, V_CUSTOM, 0, 0, 0, read_pools},
};

static void read_sites(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                       void *obj)
{
    struct topology *t = ctx->topo;
    if (!check_list(ctx, key, value, 1, TOPO_MAX_LIST, NULL))
        return;
    t->sites = topo_arena_alloc(ctx->arena, value->count * sizeof *t->sites);
    if (t->sites == NULL)
        {
        oom(ctx, value->pos);
        return;
    }
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        struct topo_site *site = &t->sites[t->n_sites];
        ctx->cur_site = t->n_sites++;
        site->pos = item->pos;
        site->first_pool = t->n_pools;
        char what[160];
        describe(what, sizeof what, "site", item, "name");
        read_map(ctx, item, what, site_keys, N_KEYS(site_keys), site);
    }
}

/* ---- lists of simple entries -------------------------------------------- */

struct entry_kind {
    const char *kind;       /* "user": names entries in messages */
    const char *name_key;   /* the key that names an entry */
    size_t size, pos_offset;
    void (*init)(void *entry);
    const struct key_spec *specs;
    size_t n_specs;
};

/* Read a list of mappings into a new arena array; *count entries. */
static void *read_entries(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                          size_t max, const struct entry_kind *ek, size_t *count)
{
    if (!check_list(ctx, key, value, 0, max, NULL) || value->count == 0)
        return NULL;
    char *items = topo_arena_alloc(ctx->arena, value->count * ek->size);
    if (items == NULL) {
        oom(ctx, value->pos);
        return NULL;
    }
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        char *entry = items + *count * ek->size;
        if (ek->init != NULL)
            ek->init(entry);
        memcpy(entry + ek->pos_offset, &item->pos, sizeof item->pos);
        char what[160];
        describe(what, sizeof what, ek->kind, item, ek->name_key);
        read_map(ctx, item, what, ek->specs, ek->n_specs, entry);
        (*count)++;
    }
    return items;
}

#define ENTRY_KIND(kind, name_key, type, init, specs) \
    {kind, name_key, sizeof(type), offsetof(type, pos), init, specs, N_KEYS(specs)}

static const struct key_spec user_keys[] = {
    {"address", true, V_USER, offsetof(struct topo_user, address), 0, 0, NULL},
    {"pool", true, V_DNS, offsetof(struct topo_user, pool_fqdn), 0, 0, NULL},
};

static void read_users(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                       void *obj)
{
    static const struct entry_kind ek =
        ENTRY_KIND("user", "address", struct topo_user, NULL, user_keys);
    struct topology *t = ctx->topo;
    t->users = read_entries(ctx, key, value, TOPO_MAX_USERS, &ek, &t->n_users);
}

static const struct key_spec partner_keys[] = {
    {"name", true, V_TEXT, offsetof(struct topo_partner, name), 0, 0, NULL},
    {"domains", true, V_DNS_LIST, offsetof(struct topo_partner, domains), 0, 0, NULL},
    {"edge", true, V_DNS, offsetof(struct topo_partner, edge), 0, 0, NULL},
    {"edge_address", true, V_LISTEN, offsetof(struct topo_partner, edge_address), 5061, 0, NULL},
    {"root_ca", true, V_PATH, offsetof(struct topo_partner, root_ca), 0, 0, NULL},
};

static void read_federation(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                            void *obj)
{
    static const struct entry_kind ek =
        ENTRY_KIND("partner", "name", struct topo_partner, NULL, partner_keys);
    struct topology *t = ctx->topo;
    t->partners = read_entries(ctx, key, value, TOPO_MAX_LIST, &ek, &t->n_partners);
}

static const struct key_spec outbound_keys[] = {
    {"name", true, V_TEXT, offsetof(struct topo_outbound, name), 0, 0, NULL},
    {"domains", true, V_DNS_LIST, offsetof(struct topo_outbound, domains), 0, 0, NULL},
    {"smart_host", false, V_REMOTE, offsetof(struct topo_outbound, smart_host), 25, 0, NULL},
    {"require_tls", false, V_BOOL, offsetof(struct topo_outbound, require_tls), 0, 0, NULL},
    {"ca", false, V_CA_REF, offsetof(struct topo_outbound, ca), 0, 0, NULL},
    {"peer_name", false, V_PEER_NAME, offsetof(struct topo_outbound, peer_name), 0, 0, NULL},
};

static void init_outbound(void *entry)
{
    ((struct topo_outbound *)entry)->require_tls = true;
}

static void read_outbound(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                          void *obj)
{
    static const struct entry_kind ek = ENTRY_KIND("outbound connector", "name",
                                                   struct topo_outbound, init_outbound,
                                                   outbound_keys);
    struct topology *t = ctx->topo;
    t->outbound = read_entries(ctx, key, value, TOPO_MAX_LIST, &ek, &t->n_outbound);
}

static void read_cidrs(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                       void *obj)
{
    struct topo_inbound *in = obj;
    if (!check_list(ctx, key, value, 1, TOPO_MAX_LIST, "[192.0.2.0/24]"))
        return;
    in->client_addresses = topo_arena_alloc(ctx->arena,
                                            value->count * sizeof *in->client_addresses);
    if (in->client_addresses == NULL)
        {
        oom(ctx, value->pos);
        return;
    }
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        const char *s = scalar(ctx, key, item, "an address or network");
        char why[200];
        if (s == NULL)
            continue;
        if (topo_parse_cidr(s, &in->client_addresses[in->n_client_addresses], why,
                            sizeof why) < 0)
            topo_diag(ctx->diags, TOPO_ERROR, item->pos, "'%s': bad network '%s': %s", key, s,
                      why);
        else
            in->n_client_addresses++;
    }
}

static const struct key_spec inbound_keys[] = {
    {"name", true, V_TEXT, offsetof(struct topo_inbound, name), 0, 0, NULL},
    {"sender_domains", false, V_DNS_LIST, offsetof(struct topo_inbound, sender_domains), 0, 0,
     NULL},
    {"client_addresses", false, V_CUSTOM, 0, 0, 0, read_cidrs},
    {"require_tls", false, V_BOOL, offsetof(struct topo_inbound, require_tls), 0, 0, NULL},
    {"ca", false, V_CA_REF, offsetof(struct topo_inbound, ca), 0, 0, NULL},
    {"peer_name", false, V_PEER_NAME, offsetof(struct topo_inbound, peer_name), 0, 0, NULL},
};

static void init_inbound(void *entry)
{
    ((struct topo_inbound *)entry)->require_tls = true;
}

static void read_inbound(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                         void *obj)
{
    static const struct entry_kind ek = ENTRY_KIND("inbound connector", "name",
                                                   struct topo_inbound, init_inbound,
                                                   inbound_keys);
    struct topology *t = ctx->topo;
    t->inbound = read_entries(ctx, key, value, TOPO_MAX_LIST, &ek, &t->n_inbound);
}

static const struct key_spec route_keys[] = {
    {"domain", true, V_DNS, offsetof(struct topo_mail_route, domain), 0, 0, NULL},
    {"host", true, V_REMOTE, offsetof(struct topo_mail_route, host), 25, 0, NULL},
};

static void read_routes(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                        void *obj)
{
    static const struct entry_kind ek =
        ENTRY_KIND("mail route", "domain", struct topo_mail_route, NULL, route_keys);
    struct topology *t = ctx->topo;
    t->mail_routes = read_entries(ctx, key, value, TOPO_MAX_LIST, &ek, &t->n_mail_routes);
}

/* ---- sections ----------------------------------------------------------- */

#define TOPO_FIELD(member) offsetof(struct topology, member)

static void read_crls(struct topo_ctx *ctx, const char *key, const struct ynode *value,
                      void *obj)
{
    struct topology *t = ctx->topo;
    if (!check_list(ctx, key, value, 0, TOPO_MAX_CRLS, "[ca/crl.pem]"))
        return;
    for (const struct ynode *item = value->first; item != NULL; item = item->next) {
        struct topo_file *crl = &t->trust.crls[t->trust.n_crls];
        read_path(ctx, key, item, crl);
        if (crl->path != NULL)
            t->trust.n_crls++;
    }
}

static const struct key_spec sip_keys[] = {
    {"domains", true, V_DNS_LIST, TOPO_FIELD(sip.domains), 0, 0, NULL},
    {"max_message_bytes", false, V_UINT, TOPO_FIELD(sip.max_message_bytes), 1024, 1048576,
     NULL},
};

static const struct key_spec mail_keys[] = {
    {"domains", true, V_DNS_LIST, TOPO_FIELD(mail.domains), 0, 0, NULL},
    {"max_message_bytes", false, V_UINT, TOPO_FIELD(mail.max_message_bytes), 1024,
     1024u * 1024 * 1024, NULL},
    {"queue_lifetime_s", false, V_UINT, TOPO_FIELD(mail.queue_lifetime_s), 1, 30 * 86400, NULL},
};

static const struct key_spec trust_keys[] = {
    {"ca", true, V_PATH, TOPO_FIELD(trust.ca), 0, 0, NULL},
    {"crls", false, V_CUSTOM, 0, 0, 0, read_crls},
};

static const struct key_spec limits_keys[] = {
    {"max_connections", false, V_UINT, TOPO_FIELD(limits.max_connections), 1, 1000000, NULL},
    {"handshake_timeout_ms", false, V_UINT, TOPO_FIELD(limits.handshake_timeout_ms), 100,
     600000, NULL},
    {"idle_timeout_s", false, V_UINT, TOPO_FIELD(limits.idle_timeout_s), 1, 7 * 86400, NULL},
    {"max_connections_per_client", false, V_UINT, TOPO_FIELD(limits.max_connections_per_client),
     0, 1000000, NULL},
};

static const struct key_spec connector_keys[] = {
    {"outbound", false, V_CUSTOM, 0, 0, 0, read_outbound},
    {"inbound", false, V_CUSTOM, 0, 0, 0, read_inbound},
};

#define SECTION_READER(fn, what, specs)                                                   \
    static void fn(struct topo_ctx *ctx, const char *key, const struct ynode *value,      \
                   void *obj)                                                             \
    {                                                                                     \
        read_map(ctx, value, what, specs, N_KEYS(specs), obj);                            \
    }

SECTION_READER(read_sip, "'sip'", sip_keys)
SECTION_READER(read_mail, "'mail'", mail_keys)
SECTION_READER(read_trust, "'trust'", trust_keys)
SECTION_READER(read_limits, "'limits'", limits_keys)
SECTION_READER(read_connectors, "'mail_connectors'", connector_keys)

static const struct key_spec top_keys[] = {
    {"version", false, V_UINT, TOPO_FIELD(version), 1, 1, NULL},
    {"organisation", true, V_TEXT, TOPO_FIELD(organisation), 0, 0, NULL},
    {"sip", false, V_CUSTOM, 0, 0, 0, read_sip},
    {"mail", false, V_CUSTOM, 0, 0, 0, read_mail},
    {"trust", true, V_CUSTOM, 0, 0, 0, read_trust},
    {"store", false, V_PATH, TOPO_FIELD(store), 0, 0, NULL},
    {"metrics_dir", false, V_PATH, TOPO_FIELD(metrics_dir), 0, 0, NULL},
    {"limits", false, V_CUSTOM, 0, 0, 0, read_limits},
    {"sites", true, V_CUSTOM, 0, 0, 0, read_sites},
    {"users", false, V_CUSTOM, 0, 0, 0, read_users},
    {"federation", false, V_CUSTOM, 0, 0, 0, read_federation},
    {"mail_connectors", false, V_CUSTOM, 0, 0, 0, read_connectors},
    {"mail_routes", false, V_CUSTOM, 0, 0, 0, read_routes},
};

void topo_schema_read(struct topo_ctx *ctx, const struct ynode *root)
{
    struct topology *t = ctx->topo;
    t->version = 1;
    t->sip.max_message_bytes = 65535;
    t->mail.max_message_bytes = 10240000;
    t->mail.queue_lifetime_s = 5 * 86400;
    t->limits.max_connections = 10000;
    t->limits.handshake_timeout_ms = 5000;
    t->limits.idle_timeout_s = 3600;
    read_map(ctx, root, "the topology", top_keys, N_KEYS(top_keys), t);
}
