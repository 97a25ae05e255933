/* ca_index.c - the 'openssl ca' style index.txt (see ca_index.h). */
#include "pki/ca_index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "common/array.h"
#include "common/str.h"
#include "pki/ca_fs.h"

#define INDEX_MAX_BYTES (64 * 1024 * 1024)
#define INDEX_LINE_MAX 4096
#define INDEX_FIELDS 6

static const struct { const char *name; int code; } reasons[] = {
    {"unspecified", CRL_REASON_UNSPECIFIED},
    {"keyCompromise", CRL_REASON_KEY_COMPROMISE},
    {"CACompromise", CRL_REASON_CA_COMPROMISE},
    {"affiliationChanged", CRL_REASON_AFFILIATION_CHANGED},
    {"superseded", CRL_REASON_SUPERSEDED},
    {"cessationOfOperation", CRL_REASON_CESSATION_OF_OPERATION},
};

int ca_reason_code(const char *name)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(name, reasons[i].name) == 0)
            return reasons[i].code;
    return -1;
}

static bool valid_asn1_time(const char *text)
{
    size_t len = strlen(text);
    if (len != 13 && len != 15)
        return false;
    ASN1_TIME *t = ASN1_TIME_new();
    bool ok = t != NULL && ASN1_TIME_set_string(t, text) == 1;
    ASN1_TIME_free(t);
    return ok;
}

static bool is_hex(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F') ||
              (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

/* Copy field into dst or fail naming the field. */
static int copy_field(char *dst, size_t len, const char *field, const char *what,
                      const char *where, tn_err *err)
{
    if (tn_strlcpy(dst, field, len) < 0)
        return tn_errf(err, "%s: %s too long", where, what);
    return 0;
}

/* "TIME[,reason]" of an R line into e->revoked and e->reason. */
static int parse_revocation(char *field, struct ca_index_entry *e, const char *where,
                            tn_err *err)
{
    char *comma = strchr(field, ',');
    if (comma != NULL) {
        *comma = '\0';
        if (ca_reason_code(comma + 1) < 0)
            return tn_errf(err, "%s: unknown revocation reason '%s'", where, comma + 1);
        if (copy_field(e->reason, sizeof e->reason, comma + 1, "reason", where, err) < 0)
            return -1;
    }
    if (!valid_asn1_time(field))
        return tn_errf(err, "%s: bad revocation time '%s'", where, field);
    return copy_field(e->revoked, sizeof e->revoked, field, "revocation time", where, err);
}

static int parse_fields(char **f, struct ca_index_entry *e, const char *where, tn_err *err)
{
    memset(e, 0, sizeof *e);
    if (strlen(f[0]) != 1 || strchr("VRE", f[0][0]) == NULL)
        return tn_errf(err, "%s: status must be V, R or E, not '%s'", where, f[0]);
    e->status = f[0][0];
    if (!valid_asn1_time(f[1]))
        return tn_errf(err, "%s: bad expiry time '%s'", where, f[1]);
    tn_strlcpy(e->expiry, f[1], sizeof e->expiry);
    if (e->status == 'R' && parse_revocation(f[2], e, where, err) < 0)
        return -1;
    if (e->status != 'R' && f[2][0] != '\0')
        return tn_errf(err, "%s: a revocation time on a line that is not 'R'", where);
    if (!is_hex(f[3]) || strlen(f[3]) > CA_SERIAL_HEX_MAX)
        return tn_errf(err, "%s: bad serial '%s'", where, f[3]);
    tn_strlcpy(e->serial, f[3], sizeof e->serial);
    for (char *p = e->serial; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    if (copy_field(e->filename, sizeof e->filename, f[4], "file name", where, err) < 0)
        return -1;
    return copy_field(e->subject, sizeof e->subject, f[5], "subject", where, err);
}

static int parse_line(char *line, struct ca_index_entry *e, const char *where, tn_err *err)
{
    char *f[INDEX_FIELDS];
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == INDEX_FIELDS)
            return tn_errf(err, "%s: more than %d tab-separated fields", where,
                           INDEX_FIELDS);
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (n != INDEX_FIELDS)
        return tn_errf(err, "%s: %d tab-separated fields, expected %d", where, n,
                       INDEX_FIELDS);
    return parse_fields(f, e, where, err);
}

static int parse_one(const char *path, int lineno, const char *start, size_t len,
                     struct ca_index *idx, tn_err *err)
{
    char where[600];
    char line[INDEX_LINE_MAX];
    struct ca_index_entry e;
    tn_snprintf(where, sizeof where, "%s:%d", path, lineno);
    if (len >= sizeof line)
        return tn_errf(err, "%s: line too long", where);
    memcpy(line, start, len);
    line[len] = '\0';
    if (parse_line(line, &e, where, err) < 0)
        return -1;
    if (ca_index_find(idx, e.serial) != NULL)
        return tn_errf(err, "%s: serial %s appears twice", where, e.serial);
    return ca_index_append(idx, &e, err);
}

int ca_index_parse(const char *path, const char *text, struct ca_index *idx,
                   tn_err *err)
{
    memset(idx, 0, sizeof *idx);
    int lineno = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        lineno++;
        if (nl == NULL) {
            ca_index_free(idx);
            return tn_errf(err, "%s:%d: last line does not end with a newline",
                           path, lineno);
        }
        if (parse_one(path, lineno, p, (size_t)(nl - p), idx, err) < 0) {
            ca_index_free(idx);
            return -1;
        }
        p = nl + 1;
    }
    return 0;
}

int ca_index_load(const char *path, struct ca_index *idx, tn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(idx, 0, sizeof *idx);
    if (ca_fs_read(path, INDEX_MAX_BYTES, &text, &len, err) < 0)
        return -1;
    int rc = memchr(text, '\0', len) != NULL
                 ? tn_errf(err, "%s: contains a NUL byte", path)
                 : ca_index_parse(path, text, idx, err);
    free(text);
    return rc;
}

static int format_entry(char *buf, size_t len, const struct ca_index_entry *e)
{
    return tn_snprintf(buf, len, "%c\t%s\t%s%s%s\t%s\t%s\t%s\n", e->status, e->expiry,
                       e->revoked, e->reason[0] ? "," : "", e->reason, e->serial,
                       e->filename, e->subject);
}

static size_t entry_text_len(const struct ca_index_entry *e)
{
    /* status, separators, comma and newline are at most 8 characters */
    return strlen(e->expiry) + strlen(e->revoked) + strlen(e->reason) +
           strlen(e->serial) + strlen(e->filename) + strlen(e->subject) + 8;
}

int ca_index_save(const char *path, const struct ca_index *idx, tn_err *err)
{
    size_t cap = 1, used = 0;
    for (size_t i = 0; i < idx->count; i++)
        cap += entry_text_len(&idx->entries[i]);
    char *text = malloc(cap);
    if (text == NULL)
        return tn_errf(err, "%s: out of memory", path);
    text[0] = '\0';
    for (size_t i = 0; i < idx->count; i++) {
        if (format_entry(text + used, cap - used, &idx->entries[i]) < 0) {
            free(text);
            return tn_errf(err, "%s: cannot format entry %zu", path, i + 1);
        }
        used += strlen(text + used);
    }
    int rc = ca_fs_replace(path, 0644, text, used, err);
    free(text);
    return rc;
}

int ca_index_append(struct ca_index *idx, const struct ca_index_entry *entry,
                    tn_err *err)
{
    if (tn_array_reserve((void **)&idx->entries, &idx->cap, idx->count + 1,
                         sizeof *idx->entries) < 0)
        return tn_errf(err, "index: out of memory");
    idx->entries[idx->count++] = *entry;
    return 0;
}

static const char *skip_zeros(const char *hex)
{
    if (strncasecmp(hex, "0x", 2) == 0)
        hex += 2;
    while (hex[0] == '0' && hex[1] != '\0')
        hex++;
    return hex;
}

struct ca_index_entry *ca_index_find(const struct ca_index *idx, const char *serial)
{
    const char *want = skip_zeros(serial);
    for (size_t i = 0; i < idx->count; i++)
        if (strcasecmp(skip_zeros(idx->entries[i].serial), want) == 0)
            return &idx->entries[i];
    return NULL;
}

void ca_index_entry_name(const struct ca_index_entry *entry, char *buf, size_t len)
{
    /* CN is the last component of the names this CA writes. */
    const char *cn = NULL;
    for (const char *p = entry->subject; (p = strstr(p, "/CN=")) != NULL; p++)
        cn = p + 4;
    if (cn == NULL) {
        tn_strlcpy(buf, "", len);
        return;
    }
    size_t n = strcspn(cn, "/");
    tn_snprintf(buf, len, "%.*s", (int)n, cn);
}

void ca_index_free(struct ca_index *idx)
{
    free(idx->entries);
    memset(idx, 0, sizeof *idx);
}
