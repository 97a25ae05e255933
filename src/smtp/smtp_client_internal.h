/*
 * smtp_client_internal.h - the session state shared by the files of the
 * SMTP delivery client (smtp_client.c opens and closes, smtp_client_send.c
 * runs transactions).  Not for other modules: see smtp_client.h.
 */
#ifndef TN_SMTP_CLIENT_INTERNAL_H
#define TN_SMTP_CLIENT_INTERNAL_H

#include "smtp/smtp_client.h"
#include "smtp/smtp_io.h"

/* The message is read and written in chunks of this many bytes. */
#define SMTP_CLIENT_CHUNK (64 * 1024)

struct smtp_session {
    struct smtp_io io;
    enum smtp_tls_policy policy;
    struct smtp_ehlo_ext ext;        /* from the last EHLO (none after HELO) */
    bool tls;                        /* STARTTLS done */
    bool trusted;                    /* and the peer verified */
    bool broken;                     /* I/O or protocol failure: not reusable */
    unsigned transactions;           /* begun so far: RSET before the next */
    struct smtp_delivery_log facts;  /* hop, policy and TLS part of the log */
    char *chunk;                     /* SMTP_CLIENT_CHUNK bytes read from fd */
    char *wire;                      /* the chunk dot-stuffed */
};

/* "host[addr]" for reasons. */
void smtp_session_peer_text(const struct smtp_session *s, char *buf, size_t len);

/* Send the message after "354", ended by CRLF.CRLF (smtp_client_data.c).
 * The end marker is never sent after a message that could not be read
 * whole: the caller drops the session and the server the partial message.
 * *local_error tells our failures (reading the message, memory) from the
 * connection's. */
int smtp_client_send_message(struct smtp_session *s, const struct smtp_message_source *msg,
                             bool *local_error, tn_err *err);

#endif
