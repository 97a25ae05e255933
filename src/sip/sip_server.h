/*
 * sip_server.h - the SIP front end: a TLS-only registrar and stateful
 * proxy for the organisation's clients (RFC 3261, RFC 5626 flows).
 *
 * sip_server_run() starts the worker threads and blocks until SIGTERM or
 * SIGINT (clean shutdown); SIGHUP reloads certificates, CRLs and the
 * configuration file without dropping established connections.
 */
#ifndef TN_SIP_SERVER_H
#define TN_SIP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SIP_SERVER_MAX_DOMAINS 16
#define SIP_SERVER_MAX_CRLS 16

struct topology;

struct sip_server_config {
    struct topology *topo;     /* the whole organisation; owned by the server */
    char fqdn[256];            /* our name: Via, Record-Route, certificate */
    char listen[160];          /* "host:port" */
    char domains[SIP_SERVER_MAX_DOMAINS][256];
    size_t n_domains;
    char cert_file[4096], key_file[4096];
    char ca_file[4096];
    char crl_files[SIP_SERVER_MAX_CRLS][4096];
    size_t n_crls;
    char store_path[4096];
    unsigned workers;
    size_t max_connections;
    size_t max_message_bytes;
    uint64_t handshake_timeout_ms;
    uint64_t idle_timeout_ms;
    uint32_t min_expires, max_expires, default_expires;
};

/* Fill the defaults (5061, limits, expiry bounds, workers = CPUs). */
void sip_server_config_defaults(struct sip_server_config *cfg);

/* Load a new configuration on SIGHUP; NULL keeps the current one. */
typedef int (*sip_server_reload_fn)(struct sip_server_config *cfg, void *ctx, tn_err *err);

/* Run until SIGTERM/SIGINT.  0 after a clean shutdown, -1 on a start-up
 * failure (reason in err). */
int sip_server_run(const struct sip_server_config *cfg, sip_server_reload_fn reload,
                   void *reload_ctx, tn_err *err);

#endif
