/*
 * topo_validate.c - checks on the topology as a whole, after every key was
 * read: unique names and addresses, each role's required keys, users'
 * home pools and domains, partner and connector domains that must not
 * overlap ours.  Entries whose keys failed to read (NULL names) are skipped
 * so that one mistake gives one message.
 */
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "topology/topo_internal.h"

#define ERR(ctx, pos, ...) topo_diag((ctx)->diags, TOPO_ERROR, (pos), __VA_ARGS__)
#define WARN(ctx, pos, ...) topo_diag((ctx)->diags, TOPO_WARNING, (pos), __VA_ARGS__)

static const struct topo_pos NOWHERE = {0, 0};

/* ---- linking ------------------------------------------------------------ */

static void link_entries(struct topology *t)
{
    for (size_t i = 0; i < t->n_sites; i++)
        t->sites[i].pools = t->sites[i].n_pools ? &t->pools[t->sites[i].first_pool] : NULL;
    for (size_t i = 0; i < t->n_pools; i++) {
        struct topo_pool *p = &t->pools[i];
        p->servers = p->n_servers ? &t->servers[p->first_server] : NULL;
        p->site = &t->sites[p->site_index];
    }
    for (size_t i = 0; i < t->n_servers; i++) {
        struct topo_server *s = &t->servers[i];
        s->pool = &t->pools[s->pool_index];
        if (s->store.path == NULL)
            s->store = t->store;
    }
}

/* ---- unique names ------------------------------------------------------- */

/* Report entries whose name (at name_offset, a const char *) repeats. */
static void check_unique(struct topo_ctx *ctx, const void *items, size_t count, size_t size,
                         size_t name_offset, size_t pos_offset, const char *kind)
{
    const char *base = items;
    for (size_t i = 0; i < count; i++) {
        const char *a;
        memcpy(&a, base + i * size + name_offset, sizeof a);
        if (a == NULL)
            continue;
        for (size_t j = 0; j < i; j++) {
            const char *b;
            memcpy(&b, base + j * size + name_offset, sizeof b);
            if (b == NULL || topo_ascii_casecmp(a, b) != 0)
                continue;
            struct topo_pos pi, pj;
            memcpy(&pi, base + i * size + pos_offset, sizeof pi);
            memcpy(&pj, base + j * size + pos_offset, sizeof pj);
            ERR(ctx, pi, "%s '%s' is defined twice (first at line %u)", kind, a, pj.line);
            break;
        }
    }
}

#define CHECK_UNIQUE(ctx, items, count, type, member, kind) \
    check_unique(ctx, items, count, sizeof(type), offsetof(type, member), offsetof(type, pos), kind)

/* ---- servers ------------------------------------------------------------ */

static void require_key(struct topo_ctx *ctx, const struct topo_server *s, bool have,
                        const char *key, const char *role, const char *why)
{
    if (!have)
        ERR(ctx, s->pos, "server '%s' has role %s but no '%s' (%s)", s->fqdn, role, key, why);
}

static void forbid_key(struct topo_ctx *ctx, const struct topo_server *s, bool have,
                       struct topo_pos pos, const char *key, const char *roles)
{
    if (have)
        ERR(ctx, pos, "server '%s': '%s' is only for %s servers, and its roles do not "
            "include that", s->fqdn, key, roles);
}

/* The key was given (a bad value was reported where it was read). */
static bool given(const struct topo_addr *a)
{
    return a->set || a->pos.line != 0;
}

static void check_server_roles(struct topo_ctx *ctx, const struct topo_server *s)
{
    bool fe = s->roles & TOPO_ROLE_FRONTEND, edge = s->roles & TOPO_ROLE_EDGE;
    bool mail = s->roles & TOPO_ROLE_MAIL;
    if (fe)
        require_key(ctx, s, given(&s->sip_listen), "sip_listen", "frontend",
                    "where clients and servers reach it");
    if (edge) {
        require_key(ctx, s, given(&s->sip_listen), "sip_listen", "edge",
                    "its internal side, where our servers reach it");
        require_key(ctx, s, given(&s->federation_listen), "federation_listen", "edge",
                    "its external side, where partners' edges reach it");
    }
    if (mail) {
        require_key(ctx, s, given(&s->smtp_listen), "smtp_listen", "mail",
                    "where SMTP is received");
        require_key(ctx, s, s->spool.path != NULL, "spool", "mail",
                    "the directory of its mail queue");
    }
    if (s->roles == 0)
        return; /* roles failed to read: already reported */
    forbid_key(ctx, s, s->sip_listen.set && !fe && !edge, s->sip_listen.pos, "sip_listen",
               "frontend and edge");
    forbid_key(ctx, s, s->federation_listen.set && !edge, s->federation_listen.pos,
               "federation_listen", "edge");
    forbid_key(ctx, s, s->smtp_listen.set && !mail, s->smtp_listen.pos, "smtp_listen", "mail");
    forbid_key(ctx, s, s->spool.path != NULL && !mail, s->spool.pos, "spool", "mail");
}

struct listen_ref {
    const struct topo_addr *addr;
    const struct topo_server *server;
    const char *key;
};

static int by_address(const void *a, const void *b)
{
    const struct listen_ref *x = a, *y = b;
    int c = strcmp(x->addr->text, y->addr->text);
    if (c != 0)
        return c;
    /* equal: keep file order so that the second one is reported */
    if (x->addr->pos.line != y->addr->pos.line)
        return x->addr->pos.line < y->addr->pos.line ? -1 : 1;
    return x->addr->pos.col < y->addr->pos.col ? -1 : (x->addr->pos.col > y->addr->pos.col);
}

static bool is_wildcard(const struct topo_addr *a)
{
    return strcmp(a->host, "0.0.0.0") == 0 || strcmp(a->host, "::") == 0;
}

static void check_listen_addresses(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    struct listen_ref *refs = calloc(t->n_servers * 3 + 1, sizeof *refs);
    if (refs == NULL)
        {
        ERR(ctx, NOWHERE, "out of memory");
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_servers; i++) {
        const struct topo_server *s = &t->servers[i];
        if (s->fqdn == NULL)
            continue;
        const struct { const struct topo_addr *a; const char *key; } all[] = {
            {&s->sip_listen, "sip_listen"}, {&s->federation_listen, "federation_listen"},
            {&s->smtp_listen, "smtp_listen"},
        };
        for (size_t k = 0; k < 3; k++) {
            if (!all[k].a->set)
                continue;
            refs[n++] = (struct listen_ref){all[k].a, s, all[k].key};
            if (is_wildcard(all[k].a) && k != 1)
                WARN(ctx, all[k].a->pos, "server '%s': %s %s is a wildcard address: our other "
                     "servers cannot use it to reach %s", s->fqdn, all[k].key,
                     all[k].a->text, s->fqdn);
        }
    }
    qsort(refs, n, sizeof *refs, by_address);
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i].addr->text, refs[i - 1].addr->text) == 0)
            ERR(ctx, refs[i].addr->pos, "server '%s': %s %s is already used by server '%s' "
                "(%s at line %u)", refs[i].server->fqdn, refs[i].key, refs[i].addr->text,
                refs[i - 1].server->fqdn, refs[i - 1].key, refs[i - 1].addr->pos.line);
    free(refs);
}

static unsigned all_roles(const struct topology *t)
{
    unsigned roles = 0;
    for (size_t i = 0; i < t->n_servers; i++)
        roles |= t->servers[i].roles;
    return roles;
}

static const struct topo_server *first_with_role(const struct topology *t, unsigned role)
{
    for (size_t i = 0; i < t->n_servers; i++)
        if (t->servers[i].roles & role)
            return &t->servers[i];
    return NULL;
}

static void check_servers(struct topo_ctx *ctx)
{
    struct topology *t = ctx->topo;
    CHECK_UNIQUE(ctx, t->sites, t->n_sites, struct topo_site, name, "site");
    CHECK_UNIQUE(ctx, t->pools, t->n_pools, struct topo_pool, fqdn, "pool");
    CHECK_UNIQUE(ctx, t->servers, t->n_servers, struct topo_server, fqdn, "server");
    size_t storeless = 0;
    const struct topo_server *first_storeless = NULL;
    for (size_t i = 0; i < t->n_servers; i++) {
        const struct topo_server *s = &t->servers[i];
        if (s->fqdn == NULL)
            continue;
        check_server_roles(ctx, s);
        if ((s->roles & TOPO_ROLE_FRONTEND) && s->store.path == NULL &&
            storeless++ == 0)
            first_storeless = s;
    }
    if (first_storeless != NULL)
        ERR(ctx, first_storeless->pos, "server '%s'%s has role frontend but no store (users' "
            "credentials and registrations): set 'store' at the top of the topology or in the "
            "server", first_storeless->fqdn, storeless > 1 ? " (and others)" : "");
    check_listen_addresses(ctx);
    const struct topo_server *fe = first_with_role(t, TOPO_ROLE_FRONTEND);
    if (fe != NULL && t->sip.domains.count == 0)
        ERR(ctx, fe->pos, "server '%s' has role frontend, but the topology has no "
            "'sip: domains:' (the SIP domains we serve)", fe->fqdn ? fe->fqdn : "?");
    const struct topo_server *mail = first_with_role(t, TOPO_ROLE_MAIL);
    if (mail != NULL && t->mail.domains.count == 0)
        ERR(ctx, mail->pos, "server '%s' has role mail, but the topology has no "
            "'mail: domains:' (the mail domains we accept mail for)",
            mail->fqdn ? mail->fqdn : "?");
}

/* ---- users -------------------------------------------------------------- */

static int by_user(const void *a, const void *b)
{
    const struct topo_user *x = *(const struct topo_user *const *)a;
    const struct topo_user *y = *(const struct topo_user *const *)b;
    int c = topo_address_cmp(x->address, y->address);
    if (c != 0)
        return c;
    return x->pos.line < y->pos.line ? -1 : (x->pos.line > y->pos.line);
}

static int by_pool_fqdn(const void *a, const void *b)
{
    const struct topo_pool *x = *(const struct topo_pool *const *)a;
    const struct topo_pool *y = *(const struct topo_pool *const *)b;
    return topo_ascii_casecmp(x->fqdn, y->fqdn);
}

static const struct topo_pool *find_pool(const struct topo_pool **sorted, size_t n,
                                         const char *fqdn)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = topo_ascii_casecmp(fqdn, sorted[mid]->fqdn);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static bool pool_has_role(const struct topo_pool *pool, unsigned role)
{
    for (size_t i = 0; i < pool->n_servers; i++)
        if (pool->servers[i].roles & role)
            return true;
    return false;
}

static void check_user(struct topo_ctx *ctx, struct topo_user *u,
                       const struct topo_pool **pools, size_t n_pools)
{
    const char *domain = strrchr(u->address, '@') + 1;
    if (!topo_names_contain(&ctx->topo->sip.domains, domain))
        ERR(ctx, u->pos, "user '%s': domain %s is not one of our SIP domains (sip: domains:)",
            u->address, domain);
    const struct topo_pool *pool = find_pool(pools, n_pools, u->pool_fqdn);
    if (pool == NULL) {
        ERR(ctx, u->pos, "user '%s' is homed on pool '%s', which is not in the topology",
            u->address, u->pool_fqdn);
        return;
    }
    u->pool = pool;
    if (!pool_has_role(pool, TOPO_ROLE_FRONTEND))
        ERR(ctx, u->pos, "user '%s' is homed on pool '%s', which has no frontend server",
            u->address, u->pool_fqdn);
}

static void check_users(struct topo_ctx *ctx)
{
    struct topology *t = ctx->topo;
    if (t->n_users == 0)
        return;
    const struct topo_user **sorted = topo_arena_alloc(ctx->arena, t->n_users * sizeof *sorted);
    const struct topo_pool **pools = calloc(t->n_pools + 1, sizeof *pools);
    if (sorted == NULL || pools == NULL) {
        free(pools);
        {
        ERR(ctx, NOWHERE, "out of memory");
        return;
    }
    }
    size_t n_pools = 0, n = 0;
    for (size_t i = 0; i < t->n_pools; i++)
        if (t->pools[i].fqdn != NULL)
            pools[n_pools++] = &t->pools[i];
    qsort(pools, n_pools, sizeof *pools, by_pool_fqdn);
    for (size_t i = 0; i < t->n_users; i++) {
        struct topo_user *u = &t->users[i];
        if (u->address == NULL || u->pool_fqdn == NULL)
            continue;
        check_user(ctx, u, pools, n_pools);
        sorted[n++] = u;
    }
    free(pools);
    qsort(sorted, n, sizeof *sorted, by_user);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && topo_address_cmp(sorted[i]->address, sorted[kept - 1]->address) == 0) {
            ERR(ctx, sorted[i]->pos, "user '%s' is defined twice (first at line %u)",
                sorted[i]->address, sorted[kept - 1]->pos.line);
            continue;
        }
        sorted[kept++] = sorted[i];
    }
    t->internal->users_sorted = sorted;
    t->internal->n_users_sorted = kept;
}

/* ---- federation --------------------------------------------------------- */

static void check_partners(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    CHECK_UNIQUE(ctx, t->partners, t->n_partners, struct topo_partner, name, "partner");
    for (size_t i = 0; i < t->n_partners; i++) {
        const struct topo_partner *p = &t->partners[i];
        const char *name = p->name ? p->name : "?";
        for (size_t d = 0; d < p->domains.count; d++) {
            const char *dom = p->domains.items[d];
            if (topo_names_contain(&t->sip.domains, dom))
                ERR(ctx, p->domains.pos, "partner '%s': domain %s is one of our own SIP "
                    "domains", name, dom);
            for (size_t j = 0; j < i; j++)
                if (topo_names_contain(&t->partners[j].domains, dom))
                    ERR(ctx, p->domains.pos, "partner '%s': domain %s is already a domain of "
                        "partner '%s'", name, dom, t->partners[j].name ? t->partners[j].name
                                                                      : "?");
        }
        if (p->edge != NULL && topology_find_server(t, p->edge) != NULL)
            ERR(ctx, p->pos, "partner '%s': edge %s is one of our own servers", name, p->edge);
    }
    if (t->n_partners > 0 && !(all_roles(t) & TOPO_ROLE_EDGE))
        WARN(ctx, t->partners[0].pos, "federation partners are configured, but no server has "
             "the edge role: nothing will federate");
}

/* ---- mail --------------------------------------------------------------- */

static void check_connector_trust(struct topo_ctx *ctx, struct topo_pos pos, const char *kind,
                                  const char *name, bool require_tls,
                                  const struct topo_ca_ref *ca, const char *peer_name)
{
    bool has_ca = ca->system || ca->file.path != NULL;
    if (require_tls && !has_ca)
        ERR(ctx, pos, "%s connector '%s' requires TLS but has no 'ca' (a PEM file, or "
            "\"system\" for the system roots)", kind, name);
    if (require_tls && ca->system && peer_name == NULL)
        WARN(ctx, ca->file.pos, "%s connector '%s' trusts the system roots without a "
             "'peer_name': a certificate from any public CA would pass", kind, name);
    if (!require_tls && (has_ca || peer_name != NULL))
        WARN(ctx, pos, "%s connector '%s': 'ca' and 'peer_name' are not used when "
             "require_tls is false", kind, name);
}

static void check_outbound(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    CHECK_UNIQUE(ctx, t->outbound, t->n_outbound, struct topo_outbound, name,
                 "outbound connector");
    for (size_t i = 0; i < t->n_outbound; i++) {
        const struct topo_outbound *c = &t->outbound[i];
        const char *name = c->name ? c->name : "?";
        for (size_t d = 0; d < c->domains.count; d++) {
            const char *dom = c->domains.items[d];
            if (topo_names_contain(&t->mail.domains, dom))
                ERR(ctx, c->domains.pos, "outbound connector '%s': domain %s is one of our "
                    "own mail domains", name, dom);
            for (size_t j = 0; j < i; j++)
                if (topo_names_contain(&t->outbound[j].domains, dom))
                    ERR(ctx, c->domains.pos, "outbound connector '%s': domain %s already has "
                        "connector '%s'", name, dom, t->outbound[j].name ? t->outbound[j].name
                                                                         : "?");
        }
        check_connector_trust(ctx, c->pos, "outbound", name, c->require_tls, &c->ca,
                              c->peer_name);
    }
}

/* The route of one of our own mail domains names its mailbox host (where
 * mailboxes live: trustnet relays, it keeps none).  Naming one of our mail
 * servers there would loop, since every server reads the same route. */
static void check_mailbox_routes(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    if (!(all_roles(t) & TOPO_ROLE_MAIL))
        return;
    for (size_t i = 0; i < t->mail.domains.count; i++) {
        const char *dom = t->mail.domains.items[i];
        const struct topo_mail_route *r = topology_find_mail_route(t, dom);
        if (r == NULL) {
            WARN(ctx, t->mail.domains.pos, "mail domain %s has no mail route to its mailbox "
                 "host: mail for it will wait in the queue", dom);
            continue;
        }
        for (size_t j = 0; j < t->n_servers; j++)
            if ((t->servers[j].roles & TOPO_ROLE_MAIL) && t->servers[j].fqdn != NULL &&
                topo_name_eq(t->servers[j].fqdn, r->host.host))
                ERR(ctx, r->pos, "mail route for %s: %s is one of our mail servers (the route "
                    "of our own domain names the mailbox host; this would loop)", dom,
                    r->host.host);
    }
}

static void check_inbound(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    CHECK_UNIQUE(ctx, t->inbound, t->n_inbound, struct topo_inbound, name, "inbound connector");
    for (size_t i = 0; i < t->n_inbound; i++) {
        const struct topo_inbound *c = &t->inbound[i];
        const char *name = c->name ? c->name : "?";
        if (c->sender_domains.count == 0 && c->n_client_addresses == 0)
            ERR(ctx, c->pos, "inbound connector '%s' needs 'sender_domains' or "
                "'client_addresses' (which mail it applies to)", name);
        for (size_t d = 0; d < c->sender_domains.count; d++)
            if (topo_names_contain(&t->mail.domains, c->sender_domains.items[d]))
                ERR(ctx, c->sender_domains.pos, "inbound connector '%s': sender domain %s is "
                    "one of our own mail domains", name, c->sender_domains.items[d]);
        check_connector_trust(ctx, c->pos, "inbound", name, c->require_tls, &c->ca,
                              c->peer_name);
    }
}

static void check_mail(struct topo_ctx *ctx)
{
    const struct topology *t = ctx->topo;
    check_outbound(ctx);
    check_inbound(ctx);
    CHECK_UNIQUE(ctx, t->mail_routes, t->n_mail_routes, struct topo_mail_route, domain,
                 "mail route for domain");
    check_mailbox_routes(ctx);
    bool any = t->n_outbound || t->n_inbound || t->n_mail_routes;
    if (any && !(all_roles(t) & TOPO_ROLE_MAIL)) {
        struct topo_pos pos = t->n_outbound   ? t->outbound[0].pos
                              : t->n_inbound ? t->inbound[0].pos
                                             : t->mail_routes[0].pos;
        WARN(ctx, pos, "mail connectors or routes are configured, but no server has the mail "
             "role: they are not used");
    }
}

void topo_validate(struct topo_ctx *ctx)
{
    link_entries(ctx->topo);
    check_servers(ctx);
    check_users(ctx);
    check_partners(ctx);
    check_mail(ctx);
}
