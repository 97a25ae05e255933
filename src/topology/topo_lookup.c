/* topo_lookup.c - lookups the servers make in a loaded topology. */
#include <string.h>

#include "common/str.h"
#include "topology/topo_internal.h"

const struct topo_server *topology_find_server(const struct topology *topo, const char *fqdn)
{
    for (size_t i = 0; i < topo->n_servers; i++)
        if (topo->servers[i].fqdn != NULL && topo_name_eq(topo->servers[i].fqdn, fqdn))
            return &topo->servers[i];
    return NULL;
}

const struct topo_pool *topology_find_pool(const struct topology *topo, const char *fqdn)
{
    for (size_t i = 0; i < topo->n_pools; i++)
        if (topo->pools[i].fqdn != NULL && topo_name_eq(topo->pools[i].fqdn, fqdn))
            return &topo->pools[i];
    return NULL;
}

const struct topo_pool *topology_server_pool(const struct topology *topo, const char *fqdn)
{
    const struct topo_server *server = topology_find_server(topo, fqdn);
    return server != NULL ? server->pool : NULL;
}

const struct topo_user *topology_find_user(const struct topology *topo, const char *address)
{
    const struct topo_internal *in = topo->internal;
    if (strchr(address, '@') == NULL)
        return NULL;
    size_t lo = 0, hi = in->n_users_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = topo_address_cmp(address, in->users_sorted[mid]->address);
        if (c == 0)
            return in->users_sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct topo_pool *topology_user_pool(const struct topology *topo, const char *address)
{
    const struct topo_user *user = topology_find_user(topo, address);
    return user != NULL ? user->pool : NULL;
}

bool topology_is_local_domain(const struct topology *topo, const char *domain)
{
    return topo_names_contain(&topo->sip.domains, domain);
}

bool topology_is_mail_domain(const struct topology *topo, const char *domain)
{
    return topo_names_contain(&topo->mail.domains, domain);
}

const struct topo_partner *topology_find_partner_by_domain(const struct topology *topo,
                                                           const char *domain)
{
    for (size_t i = 0; i < topo->n_partners; i++)
        if (topo_names_contain(&topo->partners[i].domains, domain))
            return &topo->partners[i];
    return NULL;
}

const struct topo_partner *topology_find_partner_by_edge(const struct topology *topo,
                                                         const char *fqdn)
{
    for (size_t i = 0; i < topo->n_partners; i++)
        if (topo->partners[i].edge != NULL && topo_name_eq(topo->partners[i].edge, fqdn))
            return &topo->partners[i];
    return NULL;
}

const struct topo_outbound *topology_find_outbound(const struct topology *topo,
                                                   const char *domain)
{
    for (size_t i = 0; i < topo->n_outbound; i++)
        if (topo_names_contain(&topo->outbound[i].domains, domain))
            return &topo->outbound[i];
    return NULL;
}

const struct topo_mail_route *topology_find_mail_route(const struct topology *topo,
                                                       const char *domain)
{
    for (size_t i = 0; i < topo->n_mail_routes; i++)
        if (topo->mail_routes[i].domain != NULL && topo_name_eq(topo->mail_routes[i].domain, domain))
            return &topo->mail_routes[i];
    return NULL;
}

void topology_roles_text(unsigned roles, char *buf, size_t len)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {TOPO_ROLE_FRONTEND, "frontend"}, {TOPO_ROLE_EDGE, "edge"}, {TOPO_ROLE_MAIL, "mail"},
    };
    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (roles & names[i].bit)
            tn_appendf(buf, len, "%s%s", buf[0] ? ", " : "", names[i].name);
}

int topology_metrics_file(const struct topology *t, const char *fqdn, char *out, size_t len)
{
    if (t->metrics_dir.path == NULL)
        return -1;
    return tn_snprintf(out, len, "%s/trustnet-%s.prom", t->metrics_dir.path, fqdn) < 0 ? -1 : 0;
}

static void add_address(const struct topo_addr *a, struct sockaddr_storage *out, size_t *n)
{
    if (!a->set || !a->is_ip)
        return;
    if (out != NULL)
        out[*n] = a->sa;
    (*n)++;
}

/* Count (out NULL) or fill. */
static size_t server_addresses(const struct topology *topo, struct sockaddr_storage *out)
{
    size_t n = 0;
    for (size_t i = 0; i < topo->n_servers; i++) {
        add_address(&topo->servers[i].sip_listen, out, &n);
        add_address(&topo->servers[i].federation_listen, out, &n);
        add_address(&topo->servers[i].smtp_listen, out, &n);
    }
    for (size_t i = 0; i < topo->n_partners; i++)
        add_address(&topo->partners[i].edge_address, out, &n);
    return n;
}

const struct sockaddr_storage *topology_server_addresses(const struct topology *topo, size_t *n)
{
    *n = topo->internal->n_server_addresses;
    return topo->internal->server_addresses;
}

void topo_index_server_addresses(struct topo_ctx *ctx)
{
    struct topology *t = ctx->topo;
    size_t n = server_addresses(t, NULL);
    struct sockaddr_storage *all = topo_arena_alloc(ctx->arena, (n > 0 ? n : 1) * sizeof *all);
    if (all == NULL) {
        topo_diag(ctx->diags, TOPO_ERROR, (struct topo_pos){0}, "out of memory");
        return;
    }
    server_addresses(t, all);
    t->internal->server_addresses = all;
    t->internal->n_server_addresses = n;
}
