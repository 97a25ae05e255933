/*
 * cmd_ca_help.h - the --help texts of trustnet ca (kept apart from the
 * option handling in cmd_ca.c so that both stay readable).
 */
#ifndef TN_CLI_CMD_CA_HELP_H
#define TN_CLI_CMD_CA_HELP_H

extern const char ca_help[];
extern const char init_help[];
extern const char issue_help[];
extern const char revoke_help[];
extern const char crl_help[];
extern const char list_help[];

#endif
