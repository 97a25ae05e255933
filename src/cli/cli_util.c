/* cli_util.c - shared command-line plumbing (see cli_util.h). */
#include "cli/cli_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/str.h"

int cli_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
{
    char msg[TN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "trustnet %s %s: %s (see 'trustnet %s %s --help')\n", cmd, sub, msg, cmd,
            sub);
    return TN_EXIT_USAGE;
}

int cli_failed(const char *cmd, const char *sub, const tn_err *err)
{
    fprintf(stderr, "trustnet %s %s: %s\n", cmd, sub, err->msg);
    return TN_EXIT_REFUSED;
}

static void list_names(const struct cli_subcommand *subs, size_t n, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        tn_appendf(buf, len, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", subs[i].name);
}

int cli_dispatch(const char *cmd, const struct cli_subcommand *subs, size_t n,
                 const char *help, int argc, char **argv)
{
    char names[256];
    list_names(subs, n, names, sizeof names);
    if (argc < 2) {
        fprintf(stderr, "trustnet %s: missing subcommand: %s (see 'trustnet %s --help')\n", cmd,
                names, cmd);
        return TN_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(help, stdout);
        return TN_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trustnet %s: unknown subcommand '%s': expected %s (see 'trustnet %s --help')\n",
            cmd, sub, names, cmd);
    return TN_EXIT_USAGE;
}
