/* smtp_starttls_client.c - client side of STARTTLS (see the header). */
#include "smtp/smtp_starttls_client.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/str.h"

struct reply {
    int code;
    bool offers_starttls;
    char last[SMTP_REPLY_LINE_MAX + 1];
};

static int read_line(int fd, char *line, size_t size, tn_err *err)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r == 0)
            return tn_errf(err, "SMTP server closed the connection");
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return tn_errf(err, "reading SMTP reply: %s", strerror(errno));
        if (c == '\n')
            break;
        if (n + 1 >= size)
            return tn_errf(err, "SMTP reply line longer than %d bytes", SMTP_REPLY_LINE_MAX);
        line[n++] = c;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return 0;
}

/* A reply: lines "NNN-text" ... "NNN text", all with the same code. */
static int read_reply(int fd, struct reply *reply, tn_err *err)
{
    memset(reply, 0, sizeof *reply);
    for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
        char line[SMTP_REPLY_LINE_MAX + 1];
        if (read_line(fd, line, sizeof line, err) < 0)
            return -1;
        if (strlen(line) < 3 || strspn(line, "0123456789") < 3 ||
            (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
            return tn_errf(err, "malformed SMTP reply line: %.80s", line);
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (reply->code != 0 && code != reply->code)
            return tn_errf(err, "SMTP reply changes code mid-reply: %.80s", line);
        reply->code = code;
        if (strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
            (line[12] == '\0' || line[12] == ' '))
            reply->offers_starttls = true;
        tn_strlcpy(reply->last, line, sizeof reply->last);
        if (line[3] != '-')
            return 0;
    }
    return tn_errf(err, "SMTP reply has more than %d lines", SMTP_REPLY_LINES_MAX);
}

static int send_command(int fd, const char *cmd, tn_err *err)
{
    size_t len = strlen(cmd);
    ssize_t w = send(fd, cmd, len, MSG_NOSIGNAL);
    if (w < 0 || (size_t)w != len)
        return tn_errf(err, "sending SMTP command: %s", w < 0 ? strerror(errno) : "short write");
    return 0;
}

static int expect_code(const struct reply *r, int want, const char *step, tn_err *err)
{
    if (r->code != want)
        return tn_errf(err, "SMTP %s refused: %s", step, r->last);
    return 0;
}

int smtp_starttls_client(int fd, const char *helo_name, tn_err *err)
{
    struct reply r;
    char ehlo[300];
    if (tn_snprintf(ehlo, sizeof ehlo, "EHLO %s\r\n", helo_name) < 0)
        return tn_errf(err, "EHLO name too long");
    if (read_reply(fd, &r, err) < 0 || expect_code(&r, 220, "greeting", err) < 0)
        return -1;
    if (send_command(fd, ehlo, err) < 0 || read_reply(fd, &r, err) < 0 ||
        expect_code(&r, 250, "EHLO", err) < 0)
        return -1;
    if (!r.offers_starttls)
        return tn_errf(err, "SMTP server does not offer STARTTLS");
    if (send_command(fd, "STARTTLS\r\n", err) < 0 || read_reply(fd, &r, err) < 0 ||
        expect_code(&r, 220, "STARTTLS", err) < 0)
        return -1;
    char extra;
    if (recv(fd, &extra, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        return tn_errf(err, "SMTP server sent data after its STARTTLS reply before the TLS "
                       "handshake (response injection): connection dropped");
    return 0;
}
