/*
 * smtp_server.h - the SMTP server side (RFC 5321) of the mail role: one
 * session per connection on the mail role's event-loop workers, with
 * STARTTLS (RFC 3207), PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
 * (RFC 6152) and ENHANCEDSTATUSCODES (RFC 2034).
 *
 *   - Replies to a pipelined group go out in one write.
 *   - STARTTLS: anything the client sent after the command, before the
 *     handshake, is discarded (CVE-2011-0411 class), and the session
 *     starts over after the handshake (a new EHLO is required).
 *   - Who may send what is mail_policy's decision: relay only for our
 *     own mail servers (mutual TLS), inbound connectors (530 5.7.0 /
 *     550 5.7.1) at MAIL FROM.
 *   - A message is answered 250 only once the committer has made it
 *     durable; meanwhile the session reads no further command.
 *   - The Received: header records the TLS version, cipher and the
 *     client certificate and whether it was verified.
 */
#ifndef TN_SMTP_SMTP_SERVER_H
#define TN_SMTP_SMTP_SERVER_H

#include "net/conn.h"

struct mail_server;

/* The connection handler of the mail role's listener (ctx: the server). */
struct conn_handler smtp_server_handler(struct mail_server *ms);

/* Free a session's state when its connection goes (also used at exit). */
void smtp_server_session_free(void *session);

#endif
