/* cmd_mail.c - "trustnet mailq" and "trustnet mail flush|delete": the
 * operator's view of a mail server's queue (src/mail/spool.h).
 *
 * mailq only reads.  flush and delete ask a running server (the holder of
 * the spool's lock) through a request in control/, so that the server's
 * queue manager stays the only writer of its queue; when no server runs
 * they take the lock themselves and change the queue directly. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_util.h"
#include "cli/cmd_mail_help.h"
#include "cli/commands.h"
#include "common/str.h"
#include "mail/spool.h"
#include "topology/topology.h"

#define PATH_BUF 4096
#define TIMEOUT_DEFAULT_S 10
#define TIMEOUT_MAX_S 3600
#define RCPT_COLUMN 47 /* where the sender and recipients are printed */

struct mail_opts {
    const char *name;      /* "mailq", "mail flush", "mail delete": messages */
    const char *topology;  /* --topology FILE */
    const char *server;    /* --server FQDN */
    const char *spool;     /* --spool DIR */
    unsigned timeout_s;    /* --timeout SECONDS */
    char **ids;            /* delete: the positional IDs */
    int n_ids;
};

/* ---- messages ---- */

static int usage_error(const struct mail_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct mail_opts *o, const char *fmt, ...)
{
    char msg[TN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "trustnet %s: %s (see 'trustnet %s --help')\n", o->name, msg, o->name);
    return TN_EXIT_USAGE;
}

static int failed(const struct mail_opts *o, const tn_err *err)
{
    fprintf(stderr, "trustnet %s: %s\n", o->name, err->msg);
    return TN_EXIT_REFUSED;
}

/* ---- options ---- */

enum { OPT_TOPOLOGY = 1, OPT_SERVER, OPT_SPOOL, OPT_TIMEOUT };

static int parse_timeout(const struct mail_opts *o, const char *text, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || text[0] == '-' || v < 1 || v > TIMEOUT_MAX_S)
        return usage_error(o, "--timeout wants 1 to %d seconds, not '%s'", TIMEOUT_MAX_S, text);
    *out = (unsigned)v;
    return 0;
}

/* Parse argv into o.  with_ids: positional IDs (at least one) follow; with
 * timeout: --timeout is allowed.  Returns 0, TN_EXIT_USAGE after printing
 * the error, or -1 when --help was printed. */
static int parse_options(int argc, char **argv, struct mail_opts *o, bool with_ids,
                         bool with_timeout, const char *help)
{
    static const struct option all[] = {
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"server", required_argument, NULL, OPT_SERVER},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    o->timeout_s = TIMEOUT_DEFAULT_S;
    optind = 0; /* 0 resets glibc's getopt state completely */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", all, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == ':')
            return usage_error(o, "option %s needs a value", argv[optind - 1]);
        if (c == '?')
            return usage_error(o, "unknown option '%s'", argv[optind - 1]);
        if (strncmp(optarg, "--", 2) == 0)
            return usage_error(o, "option %s needs a value (got '%s')", argv[optind - 2], optarg);
        if (c == OPT_TOPOLOGY)
            o->topology = optarg;
        else if (c == OPT_SERVER)
            o->server = optarg;
        else if (c == OPT_SPOOL)
            o->spool = optarg;
        else if (!with_timeout)
            return usage_error(o, "option --timeout is not for this command");
        else if (parse_timeout(o, optarg, &o->timeout_s) != 0)
            return TN_EXIT_USAGE;
    }
    if (with_ids) {
        if (optind >= argc)
            return usage_error(o, "missing ID (a queue id as 'trustnet mailq' shows it)");
        o->ids = argv + optind;
        o->n_ids = argc - optind;
    } else if (optind < argc) {
        return usage_error(o, "unexpected argument '%s'", argv[optind]);
    }
    return 0;
}

/* The spool directory of the server named in the topology. */
static int spool_from_topology(const struct mail_opts *o, char *out, size_t len, tn_err *err)
{
    struct topology *topo = NULL;
    if (topology_load(o->topology, &topo, NULL, err) < 0) {
        char why[TN_ERR_MAX];
        tn_strlcpy(why, err->msg, sizeof why);
        return tn_errf(err, "%s (see 'trustnet topology check %s')", why, o->topology);
    }
    const struct topo_server *srv = topology_find_server(topo, o->server);
    int rc = 0;
    if (srv == NULL)
        rc = tn_errf(err, "no server %s in %s", o->server, o->topology);
    else if (!(srv->roles & TOPO_ROLE_MAIL) || srv->spool.path == NULL)
        rc = tn_errf(err, "server %s is not a mail server (it has no spool)", o->server);
    else if (tn_strlcpy(out, srv->spool.path, len) < 0)
        rc = tn_errf(err, "spool path too long");
    topology_free(topo);
    return rc;
}

/* The one place that decides which spool a command uses.  0 or the exit
 * status after printing why. */
static int spool_path(const struct mail_opts *o, char *out)
{
    tn_err err;
    if (o->spool != NULL && (o->topology != NULL || o->server != NULL))
        return usage_error(o, "give either --spool DIR or --topology FILE --server FQDN");
    if (o->spool != NULL) {
        if (o->spool[0] == '\0' || tn_strlcpy(out, o->spool, PATH_BUF) < 0)
            return usage_error(o, "bad spool path");
        return 0;
    }
    if (o->topology == NULL || o->server == NULL)
        return usage_error(o, "give --topology FILE --server FQDN, or --spool DIR");
    if (spool_from_topology(o, out, PATH_BUF, &err) < 0)
        return usage_error(o, "%s", err.msg);
    return 0;
}

/* Parse, find and open the spool (without its lock).  NULL with *rc set
 * to the exit status (TN_EXIT_OK after --help). */
static spool *open_spool(int argc, char **argv, struct mail_opts *o, bool with_ids,
                         bool with_timeout, const char *help, int *rc)
{
    char path[PATH_BUF];
    tn_err err;
    *rc = parse_options(argc, argv, o, with_ids, with_timeout, help);
    if (*rc != 0) {
        *rc = *rc < 0 ? TN_EXIT_OK : *rc;
        return NULL;
    }
    for (int i = 0; i < o->n_ids; i++)
        if (!spool_id_valid(o->ids[i])) {
            *rc = usage_error(o, "'%s' is not a queue id (%d characters, as 'trustnet mailq' "
                                 "shows them)", o->ids[i], SPOOL_ID_LEN);
            return NULL;
        }
    if ((*rc = spool_path(o, path)) != 0)
        return NULL;
    spool *s = spool_open(path, false, &err);
    if (s == NULL)
        *rc = failed(o, &err);
    return s;
}

/* ---- mailq ---- */

struct listing {
    time_t now;
    size_t messages;
    uint64_t bytes;
};

static void utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        tn_strlcpy(buf, "-", len);
}

static void print_pending(const struct spool_message *m)
{
    const char *shown = m->state.last_reason;
    for (size_t i = 0; i < m->n_rcpts; i++) {
        const struct spool_rcpt_state *r = &m->state.rcpts[i];
        if (r->status != SPOOL_RCPT_PENDING)
            continue;
        /* Like Postfix, a reason line stands above the recipients it
         * concerns: only print a recipient's own reply when it differs. */
        if (r->reply[0] != '\0' && strcmp(r->reply, shown) != 0) {
            printf("%8s(%s)\n", "", r->reply);
            shown = r->reply;
        }
        printf("%*s%s\n", RCPT_COLUMN, "", m->rcpts[i]);
    }
}

static int print_message(const struct spool_message *m, void *ctx)
{
    struct listing *l = ctx;
    char arrival[32], next[32];
    utc(m->arrival, arrival, sizeof arrival);
    if (m->state.next_attempt <= (int64_t)l->now)
        tn_strlcpy(next, "now", sizeof next);
    else
        utc(m->state.next_attempt, next, sizeof next);
    printf("%-16s %8" PRIu64 " %-20s %s\n", m->id, m->size, arrival,
           m->sender[0] != '\0' ? m->sender : "MAILER-DAEMON");
    printf("%8sattempts: %u, next attempt: %s\n", "", m->state.attempts, next);
    if (m->state.last_reason[0] != '\0')
        printf("%8s(%s)\n", "", m->state.last_reason);
    print_pending(m);
    printf("\n");
    l->messages++;
    l->bytes += m->size;
    return 0;
}

static int cmd_mailq_list(spool *s, const struct mail_opts *o)
{
    struct listing l = {.now = time(NULL)};
    size_t damaged = 0;
    tn_err err;
    printf("%-16s %8s %-20s %s\n", "-Queue ID-------", "--Size--", "----Arrival Time----",
           "-Sender/Recipient-------");
    if (spool_scan(s, print_message, &l, &damaged, &err) < 0)
        return failed(o, &err);
    if (l.messages == 0)
        printf("Mail queue is empty\n");
    else
        printf("-- %" PRIu64 " Kbytes in %zu Request%s.\n", (l.bytes + 1023) / 1024, l.messages,
               l.messages == 1 ? "" : "s");
    if (damaged > 0)
        printf("-- %zu damaged file%s in %s/queue (reported on standard error).\n", damaged,
               damaged == 1 ? "" : "s", spool_dir(s));
    return TN_EXIT_OK;
}

int cmd_mailq(int argc, char **argv)
{
    struct mail_opts o = {.name = "mailq"};
    int rc;
    spool *s = open_spool(argc, argv, &o, false, false, mailq_help, &rc);
    if (s == NULL)
        return rc;
    rc = cmd_mailq_list(s, &o);
    spool_close(s);
    return rc;
}

/* ---- mail flush ---- */

struct flush_ctx {
    spool *s;
    size_t due;
};

/* No server runs: clear each message's next attempt time. */
static int make_due(const struct spool_message *m, void *arg)
{
    struct flush_ctx *ctx = arg;
    struct spool_state st = m->state; /* shares the recipients: only read */
    tn_err err;
    st.next_attempt = 0;
    if (spool_update_state(ctx->s, m->id, &st, &err) < 0)
        fprintf(stderr, "trustnet mail flush: %s\n", err.msg);
    else
        ctx->due++;
    return 0;
}

static int mail_flush(int argc, char **argv)
{
    struct mail_opts o = {.name = "mail flush"};
    int rc;
    spool *s = open_spool(argc, argv, &o, false, true, mail_flush_help, &rc);
    if (s == NULL)
        return rc;
    tn_err err;
    long holder = 0;
    int locked = spool_lock_try(s, &holder, &err);
    if (locked < 0) {
        rc = failed(&o, &err);
    } else if (locked == 0) {
        struct spool_request req = {.kind = SPOOL_REQUEST_FLUSH};
        rc = spool_post_request(s, &req, o.timeout_s * 1000u, &err) == 0 ? TN_EXIT_OK
                                                                         : failed(&o, &err);
        if (rc == TN_EXIT_OK)
            printf("the server (pid %ld) retries every queued message now\n", holder);
    } else {
        struct flush_ctx ctx = {.s = s};
        rc = TN_EXIT_OK;
        if (spool_scan(s, make_due, &ctx, NULL, &err) < 0)
            rc = failed(&o, &err);
        else
            printf("no server runs on %s: %zu message%s due at its next start\n", spool_dir(s),
                   ctx.due, ctx.due == 1 ? "" : "s");
    }
    spool_close(s);
    return rc;
}

/* ---- mail delete ---- */

static bool in_queue(spool *s, const char *id)
{
    struct spool_data d;
    tn_err err;
    int r = spool_open_data(s, id, &d, &err);
    spool_data_close(&d);
    return r != 1;
}

/* Ask the running server to delete id, and wait until it is gone. */
static int delete_by_server(spool *s, const struct mail_opts *o, const char *id)
{
    struct spool_request req = {.kind = SPOOL_REQUEST_DELETE};
    tn_err err;
    tn_strlcpy(req.id, id, sizeof req.id);
    if (spool_post_request(s, &req, o->timeout_s * 1000u, &err) != 0)
        return failed(o, &err);
    for (unsigned waited = 0; waited < o->timeout_s * 1000u; waited += 50) {
        if (!in_queue(s, id)) {
            printf("deleted %s\n", id);
            return TN_EXIT_OK;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("the server took the request for %s: it deletes the message when its current "
           "delivery attempt ends\n", id);
    return TN_EXIT_OK;
}

static int delete_one(spool *s, const struct mail_opts *o, const char *id)
{
    tn_err err;
    if (!spool_locked(s)) {
        if (!in_queue(s, id)) {
            fprintf(stderr, "trustnet %s: no message %s in %s/queue\n", o->name, id, spool_dir(s));
            return TN_EXIT_REFUSED;
        }
        return delete_by_server(s, o, id);
    }
    int r = spool_remove(s, id, &err);
    if (r < 0)
        return failed(o, &err);
    if (r == 1) {
        fprintf(stderr, "trustnet %s: no message %s in %s/queue\n", o->name, id, spool_dir(s));
        return TN_EXIT_REFUSED;
    }
    printf("deleted %s\n", id);
    return TN_EXIT_OK;
}

static int mail_delete(int argc, char **argv)
{
    struct mail_opts o = {.name = "mail delete"};
    int rc;
    spool *s = open_spool(argc, argv, &o, true, true, mail_delete_help, &rc);
    if (s == NULL)
        return rc;
    tn_err err;
    if (spool_lock_try(s, NULL, &err) < 0) {
        rc = failed(&o, &err);
    } else {
        rc = TN_EXIT_OK;
        for (int i = 0; i < o.n_ids; i++)
            if (delete_one(s, &o, o.ids[i]) != TN_EXIT_OK)
                rc = TN_EXIT_REFUSED;
    }
    spool_close(s);
    return rc;
}

static const struct cli_subcommand subcommands[] = {
    {"flush", mail_flush},
    {"delete", mail_delete},
};

int cmd_mail(int argc, char **argv)
{
    return cli_dispatch("mail", subcommands, sizeof subcommands / sizeof subcommands[0], mail_help,
                        argc, argv);
}
