/*
 * fuzz_smtp_reply.c - libFuzzer target for SMTP replies as a hostile
 * server sends them: the parser (src/smtp/smtp_reply.c) fed line by line,
 * and the client's reader (src/smtp/smtp_io.c) reading the same bytes from
 * a socket.  Invariants that abort:
 *   - a complete reply has a code 200..559, at most 64 lines, a printable
 *     NUL-terminated text and an enhanced code of its own class or none;
 *   - the reader completes exactly the replies the line-by-line parser
 *     completes, with the same codes and texts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp/smtp_io.h"
#include "smtp/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REPLIES 256
#define REPLY_INPUT_MAX (64 * 1024) /* fits a socketpair's buffer: no writer thread */

struct seen {
    int code;
    char text[SMTP_REPLY_TEXT_MAX];
};

static void check_reply(const struct smtp_reply *r)
{
    if (r->code < 200 || r->code > 559 || r->n_lines == 0 || r->n_lines > SMTP_REPLY_LINES_MAX)
        abort();
    size_t len = strnlen(r->text, sizeof r->text);
    if (len == sizeof r->text)
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)r->text[i] < 0x20 || (unsigned char)r->text[i] > 0x7e)
            abort();
    if (r->enhanced[0] != '\0' && r->enhanced[0] != '0' + r->code / 100)
        abort();
}

/* Cut at LF and feed; a reply that fails is dropped, the next begins. */
static size_t parse_lines(const char *buf, size_t size, struct seen *out)
{
    struct smtp_reply r;
    size_t n = 0, off = 0;
    tn_err err;
    smtp_reply_init(&r);
    while (off < size && n < MAX_REPLIES) {
        const char *lf = memchr(buf + off, '\n', size - off);
        size_t len = lf ? (size_t)(lf - (buf + off)) + 1 : size - off;
        enum smtp_reply_step step = smtp_reply_feed(&r, buf + off, len, &err);
        off += len;
        if (step == SMTP_REPLY_ERROR)
            break; /* the reader ends the session here too */
        if (step == SMTP_REPLY_DONE) {
            check_reply(&r);
            out[n].code = r.code;
            memcpy(out[n].text, r.text, sizeof r.text);
            n++;
            smtp_reply_init(&r);
        }
    }
    return n;
}

static size_t read_socket(const char *buf, size_t size, struct seen *out)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    if (size > 0 && write(sv[1], buf, size) != (ssize_t)size)
        abort();
    shutdown(sv[1], SHUT_WR);
    static struct smtp_io io;
    smtp_io_init(&io, sv[0], 1000);
    size_t n = 0;
    struct smtp_reply r;
    tn_err err;
    while (n < MAX_REPLIES && smtp_io_read_reply(&io, &r, &err) == 0) {
        check_reply(&r);
        out[n].code = r.code;
        memcpy(out[n].text, r.text, sizeof r.text);
        n++;
    }
    smtp_io_close(&io);
    close(sv[1]);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct seen by_lines[MAX_REPLIES], by_reader[MAX_REPLIES];
    if (size > REPLY_INPUT_MAX)
        return 0;
    size_t a = parse_lines((const char *)data, size, by_lines);
    size_t b = read_socket((const char *)data, size, by_reader);
    /* The reader refuses a partial line of 512 bytes before its LF comes:
     * the parser refuses the same line when fed; equal counts either way. */
    if (a != b)
        abort();
    for (size_t i = 0; i < a; i++)
        if (by_lines[i].code != by_reader[i].code ||
            strcmp(by_lines[i].text, by_reader[i].text) != 0)
            abort();
    return 0;
}
