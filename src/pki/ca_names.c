/* ca_names.c - strict syntax checks for operator input (see ca_names.h). */
#include "pki/ca_names.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/str.h"

static bool is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Check one label [label, label+len); numeric is set if all digits. */
static int check_label(const char *name, const char *label, size_t len,
                       bool *numeric, tn_err *err)
{
    if (len == 0)
        return tn_errf(err, "bad DNS name '%s': empty label", name);
    if (len > CA_DNS_LABEL_MAX)
        return tn_errf(err, "bad DNS name '%s': label longer than %d characters",
                       name, CA_DNS_LABEL_MAX);
    *numeric = true;
    for (size_t i = 0; i < len; i++) {
        if (!is_ldh(label[i]))
            return tn_errf(err, "bad DNS name '%s': character '%c' not allowed "
                           "(letters, digits, '-' and '.' only)", name,
                           (label[i] >= 0x20 && label[i] < 0x7f) ? label[i] : '?');
        if (!is_digit(label[i]))
            *numeric = false;
    }
    if (label[0] == '-' || label[len - 1] == '-')
        return tn_errf(err, "bad DNS name '%s': a label starts or ends with '-'", name);
    return 0;
}

int ca_check_dns_name(const char *name, tn_err *err)
{
    size_t total = strlen(name);
    if (total == 0)
        return tn_errf(err, "empty DNS name");
    if (total > CA_DNS_NAME_MAX)
        return tn_errf(err, "bad DNS name: longer than %d characters", CA_DNS_NAME_MAX);
    const char *p = name;
    size_t labels = 0;
    bool numeric = false;
    if (strncmp(p, "*.", 2) == 0) {
        p += 2; /* a whole left-most wildcard label */
        labels++;
    }
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (check_label(name, p, len, &numeric, err) < 0)
            return -1;
        labels++;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    if (numeric)
        return tn_errf(err, "bad DNS name '%s': the last label is numeric "
                       "(for an address use --san IP:...)", name);
    if (name[0] == '*' && labels < 3)
        return tn_errf(err, "bad DNS name '%s': a wildcard needs at least two "
                       "labels after '*.'", name);
    return 0;
}

const char *ca_san_type_name(enum ca_san_type type)
{
    switch (type) {
    case CA_SAN_DNS: return "DNS";
    case CA_SAN_URI: return "URI";
    case CA_SAN_IP: return "IP";
    }
    return "?";
}

static int check_uri(const char *uri, tn_err *err)
{
    size_t i = 0;
    if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')))
        return tn_errf(err, "bad URI '%s': it must start with a scheme such as sip:", uri);
    while (uri[i] != '\0' && uri[i] != ':') {
        char c = uri[i];
        if (!is_ldh(c) && c != '+' && c != '.')
            return tn_errf(err, "bad URI '%s': invalid scheme", uri);
        i++;
    }
    if (uri[i] != ':' || uri[i + 1] == '\0')
        return tn_errf(err, "bad URI '%s': expected SCHEME:VALUE such as sip:corp.example",
                       uri);
    for (const char *p = uri; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return tn_errf(err, "bad URI '%s': spaces, control and non-ASCII "
                           "characters are not allowed", uri);
    return 0;
}

static int check_ip(const char *ip, tn_err *err)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1)
        return 0;
    return tn_errf(err, "bad IP address '%s'", ip);
}

int ca_parse_san(const char *text, struct ca_san *san, tn_err *err)
{
    static const struct { const char *prefix; enum ca_san_type type; } types[] = {
        {"DNS:", CA_SAN_DNS}, {"URI:", CA_SAN_URI}, {"IP:", CA_SAN_IP},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t plen = strlen(types[i].prefix);
        if (strncmp(text, types[i].prefix, plen) != 0)
            continue;
        const char *value = text + plen;
        if (tn_strlcpy(san->value, value, sizeof san->value) < 0)
            return tn_errf(err, "bad --san '%.40s...': longer than %d characters",
                           text, CA_SAN_VALUE_MAX);
        san->type = types[i].type;
        int rc = san->type == CA_SAN_DNS ? ca_check_dns_name(value, err)
               : san->type == CA_SAN_URI ? check_uri(value, err)
               : check_ip(value, err);
        return rc;
    }
    return tn_errf(err, "bad --san '%s': expected DNS:name, URI:scheme:value or "
                   "IP:address", text);
}

/* Parse exactly n digits at *p into *out and advance *p. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static bool parse_time_fields(const char *text, struct tm *tm)
{
    const char *p = text;
    memset(tm, 0, sizeof *tm);
    if (!take_digits(&p, 4, &tm->tm_year) || !take_char(&p, '-') ||
        !take_digits(&p, 2, &tm->tm_mon) || !take_char(&p, '-') ||
        !take_digits(&p, 2, &tm->tm_mday))
        return false;
    if (take_char(&p, 'T')) {
        if (!take_digits(&p, 2, &tm->tm_hour) || !take_char(&p, ':') ||
            !take_digits(&p, 2, &tm->tm_min) || !take_char(&p, ':') ||
            !take_digits(&p, 2, &tm->tm_sec))
            return false;
        take_char(&p, 'Z');
    }
    return *p == '\0';
}

int ca_parse_utc_time(const char *text, time_t *out, tn_err *err)
{
    struct tm tm, check;
    if (!parse_time_fields(text, &tm))
        return tn_errf(err, "bad time '%s': expected YYYY-MM-DD or "
                       "YYYY-MM-DDTHH:MM:SS (UTC)", text);
    if (tm.tm_year < 1950)
        return tn_errf(err, "bad time '%s': year before 1950", text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    struct tm want = tm;
    time_t t = timegm(&tm);
    /* timegm normalises 2025-02-30 to March: a changed field means invalid. */
    if (gmtime_r(&t, &check) == NULL || check.tm_year != want.tm_year ||
        check.tm_mon != want.tm_mon || check.tm_mday != want.tm_mday ||
        check.tm_hour != want.tm_hour || check.tm_min != want.tm_min ||
        check.tm_sec != want.tm_sec)
        return tn_errf(err, "bad time '%s': no such date or time", text);
    *out = t;
    return 0;
}

/* Length of the UTF-8 sequence starting with lead byte c, 0 if invalid. */
static size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

int ca_check_name_field(const char *what, const char *value, size_t max, tn_err *err)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t chars = 0;
    while (*p != '\0') {
        size_t n = utf8_seq_len(*p);
        if (n == 0)
            return tn_errf(err, "bad %s: not valid UTF-8", what);
        if (*p < 0x20 || *p == 0x7f)
            return tn_errf(err, "bad %s: control characters are not allowed", what);
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return tn_errf(err, "bad %s: not valid UTF-8", what);
        p += n;
        chars++;
    }
    if (chars == 0)
        return tn_errf(err, "bad %s: empty", what);
    if (chars > max)
        return tn_errf(err, "bad %s '%s': longer than %zu characters", what, value, max);
    return 0;
}

int ca_check_url(const char *url, tn_err *err)
{
    size_t len = strlen(url);
    if (len > CA_URL_MAX)
        return tn_errf(err, "bad URL: longer than %d characters", CA_URL_MAX);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return tn_errf(err, "bad URL '%s': it must start with http:// or https://", url);
    const char *host = strstr(url, "://") + 3;
    if (*host == '\0' || *host == '/')
        return tn_errf(err, "bad URL '%s': no host", url);
    for (const char *p = url; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return tn_errf(err, "bad URL '%s': spaces, control and non-ASCII "
                           "characters are not allowed", url);
    return 0;
}
