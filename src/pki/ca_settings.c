/* ca_settings.c - the DIR/settings key=value file (see ca_settings.h). */
#include "pki/ca_settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "pki/ca_fs.h"

#define SETTINGS_MAX_BYTES (64 * 1024)
#define SETTINGS_LINE_MAX 2048

enum { SEEN_ORG = 1, SEEN_CRL_URL = 2, SEEN_CRL_DAYS = 4 };

static int parse_days(const char *value, int *out)
{
    if (value[0] < '0' || value[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    long v = strtol(value, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > CA_CRL_DAYS_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* Apply one "key=value" to s; *seen records keys already given. */
static int apply_setting(const char *where, const char *key, const char *value,
                         struct ca_settings *s, int *seen, tn_err *err)
{
    tn_err why;
    int bit = strcmp(key, "org") == 0 ? SEEN_ORG
            : strcmp(key, "crl_url") == 0 ? SEEN_CRL_URL
            : strcmp(key, "crl_days") == 0 ? SEEN_CRL_DAYS : 0;
    if (bit == 0)
        return tn_errf(err, "%s: unknown setting '%s' (known: org, crl_url, crl_days)",
                       where, key);
    if (*seen & bit)
        return tn_errf(err, "%s: '%s' is set twice", where, key);
    *seen |= bit;
    if (bit == SEEN_CRL_DAYS) {
        if (parse_days(value, &s->crl_days) < 0)
            return tn_errf(err, "%s: crl_days must be a number from 1 to %d",
                           where, CA_CRL_DAYS_MAX);
        return 0;
    }
    if (bit == SEEN_ORG) {
        if (ca_check_name_field("organisation", value, CA_NAME_FIELD_MAX, &why) < 0)
            return tn_errf(err, "%s: %s", where, why.msg);
        return tn_strlcpy(s->org, value, sizeof s->org) < 0
                   ? tn_errf(err, "%s: org too long", where) : 0;
    }
    if (ca_check_url(value, &why) < 0)
        return tn_errf(err, "%s: %s", where, why.msg);
    return tn_strlcpy(s->crl_url, value, sizeof s->crl_url) < 0
               ? tn_errf(err, "%s: crl_url too long", where) : 0;
}

static int parse_line(const char *path, int lineno, char *line,
                      struct ca_settings *s, int *seen, tn_err *err)
{
    char where[512];
    tn_snprintf(where, sizeof where, "%s:%d", path, lineno);
    if (line[0] == '\0' || line[0] == '#')
        return 0;
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return tn_errf(err, "%s: expected key=value", where);
    *eq = '\0';
    const char *key = line, *value = eq + 1;
    if (key[0] == '\0' || strpbrk(key, " \t") || value[0] == ' ' ||
        value[0] == '\t' || (value[0] && strchr(" \t", value[strlen(value) - 1])))
        return tn_errf(err, "%s: no spaces around '=' or at the end of a line", where);
    return apply_setting(where, key, value, s, seen, err);
}

int ca_settings_parse(const char *path, const char *text, struct ca_settings *s,
                      tn_err *err)
{
    memset(s, 0, sizeof *s);
    int seen = 0, lineno = 0;
    const char *p = text;
    while (*p != '\0') {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[SETTINGS_LINE_MAX];
        if (len >= sizeof line)
            return tn_errf(err, "%s:%d: line too long", path, lineno);
        memcpy(line, p, len);
        line[len] = '\0';
        if (memchr(line, '\r', len) != NULL)
            return tn_errf(err, "%s:%d: carriage return in line", path, lineno);
        if (parse_line(path, lineno, line, s, &seen, err) < 0)
            return -1;
        p += len + (nl != NULL);
    }
    if (!(seen & SEEN_CRL_DAYS))
        return tn_errf(err, "%s: crl_days is missing", path);
    return 0;
}

int ca_settings_load(const char *path, struct ca_settings *s, tn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (ca_fs_read(path, SETTINGS_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    int rc = 0;
    if (memchr(text, '\0', len) != NULL)
        rc = tn_errf(err, "%s: contains a NUL byte", path);
    else
        rc = ca_settings_parse(path, text, s, err);
    free(text);
    return rc;
}

int ca_settings_write_new(const char *path, const struct ca_settings *s, tn_err *err)
{
    char text[SETTINGS_LINE_MAX * 3];
    int rc = tn_snprintf(text, sizeof text,
                         "# trustnet enterprise CA settings (key=value, see "
                         "'trustnet ca --help')\n");
    if (s->org[0] != '\0')
        rc |= tn_appendf(text, sizeof text, "org=%s\n", s->org);
    if (s->crl_url[0] != '\0')
        rc |= tn_appendf(text, sizeof text, "crl_url=%s\n", s->crl_url);
    rc |= tn_appendf(text, sizeof text, "crl_days=%d\n", s->crl_days);
    if (rc != 0)
        return tn_errf(err, "%s: settings too long", path);
    return ca_fs_write_new(path, 0644, text, strlen(text), err);
}
