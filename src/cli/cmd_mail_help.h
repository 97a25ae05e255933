/*
 * cmd_mail_help.h - the --help texts of trustnet mailq and trustnet mail
 * (kept apart from the option handling in cmd_mail.c).
 */
#ifndef TN_CLI_CMD_MAIL_HELP_H
#define TN_CLI_CMD_MAIL_HELP_H

extern const char mailq_help[];
extern const char mail_help[];
extern const char mail_flush_help[];
extern const char mail_delete_help[];

#endif
