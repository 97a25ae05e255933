/*
 * ca_key.h - key types the CA can generate (ECDSA P-256 by default, RSA
 * 2048/3072/4096), key generation, and PEM encoding of certificates, keys
 * and CRLs into memory buffers that ca_fs then writes to disk.
 */
#ifndef TN_PKI_CA_KEY_H
#define TN_PKI_CA_KEY_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

enum ca_key_type { CA_KEY_EC_P256, CA_KEY_RSA2048, CA_KEY_RSA3072, CA_KEY_RSA4096 };

#define CA_KEY_TYPES_TEXT "ec, rsa2048, rsa3072 or rsa4096"

/* "ec", "rsa2048", "rsa3072", "rsa4096" -> type. */
int ca_key_type_parse(const char *text, enum ca_key_type *type, tn_err *err);

/* A new private key of that type. */
EVP_PKEY *ca_key_generate(enum ca_key_type type, tn_err *err);

/* true for RSA keys (they also get keyEncipherment in their key usage). */
int ca_key_is_rsa(const EVP_PKEY *key);

/* A PEM encoding held in memory; ca_pem_free wipes it before freeing. */
struct ca_pem {
    BIO *bio;
    const char *data;
    size_t len;
};

/* Encode certs[0..n-1] / an unencrypted PKCS#8 key / a CRL. */
int ca_pem_certs(struct ca_pem *pem, X509 *const *certs, size_t n, tn_err *err);
int ca_pem_key(struct ca_pem *pem, EVP_PKEY *key, tn_err *err);
int ca_pem_crl(struct ca_pem *pem, X509_CRL *crl, tn_err *err);
void ca_pem_free(struct ca_pem *pem);

#endif
