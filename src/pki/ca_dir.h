/*
 * ca_dir.h - (internal to src/pki) an opened, locked CA directory with its
 * certificate, key, settings and index loaded, and the CRL writer shared
 * by init, revoke and crl.
 */
#ifndef TN_PKI_CA_DIR_H
#define TN_PKI_CA_DIR_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/ca.h"
#include "pki/ca_index.h"
#include "pki/ca_settings.h"

#define CA_CERT_FILE "ca.pem"
#define CA_KEY_FILE "ca.key"
#define CA_INDEX_ATTR_FILE "index.txt.attr"

struct ca_dir {
    const char *dir;
    int lock_fd;
    X509 *cert;
    EVP_PKEY *key;             /* NULL unless opened with need_key */
    struct ca_settings settings;
    struct ca_index index;
};

/* Lock dir and load the CA (the key only when need_key). */
int ca_dir_open(struct ca_dir *ca, const char *dir, bool exclusive, bool need_key,
                tn_err *err);

/* Free everything and release the lock (safe on a zeroed ca_dir). */
void ca_dir_close(struct ca_dir *ca);

/* Path of a file in the CA directory. */
int ca_dir_path(const struct ca_dir *ca, const char *name, char *buf, size_t len,
                tn_err *err);

/* Save the index to DIR/index.txt atomically. */
int ca_dir_save_index(const struct ca_dir *ca, tn_err *err);

/* Write a new CRL.  With create (ca init) the CRL number is 1 and crl.pem
 * and crlnumber must not exist; otherwise the number comes from crlnumber.
 * The counter is advanced before crl.pem is written, so that a number is
 * never used twice. */
int ca_dir_write_crl(struct ca_dir *ca, time_t now, bool create,
                     struct ca_crl_result *res, tn_err *err);

#endif
