/* cmd_check.c - trustnet check: judge an endpoint's TLS and certificate
 * exactly as trustnet's own servers would, and say why. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/str.h"
#include "net/net_connect.h"
#include "pki/revocation_check.h"
#include "smtp/smtp_starttls_client.h"
#include "tls/tls_conn.h"
#include "tls/tls_probe_insecure.h"
#include "tls/x509_text.h"

#define DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define MAX_CRLS TLS_TRUST_MAX_CRLS
/* How long to wait for a server's post-handshake refusal (TLS 1.3). */
#define CONFIRM_WAIT_MS 300

static const char help_text[] =
    "NAME\n"
    "    trustnet check - judge a TLS endpoint as trustnet's servers would\n"
    "\n"
    "SYNOPSIS\n"
    "    trustnet check [--ca FILE] [--crl FILE]... [--name NAME] [--allow-wildcard]\n"
    "                   [--sip] [--starttls smtp] [--cert FILE --key FILE]\n"
    "                   [--timeout SECONDS] HOST:PORT\n"
    "    trustnet check --revocation CERTFILE [--ca FILE]\n"
    "\n"
    "DESCRIPTION\n"
    "    Connects to HOST:PORT (a name, an IPv4 address or [IPv6]) and judges\n"
    "    its TLS and certificate with trustnet's own trust core: TLS 1.2 or 1.3\n"
    "    only, forward-secret AEAD suites only, a chain to a trusted CA, every\n"
    "    certificate inside its validity period and (with --crl) not revoked,\n"
    "    key and signature strength (OpenSSL security level 2), the serverAuth\n"
    "    extended key usage, and the expected name in the subjectAltName (the\n"
    "    CN is never used).  It prints the TLS version, cipher, key exchange\n"
    "    group, forward secrecy, the chain (subject, issuer, validity, key of\n"
    "    each certificate), the name check, the revocation check, and a last\n"
    "    line 'verdict: trusted' or 'verdict: refused: REASON'.\n"
    "\n"
    "    When the handshake fails before a certificate is seen, a diagnostic\n"
    "    probe (which carries no data) finds out what the peer would accept,\n"
    "    to name the problem: 'peer offered only TLS 1.1'.\n"
    "\n"
    "OPTIONS\n"
    "    --ca FILE          trusted CA certificates (PEM); default the system\n"
    "                       roots " DEFAULT_CA_FILE "\n"
    "    --crl FILE         a CRL file (PEM); repeatable.  With at least one,\n"
    "                       every certificate of the chain must be covered by a\n"
    "                       current CRL of its issuer\n"
    "    --name NAME        the name the certificate must carry (default HOST)\n"
    "    --allow-wildcard   accept '*.domain' for a name one label below it,\n"
    "                       as SMTP connectors may; refused by default\n"
    "    --sip              SIP identity rules (RFC 5922): URI:sip:DOMAIN SANs\n"
    "                       when present, else DNS names; never a wildcard\n"
    "    --starttls smtp    speak SMTP and STARTTLS before the handshake; a\n"
    "                       server that sends anything after its 220 reply is\n"
    "                       refused (response injection)\n"
    "    --cert FILE, --key FILE\n"
    "                       present this client certificate (mutual TLS); a\n"
    "                       server's refusal after a TLS 1.3 handshake is caught\n"
    "    --timeout SECONDS  connect and I/O timeout, 1-300 (default 10)\n"
    "    --revocation CERTFILE\n"
    "                       do not connect: fetch every CRL distribution point\n"
    "                       of the certificates in CERTFILE and say whether each\n"
    "                       is reachable, parses, is current, is signed by its\n"
    "                       issuer and does not list the certificate (--ca adds\n"
    "                       issuer certificates)\n"
    "    -h, --help         this help\n"
    "\n"
    "EXIT STATUS\n"
    "    0  trusted (with --revocation: every CRL endpoint usable)\n"
    "    1  refused (with --revocation: a CRL endpoint problem)\n"
    "    2  cannot connect, or bad usage\n"
    "\n"
    "EXAMPLES\n"
    "    trustnet check --ca ca/ca.pem --crl ca/crl.pem fe1.corp.example:5061\n"
    "    trustnet check --sip --name corp.example --ca ca/ca.pem 127.0.0.1:5061\n"
    "    trustnet check --starttls smtp --ca partner-root.pem mx.partner.example:25\n"
    "    trustnet check --revocation fe1.pem --ca ca/ca.pem\n";

struct check_opts {
    const char *ca_file;
    const char *crls[MAX_CRLS];
    size_t n_crl;
    const char *name;
    bool allow_wildcard;
    bool sip;
    bool starttls_smtp;
    const char *cert_file;
    const char *key_file;
    int timeout_ms;
    const char *revocation_file;
    char host[256];
    char port[8];
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("trustnet check: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see trustnet check --help)\n", stderr);
    va_end(ap);
    return TN_EXIT_USAGE;
}

enum { OPT_CA = 1000, OPT_CRL, OPT_NAME, OPT_WILD, OPT_SIP, OPT_STARTTLS, OPT_CERT,
       OPT_KEY, OPT_TIMEOUT, OPT_REVOCATION };

static const struct option long_opts[] = {
    {"ca", required_argument, NULL, OPT_CA},
    {"crl", required_argument, NULL, OPT_CRL},
    {"name", required_argument, NULL, OPT_NAME},
    {"allow-wildcard", no_argument, NULL, OPT_WILD},
    {"sip", no_argument, NULL, OPT_SIP},
    {"starttls", required_argument, NULL, OPT_STARTTLS},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"revocation", required_argument, NULL, OPT_REVOCATION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int apply_option(struct check_opts *o, int c, const char *arg)
{
    char *end;
    switch (c) {
    case OPT_CA: o->ca_file = arg; return 0;
    case OPT_CRL:
        if (o->n_crl == MAX_CRLS)
            return usage_error("too many --crl files (limit %d)", MAX_CRLS);
        o->crls[o->n_crl++] = arg;
        return 0;
    case OPT_NAME: o->name = arg; return 0;
    case OPT_WILD: o->allow_wildcard = true; return 0;
    case OPT_SIP: o->sip = true; return 0;
    case OPT_STARTTLS:
        if (strcmp(arg, "smtp") != 0)
            return usage_error("--starttls supports only 'smtp', not '%s'", arg);
        o->starttls_smtp = true;
        return 0;
    case OPT_CERT: o->cert_file = arg; return 0;
    case OPT_KEY: o->key_file = arg; return 0;
    case OPT_TIMEOUT: {
        long secs = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || secs < 1 || secs > 300)
            return usage_error("--timeout wants 1-300 seconds, not '%s'", arg);
        o->timeout_ms = (int)secs * 1000;
        return 0;
    }
    case OPT_REVOCATION: o->revocation_file = arg; return 0;
    default: return TN_EXIT_USAGE;
    }
}

static int parse_args(int argc, char **argv, struct check_opts *o, bool *help)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (c == 'h') {
            *help = true;
            return 0;
        }
        if (c == '?')
            return usage_error("%s", "bad option");
        int rc = apply_option(o, c, optarg);
        if (rc != 0)
            return rc;
    }
    if (o->revocation_file != NULL)
        return optind == argc ? 0 : usage_error("--revocation takes no HOST:PORT (got %s)",
                                                argv[optind]);
    if (optind + 1 != argc)
        return usage_error("%s", "expected exactly one HOST:PORT");
    if ((o->cert_file == NULL) != (o->key_file == NULL))
        return usage_error("%s", "--cert and --key go together");
    tn_err err;
    if (net_split_host_port(argv[optind], o->host, sizeof o->host, o->port, sizeof o->port,
                            &err) < 0)
        return usage_error("%s", err.msg);
    if (o->name == NULL)
        o->name = o->host;
    if (!tls_name_is_valid_reference(o->name))
        return usage_error("'%s' is not a valid host name or IP address", o->name);
    return 0;
}

/* A fresh TCP connection, through STARTTLS when asked; -1 on failure.
 * *refused says the peer answered but its STARTTLS dialogue was refused
 * (no STARTTLS, response injection) rather than unreachable. */
static int open_transport(const struct check_opts *o, bool *refused, tn_err *err)
{
    *refused = false;
    int fd = net_connect(o->host, o->port, o->timeout_ms, err);
    if (fd < 0)
        return -1;
    if (o->starttls_smtp && smtp_starttls_client(fd, "check.trustnet.invalid", err) < 0) {
        *refused = true;
        close(fd);
        return -1;
    }
    return fd;
}

static void print_chain(const STACK_OF(X509) *chain)
{
    if (chain == NULL || sk_X509_num(chain) == 0) {
        printf("chain: (not received)\n");
        return;
    }
    printf("chain:\n");
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        char subject[256], issuer[256], from[40], until[40], key[64], sig[64], sans[256];
        x509_text_name(X509_get_subject_name(c), subject, sizeof subject);
        x509_text_name(X509_get_issuer_name(c), issuer, sizeof issuer);
        x509_text_time(X509_get0_notBefore(c), from, sizeof from);
        x509_text_time(X509_get0_notAfter(c), until, sizeof until);
        x509_text_key(c, key, sizeof key, NULL);
        x509_text_sig_alg(c, sig, sizeof sig);
        x509_text_sans(c, sans, sizeof sans);
        printf("  [%d] subject: %s\n", i, subject);
        printf("      issuer:  %s\n", issuer);
        printf("      valid:   %s until %s\n", from, until);
        printf("      key:     %s, signed with %s\n", key, sig);
        if (i == 0)
            printf("      names:   %s\n", sans);
    }
}

static void print_session(const tls_conn *conn)
{
    printf("tls version: %s\n", tls_conn_version(conn));
    printf("cipher: %s\n", tls_conn_cipher(conn));
    printf("key exchange: %s\n", tls_conn_group(conn));
    printf("forward secrecy: %s\n", tls_conn_forward_secret(conn) ? "yes" : "no");
}

/* The handshake failed before any certificate verdict: ask an insecure
 * probe what the peer would have agreed to, to name the real problem. */
static void refine_with_probe(const struct check_opts *o, char *reason, size_t len)
{
    tn_err err;
    bool refused;
    int fd = open_transport(o, &refused, &err);
    if (fd < 0)
        return;
    struct tls_probe_result r;
    if (tls_probe_insecure(fd, tls_name_is_valid_reference(o->name) ? o->name : NULL,
                           &r) == 0)
        tls_probe_explain(&r, reason, len);
    close(fd);
}

static tls_config *client_config(const struct check_opts *o, tls_trust *trust, tn_err *err)
{
    tls_config *cfg = tls_config_new(TLS_SIDE_CLIENT, err);
    if (cfg == NULL)
        return NULL;
    tls_config_set_trust(cfg, trust);
    if (o->cert_file != NULL &&
        tls_config_add_identity(cfg, o->cert_file, o->key_file, err) < 0) {
        tls_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static int report(const struct check_opts *o, tls_conn *conn, bool up)
{
    const struct tls_verdict *v = tls_conn_verdict(conn);
    char reason[TLS_REASON_MAX];
    tn_strlcpy(reason, tls_conn_failure(conn), sizeof reason);
    if (up)
        print_session(conn);
    print_chain(v->chain);
    if (v->decided) {
        printf("name check: %s\n", v->trusted || v->name_check[0] ? v->name_check
                                                                  : "not reached");
        printf("revocation: %s\n", v->trusted ? v->revocation : "not reached");
    } else if (!up) {
        refine_with_probe(o, reason, sizeof reason);
    }
    if (up) {
        printf("verdict: trusted\n");
        return TN_EXIT_OK;
    }
    printf("verdict: refused: %s\n", reason);
    return TN_EXIT_REFUSED;
}

static int check_endpoint(const struct check_opts *o)
{
    tn_err err;
    const char *ca = o->ca_file ? o->ca_file : DEFAULT_CA_FILE;
    tls_trust *trust = tls_trust_new("check", ca, o->crls, o->n_crl, &err);
    tls_config *cfg = trust ? client_config(o, trust, &err) : NULL;
    bool refused = false;
    int fd = cfg ? open_transport(o, &refused, &err) : -1;
    if (refused) {
        printf("verdict: refused: %s\n", err.msg);
        tls_config_free(cfg);
        tls_trust_free(trust);
        return TN_EXIT_REFUSED;
    }
    if (fd < 0) {
        fprintf(stderr, "trustnet check: %s\n", err.msg);
        tls_config_free(cfg);
        tls_trust_free(trust);
        return TN_EXIT_USAGE;
    }
    printf("connected: %s port %s%s, expecting name %s\n", o->host, o->port,
           o->starttls_smtp ? " (SMTP STARTTLS)" : "", o->name);
    struct tls_expect expect = {
        .name = o->name,
        .rules = o->sip ? TLS_NAME_SIP : o->allow_wildcard ? TLS_NAME_WILDCARD : TLS_NAME_EXACT,
        .role = TLS_PEER_SERVER,
    };
    int rc = TN_EXIT_USAGE;
    tls_conn *conn = tls_conn_new_client(cfg, fd, &expect, &err);
    if (conn == NULL) {
        fprintf(stderr, "trustnet check: %s\n", err.msg);
    } else {
        bool up = tls_conn_handshake(conn) == TLS_IO_OK &&
                        tls_conn_confirm(conn, CONFIRM_WAIT_MS) == TLS_IO_OK;
        rc = report(o, conn, up);
        if (up)
            tls_conn_close(conn);
    }
    tls_conn_free(conn);
    close(fd);
    tls_config_free(cfg);
    tls_trust_free(trust);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    struct check_opts o = {.timeout_ms = 10000};
    bool help = false;
    int rc = parse_args(argc, argv, &o, &help);
    if (rc != 0)
        return rc;
    if (help) {
        fputs(help_text, stdout);
        return TN_EXIT_OK;
    }
    if (o.revocation_file != NULL) {
        tn_err err;
        rc = revocation_check_report(o.revocation_file, o.ca_file, stdout, &err);
        if (rc == TN_EXIT_USAGE)
            fprintf(stderr, "trustnet check: %s\n", err.msg);
        return rc;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return check_endpoint(&o);
}
