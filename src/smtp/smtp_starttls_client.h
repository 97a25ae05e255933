/*
 * smtp_starttls_client.h - the client half of STARTTLS (RFC 3207) on a
 * blocking socket: greeting, EHLO, STARTTLS, "220", and nothing more.
 *
 * Reads byte by byte so that no byte after the "220 Ready to start TLS"
 * line is consumed as plaintext; a server that sends anything after that
 * line (response injection, CVE-2011-0411 class) is refused.
 */
#ifndef TN_SMTP_STARTTLS_CLIENT_H
#define TN_SMTP_STARTTLS_CLIENT_H

#include "common/err.h"

#define SMTP_REPLY_LINE_MAX 512 /* RFC 5321 4.5.3.1.5 */
#define SMTP_REPLY_LINES_MAX 64

/* Run the plaintext part up to the TLS handshake.  helo_name is our EHLO
 * name.  Returns 0 when the caller may start the TLS handshake. */
int smtp_starttls_client(int fd, const char *helo_name, tn_err *err);

#endif
