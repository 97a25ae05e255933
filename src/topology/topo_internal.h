/*
 * topo_internal.h - what the topology files share among themselves:
 * an allocation arena, the YAML node tree, and diagnostics.
 *
 *   topo_arena.c     memory that lives as long as its owner
 *   topo_yaml.c      the file -> a bounded YAML node tree (libyaml events)
 *   topo_schema.c    the node tree -> struct topology (keys, types, values)
 *   topo_values.c    value parsers: names, addresses, networks, numbers
 *   topo_validate.c  cross-reference checks on the whole topology
 *   topo_files.c     certificates, keys, CAs and CRLs on disk
 *   topo_lookup.c    lookups used by the servers
 *   topo_diag.c      collecting and printing diagnostics
 */
#ifndef TN_TOPOLOGY_INTERNAL_H
#define TN_TOPOLOGY_INTERNAL_H

#include <stdarg.h>

#include "topology/topology.h"

/* ---- arena: many small allocations, one free ---------------------------- */

struct topo_arena;

/* Zeroed memory, or NULL when out of memory. */
void *topo_arena_alloc(struct topo_arena **arena, size_t size);
char *topo_arena_strndup(struct topo_arena **arena, const char *s, size_t len);
void topo_arena_free(struct topo_arena *arena);

struct topo_internal {
    unsigned refs;                           /* holders; freed at 0 (atomic) */
    struct topo_arena *arena;
    size_t pools_cap, servers_cap;           /* heap arrays topology.pools, .servers */
    const struct topo_user **users_sorted;   /* by address, for lookups (arena) */
    size_t n_users_sorted;
    struct sockaddr_storage *server_addresses; /* topology_server_addresses (arena) */
    size_t n_server_addresses;
};

/* ---- YAML node tree ----------------------------------------------------- */

enum ynode_kind { YNODE_SCALAR, YNODE_LIST, YNODE_MAP };

struct ynode {
    enum ynode_kind kind;
    struct topo_pos pos;
    /* scalar */
    const char *value;     /* NUL-terminated; len bytes (no embedded NUL) */
    size_t len;
    bool plain;            /* not quoted, not a block scalar */
    /* list: children are items; map: children alternate key, value */
    struct ynode *first, *last, *next;
    size_t count;          /* children */
};

/* Parse buf (len bytes) into a tree whose nodes live in *arena.  Syntax
 * and limit problems go to diags; returns the root (a mapping) or NULL. */
struct ynode *topo_yaml_parse(const char *buf, size_t len, struct topo_arena **arena,
                              struct topology_diags *diags);

/* A plain "", "~", "null": no value given. */
bool ynode_is_null(const struct ynode *node);
const char *ynode_kind_name(const struct ynode *node);

/* ---- diagnostics -------------------------------------------------------- */

void topo_diag(struct topology_diags *diags, enum topo_severity severity, struct topo_pos pos,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void topo_vdiag(struct topology_diags *diags, enum topo_severity severity,
                struct topo_pos pos, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* ---- the schema walk and the checks ------------------------------------- */

struct topo_ctx {
    struct topology *topo;
    struct topo_arena **arena;       /* the topology's arena */
    struct topology_diags *diags;
    size_t cur_site, cur_pool;       /* while reading sites and pools */
};

/* Fill ctx->topo from the root mapping. */
void topo_schema_read(struct topo_ctx *ctx, const struct ynode *root);
/* Link pools, sites and users; check the topology as a whole. */
void topo_validate(struct topo_ctx *ctx);
/* Gather the servers' and partners' edges' addresses (topo_lookup.c). */
void topo_index_server_addresses(struct topo_ctx *ctx);

/* ---- value helpers (topo_values.c) -------------------------------------- */

/* A DNS host name (LDH labels, no IP literal, no trailing dot). */
bool topo_is_dns_name(const char *name);
/* "host:port", "[v6]:port", "host" (default_port); allow_names permits a
 * DNS name as host, else only IP literals.  0, or -1 with why. */
int topo_parse_addr(const char *text, uint16_t default_port, bool allow_names,
                    struct topo_addr *addr, char *why, size_t len);
/* "10.0.0.0/8", "::1/128", "192.0.2.7" (a host).  0, or -1 with why. */
int topo_parse_cidr(const char *text, struct topo_cidr *cidr, char *why, size_t len);
/* True when a and b are the same name, ignoring case and a trailing dot. */
bool topo_name_eq(const char *a, const char *b);
bool topo_names_contain(const struct topo_names *names, const char *name);
/* strcmp, but ASCII letters compare without case. */
int topo_ascii_casecmp(const char *a, const char *b);
/* Order of user addresses: the domain (any case), then the local part
 * (exact, as SIP user parts are case-sensitive). */
int topo_address_cmp(const char *a, const char *b);

#endif
