/* smtp_path.c - RFC 5321 paths (see smtp_path.h).
 *
 * A recursive-descent scanner over a cursor: each scan_* function either
 * advances the cursor over exactly what its grammar rule accepts, or
 * fails with a short reason.  Nothing reads past len and nothing is
 * copied until the whole path has been accepted.
 */
#include "smtp/smtp_path.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/str.h"

struct cursor {
    const char *p;
    size_t len;
    size_t pos;
    const char *why;    /* reason of the first failure */
};

static int bad(struct cursor *c, const char *why)
{
    c->why = why;
    return -1;
}

static bool at(const struct cursor *c, char ch)
{
    return c->pos < c->len && c->p[c->pos] == ch;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* RFC 5322 atext: what a dot-string local part is made of. */
static bool is_atext(char ch)
{
    return is_alpha(ch) || is_digit(ch) ||
           (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

static bool is_ldh(char ch)
{
    return is_alpha(ch) || is_digit(ch) || ch == '-';
}

/* ------------------------------------------------------------- domains */

/* sub-domain = Let-dig [Ldh-str]: no hyphen at either end, 1-63 octets. */
static int scan_label(struct cursor *c)
{
    size_t start = c->pos;
    while (c->pos < c->len && is_ldh(c->p[c->pos]))
        c->pos++;
    if (c->pos == start)
        return bad(c, "bad domain");
    if (c->p[start] == '-' || c->p[c->pos - 1] == '-')
        return bad(c, "domain label starts or ends with a hyphen");
    if (c->pos - start > SMTP_LABEL_MAX)
        return bad(c, "domain label longer than 63 octets");
    return 0;
}

/* Domain = sub-domain *("." sub-domain); a trailing dot is not allowed. */
static int scan_domain(struct cursor *c)
{
    size_t start = c->pos;
    for (;;) {
        if (scan_label(c) < 0)
            return -1;
        if (!at(c, '.'))
            break;
        c->pos++;
    }
    if (c->pos - start > SMTP_DOMAIN_MAX)
        return bad(c, "domain longer than 255 octets");
    return 0;
}

/* IPv4-address-literal = Snum 3("." Snum), Snum 1-3 digits <= 255. */
static bool ipv4_literal_ok(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        unsigned v = 0;
        size_t digits = 0;
        while (i < n && is_digit(s[i]) && digits < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || v > 255)
            return false;
    }
    return i == n;
}

/* "IPv6:" IPv6-addr.  inet_pton implements RFC 4291 text form, which is
 * what RFC 5321's IPv6-addr grammar spells out (zone ids excluded). */
static bool ipv6_literal_ok(const char *s, size_t n)
{
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr a;
    const size_t tag = 5; /* "IPv6:" */
    if (n <= tag || !tn_ascii_caseeq(s, tag, "IPv6:", tag) ||
        n - tag >= sizeof(buf))
        return false;
    for (size_t i = tag; i < n; i++)
        if (!(is_digit(s[i]) || strchr("abcdefABCDEF:.", s[i])))
            return false; /* also stops a NUL reaching inet_pton */
    memcpy(buf, s + tag, n - tag);
    buf[n - tag] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]".  General address
 * literals ("[tag:content]") are syntax we do not route to: refused. */
static int scan_address_literal(struct cursor *c)
{
    size_t start = c->pos + 1; /* after "[" */
    const char *close = start < c->len ? memchr(c->p + start, ']',
                                                c->len - start) : NULL;
    if (!close)
        return bad(c, "unterminated address literal");
    size_t n = (size_t)(close - (c->p + start));
    if (n + 2 > SMTP_DOMAIN_MAX ||
        !(ipv4_literal_ok(c->p + start, n) ||
          ipv6_literal_ok(c->p + start, n)))
        return bad(c, "bad address literal");
    c->pos = start + n + 1;
    return 0;
}

static int scan_domain_or_literal(struct cursor *c, bool *literal)
{
    *literal = at(c, '[');
    return *literal ? scan_address_literal(c) : scan_domain(c);
}

bool smtp_domain_valid(const char *s, size_t len)
{
    struct cursor c = { s, len, 0, NULL };
    bool literal;
    return len > 0 && scan_domain_or_literal(&c, &literal) == 0 &&
           c.pos == len;
}

/* ---------------------------------------------------------- local part */

/* Dot-string = Atom *("." Atom): no leading, trailing or double dot. */
static int scan_dot_string(struct cursor *c)
{
    for (;;) {
        size_t start = c->pos;
        while (c->pos < c->len && is_atext(c->p[c->pos]))
            c->pos++;
        if (c->pos == start)
            return bad(c, "bad local part");
        if (!at(c, '.'))
            return 0;
        c->pos++;
    }
}

/* Quoted-string = DQUOTE *(qtextSMTP / "\" %d32-126) DQUOTE, where
 * qtextSMTP is printable ASCII and SP except DQUOTE and backslash. */
static int scan_quoted_string(struct cursor *c)
{
    c->pos++; /* opening quote */
    while (c->pos < c->len) {
        char ch = c->p[c->pos];
        if (ch == '"') {
            c->pos++;
            return 0;
        }
        if (ch == '\\') {
            if (c->pos + 1 >= c->len || c->p[c->pos + 1] < 32 ||
                c->p[c->pos + 1] > 126)
                return bad(c, "bad quoted local part");
            c->pos += 2;
            continue;
        }
        if (ch < 32 || ch > 126)
            return bad(c, "bad quoted local part");
        c->pos++;
    }
    return bad(c, "unterminated quoted local part");
}

static int scan_local_part(struct cursor *c)
{
    size_t start = c->pos;
    int rc = at(c, '"') ? scan_quoted_string(c) : scan_dot_string(c);
    if (rc < 0)
        return -1;
    if (c->pos - start > SMTP_LOCAL_PART_MAX)
        return bad(c, "local part longer than 64 octets");
    return 0;
}

/* --------------------------------------------------------------- paths */

/* A-d-l = At-domain *("," At-domain) ":", At-domain = "@" Domain. */
static int scan_source_route(struct cursor *c)
{
    for (;;) {
        if (!at(c, '@'))
            return bad(c, "bad source route");
        c->pos++;
        if (scan_domain(c) < 0)
            return -1;
        if (at(c, ':')) {
            c->pos++;
            return 0;
        }
        if (!at(c, ','))
            return bad(c, "bad source route");
        c->pos++;
    }
}

/* Where a path is: offsets of the local part and domain inside it. */
struct path_span {
    size_t local, local_len, domain, domain_len;
};

/* The mailbox after "<" [A-d-l ":"]: local-part "@" domain ">", or the
 * bare <postmaster> of a forward-path. */
static int scan_mailbox(struct cursor *c, enum smtp_path_role role,
                        struct smtp_path *out, struct path_span *sp)
{
    sp->local = c->pos;
    if (scan_local_part(c) < 0)
        return -1;
    sp->local_len = c->pos - sp->local;
    if (at(c, '>') && role == SMTP_FORWARD_PATH && !out->had_source_route &&
        tn_ascii_caseeq(c->p + sp->local, sp->local_len, "postmaster", 10)) {
        out->kind = SMTP_PATH_POSTMASTER;
        c->pos++;
        return 0;
    }
    if (!at(c, '@'))
        return bad(c, at(c, '>') ? "missing @domain" : "bad local part");
    c->pos++;
    sp->domain = c->pos;
    if (scan_domain_or_literal(c, &out->domain_is_literal) < 0)
        return -1;
    sp->domain_len = c->pos - sp->domain;
    if (c->pos >= c->len)
        return bad(c, "missing closing >");
    if (!at(c, '>'))
        return bad(c, "bad domain");
    c->pos++;
    out->kind = SMTP_PATH_MAILBOX;
    return 0;
}

static int scan_path(struct cursor *c, enum smtp_path_role role,
                     struct smtp_path *out, struct path_span *sp)
{
    if (!at(c, '<'))
        return bad(c, "address must be in angle brackets");
    c->pos++;
    if (at(c, '>')) {
        c->pos++;
        out->kind = SMTP_PATH_NULL;
        return role == SMTP_REVERSE_PATH ? 0
                                         : bad(c, "null address not allowed");
    }
    if (at(c, '@')) {
        if (scan_source_route(c) < 0)
            return -1;
        out->had_source_route = true;
    }
    if (scan_mailbox(c, role, out, sp) < 0)
        return -1;
    if (c->pos > SMTP_PATH_MAX)
        return bad(c, "path longer than 256 octets");
    return 0;
}

/* Fill addr and the lowercased domain from an accepted path. */
static int copy_out(const char *s, const struct path_span *sp,
                    struct smtp_path *out)
{
    if (out->kind == SMTP_PATH_NULL)
        return 0;
    if (out->kind == SMTP_PATH_POSTMASTER)
        return tn_strlcpy(out->addr, "postmaster", sizeof(out->addr));
    /* Both fit by construction (path <= 256, domain <= 255); checked
     * anyway so a later change of limits cannot overflow silently. */
    if (tn_snprintf(out->addr, sizeof(out->addr), "%.*s@%.*s",
                    (int)sp->local_len, s + sp->local, (int)sp->domain_len,
                    s + sp->domain) < 0 ||
        tn_snprintf(out->domain, sizeof(out->domain), "%.*s",
                    (int)sp->domain_len, s + sp->domain) < 0)
        return -1;
    for (char *d = out->domain; *d; d++)
        if (*d >= 'A' && *d <= 'Z')
            *d = (char)(*d - 'A' + 'a');
    return 0;
}

static int path_fail(struct smtp_parse_error *err, enum smtp_path_role role,
                     const char *why)
{
    char text[SMTP_PARSE_TEXT_MAX];
    bool rev = role == SMTP_REVERSE_PATH;
    (void)tn_snprintf(text, sizeof(text), "Bad %s address syntax: %s",
                      rev ? "sender" : "recipient", why);
    return smtp_parse_fail(err, rev ? SMTP_FAULT_SENDER
                                    : SMTP_FAULT_RECIPIENT, text);
}

int smtp_path_parse(const char *s, size_t len, enum smtp_path_role role,
                    struct smtp_path *out, size_t *used,
                    struct smtp_parse_error *err)
{
    struct cursor c = { s, len, 0, NULL };
    struct path_span sp = { 0, 0, 0, 0 };
    memset(out, 0, sizeof(*out));
    *used = 0;
    if (scan_path(&c, role, out, &sp) < 0) {
        memset(out, 0, sizeof(*out));
        return path_fail(err, role, c.why);
    }
    if (copy_out(s, &sp, out) < 0) {
        memset(out, 0, sizeof(*out));
        return path_fail(err, role, "address too long");
    }
    *used = c.pos;
    return 0;
}
