/* cmd_topology.c - "trustnet topology check|show FILE": validate the
 * topology file and everything it points to (src/topology/topology.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/str.h"
#include "topology/topology.h"

static const char topology_help[] =
"NAME\n"
"    trustnet topology - check and show the topology file\n"
"\n"
"SYNOPSIS\n"
"    trustnet topology check [--server FQDN] FILE\n"
"    trustnet topology show FILE\n"
"    trustnet topology SUBCOMMAND --help\n"
"\n"
"DESCRIPTION\n"
"    The topology is one YAML file that describes the whole organisation:\n"
"    its SIP and mail domains, the enterprise CA and CRLs, sites, pools,\n"
"    servers (FQDN, roles, listen addresses, certificate and key), users and\n"
"    their home pool, federation partners, mail connectors and routes.\n"
"    Every trustnet server reads it; only servers listed in it are trusted.\n"
"    docs/topology.md describes every key, with a full example.\n"
"\n"
"SUBCOMMANDS\n"
"    check    validate the file and the files it names; print every problem\n"
"    show     print the servers, users, partners and connectors it defines\n"
"\n"
"EXIT STATUS\n"
"    0 no error (warnings allowed), 1 errors found or FILE unreadable,\n"
"    2 bad usage.\n"
"\n"
"SEE ALSO\n"
"    docs/topology.md, trustnet ca --help\n";

static const char check_help[] =
"NAME\n"
"    trustnet topology check - validate a topology before it is used\n"
"\n"
"SYNOPSIS\n"
"    trustnet topology check [--server FQDN] FILE\n"
"\n"
"DESCRIPTION\n"
"    Reads FILE and reports every problem it finds, not only the first, as\n"
"\n"
"        FILE:LINE:COLUMN: error: MESSAGE\n"
"        FILE:LINE:COLUMN: warning: MESSAGE\n"
"\n"
"    sorted by position, then one summary line.  Checked are:\n"
"\n"
"    - YAML syntax; the file is at most 4 MiB, nested at most 16 levels;\n"
"      anchors, aliases, tags and several documents are refused;\n"
"    - the schema: unknown keys (with a suggestion for typos), duplicate\n"
"      keys, missing required keys, value types and ranges, DNS names,\n"
"      addresses (IP:PORT or [IPv6]:PORT) and networks;\n"
"    - the topology as a whole: unique site names, pool and server FQDNs\n"
"      and listen addresses; the keys each role needs; users homed on an\n"
"      existing pool with a frontend, in one of our SIP domains; partner\n"
"      and connector domains that do not overlap ours or each other;\n"
"    - the files it names: trust.ca and trust.crls load and are current;\n"
"      each server's certificate and key load, the key is the\n"
"      certificate's, the certificate names the server's FQDN in its\n"
"      subjectAltName, is valid now (warning when it expires within 30\n"
"      days), has serverAuth and clientAuth, and chains to trust.ca\n"
"      without being revoked; partner root CAs and connector CAs load.\n"
"\n"
"OPTIONS\n"
"    --server FQDN   check only the files that server needs (its own\n"
"                    certificate and key, and the CAs of its roles), as the\n"
"                    server does when it starts; the whole file is still\n"
"                    validated\n"
"    -h, --help      show this help\n"
"\n"
"EXIT STATUS\n"
"    0 no error (warnings allowed), 1 errors found or FILE unreadable,\n"
"    2 bad usage.\n"
"\n"
"EXAMPLE\n"
"    $ trustnet topology check /etc/trustnet/topology.yaml\n"
"    topology.yaml:31:26: error: server 'fe2.corp.example': certificate\n"
"      /etc/trustnet/certs/fe2.pem does not name the server: name mismatch:\n"
"      wanted fe2.corp.example, certificate names fe9.corp.example\n"
"    topology.yaml:58:15: warning: partner 'partner': root_ca: CA certificate\n"
"      'Partner Root CA' expires on 2026-03-01 00:00:00 UTC, in 12 days: renew it\n"
"    topology.yaml: 1 error, 1 warning\n";

static const char show_help[] =
"NAME\n"
"    trustnet topology show - print what a topology defines\n"
"\n"
"SYNOPSIS\n"
"    trustnet topology show FILE\n"
"\n"
"DESCRIPTION\n"
"    Validates FILE like 'check' (without opening the files it names) and,\n"
"    if it has no error, prints the organisation, domains, trust files,\n"
"    limits, each site with its pools and servers (roles, listen addresses,\n"
"    certificate), the number of users per pool, federation partners, mail\n"
"    connectors and routes, with every path resolved.\n"
"\n"
"OPTIONS\n"
"    -h, --help    show this help\n"
"\n"
"EXIT STATUS\n"
"    0 shown, 1 errors found or FILE unreadable, 2 bad usage.\n";

static int usage_error(const char *sub, const char *what, const char *arg)
{
    fprintf(stderr, "trustnet topology%s%s: %s%s%s%s (see 'trustnet topology%s%s --help')\n",
            sub ? " " : "", sub ? sub : "", what, arg ? " '" : "", arg ? arg : "",
            arg ? "'" : "", sub ? " " : "", sub ? sub : "");
    return TN_EXIT_USAGE;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* "FILE: 4 servers in 2 pools (1 site), ...: 0 errors, 1 warning" */
static void print_summary(const char *file, const struct topology *t,
                          const struct topology_diags *d, FILE *out)
{
    size_t connectors = t->n_outbound + t->n_inbound;
    if (t->n_sites == 0) { /* nothing was read: counting entries would mislead */
        fprintf(out, "%s: %zu %s, %zu %s\n", file, d->errors, plural(d->errors, "error", "errors"),
                d->warnings, plural(d->warnings, "warning", "warnings"));
        return;
    }
    fprintf(out, "%s: %zu %s in %zu %s (%zu %s), %zu %s, %zu %s, %zu %s "
            "(%zu outbound, %zu inbound), %zu mail %s: %zu %s, %zu %s\n",
            file, t->n_servers, plural(t->n_servers, "server", "servers"), t->n_pools,
            plural(t->n_pools, "pool", "pools"), t->n_sites, plural(t->n_sites, "site", "sites"),
            t->n_users, plural(t->n_users, "user", "users"), t->n_partners,
            plural(t->n_partners, "partner", "partners"), connectors,
            plural(connectors, "connector", "connectors"), t->n_outbound, t->n_inbound,
            t->n_mail_routes, plural(t->n_mail_routes, "route", "routes"), d->errors,
            plural(d->errors, "error", "errors"), d->warnings,
            plural(d->warnings, "warning", "warnings"));
}

/* Load file for show; print the diagnostics; NULL on errors. */
static struct topology *load(const char *file, struct topology_diags *diags)
{
    struct topology *topo;
    tn_err err;
    if (topology_load(file, &topo, diags, &err) < 0) {
        topology_diags_print(diags, file, stdout);
        fprintf(stderr, "trustnet topology show: %s\n", err.msg);
        return NULL;
    }
    return topo;
}

static int check_command(int argc, char **argv)
{
    const char *file = NULL, *server_fqdn = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(check_help, stdout);
            return TN_EXIT_OK;
        } else if (strcmp(argv[i], "--server") == 0) {
            if (++i == argc)
                return usage_error("check", "--server needs an FQDN", NULL);
            server_fqdn = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("check", "unknown option", argv[i]);
        } else if (file != NULL) {
            return usage_error("check", "unexpected argument", argv[i]);
        } else {
            file = argv[i];
        }
    }
    if (file == NULL)
        return usage_error("check", "missing FILE", NULL);
    struct topology_diags diags;
    topology_diags_init(&diags);
    struct topology *topo;
    tn_err err;
    if (topology_load_for_check(file, &topo, &diags, &err) < 0) {
        fprintf(stderr, "trustnet topology check: %s\n", err.msg);
        topology_diags_free(&diags);
        return TN_EXIT_REFUSED;
    }
    const struct topo_server *server = NULL;
    if (server_fqdn != NULL && (server = topology_find_server(topo, server_fqdn)) == NULL) {
        fprintf(stderr, "trustnet topology check: %s is not a server in %s\n", server_fqdn, file);
        topology_free(topo);
        topology_diags_free(&diags);
        return TN_EXIT_REFUSED;
    }
    topology_check_files(topo, server, &diags);
    topology_diags_print(&diags, file, stdout);
    print_summary(file, topo, &diags, stdout);
    int rc = diags.errors > 0 ? TN_EXIT_REFUSED : TN_EXIT_OK;
    topology_free(topo);
    topology_diags_free(&diags);
    return rc;
}

static void print_names(const char *label, const struct topo_names *names, FILE *out)
{
    fprintf(out, "%s", label);
    for (size_t i = 0; i < names->count; i++)
        fprintf(out, "%s%s", i ? ", " : "", names->items[i]);
    fprintf(out, "%s\n", names->count ? "" : "(none)");
}

static void show_server(const struct topology *t, const struct topo_server *s, FILE *out)
{
    char roles[64];
    topology_roles_text(s->roles, roles, sizeof roles);
    fprintf(out, "    server %s [%s]\n", s->fqdn, roles);
    if (s->sip_listen.set)
        fprintf(out, "      sip_listen         %s\n", s->sip_listen.text);
    if (s->federation_listen.set)
        fprintf(out, "      federation_listen  %s\n", s->federation_listen.text);
    if (s->smtp_listen.set)
        fprintf(out, "      smtp_listen        %s\n", s->smtp_listen.text);
    fprintf(out, "      certificate        %s\n", s->certificate.path);
    fprintf(out, "      key                %s\n", s->key.path);
    if (s->store.path != NULL && (s->roles & TOPO_ROLE_FRONTEND))
        fprintf(out, "      store              %s\n", s->store.path);
    if (s->spool.path != NULL)
        fprintf(out, "      spool              %s\n", s->spool.path);
    if (s->workers > 0)
        fprintf(out, "      workers            %u\n", s->workers);
    else
        fprintf(out, "      workers            one per CPU\n");
    (void)t;
}

static void show_sites(const struct topology *t, FILE *out)
{
    for (size_t i = 0; i < t->n_sites; i++) {
        const struct topo_site *site = &t->sites[i];
        fprintf(out, "site %s\n", site->name);
        for (size_t p = 0; p < site->n_pools; p++) {
            const struct topo_pool *pool = &site->pools[p];
            size_t users = 0;
            for (size_t u = 0; u < t->n_users; u++)
                users += t->users[u].pool == pool;
            fprintf(out, "  pool %s (%zu %s)\n", pool->fqdn, users, plural(users, "user", "users"));
            for (size_t s = 0; s < pool->n_servers; s++)
                show_server(t, &pool->servers[s], out);
        }
    }
}

static void show_mail(const struct topology *t, FILE *out)
{
    for (size_t i = 0; i < t->n_outbound; i++) {
        const struct topo_outbound *c = &t->outbound[i];
        fprintf(out, "outbound connector %s: ", c->name);
        print_names("", &c->domains, out);
        fprintf(out, "  via %s, %s, ca %s, peer name %s\n",
                c->smart_host.set ? c->smart_host.text : "route or MX",
                c->require_tls ? "TLS required" : "opportunistic TLS",
                c->ca.system ? "system roots" : c->ca.file.path ? c->ca.file.path : "(none)",
                c->peer_name ? c->peer_name : "(any)");
    }
    for (size_t i = 0; i < t->n_inbound; i++) {
        const struct topo_inbound *c = &t->inbound[i];
        fprintf(out, "inbound connector %s: senders ", c->name);
        print_names("", &c->sender_domains, out);
        fprintf(out, "  clients");
        for (size_t a = 0; a < c->n_client_addresses; a++)
            fprintf(out, " %s", c->client_addresses[a].text);
        fprintf(out, "%s, %s, ca %s, peer name %s\n", c->n_client_addresses ? "" : " (any)",
                c->require_tls ? "TLS and client certificate required" : "TLS not required",
                c->ca.system ? "system roots" : c->ca.file.path ? c->ca.file.path : "(none)",
                c->peer_name ? c->peer_name : "(any)");
    }
    for (size_t i = 0; i < t->n_mail_routes; i++)
        fprintf(out, "mail route %s -> %s\n", t->mail_routes[i].domain,
                t->mail_routes[i].host.text);
}

static void show(const struct topology *t, FILE *out)
{
    fprintf(out, "organisation %s (topology version %u)\n", t->organisation, t->version);
    print_names("sip domains   ", &t->sip.domains, out);
    print_names("mail domains  ", &t->mail.domains, out);
    fprintf(out, "trust ca      %s\n", t->trust.ca.path);
    for (size_t i = 0; i < t->trust.n_crls; i++)
        fprintf(out, "trust crl     %s\n", t->trust.crls[i].path);
    fprintf(out, "store         %s\n", t->store.path ? t->store.path : "(none)");
    char per_client[48] = "no limit per client";
    if (t->limits.max_connections_per_client > 0)
        tn_snprintf(per_client, sizeof per_client, "%u per client address",
                    t->limits.max_connections_per_client);
    fprintf(out, "limits        %u connections (%s), handshake %u ms, idle %u s, SIP "
            "message %u bytes, mail message %u bytes, mail queue lifetime %u s\n",
            t->limits.max_connections, per_client, t->limits.handshake_timeout_ms,
            t->limits.idle_timeout_s, t->sip.max_message_bytes, t->mail.max_message_bytes,
            t->mail.queue_lifetime_s);
    show_sites(t, out);
    for (size_t i = 0; i < t->n_partners; i++) {
        const struct topo_partner *p = &t->partners[i];
        fprintf(out, "partner %s: edge %s at %s, root %s, domains ", p->name, p->edge,
                p->edge_address.text, p->root_ca.path);
        print_names("", &p->domains, out);
    }
    show_mail(t, out);
}

static int show_command(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(show_help, stdout);
        return TN_EXIT_OK;
    }
    if (argc < 2)
        return usage_error("show", "missing FILE", NULL);
    if (argc > 2)
        return usage_error("show", "unexpected argument", argv[2]);
    if (argv[1][0] == '-' && argv[1][1] != '\0')
        return usage_error("show", "unknown option", argv[1]);
    struct topology_diags diags;
    topology_diags_init(&diags);
    struct topology *topo = load(argv[1], &diags);
    if (topo == NULL) {
        topology_diags_free(&diags);
        return TN_EXIT_REFUSED;
    }
    topology_diags_print(&diags, argv[1], stdout);
    show(topo, stdout);
    topology_free(topo);
    topology_diags_free(&diags);
    return TN_EXIT_OK;
}

int cmd_topology(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, "missing subcommand: check or show", NULL);
    if (is_help(argv[1])) {
        fputs(topology_help, stdout);
        return TN_EXIT_OK;
    }
    if (strcmp(argv[1], "check") == 0)
        return check_command(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return show_command(argc - 1, argv + 1);
    return usage_error(NULL, "unknown subcommand", argv[1]);
}
