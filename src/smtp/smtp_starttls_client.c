/* smtp_starttls_client.c - client side of STARTTLS (see the header). */
#include "smtp/smtp_starttls_client.h"

#include <stdbool.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/time.h>

#include "common/str.h"
#include "smtp/smtp_io.h"

/* The socket's own I/O timeout (net_connect sets one) bounds each reply. */
static int socket_timeout_ms(int fd)
{
    struct timeval tv;
    socklen_t len = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) < 0 ||
        (tv.tv_sec == 0 && tv.tv_usec == 0))
        return SMTP_STARTTLS_DEFAULT_TIMEOUT_MS;
    return (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

/* Send cmd (one line) and read the reply, which must have code want. */
static int step(struct smtp_io *io, const char *cmd, size_t cmdlen, int want, const char *what,
                struct smtp_reply *r, tn_err *err)
{
    if (cmd != NULL && smtp_io_write(io, cmd, cmdlen, err) < 0)
        return -1;
    if (smtp_io_read_reply(io, r, err) < 0)
        return -1;
    if (r->code != want) {
        char said[SMTP_REPLY_TEXT_MAX + 32];
        smtp_reply_describe(r, said, sizeof said);
        return tn_errf(err, "SMTP %s refused: %s", what, said);
    }
    return 0;
}

int smtp_starttls_client(int fd, const char *helo_name, tn_err *err)
{
    /* The caller owns fd: io is never closed here. */
    struct smtp_io io;
    struct smtp_reply r;
    char ehlo[300];
    smtp_io_init(&io, fd, socket_timeout_ms(fd));
    if (tn_snprintf(ehlo, sizeof ehlo, "EHLO %s\r\n", helo_name) < 0)
        return tn_errf(err, "EHLO name too long");
    if (step(&io, NULL, 0, 220, "greeting", &r, err) < 0 ||
        step(&io, ehlo, strlen(ehlo), 250, "EHLO", &r, err) < 0)
        return -1;
    if (!r.ehlo.starttls)
        return tn_errf(err, "SMTP server does not offer STARTTLS");
    if (step(&io, "STARTTLS\r\n", 10, 220, "STARTTLS", &r, err) < 0)
        return -1;
    if (smtp_io_has_unread(&io))
        return tn_errf(err, "SMTP server sent data after its STARTTLS reply before the TLS "
                       "handshake (response injection): connection dropped");
    return 0;
}
