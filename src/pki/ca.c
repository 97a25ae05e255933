/* ca.c - opening a CA directory, writing its CRL, and the read-mostly
 * operations crl and list (see ca.h and ca_dir.h). */
#include "pki/ca.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/bn.h>

#include "common/str.h"
#include "pki/ca_crl.h"
#include "pki/ca_dir.h"
#include "pki/ca_fs.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"

int ca_dir_path(const struct ca_dir *ca, const char *name, char *buf, size_t len,
                tn_err *err)
{
    return ca_fs_path(buf, len, ca->dir, name, err);
}

/* A CA key that others can read is a compromised CA: refuse to use it. */
static int check_key_mode(const char *path, tn_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return tn_errf(err, "%s: %s", path, strerror(errno));
    if (st.st_mode & 077)
        return tn_errf(err, "%s is accessible by group or others (mode %03o): "
                       "run 'chmod 600 %s'", path, (unsigned)(st.st_mode & 0777), path);
    return 0;
}

static int load_key(struct ca_dir *ca, tn_err *err)
{
    char path[PATH_MAX];
    if (ca_dir_path(ca, CA_KEY_FILE, path, sizeof path, err) < 0 ||
        check_key_mode(path, err) < 0)
        return -1;
    ca->key = x509_load_key_file(path, err);
    if (ca->key == NULL)
        return -1;
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        tn_errf(err, "%s does not match the CA certificate %s/%s", path, ca->dir,
                CA_CERT_FILE);
        return tn_err_append_openssl(err);
    }
    return 0;
}

static int load_cert(struct ca_dir *ca, tn_err *err)
{
    char path[PATH_MAX];
    if (ca_dir_path(ca, CA_CERT_FILE, path, sizeof path, err) < 0)
        return -1;
    if (!ca_fs_exists(path))
        return tn_errf(err, "%s: no CA here (create one with 'trustnet ca init')",
                       ca->dir);
    STACK_OF(X509) *chain = x509_load_chain_file(path, err);
    if (chain == NULL)
        return -1;
    ca->cert = sk_X509_shift(chain);
    sk_X509_pop_free(chain, X509_free);
    return 0;
}

static int load_state(struct ca_dir *ca, bool need_key, tn_err *err)
{
    char path[PATH_MAX];
    if (load_cert(ca, err) < 0 || (need_key && load_key(ca, err) < 0))
        return -1;
    if (ca_dir_path(ca, CA_SETTINGS_FILE, path, sizeof path, err) < 0 ||
        ca_settings_load(path, &ca->settings, err) < 0)
        return -1;
    if (ca_dir_path(ca, CA_INDEX_FILE, path, sizeof path, err) < 0)
        return -1;
    return ca_index_load(path, &ca->index, err);
}

int ca_dir_open(struct ca_dir *ca, const char *dir, bool exclusive, bool need_key,
                tn_err *err)
{
    memset(ca, 0, sizeof *ca);
    ca->dir = dir;
    ca->lock_fd = ca_fs_lock_dir(dir, exclusive, err);
    if (ca->lock_fd < 0)
        return -1;
    if (load_state(ca, need_key, err) < 0) {
        ca_dir_close(ca);
        return -1;
    }
    return 0;
}

void ca_dir_close(struct ca_dir *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca_index_free(&ca->index);
    if (ca->dir != NULL)
        ca_fs_unlock_dir(ca->lock_fd);
    memset(ca, 0, sizeof *ca);
    ca->lock_fd = -1;
}

int ca_dir_save_index(const struct ca_dir *ca, tn_err *err)
{
    char path[PATH_MAX];
    if (ca_dir_path(ca, CA_INDEX_FILE, path, sizeof path, err) < 0)
        return -1;
    return ca_index_save(path, &ca->index, err);
}

static size_t count_revoked(const struct ca_index *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < idx->count; i++)
        n += idx->entries[i].status == 'R';
    return n;
}

static void describe_crl(X509_CRL *crl, const BIGNUM *number, const struct ca_index *idx,
                         struct ca_crl_result *res)
{
    if (res == NULL)
        return;
    char *hex = BN_bn2hex(number);
    tn_snprintf(res->number, sizeof res->number, "0x%s", hex ? hex : "?");
    OPENSSL_free(hex);
    res->revoked = count_revoked(idx);
    x509_text_time(X509_CRL_get0_nextUpdate(crl), res->next_update,
                   sizeof res->next_update);
}

/* Advance the counter file to number + 1, then write crl.pem. */
static int store_crl(struct ca_dir *ca, X509_CRL *crl, const BIGNUM *number,
                     bool create, tn_err *err)
{
    char num_path[PATH_MAX], crl_path[PATH_MAX];
    BIGNUM *next = BN_dup(number);
    struct ca_pem pem;
    int rc = -1;
    if (next == NULL || !BN_add_word(next, 1))
        tn_errf(err, "out of memory");
    else if (ca_dir_path(ca, CA_CRLNUMBER_FILE, num_path, sizeof num_path, err) == 0 &&
             ca_dir_path(ca, CA_CRL_FILE, crl_path, sizeof crl_path, err) == 0 &&
             ca_crl_number_save(num_path, next, create, err) == 0 &&
             ca_pem_crl(&pem, crl, err) == 0) {
        rc = create ? ca_fs_write_new(crl_path, 0644, pem.data, pem.len, err)
                    : ca_fs_replace(crl_path, 0644, pem.data, pem.len, err);
        ca_pem_free(&pem);
    }
    BN_free(next);
    return rc;
}

int ca_dir_write_crl(struct ca_dir *ca, time_t now, bool create,
                     struct ca_crl_result *res, tn_err *err)
{
    char path[PATH_MAX];
    BIGNUM *number = NULL;
    if (create) {
        number = BN_new();
        if (number == NULL || !BN_set_word(number, 1)) {
            BN_free(number);
            return tn_errf(err, "out of memory");
        }
    } else if (ca_dir_path(ca, CA_CRLNUMBER_FILE, path, sizeof path, err) < 0 ||
               (number = ca_crl_number_load(path, err)) == NULL) {
        return -1;
    }
    X509_CRL *crl = ca_crl_build(ca->cert, ca->key, &ca->index, number, now,
                                 ca->settings.crl_days, err);
    int rc = crl ? store_crl(ca, crl, number, create, err) : -1;
    if (rc == 0)
        describe_crl(crl, number, &ca->index, res);
    X509_CRL_free(crl);
    BN_free(number);
    return rc;
}

int ca_crl(const char *dir, struct ca_crl_result *crl, tn_err *err)
{
    struct ca_dir ca;
    if (ca_dir_open(&ca, dir, true, true, err) < 0)
        return -1;
    int rc = ca_dir_write_crl(&ca, time(NULL), false, crl, err);
    ca_dir_close(&ca);
    return rc;
}

static void list_entry(const struct ca_index_entry *e, time_t now,
                       struct ca_list_entry *out)
{
    ASN1_TIME *exp = ASN1_TIME_new();
    bool expired = false;
    tn_strlcpy(out->expires, "?", sizeof out->expires);
    if (exp != NULL && ASN1_TIME_set_string(exp, e->expiry) == 1) {
        x509_text_date(exp, out->expires, sizeof out->expires);
        expired = ASN1_TIME_cmp_time_t(exp, now) < 0;
    }
    ASN1_TIME_free(exp);
    tn_snprintf(out->serial, sizeof out->serial, "0x%s", e->serial);
    ca_index_entry_name(e, out->name, sizeof out->name);
    out->status = e->status == 'R' ? "revoked"
                : (e->status == 'E' || expired) ? "expired" : "valid";
}

int ca_list(const char *dir, struct ca_list_entry **entries, size_t *count, tn_err *err)
{
    struct ca_dir ca;
    *entries = NULL;
    *count = 0;
    if (ca_dir_open(&ca, dir, false, false, err) < 0)
        return -1;
    size_t n = ca.index.count;
    struct ca_list_entry *list = calloc(n ? n : 1, sizeof *list);
    if (list == NULL) {
        ca_dir_close(&ca);
        return tn_errf(err, "out of memory");
    }
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++)
        list_entry(&ca.index.entries[i], now, &list[i]);
    ca_dir_close(&ca);
    *entries = list;
    *count = n;
    return 0;
}

bool ca_serial_syntax_ok(const char *text)
{
    if (strncasecmp(text, "0x", 2) == 0)
        text += 2;
    size_t n = strspn(text, "0123456789abcdefABCDEF");
    return n > 0 && n <= CA_SERIAL_HEX_MAX && text[n] == '\0';
}
