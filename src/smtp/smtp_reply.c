/* smtp_reply.c - strict parser for SMTP replies (see smtp_reply.h). */
#include "smtp/smtp_reply.h"

#include <string.h>

#include "common/str.h"

void smtp_reply_init(struct smtp_reply *r)
{
    memset(r, 0, sizeof *r);
}

int smtp_reply_class(const struct smtp_reply *r)
{
    return r->code / 100;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39. */
static int parse_code(const char *p)
{
    if (p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '5' || !is_digit(p[2]))
        return -1;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* Only CRLF at the very end; textstring is HT and printable bytes (RFC
 * 5321 4.2), and we let 8-bit bytes through for SMTPUTF8 servers.  A bare
 * CR, LF or NUL inside a line could smuggle a second line past a reader,
 * so it makes the reply malformed. */
static int check_line_bytes(const char *line, size_t len, tn_err *err)
{
    if (len < 5)
        return tn_errf(err, "SMTP reply line too short (%zu octets)", len);
    if (len > SMTP_REPLY_LINE_MAX)
        return tn_errf(err, "SMTP reply line longer than %d octets", SMTP_REPLY_LINE_MAX);
    if (line[len - 2] != '\r' || line[len - 1] != '\n')
        return tn_errf(err, "SMTP reply line not ended by CRLF");
    for (size_t i = 0; i < len - 2; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return tn_errf(err, "SMTP reply line holds control character 0x%02x", c);
    }
    return 0;
}

/* "c.sss.ddd" (RFC 3463 2: subject and detail 1-3 digits) followed by SP
 * or the end; returns its length, or 0. */
static size_t enhanced_length(const char *t, size_t len, int reply_class)
{
    if (len < 5 || t[0] != '0' + reply_class || (reply_class != 2 && reply_class != 4 &&
                                                 reply_class != 5) || t[1] != '.')
        return 0;
    size_t i = 2;
    for (int part = 0; part < 2; part++) {
        size_t start = i;
        while (i < len && is_digit(t[i]) && i - start < 4)
            i++;
        if (i == start || i - start > 3)
            return 0;
        if (part == 0 && (i >= len || t[i++] != '.'))
            return 0;
    }
    return (i == len || t[i] == ' ') ? i : 0;
}

static void append_text(struct smtp_reply *r, const char *t, size_t len)
{
    size_t used = strlen(r->text);
    if (used > 0 && len > 0 && used + 1 < sizeof r->text)
        r->text[used++] = ' ';
    for (size_t i = 0; i < len; i++) {
        if (used + 1 >= sizeof r->text) {
            r->text_truncated = true;
            break;
        }
        unsigned char c = (unsigned char)t[i];
        r->text[used++] = c == '\t' ? ' ' : (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    r->text[used] = '\0';
}

/* SIZE's parameter: 1*20DIGIT.  A limit we cannot represent is no limit
 * that any message of ours could reach: treated as none. */
static uint64_t parse_size(const char *p, size_t len)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return 0;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

static bool keyword_is(const char *t, size_t klen, const char *name)
{
    return tn_ascii_caseeq(t, klen, name, strlen(name));
}

/* ehlo-line = ehlo-keyword *( SP ehlo-param ) */
static void note_ehlo_keyword(struct smtp_ehlo_ext *e, const char *t, size_t len)
{
    size_t klen = 0;
    while (klen < len && t[klen] != ' ')
        klen++;
    const char *param = klen < len ? t + klen + 1 : t + len;
    size_t plen = klen < len ? len - klen - 1 : 0;
    if (keyword_is(t, klen, "STARTTLS")) {
        e->starttls = true;
    } else if (keyword_is(t, klen, "PIPELINING")) {
        e->pipelining = true;
    } else if (keyword_is(t, klen, "8BITMIME")) {
        e->eightbitmime = true;
    } else if (keyword_is(t, klen, "ENHANCEDSTATUSCODES")) {
        e->enhancedstatuscodes = true;
    } else if (keyword_is(t, klen, "SMTPUTF8")) {
        e->smtputf8 = true;
    } else if (keyword_is(t, klen, "SIZE")) {
        e->size = true;
        e->size_max = parse_size(param, plen);
    }
}

enum smtp_reply_step smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len,
                                     tn_err *err)
{
    if (r->done)
        return tn_errf(err, "SMTP reply line after the end of the reply");
    if (r->n_lines >= SMTP_REPLY_LINES_MAX)
        return tn_errf(err, "SMTP reply has more than %d lines", SMTP_REPLY_LINES_MAX);
    if (check_line_bytes(line, len, err) < 0)
        return SMTP_REPLY_ERROR;
    int code = parse_code(line);
    if (code < 0)
        return tn_errf(err, "SMTP reply line does not start with a reply code");
    char sep = len == 5 ? ' ' : line[3]; /* "250\r\n": a last line without text */
    if (sep != ' ' && sep != '-')
        return tn_errf(err, "SMTP reply code %d not followed by space or '-'", code);
    if (r->code != 0 && code != r->code)
        return tn_errf(err, "SMTP reply changes its code from %d to %d", r->code, code);
    r->code = code;
    const char *t = len == 5 ? line + 3 : line + 4;
    size_t tlen = len == 5 ? 0 : len - 6;
    size_t elen = enhanced_length(t, tlen, code / 100);
    if (elen > 0) {
        /* elen <= 9 ("5.123.456"): it fits.  The first line's code counts. */
        if (r->enhanced[0] == '\0') {
            memcpy(r->enhanced, t, elen);
            r->enhanced[elen] = '\0';
        }
        size_t skip = elen < tlen ? elen + 1 : elen; /* and its SP */
        t += skip;
        tlen -= skip;
    }
    if (r->n_lines > 0)
        note_ehlo_keyword(&r->ehlo, t, tlen);
    append_text(r, t, tlen);
    r->n_lines++;
    if (sep == '-')
        return SMTP_REPLY_MORE;
    r->done = true;
    return SMTP_REPLY_DONE;
}

void smtp_reply_describe(const struct smtp_reply *r, char *buf, size_t len)
{
    tn_snprintf(buf, len, "%d%s%s%s%s%s", r->code, r->enhanced[0] ? " " : "", r->enhanced,
                r->text[0] ? " " : "", r->text, r->text_truncated ? "..." : "");
}
