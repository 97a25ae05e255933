/* main.c - the trustnet binary: dispatch to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const char usage_text[] =
    "NAME\n"
    "    trustnet - a network of trusted SIP and mail servers\n"
    "\n"
    "SYNOPSIS\n"
    "    trustnet COMMAND [ARGS...]\n"
    "    trustnet COMMAND --help\n"
    "\n"
    "DESCRIPTION\n"
    "    trustnet runs an organisation's SIP and mail servers as a network in\n"
    "    which every connection is TLS 1.2+ with forward secrecy and every\n"
    "    endpoint is authenticated by its certificate.\n"
    "\n"
    "COMMANDS\n"
    "    ca init|issue|revoke|crl|list\n"
    "             run the enterprise certificate authority\n"
    "    cert info FILE\n"
    "             show a certificate's facts: what a partner needs to set up\n"
    "             forced TLS with us\n"
    "    check HOST:PORT\n"
    "             judge an endpoint's TLS and certificate exactly as trustnet\n"
    "             servers do, and print the verdict with its reason\n"
    "    check --revocation CERTFILE\n"
    "             check that a certificate's CRL endpoints are usable\n"
    "    user add|passwd|del|list --store FILE\n"
    "             manage the SIP users who authenticate with digest\n"
    "    topology check|show FILE\n"
    "             validate the topology file (every error with its line) and\n"
    "             show what it defines\n"
    "    serve --topology FILE --server FQDN\n"
    "             run one server of the topology (SIP front end over TLS)\n"
    "    mailq --topology FILE --server FQDN\n"
    "             list the messages in a mail server's queue\n"
    "    mail flush|delete --topology FILE --server FQDN\n"
    "             retry the queue now, or delete messages from it\n"
    "    stats --topology FILE --server FQDN\n"
    "             a server's metrics (Prometheus text format)\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success or trusted, 1 refused or failed, 2 bad usage or cannot\n"
    "    connect.\n"
    "\n"
    "SEE ALSO\n"
    "    README.md, docs/trust-model.md\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"ca", cmd_ca},
    {"cert", cmd_cert},
    {"check", cmd_check},
    {"user", cmd_user},
    {"topology", cmd_topology},
    {"serve", cmd_serve},
    {"mailq", cmd_mailq},
    {"mail", cmd_mail},
    {"stats", cmd_stats},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return TN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return TN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trustnet: unknown command '%s' (see trustnet --help)\n", argv[1]);
    return TN_EXIT_USAGE;
}
