/*
 * x509_load.h - read PEM certificates, CRLs and keys from files.
 *
 * Every reader is bounded (TN_PEM_MAX_BYTES per file) and names the file
 * and the problem in its error.
 */
#ifndef TN_TLS_X509_LOAD_H
#define TN_TLS_X509_LOAD_H

#include <openssl/x509.h>

#include "common/err.h"

#define TN_PEM_MAX_BYTES (4 * 1024 * 1024)

/* All certificates in a PEM file, in file order (leaf first for a chain
 * file).  Fails if the file holds none.  Free with
 * sk_X509_pop_free(chain, X509_free). */
STACK_OF(X509) *x509_load_chain_file(const char *path, tn_err *err);

/* All CRLs in a PEM file; fails if the file holds none. */
STACK_OF(X509_CRL) *x509_load_crl_file(const char *path, tn_err *err);

/* A private key from a PEM file (unencrypted). */
EVP_PKEY *x509_load_key_file(const char *path, tn_err *err);

#endif
