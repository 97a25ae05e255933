/*
 * cmd_user_help.h - the --help texts of trustnet user and its subcommands
 * (kept apart from the option handling in cmd_user.c).
 */
#ifndef TN_CLI_CMD_USER_HELP_H
#define TN_CLI_CMD_USER_HELP_H

extern const char user_help[];
extern const char user_add_help[];
extern const char user_passwd_help[];
extern const char user_del_help[];
extern const char user_list_help[];

#endif
