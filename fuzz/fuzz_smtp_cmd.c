/*
 * fuzz_smtp_cmd.c - libFuzzer target for SMTP command lines.
 *
 * The input is what a client sends before DATA: it is cut into lines by
 * smtp_line_next, each line is parsed, and the whole input is also given
 * to the parser and the path parser as one line, so they see what the
 * reader would never hand them.  Invariants that abort:
 *   - a line the reader hands out ends at its first LF, within 512 octets;
 *   - an accepted line is at most 512 octets, ends in CRLF and holds
 *     only printable ASCII;
 *   - an accepted path is bounded, its domain lowercase and valid, and
 *     written back as "<addr>" it parses to the same address (what the
 *     queue stores can be sent on as it is);
 *   - a refusal carries a known reply code and a printable text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "smtp/smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const struct smtp_parse_error *e)
{
    char reply[SMTP_PARSE_REPLY_MAX];
    static const int codes[] = { 451, 500, 501, 550, 552, 555 };
    bool known = false;
    for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
        known |= e->code == codes[k];
    if (!known || e->fault == SMTP_FAULT_NONE || e->enhanced[0] == '\0' ||
        smtp_parse_error_reply(e, reply, sizeof(reply)) < 0)
        abort();
    for (const char *c = e->text; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            abort();
}

static bool lowercase(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return false;
    return true;
}

/* Write the accepted path back as "<addr>" and parse it again. */
static void round_trip(const struct smtp_cmd *cmd)
{
    const struct smtp_path *p = &cmd->path;
    char line[SMTP_CMD_LINE_MAX + 1];
    struct smtp_cmd again;
    struct smtp_parse_error e;
    bool mail = cmd->verb == SMTP_VERB_MAIL;
    int n = snprintf(line, sizeof(line), "%s<%s>\r\n",
                     mail ? "MAIL FROM:" : "RCPT TO:", p->addr);
    if (n < 0 || (size_t)n >= sizeof(line) ||
        smtp_cmd_parse(line, (size_t)n, &again, &e) < 0 ||
        again.path.kind != p->kind ||
        strcmp(again.path.addr, p->addr) != 0 ||
        strcmp(again.path.domain, p->domain) != 0 ||
        again.path.domain_is_literal != p->domain_is_literal)
        abort();
}

static void check_path(const struct smtp_cmd *cmd)
{
    const struct smtp_path *p = &cmd->path;
    size_t alen = strnlen(p->addr, sizeof(p->addr));
    size_t dlen = strnlen(p->domain, sizeof(p->domain));
    if (alen > SMTP_ADDR_MAX || dlen > SMTP_DOMAIN_MAX || !lowercase(p->domain))
        abort();
    if (p->kind == SMTP_PATH_MAILBOX &&
        (!smtp_domain_valid(p->domain, dlen) || alen < dlen + 2 ||
         p->addr[alen - dlen - 1] != '@' ||
         !tn_ascii_caseeq(p->addr + alen - dlen, dlen, p->domain, dlen)))
        abort();
    if (p->kind != SMTP_PATH_MAILBOX && dlen != 0)
        abort();
    if ((p->kind == SMTP_PATH_NULL) != (cmd->verb == SMTP_VERB_MAIL &&
                                        alen == 0))
        abort();
    round_trip(cmd);
}

static void check_line(const char *line, size_t len)
{
    struct smtp_cmd cmd;
    struct smtp_parse_error e;
    if (smtp_cmd_parse(line, len, &cmd, &e) < 0) {
        check_refusal(&e);
        if (cmd.path.addr[0] != '\0' || cmd.has_size)
            abort(); /* a refused command leaves nothing half-parsed */
        return;
    }
    if (len > SMTP_CMD_LINE_MAX || len < 3 || line[len - 2] != '\r' ||
        line[len - 1] != '\n')
        abort();
    for (size_t i = 0; i + 2 < len; i++)
        if (line[i] < 0x20 || line[i] > 0x7e)
            abort();
    if (cmd.arg_is_domain && !smtp_domain_valid(cmd.arg, cmd.arg_len))
        abort();
    if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT)
        check_path(&cmd);
}

/* The path parser alone, on raw input, in both roles. */
static void check_raw_path(const char *s, size_t n)
{
    struct smtp_path p;
    struct smtp_parse_error e;
    size_t used;
    for (int role = SMTP_REVERSE_PATH; role <= SMTP_FORWARD_PATH; role++) {
        if (smtp_path_parse(s, n, (enum smtp_path_role)role, &p, &used,
                            &e) < 0) {
            check_refusal(&e);
            continue;
        }
        if (used < 2 || used > n || used > SMTP_PATH_MAX || s[0] != '<' ||
            s[used - 1] != '>')
            abort();
    }
    (void)smtp_domain_valid(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct smtp_line_reader r = { false };
    size_t off = 0;
    while (off < size) {
        size_t used;
        enum smtp_line_result res = smtp_line_next(&r, buf + off, size - off,
                                                   &used);
        if (used > size - off)
            abort();
        if (res == SMTP_LINE_READY) {
            const char *lf = memchr(buf + off, '\n', used);
            if (used > SMTP_CMD_LINE_MAX || lf != buf + off + used - 1)
                abort();
            check_line(buf + off, used);
        }
        if (used == 0)
            break; /* an incomplete last line */
        off += used;
    }
    check_line(buf, size);
    check_raw_path(buf, size);
    return 0;
}
