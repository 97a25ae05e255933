/* smtp_cmd.c - SMTP command lines (see smtp_cmd.h).
 *
 * Three steps, each bounded by the 512-octet line:
 *   1. the line as a whole: length, CRLF ending, printable ASCII;
 *   2. the verb (first word) and its argument;
 *   3. the argument by verb: HELO name, MAIL/RCPT path and parameters,
 *      or none at all.
 */
#include "smtp/smtp_cmd.h"

#include <string.h>

#include "common/str.h"

static const char *const verb_names[] = {
    [SMTP_VERB_UNKNOWN] = "",     [SMTP_VERB_HELO] = "HELO",
    [SMTP_VERB_EHLO] = "EHLO",    [SMTP_VERB_MAIL] = "MAIL",
    [SMTP_VERB_RCPT] = "RCPT",    [SMTP_VERB_DATA] = "DATA",
    [SMTP_VERB_RSET] = "RSET",    [SMTP_VERB_NOOP] = "NOOP",
    [SMTP_VERB_QUIT] = "QUIT",    [SMTP_VERB_VRFY] = "VRFY",
    [SMTP_VERB_HELP] = "HELP",    [SMTP_VERB_STARTTLS] = "STARTTLS",
};
#define VERB_COUNT (sizeof(verb_names) / sizeof(verb_names[0]))

const char *smtp_verb_name(enum smtp_verb verb)
{
    return (size_t)verb < VERB_COUNT ? verb_names[verb] : "";
}

static enum smtp_verb verb_lookup(const char *word, size_t len)
{
    for (size_t k = 1; k < VERB_COUNT; k++)
        if (tn_ascii_caseeq(word, len, verb_names[k], strlen(verb_names[k])))
            return (enum smtp_verb)k;
    return SMTP_VERB_UNKNOWN;
}

/* ------------------------------------------------------ line cutting */

/* Drop octets of a too-long line up to and including its LF. */
static enum smtp_line_result skip_long_line(struct smtp_line_reader *r,
                                            const char *buf, size_t len,
                                            size_t *consumed)
{
    const char *lf = memchr(buf, '\n', len);
    if (!lf) {
        *consumed = len;
        return SMTP_LINE_NEED_MORE;
    }
    *consumed = (size_t)(lf - buf) + 1;
    r->skipping = false;
    return SMTP_LINE_TOO_LONG;
}

enum smtp_line_result smtp_line_next(struct smtp_line_reader *r,
                                     const char *buf, size_t len,
                                     size_t *consumed)
{
    *consumed = 0;
    if (len == 0)
        return SMTP_LINE_NEED_MORE;
    if (r->skipping)
        return skip_long_line(r, buf, len, consumed);
    size_t window = len < SMTP_CMD_LINE_MAX ? len : SMTP_CMD_LINE_MAX;
    const char *lf = memchr(buf, '\n', window);
    if (lf) {
        *consumed = (size_t)(lf - buf) + 1;
        return SMTP_LINE_READY;
    }
    if (len < SMTP_CMD_LINE_MAX)
        return SMTP_LINE_NEED_MORE;
    r->skipping = true; /* 512 octets and no LF: the line is too long */
    return skip_long_line(r, buf, len, consumed);
}

/* --------------------------------------------------- the whole line */

/* Check the line and return the length of its text (CRLF and trailing
 * SPs removed) in *text_len. */
static int check_line(const char *line, size_t len, size_t *text_len,
                      struct smtp_parse_error *err)
{
    if (len > SMTP_CMD_LINE_MAX)
        return smtp_parse_fail(err, SMTP_FAULT_LINE_TOO_LONG, "Line too long");
    if (len == 0 || line[len - 1] != '\n')
        return smtp_parse_fail(err, SMTP_FAULT_SYNTAX,
                               "Command line not terminated by CRLF");
    /* Checked before the octets: a bare LF is the more telling fault. */
    if (len < 2 || line[len - 2] != '\r')
        return smtp_parse_fail(err, SMTP_FAULT_BARE_LF,
                               "Bare LF line ending not allowed, use CRLF");
    size_t n = len - 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            return smtp_parse_fail(err, SMTP_FAULT_SYNTAX,
                                   "Control character in command");
        if (c > 0x7f)
            return smtp_parse_fail(err, SMTP_FAULT_SYNTAX,
                                   "Non-ASCII octet in command");
    }
    while (n > 0 && line[n - 1] == ' ')
        n--;
    if (n == 0)
        return smtp_parse_fail(err, SMTP_FAULT_SYNTAX, "Empty command");
    *text_len = n;
    return 0;
}

/* ------------------------------------------------ MAIL/RCPT parameters */

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool keyword_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (!alnum && !(i > 0 && c == '-'))
            return false;
    }
    return n > 0;
}

/* esmtp-value = 1*(%d33-60 / %d62-126): printable, no SP, no "=". */
static bool value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 33 || s[i] > 126 || s[i] == '=')
            return false;
    return n > 0;
}

struct param {
    const char *kw, *val;
    size_t kw_len, val_len;
    bool has_val;
};

/* SIZE=1*20DIGIT (RFC 1870).  Twenty digits may exceed 2^64-1: that is
 * valid syntax for a message bigger than any limit, hence 552. */
static int apply_size(struct smtp_cmd *cmd, const struct param *p,
                      struct smtp_parse_error *err)
{
    if (cmd->has_size)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                               "Duplicate SIZE parameter");
    if (!p->has_val || p->val_len > 20)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                               "Bad SIZE parameter value");
    uint64_t v = 0;
    for (size_t i = 0; i < p->val_len; i++) {
        char c = p->val[i];
        if (c < '0' || c > '9')
            return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                                   "Bad SIZE parameter value");
        unsigned digit = (unsigned)(c - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return smtp_parse_fail(err, SMTP_FAULT_TOO_BIG,
                                   "Message size exceeds fixed maximum "
                                   "message size");
        v = v * 10 + digit;
    }
    cmd->has_size = true;
    cmd->size = v;
    return 0;
}

/* BODY=7BIT|8BITMIME (RFC 6152).  BINARYMIME and other bodies are known
 * values we do not implement: 555, as RFC 5321 4.1.1.11 asks. */
static int apply_body(struct smtp_cmd *cmd, const struct param *p,
                      struct smtp_parse_error *err)
{
    if (cmd->body != SMTP_BODY_UNSPECIFIED)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                               "Duplicate BODY parameter");
    if (!p->has_val)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                               "Bad BODY parameter value");
    if (tn_ascii_caseeq(p->val, p->val_len, "7BIT", 4))
        cmd->body = SMTP_BODY_7BIT;
    else if (tn_ascii_caseeq(p->val, p->val_len, "8BITMIME", 8))
        cmd->body = SMTP_BODY_8BITMIME;
    else
        return smtp_parse_fail(err, SMTP_FAULT_PARAM_UNSUPPORTED,
                               "Unsupported BODY type");
    return 0;
}

static int apply_param(struct smtp_cmd *cmd, const struct param *p,
                       struct smtp_parse_error *err)
{
    if (cmd->verb == SMTP_VERB_MAIL) {
        if (tn_ascii_caseeq(p->kw, p->kw_len, "SIZE", 4))
            return apply_size(cmd, p, err);
        if (tn_ascii_caseeq(p->kw, p->kw_len, "BODY", 4))
            return apply_body(cmd, p, err);
    }
    char text[SMTP_PARSE_TEXT_MAX];
    (void)tn_snprintf(text, sizeof(text), "Unsupported parameter %.*s",
                      (int)(p->kw_len < 32 ? p->kw_len : 32), p->kw);
    return smtp_parse_fail(err, SMTP_FAULT_PARAM_UNSUPPORTED, text);
}

/* Split one SP-free token into keyword and optional value. */
static int split_param(const char *tok, size_t n, struct param *p,
                       struct smtp_parse_error *err)
{
    const char *eq = memchr(tok, '=', n);
    p->kw = tok;
    p->kw_len = eq ? (size_t)(eq - tok) : n;
    p->has_val = eq != NULL;
    p->val = eq ? eq + 1 : tok + n;
    p->val_len = eq ? n - p->kw_len - 1 : 0;
    if (!keyword_ok(p->kw, p->kw_len) ||
        (p->has_val && !value_ok(p->val, p->val_len)))
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                               "Bad parameter syntax");
    return 0;
}

/* Mail-parameters / Rcpt-parameters: esmtp-param *(SP esmtp-param).
 * Runs of SP between parameters are tolerated (they change nothing). */
static int parse_params(struct smtp_cmd *cmd, const char *s, size_t n,
                        struct smtp_parse_error *err)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i == start)
            break; /* only trailing SPs, already cut: cannot happen */
        struct param p;
        if (split_param(s + start, i - start, &p, err) < 0 ||
            apply_param(cmd, &p, err) < 0)
            return -1;
    }
    return 0;
}

/* -------------------------------------------------------- arguments */

/* MAIL FROM:<path> [SP params] / RCPT TO:<path> [SP params]. */
static int parse_mail_rcpt(struct smtp_cmd *cmd, struct smtp_parse_error *err)
{
    bool mail = cmd->verb == SMTP_VERB_MAIL;
    const char *kw = mail ? "FROM:" : "TO:";
    size_t kw_len = strlen(kw), n = cmd->arg_len, pos = kw_len, used;
    const char *usage = mail ? "Syntax: MAIL FROM:<address>"
                             : "Syntax: RCPT TO:<address>";
    if (n < kw_len || !tn_ascii_caseeq(cmd->arg, kw_len, kw, kw_len))
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT, usage);
    if (pos < n && cmd->arg[pos] == ' ')
        pos++; /* "MAIL FROM: <a@b>": one SP, as Postfix allows */
    if (pos == n)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT, usage);
    if (smtp_path_parse(cmd->arg + pos, n - pos,
                        mail ? SMTP_REVERSE_PATH : SMTP_FORWARD_PATH,
                        &cmd->path, &used, err) < 0)
        return -1;
    pos += used;
    if (pos < n && cmd->arg[pos] != ' ')
        return smtp_parse_fail(err, mail ? SMTP_FAULT_SENDER
                                         : SMTP_FAULT_RECIPIENT,
                               mail ? "Bad sender address syntax: text after >"
                                    : "Bad recipient address syntax: text "
                                      "after >");
    return parse_params(cmd, cmd->arg + pos, n - pos, err);
}

/* HELO/EHLO SP name: one printable token, at most a domain's length. */
static int parse_helo(struct smtp_cmd *cmd, struct smtp_parse_error *err)
{
    const char *usage = cmd->verb == SMTP_VERB_HELO ? "Syntax: HELO hostname"
                                                    : "Syntax: EHLO hostname";
    if (cmd->arg_len == 0 || memchr(cmd->arg, ' ', cmd->arg_len))
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT, usage);
    if (cmd->arg_len > SMTP_DOMAIN_MAX)
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT, "Hostname too long");
    cmd->arg_is_domain = smtp_domain_valid(cmd->arg, cmd->arg_len);
    return 0;
}

static int parse_argument(struct smtp_cmd *cmd, struct smtp_parse_error *err)
{
    char usage[48];
    switch (cmd->verb) {
    case SMTP_VERB_HELO:
    case SMTP_VERB_EHLO:
        return parse_helo(cmd, err);
    case SMTP_VERB_MAIL:
    case SMTP_VERB_RCPT:
        return parse_mail_rcpt(cmd, err);
    case SMTP_VERB_DATA:
    case SMTP_VERB_RSET:
    case SMTP_VERB_QUIT:
    case SMTP_VERB_STARTTLS:
        if (cmd->arg_len == 0)
            return 0;
        (void)tn_snprintf(usage, sizeof(usage), "Syntax: %s (no arguments)",
                          smtp_verb_name(cmd->verb));
        return smtp_parse_fail(err, SMTP_FAULT_ARGUMENT, usage);
    case SMTP_VERB_VRFY:
        return cmd->arg_len ? 0 : smtp_parse_fail(err, SMTP_FAULT_ARGUMENT,
                                                  "Syntax: VRFY address");
    case SMTP_VERB_NOOP:
    case SMTP_VERB_HELP:
    case SMTP_VERB_UNKNOWN:
        return 0;
    }
    return 0;
}

/* Split the text into verb and argument; the verb ends at the first SP,
 * and exactly that one SP separates it from the argument. */
static void split_verb(struct smtp_cmd *cmd, const char *text, size_t n)
{
    const char *sp = memchr(text, ' ', n);
    cmd->word = text;
    cmd->word_len = sp ? (size_t)(sp - text) : n;
    cmd->arg = sp ? sp + 1 : text + n;
    cmd->arg_len = sp ? n - cmd->word_len - 1 : 0;
    cmd->verb = verb_lookup(cmd->word, cmd->word_len);
}

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd,
                   struct smtp_parse_error *err)
{
    size_t n = 0;
    memset(cmd, 0, sizeof(*cmd));
    cmd->word = cmd->arg = "";
    if (check_line(line, len, &n, err) < 0)
        return -1;
    split_verb(cmd, line, n);
    if (parse_argument(cmd, err) == 0)
        return 0;
    /* Keep only what names the refused command: no half-parsed path. */
    struct smtp_cmd refused = { .verb = cmd->verb, .word = cmd->word,
                                .word_len = cmd->word_len, .arg = cmd->arg,
                                .arg_len = cmd->arg_len };
    *cmd = refused;
    return -1;
}
