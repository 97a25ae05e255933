/*
 * cli_util.h - what every trustnet command shares: one-line usage errors,
 * failure messages, and dispatch to subcommands ("trustnet ca issue ...").
 */
#ifndef TN_CLI_CLI_UTIL_H
#define TN_CLI_CLI_UTIL_H

#include <stddef.h>

#include "common/err.h"

struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/* "trustnet CMD SUB: message (see 'trustnet CMD SUB --help')" on stderr;
 * returns TN_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "trustnet CMD SUB: reason" on stderr; returns TN_EXIT_REFUSED. */
int cli_failed(const char *cmd, const char *sub, const tn_err *err);

/* Run the subcommand named by argv[1]: --help prints help; a missing or
 * unknown one is a usage error listing the known ones. */
int cli_dispatch(const char *cmd, const struct cli_subcommand *subs, size_t n,
                 const char *help, int argc, char **argv);

#endif
