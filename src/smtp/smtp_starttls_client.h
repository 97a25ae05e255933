/*
 * smtp_starttls_client.h - the client half of STARTTLS (RFC 3207) on a
 * connected socket: greeting, EHLO, STARTTLS, "220", and nothing more.
 * For "trustnet check --starttls smtp"; deliveries use smtp_client.h.
 *
 * Replies are read through smtp_io (the one SMTP reply reader): a server
 * that sends anything after its "220 Ready to start TLS" line before our
 * handshake (response injection, CVE-2011-0411 class) is refused, whether
 * those bytes came with the 220 or after it.
 */
#ifndef TN_SMTP_STARTTLS_CLIENT_H
#define TN_SMTP_STARTTLS_CLIENT_H

#include "common/err.h"
#include "smtp/smtp_reply.h"

/* Without an I/O timeout on the socket (SO_RCVTIMEO), each reply must
 * arrive within this. */
#define SMTP_STARTTLS_DEFAULT_TIMEOUT_MS 30000

/* Run the plaintext part up to the TLS handshake.  helo_name is our EHLO
 * name.  Each reply must arrive within the socket's receive timeout.
 * Returns 0 when the caller may start the TLS handshake. */
int smtp_starttls_client(int fd, const char *helo_name, tn_err *err);

#endif
