/* cmd_ca.c - "trustnet ca": the enterprise CA on the command line.
 * Parses and checks arguments (bad usage exits 2 with one line on stderr),
 * then calls src/pki/ca.h and reports what was written. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd_ca_help.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/str.h"
#include "pki/ca.h"
#include "pki/ca_settings.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"

#define MAX_SANS 64

/* One line on stderr naming the subcommand; returns TN_EXIT_USAGE. */
#define usage_error(sub, ...) cli_usage_error("ca", (sub), __VA_ARGS__)
#define failed(sub, err) cli_failed("ca", (sub), (err))

static int getopt_error(const char *sub, int c, char **argv)
{
    if (c == ':')
        return usage_error(sub, "option %s needs a value", argv[optind - 1]);
    if (optopt != 0)
        return usage_error(sub, "unknown option '-%c'", optopt);
    return usage_error(sub, "unknown option '%s'", argv[optind - 1]);
}

/* An option value that starts with "--" is a forgotten value, not a value. */
static int check_value(const char *sub, const struct option *opts, int idx)
{
    if (strncmp(optarg, "--", 2) == 0)
        return usage_error(sub, "option --%s needs a value (got '%s')",
                           opts[idx].name, optarg);
    return 0;
}

static int parse_count(const char *sub, const char *opt, const char *text, int max,
                       int *out)
{
    char *end = NULL;
    errno = 0;
    long v = (text[0] >= '0' && text[0] <= '9') ? strtol(text, &end, 10) : -1;
    if (v < 1 || errno != 0 || end == NULL || *end != '\0' || v > max)
        return usage_error(sub, "bad %s '%s': expected a whole number from 1 to %d",
                           opt, text, max);
    *out = (int)v;
    return 0;
}

static int need(const char *sub, const char *value, const char *opt)
{
    if (value == NULL)
        return usage_error(sub, "missing %s", opt);
    return 0;
}

/* Start option parsing afresh: 0 makes glibc reset its internal state too,
 * which matters when a command runs more than once in a process. */
static void reset_getopt(void)
{
    optind = 0;
    opterr = 0;
}

/* getopt_long, with values that look like options refused.  Returns the
 * option character, -1 at the end, or '?' after printing the error. */
static int next_option(const char *sub, int argc, char **argv,
                       const struct option *opts)
{
    int idx = -1;
    int c = getopt_long(argc, argv, ":h", opts, &idx);
    if (c == '?' || c == ':') {
        getopt_error(sub, c, argv);
        return '?';
    }
    if (c != -1 && optarg != NULL && idx >= 0 && check_value(sub, opts, idx) != 0)
        return '?';
    return c;
}

static int no_positional(const char *sub, int argc, char **argv)
{
    if (optind < argc)
        return usage_error(sub, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* ---- ca init ---- */

static void report_init(const char *dir)
{
    char path[PATH_MAX], name[512], key[64], until[32], fp[128];
    tn_err err;
    if (tn_snprintf(path, sizeof path, "%s/ca.pem", dir) < 0)
        return;
    STACK_OF(X509) *chain = x509_load_chain_file(path, &err);
    if (chain == NULL)
        return;
    X509 *ca = sk_X509_value(chain, 0);
    x509_text_name(X509_get_subject_name(ca), name, sizeof name);
    x509_text_key(ca, key, sizeof key, NULL);
    x509_text_time(X509_get0_notAfter(ca), until, sizeof until);
    x509_text_fingerprint_sha256(ca, fp, sizeof fp);
    printf("created CA \"%s\" in %s\n"
           "  certificate  %s (%s, valid until %s)\n"
           "  SHA-256      %s\n"
           "  private key  %s/ca.key (mode 0600): keep it secret\n"
           "  CRL          %s/crl.pem: publish it at the CRL URL\n",
           name, dir, path, key, until, fp, dir, dir);
    sk_X509_pop_free(chain, X509_free);
}

static int init_option(int c, struct ca_init_opts *o)
{
    const char *sub = "init";
    tn_err err;
    switch (c) {
    case 'd': o->dir = optarg; return 0;
    case 'n': o->name = optarg; return 0;
    case 'o': o->org = optarg; return 0;
    case 'u': o->crl_url = optarg; return 0;
    case 'D': return parse_count(sub, "--days", optarg, CA_DAYS_MAX, &o->days);
    case 'C': return parse_count(sub, "--crl-days", optarg, CA_CRL_DAYS_MAX, &o->crl_days);
    case 'k':
        if (ca_key_type_parse(optarg, &o->key, &err) < 0)
            return usage_error(sub, "%s", err.msg);
        return 0;
    default:
        return TN_EXIT_USAGE;
    }
}

static int check_init(const struct ca_init_opts *o)
{
    tn_err err;
    if (need("init", o->dir, "--dir DIR") || need("init", o->name, "--name NAME"))
        return TN_EXIT_USAGE;
    if (ca_check_name_field("--name", o->name, CA_NAME_FIELD_MAX, &err) < 0 ||
        (o->org && ca_check_name_field("--org", o->org, CA_NAME_FIELD_MAX, &err) < 0) ||
        (o->crl_url && ca_check_url(o->crl_url, &err) < 0))
        return usage_error("init", "%s", err.msg);
    return 0;
}

static int ca_cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},   {"name", required_argument, NULL, 'n'},
        {"org", required_argument, NULL, 'o'},   {"key", required_argument, NULL, 'k'},
        {"days", required_argument, NULL, 'D'},  {"crl-url", required_argument, NULL, 'u'},
        {"crl-days", required_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ca_init_opts o = {.key = CA_KEY_EC_P256, .days = 3650, .crl_days = 30};
    int c;
    reset_getopt();
    while ((c = next_option("init", argc, argv, opts)) != -1) {
        if (c == 'h') {
            fputs(init_help, stdout);
            return TN_EXIT_OK;
        }
        if (c == '?' || init_option(c, &o) != 0)
            return TN_EXIT_USAGE;
    }
    if (no_positional("init", argc, argv) || check_init(&o))
        return TN_EXIT_USAGE;
    tn_err err;
    if (ca_init(&o, &err) < 0)
        return failed("init", &err);
    report_init(o.dir);
    return TN_EXIT_OK;
}

/* ---- ca issue ---- */

struct issue_args {
    struct ca_issue_opts o;
    struct ca_san sans[MAX_SANS];
    bool has_days;
};

static int issue_time(const char *opt, const char *text, bool *has, time_t *t)
{
    tn_err err;
    if (ca_parse_utc_time(text, t, &err) < 0)
        return usage_error("issue", "%s: %s", opt, err.msg);
    *has = true;
    return 0;
}

static int issue_san(struct issue_args *a, const char *text)
{
    tn_err err;
    if (a->o.nsans == MAX_SANS)
        return usage_error("issue", "more than %d --san options", MAX_SANS);
    if (ca_parse_san(text, &a->sans[a->o.nsans], &err) < 0)
        return usage_error("issue", "%s", err.msg);
    a->o.nsans++;
    return 0;
}

static int issue_option(int c, struct issue_args *a)
{
    struct ca_issue_opts *o = &a->o;
    tn_err err;
    switch (c) {
    case 'd': o->dir = optarg; return 0;
    case 'O': o->out_prefix = optarg; return 0;
    case 'u': o->ou = optarg; return 0;
    case 'c': o->client_only = true; return 0;
    case 's': return issue_san(a, optarg);
    case 'b': return issue_time("--not-before", optarg, &o->has_not_before, &o->not_before);
    case 'a': return issue_time("--not-after", optarg, &o->has_not_after, &o->not_after);
    case 'D':
        a->has_days = true;
        return parse_count("issue", "--days", optarg, CA_DAYS_MAX, &o->days);
    case 'k':
        return ca_key_type_parse(optarg, &o->key, &err) < 0
                   ? usage_error("issue", "%s", err.msg) : 0;
    default:
        return TN_EXIT_USAGE;
    }
}

static int check_issue(struct issue_args *a, int argc, char **argv)
{
    struct ca_issue_opts *o = &a->o;
    tn_err err;
    if (optind >= argc)
        return usage_error("issue", "missing NAME (the certificate's DNS name)");
    if (optind + 1 < argc)
        return usage_error("issue", "unexpected argument '%s' (one NAME only)",
                           argv[optind + 1]);
    o->name = argv[optind];
    if (need("issue", o->dir, "--dir DIR") || need("issue", o->out_prefix, "--out PREFIX"))
        return TN_EXIT_USAGE;
    if (ca_check_dns_name(o->name, &err) < 0)
        return usage_error("issue", "%s", err.msg);
    if (strlen(o->name) > CA_NAME_FIELD_MAX)
        return usage_error("issue", "NAME longer than %d characters cannot be a "
                           "certificate's common name", CA_NAME_FIELD_MAX);
    if (o->ou && ca_check_name_field("--ou", o->ou, CA_NAME_FIELD_MAX, &err) < 0)
        return usage_error("issue", "%s", err.msg);
    if (a->has_days && o->has_not_after)
        return usage_error("issue", "give --days or --not-after, not both");
    o->sans = a->sans;
    return 0;
}

static int run_issue(struct issue_args *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},       {"out", required_argument, NULL, 'O'},
        {"san", required_argument, NULL, 's'},       {"days", required_argument, NULL, 'D'},
        {"not-before", required_argument, NULL, 'b'}, {"not-after", required_argument, NULL, 'a'},
        {"key", required_argument, NULL, 'k'},       {"client", no_argument, NULL, 'c'},
        {"ou", required_argument, NULL, 'u'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    reset_getopt();
    while ((c = next_option("issue", argc, argv, opts)) != -1) {
        if (c == 'h') {
            fputs(issue_help, stdout);
            return TN_EXIT_OK;
        }
        if (c == '?' || issue_option(c, a) != 0)
            return TN_EXIT_USAGE;
    }
    if (check_issue(a, argc, argv) != 0)
        return TN_EXIT_USAGE;
    tn_err err;
    struct ca_issued res;
    if (ca_issue(&a->o, &res, &err) < 0)
        return failed("issue", &err);
    printf("issued %s for %s (%s certificate), serial %s\n"
           "  valid from %s until %s\n"
           "  private key %s (mode 0600)\n",
           res.cert_path, a->o.name, a->o.client_only ? "client" : "server", res.serial,
           res.not_before, res.not_after, res.key_path);
    return TN_EXIT_OK;
}

static int ca_cmd_issue(int argc, char **argv)
{
    struct issue_args *a = calloc(1, sizeof *a); /* the SANs are large */
    if (a == NULL) {
        fputs("trustnet ca issue: out of memory\n", stderr);
        return TN_EXIT_REFUSED;
    }
    a->o.key = CA_KEY_EC_P256;
    a->o.days = 365;
    int rc = run_issue(a, argc, argv);
    free(a);
    return rc;
}

/* ---- ca revoke ---- */

/* Check the arguments of revoke: exactly one SERIAL or CERTFILE, --dir. */
static int check_revoke(const char *dir, const char *reason, int argc, char **argv)
{
    struct stat st;
    if (optind >= argc)
        return usage_error("revoke", "missing SERIAL or CERTFILE");
    if (optind + 1 < argc)
        return usage_error("revoke", "unexpected argument '%s'", argv[optind + 1]);
    if (need("revoke", dir, "--dir DIR"))
        return TN_EXIT_USAGE;
    if (reason && ca_reason_code(reason) < 0)
        return usage_error("revoke", "bad --reason '%s': expected one of %s", reason,
                           CA_REASONS_TEXT);
    if (stat(argv[optind], &st) < 0 && !ca_serial_syntax_ok(argv[optind]))
        return usage_error("revoke", "'%s' is neither a certificate file nor a "
                           "hexadecimal serial", argv[optind]);
    return 0;
}

static int ca_cmd_revoke(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *reason = NULL;
    int c;
    reset_getopt();
    while ((c = next_option("revoke", argc, argv, opts)) != -1) {
        if (c == 'h') {
            fputs(revoke_help, stdout);
            return TN_EXIT_OK;
        }
        if (c != 'd' && c != 'r')
            return TN_EXIT_USAGE;
        *(c == 'd' ? &dir : &reason) = optarg;
    }
    if (check_revoke(dir, reason, argc, argv) != 0)
        return TN_EXIT_USAGE;
    tn_err err;
    char serial[CA_SERIAL_HEX_MAX + 3];
    struct ca_crl_result crl;
    if (ca_revoke(dir, argv[optind], reason, serial, sizeof serial, &crl, &err) < 0)
        return failed("revoke", &err);
    printf("revoked serial %s%s%s\n"
           "%s/crl.pem rewritten: CRL number %s, %zu revoked, next update %s\n",
           serial, reason ? ", reason " : "", reason ? reason : "", dir, crl.number,
           crl.revoked, crl.next_update);
    return TN_EXIT_OK;
}

/* ---- ca crl, ca list ---- */

/* Parse the options of a subcommand whose only option is --dir. */
static int dir_only(const char *sub, const char *help, int argc, char **argv,
                    const char **dir)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    *dir = NULL;
    reset_getopt();
    while ((c = next_option(sub, argc, argv, opts)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c != 'd')
            return TN_EXIT_USAGE;
        *dir = optarg;
    }
    if (no_positional(sub, argc, argv) || need(sub, *dir, "--dir DIR"))
        return TN_EXIT_USAGE;
    return 0;
}

static int ca_cmd_crl(int argc, char **argv)
{
    const char *dir;
    int rc = dir_only("crl", crl_help, argc, argv, &dir);
    if (rc != 0)
        return rc < 0 ? TN_EXIT_OK : rc;
    tn_err err;
    struct ca_crl_result crl;
    if (ca_crl(dir, &crl, &err) < 0)
        return failed("crl", &err);
    printf("%s/crl.pem rewritten: CRL number %s, %zu revoked, next update %s\n", dir,
           crl.number, crl.revoked, crl.next_update);
    return TN_EXIT_OK;
}

static void print_list(const struct ca_list_entry *e, size_t n)
{
    int serial_w = (int)strlen("SERIAL"), name_w = (int)strlen("NAME");
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(e[i].serial) > serial_w)
            serial_w = (int)strlen(e[i].serial);
        if ((int)strlen(e[i].name) > name_w)
            name_w = (int)strlen(e[i].name);
    }
    printf("%-*s  %-*s  %-10s  %s\n", serial_w, "SERIAL", name_w, "NAME", "EXPIRES",
           "STATUS");
    for (size_t i = 0; i < n; i++)
        printf("%-*s  %-*s  %-10s  %s\n", serial_w, e[i].serial, name_w, e[i].name,
               e[i].expires, e[i].status);
    if (n == 0)
        printf("(no certificates issued yet)\n");
}

static int ca_cmd_list(int argc, char **argv)
{
    const char *dir;
    int rc = dir_only("list", list_help, argc, argv, &dir);
    if (rc != 0)
        return rc < 0 ? TN_EXIT_OK : rc;
    tn_err err;
    struct ca_list_entry *entries = NULL;
    size_t n = 0;
    if (ca_list(dir, &entries, &n, &err) < 0)
        return failed("list", &err);
    print_list(entries, n);
    free(entries);
    return TN_EXIT_OK;
}

/* ---- dispatch ---- */

static const struct cli_subcommand subcommands[] = {
    {"init", ca_cmd_init},   {"issue", ca_cmd_issue}, {"revoke", ca_cmd_revoke},
    {"crl", ca_cmd_crl},     {"list", ca_cmd_list},
};

int cmd_ca(int argc, char **argv)
{
    return cli_dispatch("ca", subcommands, sizeof subcommands / sizeof subcommands[0], ca_help,
                        argc, argv);
}
