/* main.c - the trustnet binary: dispatch to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const char usage_text[] =
    "usage: trustnet COMMAND [ARGS...]\n"
    "\n"
    "trustnet runs an organisation's SIP and mail servers as a network in\n"
    "which every connection is TLS 1.2+ with forward secrecy and every\n"
    "endpoint is authenticated by its certificate.\n"
    "\n"
    "Commands:\n"
    "  ca       run the enterprise certificate authority: init, issue,\n"
    "           revoke, crl, list\n"
    "  cert     show the facts of a certificate file (cert info FILE): what a\n"
    "           partner needs to set up forced TLS with us\n"
    "  check    connect to HOST:PORT, judge its TLS and certificate exactly as\n"
    "           trustnet servers do, and print the verdict with its reason;\n"
    "           or check a certificate's CRL endpoints (--revocation)\n"
    "\n"
    "Run 'trustnet COMMAND --help' for the options of one command.\n"
    "\n"
    "Exit status: 0 success or trusted, 1 refused or failed, 2 bad usage or\n"
    "cannot connect.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"ca", cmd_ca},
    {"cert", cmd_cert},
    {"check", cmd_check},
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
    fprintf(stderr, "trustnet: unknown command '%s'\n\n%s", argv[1], usage_text);
    return TN_EXIT_USAGE;
}
