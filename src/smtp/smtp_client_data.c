/* smtp_client_data.c - the message after "354": read in large chunks,
 * dot-stuffed, written chunk by chunk, ended by CRLF.CRLF. */
#include "smtp/smtp_client_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtp/smtp_dotstuff.h"

/* The session's message buffers, made for its first message. */
static int message_buffers(struct smtp_session *s, const struct smtp_message_source *msg,
                           tn_err *err)
{
    if (s->wire == NULL)
        s->wire = malloc(SMTP_DOTSTUFF_ROOM(SMTP_CLIENT_CHUNK) + SMTP_DOTSTUFF_FINISH_ROOM);
    if (s->chunk == NULL && msg->data == NULL)
        s->chunk = malloc(SMTP_CLIENT_CHUNK);
    if (s->wire == NULL || (s->chunk == NULL && msg->data == NULL))
        return tn_errf(err, "out of memory");
    return 0;
}

static int read_chunk(struct smtp_session *s, const struct smtp_message_source *msg,
                      uint64_t done, size_t take, const char **src, tn_err *err)
{
    if (msg->data != NULL) {
        *src = msg->data + done;
        return 0;
    }
    size_t got = 0;
    while (got < take) {
        ssize_t n = pread(msg->fd, s->chunk + got, take - got,
                          msg->offset + (off_t)done + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return tn_errf(err, "reading the message to send: %s",
                           n < 0 ? strerror(errno) : "file shorter than the message");
        got += (size_t)n;
    }
    *src = s->chunk;
    return 0;
}

int smtp_client_send_message(struct smtp_session *s, const struct smtp_message_source *msg,
                             bool *local_error, tn_err *err)
{
    *local_error = true;
    if (message_buffers(s, msg, err) < 0)
        return -1;
    struct smtp_dotstuff st;
    smtp_dotstuff_init(&st);
    uint64_t done = 0, len = msg->length;
    do {
        size_t take = len - done > SMTP_CLIENT_CHUNK ? SMTP_CLIENT_CHUNK : (size_t)(len - done);
        const char *src = NULL;
        *local_error = true;
        if (read_chunk(s, msg, done, take, &src, err) < 0)
            return -1;
        size_t n = smtp_dotstuff_encode(&st, src, take, s->wire);
        done += take;
        if (done == len)
            n += smtp_dotstuff_finish(&st, s->wire + n);
        *local_error = false;
        if (smtp_io_write(&s->io, s->wire, n, err) < 0)
            return -1;
    } while (done < len);
    return 0;
}
