/* sip_uri.c - SIP/SIPS/tel URI parser (see sip_uri.h). */
#include "sip/sip_uri.h"

#include <arpa/inet.h>
#include <string.h>

/* Longest IPv6 literal we hand to inet_pton (with an embedded IPv4). */
#define SIP_IPV6_TEXT_MAX 45
/* RFC 1035 limit for a host name. */
#define SIP_HOSTNAME_MAX 253

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* unreserved = alphanum / mark (RFC 3261 25.1) */
static bool is_unreserved(char c)
{
    return c != '\0' && (is_alnum(c) || strchr("-_.!~*'()", c) != NULL);
}

/* Check that every byte of s is unreserved, a valid %HH escape, or one of
 * extra.  A NUL byte is never allowed (strchr would match the terminator,
 * hence the explicit test). */
static bool chars_ok(sip_str s, const char *extra)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '%') {
            if (i + 2 >= s.len || !is_hex(s.p[i + 1]) || !is_hex(s.p[i + 2]))
                return false;
            i += 2;
            continue;
        }
        if (c == '\0' || (!is_unreserved(c) && strchr(extra, c) == NULL))
            return false;
    }
    return true;
}

/* hostname / IPv4: letters, digits, '-' and '.', labels non-empty (one
 * trailing dot allowed), no label starting or ending with '-'. */
static bool hostname_ok(sip_str h)
{
    if (h.len == 0 || h.len > SIP_HOSTNAME_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.p[i];
        if (c == '.') {
            if (label == 0 || h.p[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(c) || c == '-') {
            if (label == 0 && c == '-')
                return false;
            label++;
        } else {
            return false;
        }
    }
    return h.p[h.len - 1] != '-';
}

static bool ipv6_ok(sip_str h)
{
    char text[SIP_IPV6_TEXT_MAX + 1];
    unsigned char addr[16];
    if (h.len == 0 || h.len > SIP_IPV6_TEXT_MAX || memchr(h.p, '\0', h.len))
        return false;
    memcpy(text, h.p, h.len);
    text[h.len] = '\0';
    return inet_pton(AF_INET6, text, addr) == 1;
}

static int port_parse(sip_str s, int *port)
{
    uint32_t v;
    if (s.len > 5 || sip_str_to_u32(s, 65535, &v) < 0 || v == 0)
        return -1;
    *port = (int)v;
    return 0;
}

int sip_hostport_parse(sip_str hp, sip_str *host, bool *is_ipv6, int *port)
{
    sip_str h = hp, portstr = SIP_STR_NULL;
    bool has_port = false;
    *is_ipv6 = false;
    *port = 0;
    if (hp.len > 0 && hp.p[0] == '[') {
        const char *close = memchr(hp.p, ']', hp.len);
        if (!close)
            return -1;
        size_t after = (size_t)(close - hp.p) + 1;
        h = sip_str_make(hp.p + 1, after - 2);
        if (after < hp.len) {
            if (hp.p[after] != ':')
                return -1;
            portstr = sip_str_skip(hp, after + 1);
            has_port = true;
        }
        if (!ipv6_ok(h))
            return -1;
        *is_ipv6 = true;
    } else {
        const char *colon = hp.len ? memchr(hp.p, ':', hp.len) : NULL;
        if (colon) {
            h.len = (size_t)(colon - hp.p);
            portstr = sip_str_skip(hp, h.len + 1);
            has_port = true;
        }
        if (!hostname_ok(h))
            return -1;
    }
    *host = h;
    return has_port ? port_parse(portstr, port) : 0;
}

/* userinfo = user [ ":" password ] */
static int userinfo_parse(sip_str ui, struct sip_uri *u)
{
    const char *colon = ui.len ? memchr(ui.p, ':', ui.len) : NULL;
    u->user = ui;
    if (colon) {
        u->user.len = (size_t)(colon - ui.p);
        u->password = sip_str_skip(ui, u->user.len + 1);
        u->has_password = true;
        if (!chars_ok(u->password, "&=+$,"))
            return -1;
    }
    if (u->user.len == 0 || !chars_ok(u->user, "&=+$,;?/"))
        return -1;
    return 0;
}

/* Walk ";name[=value]" pieces of raw URI params. */
static bool uri_param_next(sip_str *rest, sip_str *name, sip_str *value)
{
    if (rest->len == 0)
        return false;
    const char *semi = memchr(rest->p, ';', rest->len);
    sip_str piece = *rest;
    if (semi) {
        piece.len = (size_t)(semi - rest->p);
        *rest = sip_str_skip(*rest, piece.len + 1);
    } else {
        *rest = sip_str_make(rest->p + rest->len, 0);
    }
    const char *eq = memchr(piece.p, '=', piece.len);
    *name = piece;
    *value = SIP_STR_NULL;
    if (eq) {
        name->len = (size_t)(eq - piece.p);
        *value = sip_str_skip(piece, name->len + 1);
    }
    return true;
}

bool sip_uri_param(const struct sip_uri *u, const char *name, sip_str *value)
{
    sip_str rest = u->params, n, v;
    sip_str want = sip_str_cstr(name);
    while (uri_param_next(&rest, &n, &v)) {
        if (sip_str_caseeq(n, want)) {
            if (value)
                *value = v;
            return true;
        }
    }
    return false;
}

/* Check every parameter's syntax and pick out the well-known ones. */
static int params_parse(struct sip_uri *u)
{
    sip_str rest = u->params, n, v;
    if (!chars_ok(rest, "[]/:&+$;="))
        return -1;
    while (uri_param_next(&rest, &n, &v)) {
        if (n.len == 0 || memchr(v.p ? v.p : "", '=', v.len))
            return -1;
        if (sip_str_caseeq_lit(n, "transport"))
            u->transport = v;
        else if (sip_str_caseeq_lit(n, "maddr"))
            u->maddr = v;
        else if (sip_str_caseeq_lit(n, "user"))
            u->user_param = v;
        else if (sip_str_caseeq_lit(n, "lr"))
            u->lr = true;
        else if (sip_str_caseeq_lit(n, "ob"))
            u->ob = true;
    }
    return 0;
}

/* tel:+1-201-555-0123;phone-context=... : digits, hex, * # + and visual
 * separators; the rest are params. */
static int tel_parse(sip_str rest, struct sip_uri *u)
{
    const char *semi = memchr(rest.p, ';', rest.len);
    u->user = rest;
    if (semi) {
        u->user.len = (size_t)(semi - rest.p);
        u->params = sip_str_skip(rest, u->user.len + 1);
    }
    if (u->user.len == 0)
        return -1;
    for (size_t i = 0; i < u->user.len; i++) {
        char c = u->user.p[i];
        if (!is_hex(c) && (c == '\0' || !strchr("*#+-.()", c)))
            return -1;
    }
    return params_parse(u);
}

/* sip: [userinfo "@"] hostport [";" params] ["?" headers].  '@' cannot
 * appear unescaped after the userinfo, while the user part may hold ';'
 * and '?', so split at the first '@' before looking for those. */
static int sip_body_parse(sip_str rest, struct sip_uri *u)
{
    const char *at = memchr(rest.p, '@', rest.len);
    if (at) {
        size_t ulen = (size_t)(at - rest.p);
        if (userinfo_parse(sip_str_make(rest.p, ulen), u) < 0)
            return -1;
        rest = sip_str_skip(rest, ulen + 1);
    }
    const char *q = rest.len ? memchr(rest.p, '?', rest.len) : NULL;
    if (q) {
        u->headers = sip_str_skip(rest, (size_t)(q - rest.p) + 1);
        rest.len = (size_t)(q - rest.p);
        if (u->headers.len == 0 || !chars_ok(u->headers, "[]/?:+$=&"))
            return -1;
    }
    const char *semi = rest.len ? memchr(rest.p, ';', rest.len) : NULL;
    sip_str hp = rest;
    if (semi) {
        hp.len = (size_t)(semi - rest.p);
        u->params = sip_str_skip(rest, hp.len + 1);
    }
    if (sip_hostport_parse(hp, &u->host, &u->host_is_ipv6, &u->port) < 0)
        return -1;
    return params_parse(u);
}

int sip_uri_parse(sip_str text, struct sip_uri *u)
{
    text = sip_str_nonnull(text);
    memset(u, 0, sizeof(*u));
    const char *colon = text.len ? memchr(text.p, ':', text.len) : NULL;
    if (!colon)
        return -1;
    sip_str scheme = sip_str_make(text.p, (size_t)(colon - text.p));
    sip_str rest = sip_str_skip(text, scheme.len + 1);
    if (rest.len == 0)
        return -1;
    if (sip_str_caseeq_lit(scheme, "sip"))
        u->scheme = SIP_URI_SIP;
    else if (sip_str_caseeq_lit(scheme, "sips"))
        u->scheme = SIP_URI_SIPS;
    else if (sip_str_caseeq_lit(scheme, "tel")) {
        u->scheme = SIP_URI_TEL;
        return tel_parse(rest, u);
    } else
        return -1;
    return sip_body_parse(rest, u);
}
