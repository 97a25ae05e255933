/* mail_policy.c - the mail role's trust decisions (see mail_policy.h). */
#include "mail/mail_policy.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "tls/tls_chain_check.h"
#include "tls/tls_name.h"
#include "tls/x509_text.h"

struct mail_policy {
    const struct topology *topo;
    const struct topo_server *me;
    tls_trust *enterprise;      /* CA + CRLs: our servers */
    tls_trust **inbound_trust;  /* per topo->inbound[i]; NULL: no TLS required */
    tls_trust **outbound_trust; /* per topo->outbound[i] */
    tls_config **outbound_tls;  /* per topo->outbound[i]: its CA, enforced */
    tls_trust *listen_trust;    /* every CA a client may present (for the CA list) */
    tls_config *server_tls;     /* STARTTLS on our listener */
    tls_trust *system;          /* opportunistic: judged against the system roots */
    tls_config *internal_tls;   /* to our mail servers: MTLS, enterprise CA */
    tls_config *opportunistic_tls;
};

static tls_trust *connector_trust(const char *name, const struct topo_ca_ref *ca, tn_err *err)
{
    if (ca->system)
        return tls_trust_new_system(name, err);
    return tls_trust_new(name, ca->file.path, NULL, 0, err);
}

/* A client configuration with our certificate (partners and our servers
 * may ask for it) and the given store. */
static tls_config *client_tls(const struct topo_server *me, tls_trust *trust, bool advisory,
                              tn_err *err)
{
    tls_config *cfg = tls_config_new(TLS_SIDE_CLIENT, err);
    if (cfg == NULL ||
        tls_config_add_identity(cfg, me->certificate.path, me->key.path, err) < 0) {
        tls_config_free(cfg);
        return NULL;
    }
    tls_config_set_trust(cfg, trust);
    tls_config_set_verify_advisory(cfg, advisory);
    return cfg;
}

static int load_enterprise(mail_policy *p, tn_err *err)
{
    const struct topology *t = p->topo;
    const char *crls[TOPO_MAX_CRLS];
    for (size_t i = 0; i < t->trust.n_crls; i++)
        crls[i] = t->trust.crls[i].path;
    p->enterprise = tls_trust_new("enterprise", t->trust.ca.path, crls, t->trust.n_crls, err);
    p->system = p->enterprise ? tls_trust_new_system("system roots", err) : NULL;
    if (p->system == NULL)
        return -1;
    p->internal_tls = client_tls(p->me, p->enterprise, false, err);
    p->opportunistic_tls = p->internal_tls ? client_tls(p->me, p->system, true, err) : NULL;
    return p->opportunistic_tls ? 0 : -1;
}

static int load_connectors(mail_policy *p, tn_err *err)
{
    const struct topology *t = p->topo;
    p->inbound_trust = calloc(t->n_inbound + 1, sizeof *p->inbound_trust);
    p->outbound_trust = calloc(t->n_outbound + 1, sizeof *p->outbound_trust);
    p->outbound_tls = calloc(t->n_outbound + 1, sizeof *p->outbound_tls);
    if (!p->inbound_trust || !p->outbound_trust || !p->outbound_tls)
        return tn_errf(err, "out of memory");
    for (size_t i = 0; i < t->n_inbound; i++)
        if (t->inbound[i].require_tls &&
            (p->inbound_trust[i] = connector_trust(t->inbound[i].name, &t->inbound[i].ca,
                                                   err)) == NULL)
            return -1;
    for (size_t i = 0; i < t->n_outbound; i++) {
        const struct topo_outbound *c = &t->outbound[i];
        if (!c->require_tls)
            continue;
        if ((p->outbound_trust[i] = connector_trust(c->name, &c->ca, err)) == NULL ||
            (p->outbound_tls[i] = client_tls(p->me, p->outbound_trust[i], false, err)) == NULL)
            return -1;
    }
    return 0;
}

/* The listener asks for a client certificate naming the CAs it knows:
 * the enterprise CA and each inbound connector's CA file. */
static int make_server_tls(mail_policy *p, tn_err *err)
{
    const struct topology *t = p->topo;
    const char *cas[TLS_TRUST_MAX_CAS];
    size_t n = 0;
    cas[n++] = t->trust.ca.path;
    for (size_t i = 0; i < t->n_inbound && n < TLS_TRUST_MAX_CAS; i++)
        if (t->inbound[i].require_tls && !t->inbound[i].ca.system)
            cas[n++] = t->inbound[i].ca.file.path;
    p->listen_trust = tls_trust_new_multi("mail clients", cas, n, NULL, 0, err);
    p->server_tls = p->listen_trust ? tls_config_new(TLS_SIDE_SERVER, err) : NULL;
    if (p->server_tls == NULL ||
        tls_config_add_identity(p->server_tls, p->me->certificate.path, p->me->key.path, err) < 0)
        return -1;
    tls_config_set_trust(p->server_tls, p->listen_trust);
    tls_config_set_client_auth(p->server_tls, TLS_CLIENT_CERT_OPTIONAL);
    /* Judged here, decided by mail_policy_identify and the connectors. */
    tls_config_set_verify_advisory(p->server_tls, true);
    return 0;
}

mail_policy *mail_policy_new(const struct topology *topo, const char *me, tn_err *err)
{
    const struct topo_server *server = topology_find_server(topo, me);
    if (server == NULL || !(server->roles & TOPO_ROLE_MAIL)) {
        tn_errf(err, "%s is not a mail server of the topology", me);
        return NULL;
    }
    mail_policy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    p->topo = topo;
    p->me = server;
    if (load_enterprise(p, err) < 0 || load_connectors(p, err) < 0 ||
        make_server_tls(p, err) < 0) {
        mail_policy_free(p);
        return NULL;
    }
    return p;
}

void mail_policy_free(mail_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->inbound_trust && i < p->topo->n_inbound; i++)
        tls_trust_free(p->inbound_trust[i]);
    for (size_t i = 0; p->outbound_tls && i < p->topo->n_outbound; i++) {
        tls_config_free(p->outbound_tls[i]);
        tls_trust_free(p->outbound_trust[i]);
    }
    free(p->inbound_trust);
    free(p->outbound_trust);
    free(p->outbound_tls);
    tls_config_free(p->server_tls);
    tls_trust_free(p->listen_trust);
    tls_config_free(p->internal_tls);
    tls_config_free(p->opportunistic_tls);
    tls_trust_free(p->system);
    tls_trust_free(p->enterprise);
    free(p);
}

tls_config *mail_policy_server_tls(const mail_policy *p)
{
    return p->server_tls;
}

const char *mail_policy_hostname(const mail_policy *p)
{
    return p->me->fqdn;
}

/* --- receiving ------------------------------------------------------------ */

/* The mail server of the topology that cert names, or NULL. */
static const struct topo_server *mail_server_named(const struct topology *t, X509 *cert)
{
    char detail[320];
    for (size_t i = 0; i < t->n_servers; i++)
        if ((t->servers[i].roles & TOPO_ROLE_MAIL) &&
            tls_name_check(cert, t->servers[i].fqdn, TLS_NAME_EXACT, detail,
                           sizeof detail) == 0)
            return &t->servers[i];
    return NULL;
}

void mail_policy_identify(const mail_policy *p, tls_conn *tls, struct mail_client *client)
{
    client->tls = tls != NULL;
    client->internal_server[0] = '\0';
    X509 *leaf = tls ? tls_conn_peer_cert(tls) : NULL;
    if (leaf == NULL) {
        tn_strlcpy(client->verdict, tls ? "accepted: no client certificate" : "plaintext",
                   sizeof client->verdict);
        return;
    }
    STACK_OF(X509) *chain = tls_conn_peer_chain(tls);
    char why[TLS_REASON_MAX], names[256];
    x509_text_sans(leaf, names, sizeof names);
    if (chain == NULL || tls_chain_check(p->enterprise, chain, why, sizeof why) < 0) {
        /* Not one of ours; an inbound connector may still vouch for it. */
        tn_snprintf(client->verdict, sizeof client->verdict,
                    "accepted: client certificate not from our CA (%s)",
                    chain ? why : "out of memory");
    } else if (tls_verify_key_usage(leaf, TLS_PEER_CLIENT, why, sizeof why) < 0) {
        tn_snprintf(client->verdict, sizeof client->verdict, "accepted, may not relay: %s", why);
    } else {
        const struct topo_server *s = mail_server_named(p->topo, leaf);
        if (s != NULL) {
            tn_strlcpy(client->internal_server, s->fqdn, sizeof client->internal_server);
            tn_snprintf(client->verdict, sizeof client->verdict,
                        "trusted: mail server %s of the topology (may relay)", s->fqdn);
        } else {
            tn_snprintf(client->verdict, sizeof client->verdict,
                        "accepted, may not relay: %s is not a mail server of the topology",
                        names);
        }
    }
    sk_X509_pop_free(chain, X509_free);
}

static bool cidr_contains(const struct topo_cidr *net, const struct sockaddr *sa)
{
    const unsigned char *a;
    size_t bytes;
    if (sa == NULL || sa->sa_family != net->family)
        return false;
    if (sa->sa_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        bytes = 4;
    } else {
        a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        bytes = 16;
    }
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (full > bytes || memcmp(a, net->addr, full) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return rest == 0 || (a[full] & mask) == (net->addr[full] & mask);
}

static bool inbound_applies(const struct topo_inbound *c, const struct sockaddr *client,
                            const char *sender_domain)
{
    for (size_t i = 0; i < c->sender_domains.count; i++)
        if (sender_domain != NULL && sender_domain[0] != '\0' &&
            tn_ascii_caseeq(c->sender_domains.items[i], strlen(c->sender_domains.items[i]),
                            sender_domain, strlen(sender_domain)))
            return true;
    for (size_t i = 0; i < c->n_client_addresses; i++)
        if (cidr_contains(&c->client_addresses[i], client))
            return true;
    return false;
}

static int refuse(struct mail_refusal *no, int code, const char *enhanced, const char *text,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct mail_refusal *no, int code, const char *enhanced, const char *text,
                  const char *fmt, ...)
{
    no->code = code;
    tn_strlcpy(no->enhanced, enhanced, sizeof no->enhanced);
    tn_strlcpy(no->text, text, sizeof no->text);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(no->log, sizeof no->log, fmt, ap);
    va_end(ap);
    if (n < 0)
        no->log[0] = '\0';
    return -1;
}

static enum tls_name_rules required_name_rules(const char *name)
{
    return name[0] == '*' ? TLS_NAME_ANY_UNDER : TLS_NAME_WILDCARD;
}

/* The client certificate against one connector: its CA, then its name. */
static int check_connector_cert(tls_trust *trust, const struct topo_inbound *c, tls_conn *tls,
                                struct mail_refusal *no)
{
    static const char required[] = "TLS client certificate required";
    X509 *leaf = tls ? tls_conn_peer_cert(tls) : NULL;
    if (leaf == NULL)
        return refuse(no, 550, "5.7.1", required,
                      "inbound connector %s: the client sent no certificate", c->name);
    STACK_OF(X509) *chain = tls_conn_peer_chain(tls);
    char why[TLS_REASON_MAX] = "out of memory";
    int rc = chain ? tls_chain_check(trust, chain, why, sizeof why) : -1;
    sk_X509_pop_free(chain, X509_free);
    if (rc < 0)
        return refuse(no, 550, "5.7.1", required, "inbound connector %s: %s", c->name, why);
    if (c->peer_name != NULL &&
        tls_name_check(leaf, c->peer_name, required_name_rules(c->peer_name), why,
                       sizeof why) < 0)
        return refuse(no, 550, "5.7.1", required, "inbound connector %s: %s", c->name, why);
    return 0;
}

int mail_policy_check_sender(const mail_policy *p, const struct sockaddr *client_addr,
                             const char *sender_domain, const struct mail_client *client,
                             tls_conn *tls, const char **connector, struct mail_refusal *no)
{
    const struct topology *t = p->topo;
    *connector = NULL;
    for (size_t i = 0; i < t->n_inbound; i++) {
        const struct topo_inbound *c = &t->inbound[i];
        if (!inbound_applies(c, client_addr, sender_domain))
            continue;
        if (*connector == NULL)
            *connector = c->name;
        if (!c->require_tls)
            continue;
        if (!client->tls)
            return refuse(no, 530, "5.7.0", "Must issue a STARTTLS command first",
                          "inbound connector %s requires TLS", c->name);
        if (check_connector_cert(p->inbound_trust[i], c, tls, no) < 0)
            return -1;
    }
    return 0;
}

int mail_policy_check_rcpt(const mail_policy *p, const char *rcpt_domain,
                           const struct mail_client *client, struct mail_refusal *no)
{
    if (topology_is_mail_domain(p->topo, rcpt_domain) || client->internal_server[0] != '\0')
        return 0;
    return refuse(no, 554, "5.7.1", "Relay access denied",
                  "relay to %s refused: not our domain, and the client is not one of our "
                  "mail servers", rcpt_domain);
}

/* --- sending --------------------------------------------------------------- */

/* One of our mail servers, by the FQDN or the address a route names. */
static const struct topo_server *our_mail_server(const struct topology *t,
                                                 const struct topo_addr *a)
{
    for (size_t i = 0; i < t->n_servers; i++) {
        const struct topo_server *s = &t->servers[i];
        if (!(s->roles & TOPO_ROLE_MAIL))
            continue;
        if (tn_ascii_caseeq(s->fqdn, strlen(s->fqdn), a->host, strlen(a->host)))
            return s;
        if (a->is_ip && s->smtp_listen.is_ip && a->port == s->smtp_listen.port &&
            strcmp(a->host, s->smtp_listen.host) == 0)
            return s;
    }
    return NULL;
}

static void hop_to(struct mail_next_hop *hop, const struct topo_addr *a)
{
    tn_strlcpy(hop->host, a->host, sizeof hop->host);
    hop->port = a->port ? a->port : 25;
    hop->mx = false;
}

static int hop_connector(const mail_policy *p, const struct topo_outbound *c, size_t i,
                         const struct topo_mail_route *route, struct mail_next_hop *hop)
{
    if (c->smart_host.set)
        hop_to(hop, &c->smart_host);
    else if (route != NULL)
        hop_to(hop, &route->host);
    if (!c->require_tls) {
        tn_snprintf(hop->policy_name, sizeof hop->policy_name,
                    "connector %s (TLS not required: opportunistic)", c->name);
        return 0;
    }
    hop->tls_policy = SMTP_TLS_CONNECTOR;
    hop->tls = p->outbound_tls[i];
    hop->expect = (struct tls_expect){.role = TLS_PEER_SERVER};
    if (c->peer_name != NULL) {
        hop->expect.name = c->peer_name;
        hop->expect.rules = required_name_rules(c->peer_name);
    }
    tn_snprintf(hop->policy_name, sizeof hop->policy_name, "connector %s (TLS required)",
                c->name);
    return 0;
}

/* A route naming another of our mail servers: mutual TLS to it, by its
 * listen address and its name. */
static void hop_internal(const mail_policy *p, const struct topo_server *ours,
                         struct mail_next_hop *hop)
{
    hop_to(hop, &ours->smtp_listen);
    hop->tls_policy = SMTP_TLS_INTERNAL;
    hop->tls = p->internal_tls;
    hop->expect = (struct tls_expect){
        .name = ours->fqdn, .rules = TLS_NAME_EXACT, .role = TLS_PEER_SERVER};
    tn_snprintf(hop->policy_name, sizeof hop->policy_name,
                "internal (mail server %s, mutual TLS)", ours->fqdn);
}

int mail_policy_next_hop(const mail_policy *p, const char *domain, struct mail_next_hop *hop,
                         tn_err *err)
{
    const struct topology *t = p->topo;
    memset(hop, 0, sizeof *hop);
    /* Default: the domain's MX, opportunistic TLS. */
    if (tn_strlcpy(hop->host, domain, sizeof hop->host) < 0)
        return tn_errf(err, "domain name too long");
    hop->port = 25;
    hop->mx = true;
    hop->tls_policy = SMTP_TLS_OPPORTUNISTIC;
    hop->tls = p->opportunistic_tls;
    hop->expect = (struct tls_expect){.role = TLS_PEER_SERVER};
    tn_strlcpy(hop->policy_name, "opportunistic", sizeof hop->policy_name);
    const struct topo_mail_route *route = topology_find_mail_route(t, domain);
    const struct topo_server *ours = route ? our_mail_server(t, &route->host) : NULL;
    /* 1. Through another of our servers (which applies the rules below
     *    when it is its turn: a route to itself is skipped there). */
    if (ours != NULL && ours != p->me) {
        hop_internal(p, ours, hop);
        return 0;
    }
    /* 2. A partner's connector. */
    const struct topo_outbound *c = topology_find_outbound(t, domain);
    if (c != NULL)
        return hop_connector(p, c, (size_t)(c - t->outbound), route && !ours ? route : NULL, hop);
    /* 3. A static route; 4. the MX. */
    if (route != NULL && ours == NULL)
        hop_to(hop, &route->host);
    return 0;
}
