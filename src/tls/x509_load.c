/* x509_load.c - bounded PEM readers (see x509_load.h). */
#include "tls/x509_load.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* Open path as a memory BIO after checking its size, so that a huge or
 * endless file (a FIFO, /dev/zero) cannot exhaust memory. */
static BIO *open_bounded(const char *path, tn_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        tn_errf(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        tn_errf(err, "%s: not a regular file", path);
        return NULL;
    }
    if (st.st_size > TN_PEM_MAX_BYTES) {
        tn_errf(err, "%s: too large (%lld bytes, limit %d)", path,
                (long long)st.st_size, TN_PEM_MAX_BYTES);
        return NULL;
    }
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL)
        tn_errf(err, "%s: %s", path, strerror(errno));
    return bio;
}

/* Every certificate and CRL in a PEM file, in file order. */
static STACK_OF(X509_INFO) *read_pem_objects(const char *path, tn_err *err)
{
    BIO *bio = open_bounded(path, err);
    if (bio == NULL)
        return NULL;
    STACK_OF(X509_INFO) *objs = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (objs == NULL) {
        tn_errf(err, "%s: not a valid PEM file", path);
        tn_err_append_openssl(err);
    }
    return objs;
}

STACK_OF(X509) *x509_load_chain_file(const char *path, tn_err *err)
{
    STACK_OF(X509_INFO) *objs = read_pem_objects(path, err);
    if (objs == NULL)
        return NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (int i = 0; chain != NULL && i < sk_X509_INFO_num(objs); i++) {
        X509_INFO *info = sk_X509_INFO_value(objs, i);
        if (info->x509 != NULL && sk_X509_push(chain, info->x509))
            info->x509 = NULL; /* moved into chain */
    }
    sk_X509_INFO_pop_free(objs, X509_INFO_free);
    if (chain == NULL || sk_X509_num(chain) == 0) {
        tn_errf(err, "%s: no valid PEM certificate", path);
        sk_X509_pop_free(chain, X509_free);
        return NULL;
    }
    return chain;
}

STACK_OF(X509_CRL) *x509_load_crl_file(const char *path, tn_err *err)
{
    STACK_OF(X509_INFO) *objs = read_pem_objects(path, err);
    if (objs == NULL)
        return NULL;
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    for (int i = 0; crls != NULL && i < sk_X509_INFO_num(objs); i++) {
        X509_INFO *info = sk_X509_INFO_value(objs, i);
        if (info->crl != NULL && sk_X509_CRL_push(crls, info->crl))
            info->crl = NULL; /* moved into crls */
    }
    sk_X509_INFO_pop_free(objs, X509_INFO_free);
    if (crls == NULL || sk_X509_CRL_num(crls) == 0) {
        tn_errf(err, "%s: no valid PEM CRL", path);
        sk_X509_CRL_pop_free(crls, X509_CRL_free);
        return NULL;
    }
    return crls;
}

EVP_PKEY *x509_load_key_file(const char *path, tn_err *err)
{
    BIO *bio = open_bounded(path, err);
    if (bio == NULL)
        return NULL;
    /* An empty passphrase callback: encrypted keys fail instead of prompting. */
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    if (key == NULL) {
        tn_errf(err, "%s: no valid unencrypted PEM private key", path);
        tn_err_append_openssl(err);
    }
    return key;
}
