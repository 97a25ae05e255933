/* tls_name.c - certificate name checks (see tls_name.h). */
#include "tls/tls_name.h"

#include <arpa/inet.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/str.h"
#include "tls/x509_text.h"

/* Strip one trailing dot: "corp.test." and "corp.test" are the same name. */
static size_t without_root_dot(const char *name, size_t len)
{
    return (len > 1 && name[len - 1] == '.') ? len - 1 : len;
}

static size_t count_labels(const char *s, size_t len)
{
    size_t labels = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '.')
            labels++;
    return labels;
}

/* "*.corp.test" is acceptable; "*.test", "f*.x.y", "a.*.y", "*" are not. */
static bool is_whole_label_wildcard(const char *p, size_t plen)
{
    if (plen < 3 || p[0] != '*' || p[1] != '.')
        return false;
    if (memchr(p + 1, '*', plen - 1) != NULL)
        return false;
    /* At least two labels after the wildcard, so it never covers a TLD. */
    return count_labels(p + 2, plen - 2) >= 2;
}

enum tls_name_match tls_name_match_dns(const char *pattern, size_t plen,
                                       const char *wanted, size_t wlen,
                                       bool allow_wildcard)
{
    plen = without_root_dot(pattern, plen);
    wlen = without_root_dot(wanted, wlen);
    if (plen == 0 || wlen == 0 || memchr(wanted, '*', wlen) != NULL)
        return TLS_NAME_NO_MATCH;
    if (memchr(pattern, '*', plen) == NULL)
        return tn_ascii_caseeq(pattern, plen, wanted, wlen) ? TLS_NAME_MATCH
                                                             : TLS_NAME_NO_MATCH;
    if (!is_whole_label_wildcard(pattern, plen))
        return TLS_NAME_BAD_PATTERN;
    /* The wildcard stands for exactly one non-empty left-most label. */
    const char *dot = memchr(wanted, '.', wlen);
    if (dot == NULL || dot == wanted)
        return TLS_NAME_NO_MATCH;
    size_t rest = wlen - (size_t)(dot - wanted);
    if (!tn_ascii_caseeq(pattern + 1, plen - 1, dot, rest))
        return TLS_NAME_NO_MATCH;
    return allow_wildcard ? TLS_NAME_MATCH : TLS_NAME_WILDCARD_REFUSED;
}

static bool is_ip_literal(const char *name, unsigned char *bin, size_t *binlen)
{
    if (inet_pton(AF_INET, name, bin) == 1) {
        *binlen = 4;
        return true;
    }
    if (inet_pton(AF_INET6, name, bin) == 1) {
        *binlen = 16;
        return true;
    }
    return false;
}

bool tls_name_is_valid_reference(const char *name)
{
    unsigned char bin[16];
    size_t binlen;
    if (is_ip_literal(name, bin, &binlen))
        return true;
    size_t len = without_root_dot(name, strlen(name));
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0 || name[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-';
        if (!ldh || (c == '-' && label == 0) || ++label > 63)
            return false;
    }
    return label > 0 && name[len - 1] != '-';
}

/* What a SAN entry offers for comparison: its text and the kind of name. */
struct presented {
    const char *text;
    size_t len;
    char tag[5]; /* "DNS", "URI", "IP" */
};

/* The host part of a "sip:domain" URI SAN, or false when the URI is not a
 * bare sip domain (RFC 5922 7.1: a user part or parameters disqualify). */
static bool sip_uri_domain(const ASN1_IA5STRING *uri, struct presented *out)
{
    const char *s = (const char *)ASN1_STRING_get0_data(uri);
    size_t len = (size_t)ASN1_STRING_length(uri);
    if (len <= 4 || !tn_ascii_caseeq(s, 4, "sip:", 4))
        return false;
    s += 4;
    len -= 4;
    if (memchr(s, '@', len) || memchr(s, ';', len) || memchr(s, '?', len) ||
        memchr(s, ':', len) || memchr(s, '\0', len))
        return false;
    out->text = s;
    out->len = len;
    tn_strlcpy(out->tag, "URI", sizeof out->tag);
    return true;
}

static bool has_sip_uri(const GENERAL_NAMES *gens)
{
    struct presented p;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        if (gn->type == GEN_URI && sip_uri_domain(gn->d.uniformResourceIdentifier, &p))
            return true;
    }
    return false;
}

/* The name a SAN entry presents under the rules, or false to skip it. */
static bool presented_name(const GENERAL_NAME *gn, enum tls_name_rules rules,
                           bool sip_uris, struct presented *out)
{
    if (rules == TLS_NAME_SIP && sip_uris)
        return gn->type == GEN_URI && sip_uri_domain(gn->d.uniformResourceIdentifier, out);
    if (gn->type != GEN_DNS)
        return false;
    out->text = (const char *)ASN1_STRING_get0_data(gn->d.dNSName);
    out->len = (size_t)ASN1_STRING_length(gn->d.dNSName);
    tn_strlcpy(out->tag, "DNS", sizeof out->tag);
    /* An embedded NUL would make "good.test\0.evil" look like "good.test". */
    return memchr(out->text, '\0', out->len) == NULL;
}

struct name_scan {
    enum tls_name_match best;
    char names[256];   /* what the certificate names, for the reason */
    char matched[300]; /* which entry matched */
};

static void note_presented(struct name_scan *scan, const struct presented *p,
                           enum tls_name_match m)
{
    /* The names are the certificate holder's text: control bytes as \xNN. */
    const char *sep = scan->names[0] ? ", " : "";
    if (tn_appendf(scan->names, sizeof scan->names, "%s", sep) < 0 ||
        tn_append_printable(scan->names, sizeof scan->names, p->text, p->len) < 0)
        tn_strlcpy(scan->names + sizeof scan->names - 5, "...", 4);
    if (m == TLS_NAME_MATCH && scan->best != TLS_NAME_MATCH &&
        tn_snprintf(scan->matched, sizeof scan->matched, "%s:", p->tag) == 0)
        tn_append_printable(scan->matched, sizeof scan->matched, p->text, p->len);
    /* Keep the most telling outcome: a match, else a refused wildcard,
     * else a malformed pattern, else a plain mismatch. */
    if (m < scan->best)
        scan->best = m;
}

static int check_ip(const GENERAL_NAMES *gens, const char *wanted,
                    const unsigned char *bin, size_t binlen, char *detail, size_t len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
        if (gn->type == GEN_IPADD && (size_t)gn->d.iPAddress->length == binlen &&
            memcmp(gn->d.iPAddress->data, bin, binlen) == 0) {
            tn_snprintf(detail, len, "IP:%s", wanted);
            return 0;
        }
    }
    return -1;
}

static int explain_mismatch(X509 *cert, const char *wanted, const struct name_scan *scan,
                            enum tls_name_rules rules, char *detail, size_t len)
{
    char all[256];
    x509_text_sans(cert, all, sizeof all);
    const char *names = scan->names[0] ? scan->names : all;
    switch (scan->best) {
    case TLS_NAME_WILDCARD_REFUSED:
        tn_snprintf(detail, len, "wildcard not allowed%s: wanted %s, certificate names %s",
                    rules == TLS_NAME_SIP ? " for SIP" : "", wanted, names);
        break;
    case TLS_NAME_BAD_PATTERN:
        tn_snprintf(detail, len,
                    "name mismatch: wanted %s, certificate names %s "
                    "(a wildcard must be the whole left-most label of a name "
                    "with at least two more labels)", wanted, names);
        break;
    default:
        tn_snprintf(detail, len, "name mismatch: wanted %s, certificate names %s", wanted,
                    names);
    }
    return -1;
}

static int explain_no_san(X509 *cert, const char *wanted, char *detail, size_t len)
{
    char subject[256];
    x509_text_short_name(X509_get_subject_name(cert), subject, sizeof subject);
    tn_snprintf(detail, len,
                "name mismatch: wanted %s, certificate has no subjectAltName "
                "(name only in %s; the CN is never used)", wanted, subject);
    return -1;
}

/* TLS_NAME_ANY_UNDER: the roles turn round, our pattern covers the
 * presented name; a presented wildcard must be our very pattern. */
static enum tls_name_match match_any_under(const struct presented *p, const char *wanted,
                                           size_t wlen)
{
    if (memchr(p->text, '*', p->len) != NULL)
        return tn_ascii_caseeq(p->text, without_root_dot(p->text, p->len), wanted,
                               without_root_dot(wanted, wlen))
                   ? TLS_NAME_MATCH
                   : TLS_NAME_NO_MATCH;
    return tls_name_match_dns(wanted, wlen, p->text, p->len, true);
}

int tls_name_check(X509 *cert, const char *wanted, enum tls_name_rules rules,
                   char *detail, size_t len)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (gens == NULL)
        return explain_no_san(cert, wanted, detail, len);
    unsigned char bin[16];
    size_t binlen;
    int rc;
    if (is_ip_literal(wanted, bin, &binlen)) {
        rc = check_ip(gens, wanted, bin, binlen, detail, len);
        if (rc < 0) {
            char all[256];
            x509_text_sans(cert, all, sizeof all);
            tn_snprintf(detail, len, "name mismatch: wanted IP %s, certificate names %s",
                        wanted, all);
        }
        GENERAL_NAMES_free(gens);
        return rc;
    }
    struct name_scan scan = {.best = TLS_NAME_NO_MATCH};
    bool sip_uris = rules == TLS_NAME_SIP && has_sip_uri(gens);
    bool wildcard = rules == TLS_NAME_WILDCARD;
    size_t wlen = strlen(wanted);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        struct presented p;
        if (!presented_name(sk_GENERAL_NAME_value(gens, i), rules, sip_uris, &p))
            continue;
        note_presented(&scan, &p,
                       rules == TLS_NAME_ANY_UNDER
                           ? match_any_under(&p, wanted, wlen)
                           : tls_name_match_dns(p.text, p.len, wanted, wlen, wildcard));
    }
    GENERAL_NAMES_free(gens);
    if (scan.best != TLS_NAME_MATCH)
        return explain_mismatch(cert, wanted, &scan, rules, detail, len);
    tn_strlcpy(detail, scan.matched, len);
    return 0;
}
