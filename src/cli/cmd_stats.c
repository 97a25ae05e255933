/* cmd_stats.c - "trustnet stats": print a server's metrics file (written
 * by `trustnet serve` into the topology's metrics_dir, see
 * src/common/metrics.h) and say how old it is. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/commands.h"
#include "topology/topology.h"

/* A file older than this was not rewritten by a running server (it writes
 * every 10 s). */
#define STALE_AFTER_S 30
#define PATH_BUF 4096

static const char help_text[] =
    "NAME\n"
    "    trustnet stats - a server's metrics\n"
    "\n"
    "SYNOPSIS\n"
    "    trustnet stats --topology FILE --server FQDN\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints the metrics of server FQDN in the Prometheus text format:\n"
    "    connections open, TLS handshakes trusted and refused (accepted and\n"
    "    opened by us), connections refused at the limit, SIP requests by\n"
    "    method, replies by class, malformed messages, refused digest\n"
    "    credentials and registered contacts; for a mail server, messages\n"
    "    accepted and refused, recipients delivered, deferred and bounced,\n"
    "    and messages in the queue.\n"
    "\n"
    "    trustnet opens no plaintext port for them: a running server rewrites\n"
    "    metrics_dir/trustnet-FQDN.prom every 10 s and when it stops, where\n"
    "    node_exporter's textfile collector (--collector.textfile.directory)\n"
    "    or any agent can read it.  Set metrics_dir in the topology to turn\n"
    "    it on.  Counters start at 0 when the server starts.\n"
    "\n"
    "OPTIONS\n"
    "    --topology FILE    the topology file\n"
    "    --server FQDN      which server\n"
    "    -h, --help         this help\n"
    "\n"
    "EXIT STATUS\n"
    "    0 printed (a file not rewritten for 30 s is printed with a warning:\n"
    "    the server is not running), 1 no metrics file, 2 bad usage or a\n"
    "    topology that cannot be loaded or has no metrics_dir.\n"
    "\n"
    "EXAMPLE\n"
    "    trustnet stats --topology demo/topology.yaml --server fe1.corp.test\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    char msg[TN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "trustnet stats: %s (see 'trustnet stats --help')\n", msg);
    return TN_EXIT_USAGE;
}

static int metrics_path(const char *topology, const char *server, char *out, size_t len)
{
    struct topology *topo = NULL;
    tn_err err;
    if (topology_load(topology, &topo, NULL, &err) < 0)
        return usage_error("%s (see 'trustnet topology check %s')", err.msg,
                               topology);
    int rc = 0;
    if (topology_find_server(topo, server) == NULL)
        rc = usage_error("%s: no server %s in the topology", topology, server);
    else if (topo->metrics_dir.path == NULL)
        rc = usage_error("%s has no metrics_dir: metrics are not written",
                             topology);
    else if (topology_metrics_file(topo, server, out, len) < 0)
        rc = usage_error("metrics_dir: path too long");
    topology_free(topo);
    return rc;
}

static int print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) < 0) {
        fprintf(stderr, "trustnet stats: %s: %s (has the server run since metrics_dir was set?)\n",
                path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return TN_EXIT_REFUSED;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    long age = (long)(time(NULL) - st.st_mtime);
    if (age > STALE_AFTER_S)
        fprintf(stderr, "trustnet stats: %s was written %ld s ago: the server is not running "
                        "(these are its last counts)\n", path, age);
    return TN_EXIT_OK;
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"topology", required_argument, NULL, 't'},
        {"server", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *topology = NULL, *server = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help_text, stdout);
            return TN_EXIT_OK;
        }
        if (c == 't')
            topology = optarg;
        else if (c == 's')
            server = optarg;
        else
            return usage_error("unknown option");
    }
    if (optind != argc || topology == NULL || server == NULL)
        return usage_error("needs --topology FILE and --server FQDN");
    char path[PATH_BUF];
    int rc = metrics_path(topology, server, path, sizeof path);
    return rc != 0 ? rc : print_file(path);
}
