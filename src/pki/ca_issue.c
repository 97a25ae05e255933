/* ca_issue.c - issuing a server or client certificate (see ca.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "pki/ca.h"
#include "pki/ca_cert.h"
#include "pki/ca_dir.h"
#include "pki/ca_fs.h"
#include "tls/x509_text.h"

#define SERIAL_ATTEMPTS 8

/* The two output files, reserved (created empty, exclusively) up front. */
struct issue_out {
    char cert_path[PATH_MAX];
    char key_path[PATH_MAX];
    int cert_fd;
    int key_fd;
};

static int check_issue_opts(const struct ca_issue_opts *o, tn_err *err)
{
    if (ca_check_dns_name(o->name, err) < 0)
        return -1;
    if (strlen(o->name) > CA_NAME_FIELD_MAX)
        return tn_errf(err, "name '%s' is longer than %d characters, the limit for "
                       "a certificate's common name", o->name, CA_NAME_FIELD_MAX);
    if (o->ou != NULL &&
        ca_check_name_field("organisational unit", o->ou, CA_NAME_FIELD_MAX, err) < 0)
        return -1;
    if (!o->has_not_after && (o->days < 1 || o->days > CA_DAYS_MAX))
        return tn_errf(err, "bad --days %d: expected 1 to %d", o->days, CA_DAYS_MAX);
    return 0;
}

/* The validity period, which must lie before the CA's own expiry. */
static int validity(const struct ca_issue_opts *o, X509 *ca, time_t now,
                    time_t *not_before, time_t *not_after, tn_err *err)
{
    *not_before = o->has_not_before ? o->not_before : now;
    *not_after = o->has_not_after ? o->not_after : now + (time_t)o->days * 86400;
    if (*not_after <= *not_before)
        return tn_errf(err, "the certificate would end before it starts "
                       "(check --not-before, --not-after and --days)");
    if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca), *not_after) < 0) {
        char until[32];
        x509_text_time(X509_get0_notAfter(ca), until, sizeof until);
        return tn_errf(err, "the certificate would outlive the CA, which expires "
                       "%s: choose an earlier --not-after or fewer --days", until);
    }
    return 0;
}

/* A random serial not yet in the index. */
static ASN1_INTEGER *unique_serial(const struct ca_dir *ca, char *hex, size_t len,
                                   tn_err *err)
{
    for (int i = 0; i < SERIAL_ATTEMPTS; i++) {
        ASN1_INTEGER *serial = ca_cert_random_serial(err);
        if (serial == NULL || ca_cert_serial_hex(serial, hex, len, err) < 0) {
            ASN1_INTEGER_free(serial);
            return NULL;
        }
        if (ca_index_find(&ca->index, hex) == NULL)
            return serial;
        ASN1_INTEGER_free(serial);
    }
    tn_errf(err, "cannot draw a serial that is not in the index");
    return NULL;
}

static X509 *build_leaf(const struct ca_dir *ca, const struct ca_issue_opts *o,
                        EVP_PKEY *key, const ASN1_INTEGER *serial, time_t now,
                        tn_err *err)
{
    struct ca_leaf_req req = {
        .name = o->name, .org = ca->settings.org, .ou = o->ou,
        .sans = o->sans, .nsans = o->nsans, .client_only = o->client_only,
        .crl_url = ca->settings.crl_url, .serial = serial,
    };
    if (validity(o, ca->cert, now, &req.not_before, &req.not_after, err) < 0)
        return NULL;
    return ca_cert_make_leaf(&req, key, ca->cert, ca->key, err);
}

static void close_out(struct issue_out *out, bool remove)
{
    if (out->key_fd >= 0)
        close(out->key_fd);
    if (out->cert_fd >= 0)
        close(out->cert_fd);
    if (remove && out->key_fd >= 0)
        unlink(out->key_path);
    if (remove && out->cert_fd >= 0)
        unlink(out->cert_path);
    out->key_fd = out->cert_fd = -1;
}

static int reserve_out(struct issue_out *out, const char *prefix, tn_err *err)
{
    out->cert_fd = out->key_fd = -1;
    if (tn_snprintf(out->cert_path, sizeof out->cert_path, "%s.pem", prefix) < 0 ||
        tn_snprintf(out->key_path, sizeof out->key_path, "%s.key", prefix) < 0)
        return tn_errf(err, "--out prefix too long: %s", prefix);
    if (ca_fs_exists(out->cert_path))
        return tn_errf(err, "%s already exists: refusing to overwrite it",
                       out->cert_path);
    out->key_fd = ca_fs_create_excl(out->key_path, 0600, err);
    if (out->key_fd < 0)
        return -1;
    out->cert_fd = ca_fs_create_excl(out->cert_path, 0644, err);
    if (out->cert_fd < 0) {
        close_out(out, true);
        return -1;
    }
    return 0;
}

static int record_in_index(struct ca_dir *ca, X509 *leaf, const char *serial_hex,
                           tn_err *err)
{
    struct ca_index_entry e;
    memset(&e, 0, sizeof e);
    e.status = 'V';
    const ASN1_TIME *na = X509_get0_notAfter(leaf);
    char *subject = X509_NAME_oneline(X509_get_subject_name(leaf), NULL, 0);
    int rc = 0;
    if (subject == NULL ||
        tn_snprintf(e.expiry, sizeof e.expiry, "%.*s", ASN1_STRING_length(na),
                    (const char *)ASN1_STRING_get0_data(na)) < 0 ||
        tn_strlcpy(e.serial, serial_hex, sizeof e.serial) < 0 ||
        tn_strlcpy(e.filename, "unknown", sizeof e.filename) < 0 ||
        tn_strlcpy(e.subject, subject, sizeof e.subject) < 0)
        rc = tn_errf(err, "cannot make the index entry for %s", serial_hex);
    OPENSSL_free(subject);
    if (rc == 0)
        rc = ca_index_append(&ca->index, &e, err);
    return rc == 0 ? ca_dir_save_index(ca, err) : -1;
}

/* Fill the reserved files: PREFIX.key, then PREFIX.pem (leaf, then CA). */
static int write_out(struct issue_out *out, X509 *leaf, X509 *ca, EVP_PKEY *key,
                     tn_err *err)
{
    struct ca_pem pem;
    if (ca_pem_key(&pem, key, err) < 0)
        return -1;
    int rc = ca_fs_write_fd(out->key_fd, out->key_path, pem.data, pem.len, err);
    ca_pem_free(&pem);
    X509 *certs[2] = {leaf, ca};
    if (rc == 0 && (rc = ca_pem_certs(&pem, certs, 2, err)) == 0) {
        rc = ca_fs_write_fd(out->cert_fd, out->cert_path, pem.data, pem.len, err);
        ca_pem_free(&pem);
    }
    return rc;
}

static void describe_issued(X509 *leaf, const struct issue_out *files,
                            struct ca_issued *res)
{
    x509_text_serial(leaf, res->serial, sizeof res->serial);
    tn_strlcpy(res->cert_path, files->cert_path, sizeof res->cert_path);
    tn_strlcpy(res->key_path, files->key_path, sizeof res->key_path);
    x509_text_time(X509_get0_notBefore(leaf), res->not_before, sizeof res->not_before);
    x509_text_time(X509_get0_notAfter(leaf), res->not_after, sizeof res->not_after);
}

/* Reserve the output files, record the certificate in the index, then
 * write the files.  The index comes first so that no certificate can
 * exist that the CA does not know of (and so could not revoke). */
static int store_issued(struct ca_dir *ca, const struct ca_issue_opts *o, X509 *leaf,
                        EVP_PKEY *key, const char *serial_hex, struct ca_issued *res,
                        tn_err *err)
{
    struct issue_out out;
    if (reserve_out(&out, o->out_prefix, err) < 0)
        return -1;
    if (record_in_index(ca, leaf, serial_hex, err) < 0) {
        close_out(&out, true);
        return -1;
    }
    tn_err why;
    if (write_out(&out, leaf, ca->cert, key, &why) < 0) {
        close_out(&out, true);
        return tn_errf(err, "%s (serial %s is recorded in the index: revoke it)",
                       why.msg, serial_hex);
    }
    close_out(&out, false);
    if (res != NULL)
        describe_issued(leaf, &out, res);
    return 0;
}

int ca_issue(const struct ca_issue_opts *o, struct ca_issued *res, tn_err *err)
{
    struct ca_dir ca;
    char hex[CA_SERIAL_HEX_MAX + 1];
    if (check_issue_opts(o, err) < 0 || ca_dir_open(&ca, o->dir, true, true, err) < 0)
        return -1;
    int rc = -1;
    EVP_PKEY *key = ca_key_generate(o->key, err);
    ASN1_INTEGER *serial = key ? unique_serial(&ca, hex, sizeof hex, err) : NULL;
    X509 *leaf = serial ? build_leaf(&ca, o, key, serial, time(NULL), err) : NULL;
    if (leaf != NULL)
        rc = store_issued(&ca, o, leaf, key, hex, res, err);
    X509_free(leaf);
    ASN1_INTEGER_free(serial);
    EVP_PKEY_free(key);
    ca_dir_close(&ca);
    return rc;
}
