/*
 * topology.h - the topology: one declarative YAML file that describes the
 * whole organisation (docs/topology.md is the reference of the format).
 *
 * Loading happens in two steps, so that a server can start with only its
 * own files on disk while "trustnet topology check" inspects everything:
 *
 *   topology_load()         reads and validates the file: YAML syntax,
 *                           schema (unknown or duplicate keys, types,
 *                           ranges, addresses) and cross-references
 *                           (unique names and addresses, users' pools,
 *                           partner domains...).  No file but the topology
 *                           itself is opened.
 *   topology_check_files()  opens what the topology points to: server
 *                           certificates and keys (key matches, name
 *                           matches the FQDN, validity, chain to trust.ca),
 *                           the CA bundle and CRLs, partner roots and
 *                           connector CAs.
 *
 * Both collect every problem (errors and warnings, each with the line and
 * column in the topology file) instead of stopping at the first one.
 * The loaded topology is read-only; all strings are owned by it and live
 * until its last holder calls topology_free().  Paths are absolute
 * (relative paths in the file are relative to the directory of the
 * topology file).  DNS names keep the case written in the file and are
 * compared case-insensitively.
 */
#ifndef TN_TOPOLOGY_TOPOLOGY_H
#define TN_TOPOLOGY_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/err.h"

/* Bounds on hostile input (each one is a diagnostic when exceeded). */
#define TOPO_MAX_FILE_BYTES (4 * 1024 * 1024)
#define TOPO_MAX_DEPTH 16         /* nested mappings and lists */
#define TOPO_MAX_NODES 1000000    /* YAML nodes in the whole file */
#define TOPO_MAX_SCALAR 4096      /* bytes of one value */
#define TOPO_MAX_LIST 4096        /* items of a list, except users */
#define TOPO_MAX_SERVERS 4096     /* in the whole topology */
#define TOPO_MAX_USERS 100000
#define TOPO_MAX_DIAGS 500        /* further problems are counted, not kept */
#define TOPO_MAX_CRLS 16
#define TOPO_CERT_WARN_DAYS 30    /* certificate expiring sooner: warning */

/* Where something is in the topology file: 1-based; 0 when unknown. */
struct topo_pos {
    unsigned line, col;
};

/* ---- diagnostics -------------------------------------------------------- */

enum topo_severity { TOPO_ERROR, TOPO_WARNING };

#define TOPO_DIAG_MAX 400

struct topo_diag {
    enum topo_severity severity;
    struct topo_pos pos;
    char msg[TOPO_DIAG_MAX];  /* one sentence, no "error:" prefix */
};

struct topology_diags {
    struct topo_diag *items;  /* at most TOPO_MAX_DIAGS, in order found */
    size_t count, cap;
    size_t errors, warnings;  /* all of them, also those not kept */
};

void topology_diags_init(struct topology_diags *diags);
void topology_diags_free(struct topology_diags *diags);
/* "FILE:LINE:COL: error: MESSAGE" lines, sorted by position. */
void topology_diags_print(const struct topology_diags *diags, const char *file, FILE *out);

/* ---- the topology ------------------------------------------------------- */

enum topo_role {
    TOPO_ROLE_FRONTEND = 1u << 0, /* SIP registrar and proxy for users */
    TOPO_ROLE_EDGE = 1u << 1,     /* SIP federation with partners */
    TOPO_ROLE_MAIL = 1u << 2,     /* SMTP relay */
};

/* An address: "127.0.0.1:5061", "[::1]:5061", or (only where a remote
 * host is named) "mx.bank.test:25". */
struct topo_addr {
    bool set;                    /* false: the key was absent */
    char host[256];              /* IP literal without brackets, or DNS name */
    uint16_t port;
    bool is_ip;                  /* sa/sa_len are valid */
    struct sockaddr_storage sa;
    socklen_t sa_len;
    char text[272];              /* "127.0.0.1:5061", "[::1]:5061" */
    struct topo_pos pos;
};

struct topo_file {
    const char *path;            /* absolute; NULL when absent */
    struct topo_pos pos;
};

struct topo_names {
    const char **items;
    size_t count;
    struct topo_pos pos;
};

struct topo_pool;
struct topo_site;

struct topo_server {
    const char *fqdn;
    unsigned roles;                       /* enum topo_role bits */
    struct topo_addr sip_listen;          /* frontend, edge (internal side) */
    struct topo_addr federation_listen;   /* edge: where partners' edges connect */
    struct topo_addr smtp_listen;         /* mail */
    struct topo_file certificate;         /* PEM: certificate, then its chain */
    struct topo_file key;                 /* PEM private key */
    struct topo_file store;               /* SQLite file: the server's own, else the
                                             topology's (path NULL: none) */
    struct topo_file spool;               /* mail queue directory (mail role) */
    unsigned workers;                     /* 0: one per CPU */
    const struct topo_pool *pool;
    size_t pool_index;                    /* in topology.pools */
    struct topo_pos pos;
};

struct topo_pool {
    const char *fqdn;
    struct topo_server *servers;          /* n_servers, contiguous in topology.servers */
    size_t n_servers;
    size_t first_server;                  /* index of servers[0] in topology.servers */
    const struct topo_site *site;
    size_t site_index;
    struct topo_pos pos;
};

struct topo_site {
    const char *name;
    struct topo_pool *pools;              /* n_pools, contiguous in topology.pools */
    size_t n_pools;
    size_t first_pool;
    struct topo_pos pos;
};

struct topo_user {
    const char *address;                  /* "alice@corp.test" */
    const char *pool_fqdn;                /* as written */
    const struct topo_pool *pool;
    struct topo_pos pos;
};

struct topo_partner {
    const char *name;
    struct topo_names domains;            /* their SIP domains */
    const char *edge;                     /* their edge FQDN (its certificate names it) */
    struct topo_addr edge_address;
    struct topo_file root_ca;             /* trusted for this partner's edge only */
    struct topo_pos pos;
};

/* A trusted CA for a mail connector: a PEM file or the system roots. */
struct topo_ca_ref {
    bool system;
    struct topo_file file;                /* when !system */
};

struct topo_outbound {
    const char *name;
    struct topo_names domains;            /* recipient domains */
    struct topo_addr smart_host;          /* optional: else route or MX */
    bool require_tls;                     /* default true */
    struct topo_ca_ref ca;
    const char *peer_name;                /* "mx.bank.test" or "*.bank.test"; NULL: any */
    struct topo_pos pos;
};

struct topo_cidr {
    int family;                           /* AF_INET or AF_INET6 */
    unsigned char addr[16];               /* network byte order, host bits zero */
    unsigned prefix;
    char text[64];
};

struct topo_inbound {
    const char *name;
    struct topo_names sender_domains;
    struct topo_cidr *client_addresses;
    size_t n_client_addresses;
    bool require_tls;                     /* default true */
    struct topo_ca_ref ca;                /* the partner's client certificate issuer */
    const char *peer_name;                /* required name in that certificate; NULL: any */
    struct topo_pos pos;
};

struct topo_mail_route {
    const char *domain;
    struct topo_addr host;
    struct topo_pos pos;
};

struct topo_limits {
    unsigned max_connections;             /* per server; default 10000 */
    unsigned handshake_timeout_ms;        /* default 5000 */
    unsigned idle_timeout_s;              /* default 3600 */
    unsigned max_connections_per_client;  /* per client address; 0 (default): none */
};

struct topology {
    const char *file;                     /* as given to topology_load */
    const char *dir;                      /* absolute directory of the file */
    const char *organisation;
    unsigned version;                     /* format version, 1 */

    struct {
        struct topo_names domains;
        unsigned max_message_bytes;       /* default 65535 */
    } sip;
    struct {
        struct topo_names domains;
        unsigned max_message_bytes;       /* default 10240000 */
        unsigned queue_lifetime_s;        /* default 432000 (5 days) */
    } mail;
    struct {
        struct topo_file ca;
        struct topo_file crls[TOPO_MAX_CRLS];
        size_t n_crls;
    } trust;
    struct topo_file store;               /* default store (SQLite file) */
    struct topo_file metrics_dir;         /* where servers write metrics; optional */
    struct topo_limits limits;

    struct topo_site *sites;
    size_t n_sites;
    struct topo_pool *pools;              /* all pools, site by site */
    size_t n_pools;
    struct topo_server *servers;          /* all servers, pool by pool */
    size_t n_servers;
    struct topo_user *users;
    size_t n_users;
    struct topo_partner *partners;
    size_t n_partners;
    struct topo_outbound *outbound;
    size_t n_outbound;
    struct topo_inbound *inbound;
    size_t n_inbound;
    struct topo_mail_route *mail_routes;
    size_t n_mail_routes;

    struct topo_internal *internal;       /* memory and indexes */
};

/* Read and validate path.  Every problem goes to diags (may be NULL).
 * Returns 0 and *out when there is no error (warnings allowed); -1 when
 * there are errors (err says how many) or the file cannot be read. */
int topology_load(const char *path, struct topology **out, struct topology_diags *diags,
                  tn_err *err);
/* What a server does at start and on SIGHUP: topology_load, then find
 * server fqdn and topology_check_files for it; every problem is printed
 * to stderr (file, line, column).  0 and *out, or -1 with err. */
int topology_load_server(const char *path, const char *fqdn, struct topology **out,
                         tn_err *err);
/* A topology has holders (the roles of one server share the one they
 * were started or reloaded with): topology_hold adds one and returns
 * topo; topology_free drops one and frees with the last.  Any thread. */
struct topology *topology_hold(struct topology *topo);
void topology_free(struct topology *topo);

/* For "trustnet topology check" only: as topology_load, but *out is set
 * even when the file has errors, so that topology_check_files() can still
 * look at every entry that was readable (fields of broken entries are
 * NULL or unset; such a topology must never be served).  -1 only when the
 * file cannot be read. */
int topology_load_for_check(const char *path, struct topology **out,
                            struct topology_diags *diags, tn_err *err);

/* Open and check the files the topology names, for one server (its
 * certificate and key, and the trust files its roles need) or for all
 * (server NULL).  Returns 0 when no error was added to diags, else -1. */
int topology_check_files(const struct topology *topo, const struct topo_server *server,
                         struct topology_diags *diags);

/* ---- lookups (names compare ASCII case-insensitively) ------------------- */

const struct topo_server *topology_find_server(const struct topology *topo, const char *fqdn);
/* The IP addresses that servers of the topology and partners' edges
 * speak from (their listening addresses; servers leave from them too):
 * *n of them, owned by the topology. */
const struct sockaddr_storage *topology_server_addresses(const struct topology *topo, size_t *n);
const struct topo_pool *topology_find_pool(const struct topology *topo, const char *fqdn);
/* The pool a server belongs to, by the server's FQDN. */
const struct topo_pool *topology_server_pool(const struct topology *topo, const char *fqdn);
/* The home pool of "user@domain" (local part exact, domain any case). */
const struct topo_pool *topology_user_pool(const struct topology *topo, const char *address);
const struct topo_user *topology_find_user(const struct topology *topo, const char *address);
/* A SIP domain we serve (sip.domains). */
bool topology_is_local_domain(const struct topology *topo, const char *domain);
/* A mail domain we accept mail for (mail.domains). */
bool topology_is_mail_domain(const struct topology *topo, const char *domain);
const struct topo_partner *topology_find_partner_by_domain(const struct topology *topo,
                                                           const char *domain);
const struct topo_partner *topology_find_partner_by_edge(const struct topology *topo,
                                                         const char *fqdn);
/* The outbound connector for a recipient domain, or NULL. */
const struct topo_outbound *topology_find_outbound(const struct topology *topo,
                                                   const char *domain);
/* The static route for a recipient domain, or NULL (use MX). */
const struct topo_mail_route *topology_find_mail_route(const struct topology *topo,
                                                       const char *domain);
/* "frontend", "frontend, edge", ... */
void topology_roles_text(unsigned roles, char *buf, size_t len);

/* The metrics file of server fqdn: metrics_dir/trustnet-FQDN.prom.
 * -1 when the topology has no metrics_dir or the path does not fit. */
int topology_metrics_file(const struct topology *t, const char *fqdn, char *out, size_t len);

#endif
