/* cmd_serve.c - trustnet serve: run the roles the topology gives this
 * server: frontend and edge (src/sip/), mail (src/mail/). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/signals.h"
#include "common/str.h"
#include "mail/mail_server.h"
#include "sip/sip_server.h"
#include "topology/topology.h"

static const char help_text[] =
    "NAME\n"
    "    trustnet serve - run one server of the topology\n"
    "\n"
    "SYNOPSIS\n"
    "    trustnet serve --topology FILE --server FQDN [--log-level LEVEL]\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads and checks the topology, finds the server FQDN in it and runs\n"
    "    the roles it has, in the foreground, logging one line per event on\n"
    "    standard error.  The frontend role is a SIP registrar and stateful\n"
    "    proxy for the organisation's users on sip_listen (default port 5061),\n"
    "    over TLS only: plain TCP or UDP SIP is not offered at all.  Users\n"
    "    authenticate with HTTP digest (SHA-256 or MD5) against the store\n"
    "    (see trustnet user).  Requests for a registered user go back over\n"
    "    the TLS connection the user registered on.  The edge role relays\n"
    "    between our servers and federation partners' edges (mutual TLS on\n"
    "    both sides, each partner trusted only through its own root).\n"
    "\n"
    "    The mail role is an SMTP relay on smtp_listen (default port 25) with\n"
    "    STARTTLS: mail for our domains and, from our own mail servers\n"
    "    (mutual TLS), for any domain is acknowledged only once it is\n"
    "    durably in the spool, then delivered to its next hop: a connector's\n"
    "    partner (TLS required and verified), another of our mail servers\n"
    "    (mutual TLS), a mail route or the domain's MX (opportunistic TLS).\n"
    "    See trustnet mailq for the queue.\n"
    "\n"
    "    Every connection is logged with peer address, TLS version, cipher,\n"
    "    client certificate (if any) and verdict.  With metrics_dir in the\n"
    "    topology, the server's counters are written there every 10 s (see\n"
    "    trustnet stats).\n"
    "\n"
    "SIGNALS\n"
    "    SIGTERM, SIGINT  clean shutdown: stop accepting, close connections\n"
    "    SIGHUP           reload the topology's domains, certificates, CA,\n"
    "                     CRLs and (on an edge) federation partners for new\n"
    "                     connections; established connections stay up.  CA,\n"
    "                     CRL and partner root files are also re-read on their\n"
    "                     own when they change on disk (checked every 5 s).\n"
    "                     The mail role re-reads its domains, connectors,\n"
    "                     routes, size limit and certificates.  The file is\n"
    "                     read once for all roles; one with errors is\n"
    "                     refused whole and everything runs on as it was.\n"
    "\n"
    "OPTIONS\n"
    "    --topology FILE    the topology file (see docs/topology.md)\n"
    "    --server FQDN      which server of the topology this is\n"
    "    --log-level LEVEL  debug, info (default), warn or error\n"
    "    -h, --help         this help\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a clean shutdown, 1 when the server cannot start (the reason\n"
    "    is logged), 2 on bad usage or a topology with errors.\n"
    "\n"
    "EXAMPLE\n"
    "    trustnet serve --topology demo/topology.yaml --server fe1.corp.test\n";

/* How often the metrics file is rewritten (also when a role stops). */
#define METRICS_INTERVAL_MS 10000

struct serve_ctx {
    const char *topology_file;
    const char *server_fqdn;
    mail_server *mail; /* the mail role next to the SIP ones, or NULL */
};

static int copy_path(char *dst, size_t size, const char *path, tn_err *err)
{
    if (path == NULL || tn_strlcpy(dst, path, size) < 0)
        return tn_errf(err, "missing or too long path");
    return 0;
}

static int map_server(const struct topology *topo, const struct topo_server *s,
                      struct sip_server_config *cfg, tn_err *err)
{
    if (tn_strlcpy(cfg->fqdn, s->fqdn, sizeof cfg->fqdn) < 0 ||
        tn_strlcpy(cfg->listen, s->sip_listen.text, sizeof cfg->listen) < 0)
        return tn_errf(err, "server name or address too long");
    cfg->n_domains = 0;
    for (size_t i = 0; i < topo->sip.domains.count && i < SIP_SERVER_MAX_DOMAINS; i++)
        tn_strlcpy(cfg->domains[cfg->n_domains++], topo->sip.domains.items[i],
                   sizeof cfg->domains[0]);
    const char *store = s->store.path ? s->store.path : topo->store.path;
    if (copy_path(cfg->cert_file, sizeof cfg->cert_file, s->certificate.path, err) < 0 ||
        copy_path(cfg->key_file, sizeof cfg->key_file, s->key.path, err) < 0 ||
        copy_path(cfg->ca_file, sizeof cfg->ca_file, topo->trust.ca.path, err) < 0 ||
        copy_path(cfg->store_path, sizeof cfg->store_path, store, err) < 0)
        return -1;
    cfg->n_crls = 0;
    for (size_t i = 0; i < topo->trust.n_crls && i < SIP_SERVER_MAX_CRLS; i++)
        copy_path(cfg->crl_files[cfg->n_crls++], sizeof cfg->crl_files[0],
                  topo->trust.crls[i].path, err);
    if (s->workers > 0)
        cfg->workers = s->workers;
    cfg->max_connections = topo->limits.max_connections;
    cfg->max_message_bytes = topo->sip.max_message_bytes;
    cfg->handshake_timeout_ms = topo->limits.handshake_timeout_ms;
    cfg->idle_timeout_ms = (uint64_t)topo->limits.idle_timeout_s * 1000u;
    return 0;
}

/* cfg from topo for our server; the SIP server holds topo from here
 * (freed on failure). */
static int take_topology(struct sip_server_config *cfg, const struct serve_ctx *ctx,
                         struct topology *topo, tn_err *err)
{
    int rc = map_server(topo, topology_find_server(topo, ctx->server_fqdn), cfg, err);
    if (rc == 0)
        cfg->topo = topo;
    else
        topology_free(topo);
    return rc;
}

/* SIGHUP: the file read again, for the SIP server and the mail role
 * alike (one reading for both roles). */
static int load_config(struct sip_server_config *cfg, void *arg, tn_err *err)
{
    struct serve_ctx *ctx = arg;
    struct topology *topo = NULL;
    if (topology_load_server(ctx->topology_file, ctx->server_fqdn, &topo, err) < 0)
        return -1;
    tn_err mail_err;
    if (ctx->mail != NULL && mail_server_reload(ctx->mail, topo, &mail_err) < 0)
        tn_log(TN_LOG_ERROR, "smtp", "SIGHUP: mail configuration not reloaded: %s",
               mail_err.msg);
    return take_topology(cfg, ctx, topo, err);
}

/* Where the server writes its metrics: "" when the topology has no
 * metrics_dir. */
static int metrics_file(const struct topology *topo, const char *fqdn, char *metrics,
                        size_t metrics_len, tn_err *err)
{
    metrics[0] = '\0';
    if (topo->metrics_dir.path != NULL &&
        topology_metrics_file(topo, fqdn, metrics, metrics_len) < 0)
        return tn_errf(err, "metrics_dir %s: path too long", topo->metrics_dir.path);
    return 0;
}

static int run_mail_only(struct serve_ctx *ctx, struct topology *topo)
{
    tn_err err;
    int rc = mail_server_run(topo, ctx->server_fqdn, &err);
    topology_free(topo);
    if (rc < 0) {
        tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
        return TN_EXIT_REFUSED;
    }
    return TN_EXIT_OK;
}

/* The SIP roles, and the mail role beside them when the server has it;
 * the SIP server takes the signals and reloads both. */
static int run_sip(struct serve_ctx *ctx, struct topology *topo, unsigned roles)
{
    tn_err err;
    struct sip_server_config cfg;
    sip_server_config_defaults(&cfg);
    if (take_topology(&cfg, ctx, topo, &err) < 0) {
        tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
        return TN_EXIT_USAGE;
    }
    if (roles & TOPO_ROLE_MAIL) {
        /* Threads started from here on leave the signals to the SIP server. */
        tn_signals_block(NULL);
        if ((ctx->mail = mail_server_start(cfg.topo, ctx->server_fqdn, &err)) == NULL) {
            tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
            topology_free(cfg.topo);
            return TN_EXIT_REFUSED;
        }
    }
    int rc = sip_server_run(&cfg, load_config, ctx, &err);
    mail_server_stop(ctx->mail);
    if (rc < 0) {
        tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
        return TN_EXIT_REFUSED;
    }
    return TN_EXIT_OK;
}

static enum tn_log_level parse_level(const char *s, bool *ok)
{
    *ok = true;
    if (strcmp(s, "debug") == 0)
        return TN_LOG_DEBUG;
    if (strcmp(s, "info") == 0)
        return TN_LOG_INFO;
    if (strcmp(s, "warn") == 0)
        return TN_LOG_WARN;
    if (strcmp(s, "error") == 0)
        return TN_LOG_ERROR;
    *ok = false;
    return TN_LOG_INFO;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topology", required_argument, NULL, 't'}, {"server", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct serve_ctx ctx = {0};
    int c;
    bool ok = true;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help_text, stdout);
            return TN_EXIT_OK;
        }
        if (c == 't')
            ctx.topology_file = optarg;
        else if (c == 's')
            ctx.server_fqdn = optarg;
        else if (c == 'l')
            tn_log_set_level(parse_level(optarg, &ok));
        else
            ok = false;
    }
    if (!ok || optind != argc || ctx.topology_file == NULL || ctx.server_fqdn == NULL) {
        fputs("trustnet serve: needs --topology FILE and --server FQDN (and a valid "
              "--log-level)\n(see trustnet serve --help)\n", stderr);
        return TN_EXIT_USAGE;
    }
    tn_err err;
    char metrics[4096];
    struct topology *topo = NULL;
    if (topology_load_server(ctx.topology_file, ctx.server_fqdn, &topo, &err) < 0 ||
        metrics_file(topo, ctx.server_fqdn, metrics, sizeof metrics, &err) < 0) {
        tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
        topology_free(topo);
        return TN_EXIT_USAGE;
    }
    unsigned roles = topology_find_server(topo, ctx.server_fqdn)->roles;
    /* The writer thread must leave the signals to the roles. */
    tn_signals_block(NULL);
    if (tn_metrics_start(metrics[0] ? metrics : NULL, ctx.server_fqdn, METRICS_INTERVAL_MS,
                         &err) < 0) {
        tn_log(TN_LOG_ERROR, "serve", "%s", err.msg);
        topology_free(topo);
        return TN_EXIT_REFUSED;
    }
    if (metrics[0])
        tn_log(TN_LOG_INFO, "metrics", "written to %s every %d s", metrics,
               METRICS_INTERVAL_MS / 1000);
    /* The role that runs takes topo over. */
    int rc = roles & (TOPO_ROLE_FRONTEND | TOPO_ROLE_EDGE) ? run_sip(&ctx, topo, roles)
                                                          : run_mail_only(&ctx, topo);
    tn_metrics_stop();
    return rc;
}
