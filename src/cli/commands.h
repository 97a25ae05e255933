/*
 * commands.h - the subcommands of the trustnet binary.
 *
 * Each returns the process exit status: 0 success (or "trusted"),
 * 1 refused / operation failed, 2 bad usage or cannot run.
 */
#ifndef TN_CLI_COMMANDS_H
#define TN_CLI_COMMANDS_H

#define TN_EXIT_OK 0
#define TN_EXIT_REFUSED 1
#define TN_EXIT_USAGE 2

int cmd_ca(int argc, char **argv);    /* src/cli/cmd_ca.c    */
int cmd_cert(int argc, char **argv);  /* src/cli/cmd_cert.c  */
int cmd_check(int argc, char **argv); /* src/cli/cmd_check.c */
int cmd_user(int argc, char **argv);  /* src/cli/cmd_user.c  */
int cmd_topology(int argc, char **argv); /* src/cli/cmd_topology.c */
int cmd_serve(int argc, char **argv); /* src/cli/cmd_serve.c */
int cmd_mailq(int argc, char **argv); /* src/cli/cmd_mail.c  */
int cmd_mail(int argc, char **argv);  /* src/cli/cmd_mail.c  */
int cmd_stats(int argc, char **argv); /* src/cli/cmd_stats.c */

#endif
