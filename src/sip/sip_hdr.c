/* sip_hdr.c - header names and header-value sub-parsers (see sip_hdr.h). */
#include "sip/sip_hdr.h"

#include <string.h>

/* ---------------------------------------------------------------- names */

struct hdr_name {
    const char *full;
    size_t len;   /* strlen(full), so lookups compare lengths first */
    char compact; /* RFC 3261 7.3.3 and later RFCs; 0 when none */
    bool list;    /* comma-separated values are split into entries */
};

#define H(name) name, sizeof(name) - 1
static const struct hdr_name hdr_names[SIP_HDR__COUNT] = {
    [SIP_HDR_OTHER] = { H(""), 0, false },
    [SIP_HDR_VIA] = { H("Via"), 'v', true },
    [SIP_HDR_FROM] = { H("From"), 'f', false },
    [SIP_HDR_TO] = { H("To"), 't', false },
    [SIP_HDR_CALL_ID] = { H("Call-ID"), 'i', false },
    [SIP_HDR_CSEQ] = { H("CSeq"), 0, false },
    [SIP_HDR_MAX_FORWARDS] = { H("Max-Forwards"), 0, false },
    [SIP_HDR_CONTACT] = { H("Contact"), 'm', true },
    [SIP_HDR_CONTENT_LENGTH] = { H("Content-Length"), 'l', false },
    [SIP_HDR_CONTENT_TYPE] = { H("Content-Type"), 'c', false },
    [SIP_HDR_CONTENT_ENCODING] = { H("Content-Encoding"), 'e', false },
    [SIP_HDR_ROUTE] = { H("Route"), 0, true },
    [SIP_HDR_RECORD_ROUTE] = { H("Record-Route"), 0, true },
    [SIP_HDR_PATH] = { H("Path"), 0, true },
    [SIP_HDR_ALLOW] = { H("Allow"), 0, true },
    [SIP_HDR_SUPPORTED] = { H("Supported"), 'k', true },
    [SIP_HDR_REQUIRE] = { H("Require"), 0, true },
    [SIP_HDR_PROXY_REQUIRE] = { H("Proxy-Require"), 0, true },
    [SIP_HDR_UNSUPPORTED] = { H("Unsupported"), 0, true },
    [SIP_HDR_EXPIRES] = { H("Expires"), 0, false },
    [SIP_HDR_MIN_EXPIRES] = { H("Min-Expires"), 0, false },
    [SIP_HDR_AUTHORIZATION] = { H("Authorization"), 0, false },
    [SIP_HDR_PROXY_AUTHORIZATION] = { H("Proxy-Authorization"), 0, false },
    [SIP_HDR_WWW_AUTHENTICATE] = { H("WWW-Authenticate"), 0, false },
    [SIP_HDR_PROXY_AUTHENTICATE] = { H("Proxy-Authenticate"), 0, false },
    [SIP_HDR_SUBJECT] = { H("Subject"), 's', false },
    [SIP_HDR_EVENT] = { H("Event"), 'o', false },
    [SIP_HDR_ALLOW_EVENTS] = { H("Allow-Events"), 'u', false },
    [SIP_HDR_SUBSCRIPTION_STATE] = { H("Subscription-State"), 0, false },
    [SIP_HDR_REFER_TO] = { H("Refer-To"), 'r', false },
    [SIP_HDR_REFERRED_BY] = { H("Referred-By"), 'b', false },
    [SIP_HDR_SESSION_EXPIRES] = { H("Session-Expires"), 'x', false },
    [SIP_HDR_ACCEPT_CONTACT] = { H("Accept-Contact"), 'a', false },
    [SIP_HDR_REJECT_CONTACT] = { H("Reject-Contact"), 'j', false },
    [SIP_HDR_REQUEST_DISPOSITION] = { H("Request-Disposition"), 'd', false },
    [SIP_HDR_IDENTITY] = { H("Identity"), 'y', false },
    [SIP_HDR_IDENTITY_INFO] = { H("Identity-Info"), 'n', false },
    [SIP_HDR_RSEQ] = { H("RSeq"), 0, false },
    [SIP_HDR_RACK] = { H("RAck"), 0, false },
    [SIP_HDR_TIMESTAMP] = { H("Timestamp"), 0, false },
    [SIP_HDR_USER_AGENT] = { H("User-Agent"), 0, false },
    [SIP_HDR_SERVER] = { H("Server"), 0, false },
};

enum sip_hdr_id sip_hdr_lookup(sip_str name)
{
    if (name.len == 1) {
        char c = sip_ascii_lower(name.p[0]);
        for (int id = 1; id < SIP_HDR__COUNT; id++)
            if (hdr_names[id].compact == c)
                return (enum sip_hdr_id)id;
        return SIP_HDR_OTHER;
    }
    for (int id = 1; id < SIP_HDR__COUNT; id++)
        if (name.len == hdr_names[id].len &&
            sip_str_caseeq(name, sip_str_make(hdr_names[id].full, name.len)))
            return (enum sip_hdr_id)id;
    return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
    return (id > 0 && id < SIP_HDR__COUNT) ? hdr_names[id].full : "";
}

bool sip_hdr_is_list(enum sip_hdr_id id)
{
    return id > 0 && id < SIP_HDR__COUNT && hdr_names[id].list;
}

/* ------------------------------------------------------- lexical helpers */

/* RFC 3261 25.1: alphanumerics and -.!%*_+`'~ (a switch, not strchr:
 * called for every character of every name, host and parameter). */
static bool is_token_char(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'':
    case '~':
        return true;
    default:
        return false;
    }
}

bool sip_is_token(sip_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_token_char(s.p[i]))
            return false;
    return true;
}

/* A read cursor over one header value: every accessor checks the bound. */
struct cur {
    const char *p;
    size_t len, i;
};

static bool cur_end(const struct cur *c)
{
    return c->i >= c->len;
}

static char cur_peek(const struct cur *c)
{
    return cur_end(c) ? '\0' : c->p[c->i];
}

static size_t cur_skip_lws(struct cur *c)
{
    size_t start = c->i;
    while (!cur_end(c) && sip_is_lws(c->p[c->i]))
        c->i++;
    return c->i - start;
}

static bool cur_eat(struct cur *c, char ch)
{
    if (cur_peek(c) != ch || cur_end(c))
        return false;
    c->i++;
    return true;
}

static sip_str cur_token(struct cur *c)
{
    size_t start = c->i;
    while (!cur_end(c) && is_token_char(c->p[c->i]))
        c->i++;
    return sip_str_make(c->p + start, c->i - start);
}

/* Gen-value run: token characters plus those of an IPv6 reference. */
static sip_str cur_gen_value(struct cur *c)
{
    size_t start = c->i;
    while (!cur_end(c) && (is_token_char(c->p[c->i]) || c->p[c->i] == ':' ||
                           c->p[c->i] == '[' || c->p[c->i] == ']'))
        c->i++;
    return sip_str_make(c->p + start, c->i - start);
}

/* quoted-string at the cursor: returns its content (escapes kept) and
 * moves past the closing quote; -1 when unterminated or a quoted-pair
 * would escape CR/LF. */
static int cur_quoted(struct cur *c, sip_str *content)
{
    if (!cur_eat(c, '"'))
        return -1;
    size_t start = c->i;
    while (!cur_end(c)) {
        char ch = c->p[c->i];
        if (ch == '"') {
            *content = sip_str_make(c->p + start, c->i - start);
            c->i++;
            return 0;
        }
        if (ch == '\\') {
            if (c->i + 1 >= c->len || c->p[c->i + 1] == '\r' ||
                c->p[c->i + 1] == '\n')
                return -1;
            c->i++;
        }
        c->i++;
    }
    return -1;
}

static struct cur cur_of(sip_str s)
{
    return (struct cur){ s.p, s.len, 0 };
}

static sip_str cur_rest(const struct cur *c)
{
    return sip_str_make(c->p + c->i, c->len - c->i);
}

int sip_unquote(sip_str raw, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.p[i] == '\\' && i + 1 < raw.len)
            i++;
        if (o + 1 >= outlen)
            return -1;
        out[o++] = raw.p[i];
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

/* ------------------------------------------------------ generic params */

int sip_param_next(sip_str *rest, struct sip_param *p)
{
    *rest = sip_str_nonnull(*rest);
    struct cur c = cur_of(*rest);
    memset(p, 0, sizeof(*p));
    cur_skip_lws(&c);
    if (cur_end(&c))
        return 0;
    if (!cur_eat(&c, ';'))
        return -1;
    cur_skip_lws(&c);
    p->name = cur_token(&c);
    if (p->name.len == 0)
        return -1;
    cur_skip_lws(&c);
    if (cur_eat(&c, '=')) {
        cur_skip_lws(&c);
        p->has_value = true;
        if (cur_peek(&c) == '"') {
            p->quoted = true;
            if (cur_quoted(&c, &p->value) < 0)
                return -1;
        } else if ((p->value = cur_gen_value(&c)).len == 0) {
            return -1;
        }
        cur_skip_lws(&c);
    }
    if (!cur_end(&c) && cur_peek(&c) != ';')
        return -1;
    *rest = cur_rest(&c);
    return 1;
}

int sip_param_find(sip_str params, const char *name, struct sip_param *p)
{
    sip_str want = sip_str_cstr(name);
    int rc;
    while ((rc = sip_param_next(&params, p)) == 1)
        if (sip_str_caseeq(p->name, want))
            return 1;
    return rc;
}

/* ---------------------------------------------------------- name-addr */

/* display-name = *(token LWS) / quoted-string, then "<" URI ">". */
static int display_and_uri(struct cur *c, struct sip_name_addr *na)
{
    size_t start = c->i;
    if (cur_peek(c) == '"') {
        if (cur_quoted(c, &na->display) < 0)
            return -1;
        cur_skip_lws(c);
    } else {
        while (!cur_end(c) && (is_token_char(cur_peek(c)) ||
                               sip_is_lws(cur_peek(c))))
            c->i++;
        na->display = sip_str_trim(sip_str_make(c->p + start, c->i - start));
    }
    if (!cur_eat(c, '<'))
        return -1;
    const char *gt = memchr(c->p + c->i, '>', c->len - c->i);
    if (!gt)
        return -1;
    na->uri_text = sip_str_make(c->p + c->i, (size_t)(gt - (c->p + c->i)));
    c->i += na->uri_text.len + 1;
    return 0;
}

/* addr-spec without <>: the URI runs to the first ';' (RFC 3261 20.10:
 * a URI with ';', ',' or '?' must be written inside <>). */
static int bare_uri(struct cur *c, struct sip_name_addr *na)
{
    size_t start = c->i;
    while (!cur_end(c) && cur_peek(c) != ';' && !sip_is_lws(cur_peek(c)))
        c->i++;
    na->uri_text = sip_str_make(c->p + start, c->i - start);
    return 0;
}

static bool has_angle(sip_str v)
{
    return v.len > 0 && (v.p[0] == '"' || memchr(v.p, '<', v.len) != NULL);
}

/* q = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static bool qvalue_ok(sip_str q)
{
    if (q.len == 0 || q.len > 5 || (q.p[0] != '0' && q.p[0] != '1'))
        return false;
    if (q.len == 1)
        return true;
    if (q.p[1] != '.')
        return false;
    for (size_t i = 2; i < q.len; i++)
        if (q.p[i] < '0' || q.p[i] > (q.p[0] == '1' ? '0' : '9'))
            return false;
    return true;
}

static int name_addr_param(struct sip_name_addr *na, const struct sip_param *p)
{
    if (sip_str_caseeq_lit(p->name, "tag")) {
        if (na->tag.len || !p->has_value)
            return -1;
        na->tag = p->value;
    } else if (sip_str_caseeq_lit(p->name, "expires")) {
        if (na->has_expires || sip_str_to_u32(p->value, UINT32_MAX,
                                               &na->expires) < 0)
            return -1;
        na->has_expires = true;
    } else if (sip_str_caseeq_lit(p->name, "q")) {
        if (na->q.len || !qvalue_ok(p->value))
            return -1;
        na->q = p->value;
    } else if (sip_str_caseeq_lit(p->name, "+sip.instance")) {
        if (na->instance.len || !p->has_value)
            return -1;
        na->instance = p->value;
    } else if (sip_str_caseeq_lit(p->name, "reg-id")) {
        if (na->has_reg_id || sip_str_to_u32(p->value, UINT32_MAX,
                                              &na->reg_id) < 0)
            return -1;
        na->has_reg_id = true;
    }
    return 0;
}

int sip_name_addr_parse(sip_str value, struct sip_name_addr *na)
{
    value = sip_str_nonnull(value);
    memset(na, 0, sizeof(*na));
    sip_str v = sip_str_trim(value);
    if (sip_str_eq_lit(v, "*")) {
        na->is_star = true;
        return 0;
    }
    struct cur c = cur_of(v);
    int rc = has_angle(v) ? display_and_uri(&c, na) : bare_uri(&c, na);
    if (rc < 0 || sip_uri_parse(na->uri_text, &na->uri) < 0)
        return -1;
    na->params = cur_rest(&c);
    sip_str rest = na->params;
    struct sip_param p;
    while ((rc = sip_param_next(&rest, &p)) == 1)
        if (name_addr_param(na, &p) < 0)
            return -1;
    return rc;
}

/* ---------------------------------------------------------------- Via */

/* "SIP" SLASH "2.0" SLASH transport, SLASH = SWS "/" SWS */
static int via_protocol(struct cur *c, struct sip_via *v)
{
    sip_str name = cur_token(c);
    cur_skip_lws(c);
    if (!sip_str_caseeq_lit(name, "SIP") || !cur_eat(c, '/'))
        return -1;
    cur_skip_lws(c);
    sip_str version = cur_token(c);
    cur_skip_lws(c);
    if (!sip_str_eq_lit(version, "2.0") || !cur_eat(c, '/'))
        return -1;
    cur_skip_lws(c);
    v->transport = cur_token(c);
    return v->transport.len ? 0 : -1;
}

static int via_sent_by(struct cur *c, struct sip_via *v)
{
    if (cur_skip_lws(c) == 0)
        return -1;
    size_t start = c->i;
    while (!cur_end(c) && cur_peek(c) != ';' && !sip_is_lws(cur_peek(c)))
        c->i++;
    sip_str hp = sip_str_make(c->p + start, c->i - start);
    return sip_hostport_parse(hp, &v->host, &v->host_is_ipv6, &v->port);
}

static int via_param(struct sip_via *v, const struct sip_param *p)
{
    uint32_t port;
    if (sip_str_caseeq_lit(p->name, "branch")) {
        if (v->branch.len || !p->has_value)
            return -1;
        v->branch = p->value;
    } else if (sip_str_caseeq_lit(p->name, "received")) {
        if (v->received.len || !p->has_value)
            return -1;
        v->received = p->value;
    } else if (sip_str_caseeq_lit(p->name, "rport")) {
        if (v->has_rport ||
            (p->has_value && sip_str_to_u32(p->value, 65535, &port) < 0))
            return -1;
        v->has_rport = true;
        v->rport = p->value;
    } else if (sip_str_caseeq_lit(p->name, "maddr")) {
        if (v->maddr.len || !p->has_value)
            return -1;
        v->maddr = p->value;
    }
    return 0;
}

int sip_via_parse(sip_str value, struct sip_via *v)
{
    value = sip_str_nonnull(value);
    memset(v, 0, sizeof(*v));
    struct cur c = cur_of(sip_str_trim(value));
    if (via_protocol(&c, v) < 0 || via_sent_by(&c, v) < 0)
        return -1;
    v->params = cur_rest(&c);
    sip_str rest = v->params;
    struct sip_param p;
    int rc;
    while ((rc = sip_param_next(&rest, &p)) == 1)
        if (via_param(v, &p) < 0)
            return -1;
    return rc;
}

/* --------------------------------------------------------------- CSeq */

int sip_cseq_parse(sip_str value, uint32_t *num, sip_str *method)
{
    value = sip_str_nonnull(value);
    struct cur c = cur_of(sip_str_trim(value));
    size_t start = c.i;
    while (!cur_end(&c) && cur_peek(&c) >= '0' && cur_peek(&c) <= '9')
        c.i++;
    sip_str digits = sip_str_make(c.p + start, c.i - start);
    if (digits.len > 10 || sip_str_to_u32(digits, SIP_CSEQ_MAX, num) < 0)
        return -1;
    if (cur_skip_lws(&c) == 0)
        return -1;
    *method = cur_token(&c);
    return (method->len && cur_end(&c)) ? 0 : -1;
}

/* ------------------------------------------------------ Content-Length */

int sip_content_length_parse(sip_str value, size_t max, size_t *out)
{
    value = sip_str_nonnull(value);
    uint32_t v;
    sip_str t = sip_str_trim(value);
    uint32_t cap = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
    if (t.len > 10 || sip_str_to_u32(t, cap, &v) < 0)
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------- Digest */

struct digest_field {
    const char *name;
    size_t offset;
};

#define DIGEST_FIELD(f) { #f, offsetof(struct sip_digest_params, f) }
static const struct digest_field digest_fields[] = {
    DIGEST_FIELD(username), DIGEST_FIELD(realm),  DIGEST_FIELD(nonce),
    DIGEST_FIELD(uri),      DIGEST_FIELD(response), DIGEST_FIELD(algorithm),
    DIGEST_FIELD(cnonce),   DIGEST_FIELD(opaque), DIGEST_FIELD(qop),
    DIGEST_FIELD(nc),       DIGEST_FIELD(domain), DIGEST_FIELD(stale),
    DIGEST_FIELD(userhash),
};

/* Store one known parameter; duplicates are refused because two values
 * for, say, "response" would let a check and a log see different ones. */
static int digest_store(struct sip_digest_params *d, sip_str name,
                        sip_str value)
{
    size_t n = sizeof(digest_fields) / sizeof(digest_fields[0]);
    for (size_t k = 0; k < n; k++) {
        if (!sip_str_caseeq(name, sip_str_cstr(digest_fields[k].name)))
            continue;
        sip_str *slot = (sip_str *)((char *)d + digest_fields[k].offset);
        if (slot->p != NULL)
            return -1;
        /* An empty quoted value ("") is legal: keep a non-NULL pointer so
         * presence is still visible. */
        *slot = value;
        return 0;
    }
    return 0; /* auth-param extension: ignored */
}

static bool nc_ok(sip_str nc)
{
    if (nc.p == NULL)
        return true;
    if (nc.len != 8)
        return false;
    for (size_t i = 0; i < 8; i++) {
        char ch = sip_ascii_lower(nc.p[i]);
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

static int digest_one(struct cur *c, struct sip_digest_params *d)
{
    sip_str name = cur_token(c), value;
    cur_skip_lws(c);
    if (name.len == 0 || !cur_eat(c, '='))
        return -1;
    cur_skip_lws(c);
    if (cur_peek(c) == '"') {
        if (cur_quoted(c, &value) < 0)
            return -1;
    } else if ((value = cur_token(c)).len == 0) {
        return -1;
    }
    return digest_store(d, name, value);
}

int sip_digest_params_parse(sip_str value, struct sip_digest_params *d)
{
    value = sip_str_nonnull(value);
    memset(d, 0, sizeof(*d));
    struct cur c = cur_of(sip_str_trim(value));
    if (!sip_str_caseeq_lit(cur_token(&c), "Digest") || cur_skip_lws(&c) == 0)
        return -1;
    bool any = false;
    while (!cur_end(&c)) {
        if (cur_eat(&c, ',')) { /* empty list elements are allowed */
            cur_skip_lws(&c);
            continue;
        }
        if (digest_one(&c, d) < 0)
            return -1;
        any = true;
        cur_skip_lws(&c);
        if (!cur_end(&c) && cur_peek(&c) != ',')
            return -1;
    }
    return (any && nc_ok(d->nc)) ? 0 : -1;
}
