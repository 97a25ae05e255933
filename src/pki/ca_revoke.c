/* ca_revoke.c - revoking an issued certificate (see ca.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/str.h"
#include "pki/ca.h"
#include "pki/ca_cert.h"
#include "pki/ca_dir.h"
#include "pki/ca_fs.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"

/* The serial of the first certificate in path, which this CA must have
 * signed (a certificate of another CA with a colliding serial must not
 * revoke one of ours). */
static int serial_of_file(const struct ca_dir *ca, const char *path, char *hex,
                          size_t len, tn_err *err)
{
    STACK_OF(X509) *chain = x509_load_chain_file(path, err);
    if (chain == NULL)
        return -1;
    X509 *cert = sk_X509_value(chain, 0);
    int rc = 0;
    if (X509_verify(cert, X509_get0_pubkey(ca->cert)) != 1) {
        char subject[256];
        x509_text_name(X509_get_subject_name(cert), subject, sizeof subject);
        rc = tn_errf(err, "%s (%s) was not issued by the CA in %s", path, subject,
                     ca->dir);
    } else {
        rc = ca_cert_serial_hex(X509_get0_serialNumber(cert), hex, len, err);
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static int resolve_serial(const struct ca_dir *ca, const char *arg, char *hex,
                          size_t len, tn_err *err)
{
    if (ca_fs_exists(arg))
        return serial_of_file(ca, arg, hex, len, err);
    if (!ca_serial_syntax_ok(arg))
        return tn_errf(err, "'%s' is neither a certificate file nor a hexadecimal "
                       "serial", arg);
    if (strncasecmp(arg, "0x", 2) == 0)
        arg += 2;
    return tn_strlcpy(hex, arg, len) < 0 ? tn_errf(err, "serial too long") : 0;
}

static int mark_revoked(struct ca_index_entry *e, const char *reason, time_t now,
                        tn_err *err)
{
    ASN1_TIME *t = ASN1_TIME_set(NULL, now);
    if (t == NULL)
        return tn_errf(err, "out of memory");
    int rc = tn_snprintf(e->revoked, sizeof e->revoked, "%.*s", ASN1_STRING_length(t),
                         (const char *)ASN1_STRING_get0_data(t));
    ASN1_TIME_free(t);
    if (rc < 0 || tn_strlcpy(e->reason, reason ? reason : "", sizeof e->reason) < 0)
        return tn_errf(err, "cannot record the revocation");
    e->status = 'R';
    return 0;
}

static int revoke_entry(struct ca_dir *ca, const char *hex, const char *reason,
                        tn_err *err)
{
    struct ca_index_entry *e = ca_index_find(&ca->index, hex);
    if (e == NULL)
        return tn_errf(err, "serial 0x%s is not in %s/%s: this CA did not issue it",
                       hex, ca->dir, CA_INDEX_FILE);
    if (e->status == 'R') {
        char when[32] = "?";
        ASN1_TIME *t = ASN1_TIME_new();
        if (t != NULL && ASN1_TIME_set_string(t, e->revoked) == 1)
            x509_text_time(t, when, sizeof when);
        ASN1_TIME_free(t);
        return tn_errf(err, "serial 0x%s is already revoked (since %s)", e->serial, when);
    }
    return mark_revoked(e, reason, time(NULL), err);
}

int ca_revoke(const char *dir, const char *serial_or_file, const char *reason,
              char *serial_out, size_t serial_len, struct ca_crl_result *crl,
              tn_err *err)
{
    struct ca_dir ca;
    char hex[CA_SERIAL_HEX_MAX + 1];
    if (reason != NULL && ca_reason_code(reason) < 0)
        return tn_errf(err, "bad --reason '%s': expected one of %s", reason,
                       CA_REASONS_TEXT);
    if (ca_dir_open(&ca, dir, true, true, err) < 0)
        return -1;
    int rc = resolve_serial(&ca, serial_or_file, hex, sizeof hex, err);
    if (rc == 0)
        rc = revoke_entry(&ca, hex, reason, err);
    if (rc == 0)
        rc = ca_dir_save_index(&ca, err);
    if (rc == 0 && serial_out != NULL)
        tn_snprintf(serial_out, serial_len, "0x%s", ca_index_find(&ca.index, hex)->serial);
    tn_err why;
    if (rc == 0 && ca_dir_write_crl(&ca, time(NULL), false, crl, &why) < 0)
        rc = tn_errf(err, "the revocation is recorded in the index, but the CRL was "
                     "not rewritten (%s): run 'trustnet ca crl --dir %s'", why.msg, dir);
    ca_dir_close(&ca);
    return rc;
}
