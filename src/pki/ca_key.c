/* ca_key.c - key generation and PEM encoding in memory (see ca_key.h). */
#include "pki/ca_key.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

static const struct {
    const char *name;
    enum ca_key_type type;
    size_t rsa_bits; /* 0 for EC */
} key_types[] = {
    {"ec", CA_KEY_EC_P256, 0},
    {"rsa2048", CA_KEY_RSA2048, 2048},
    {"rsa3072", CA_KEY_RSA3072, 3072},
    {"rsa4096", CA_KEY_RSA4096, 4096},
};

int ca_key_type_parse(const char *text, enum ca_key_type *type, tn_err *err)
{
    for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++) {
        if (strcmp(text, key_types[i].name) == 0) {
            *type = key_types[i].type;
            return 0;
        }
    }
    return tn_errf(err, "bad --key '%s': expected %s", text, CA_KEY_TYPES_TEXT);
}

EVP_PKEY *ca_key_generate(enum ca_key_type type, tn_err *err)
{
    EVP_PKEY *key = NULL;
    size_t bits = 0;
    for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
        if (key_types[i].type == type)
            bits = key_types[i].rsa_bits;
    if (type == CA_KEY_EC_P256)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (bits != 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    if (key == NULL) {
        tn_errf(err, "cannot generate a key");
        tn_err_append_openssl(err);
    }
    return key;
}

int ca_key_is_rsa(const EVP_PKEY *key)
{
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

static int pem_begin(struct ca_pem *pem, tn_err *err)
{
    memset(pem, 0, sizeof *pem);
    pem->bio = BIO_new(BIO_s_secmem()); /* wiped when freed */
    if (pem->bio == NULL)
        return tn_errf(err, "out of memory");
    return 0;
}

static int pem_finish(struct ca_pem *pem, int ok, const char *what, tn_err *err)
{
    char *data = NULL;
    long len = ok ? BIO_get_mem_data(pem->bio, &data) : 0;
    if (!ok || len <= 0 || data == NULL) {
        tn_errf(err, "cannot encode %s as PEM", what);
        tn_err_append_openssl(err);
        ca_pem_free(pem);
        return -1;
    }
    pem->data = data;
    pem->len = (size_t)len;
    return 0;
}

int ca_pem_certs(struct ca_pem *pem, X509 *const *certs, size_t n, tn_err *err)
{
    if (pem_begin(pem, err) < 0)
        return -1;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = PEM_write_bio_X509(pem->bio, certs[i]);
    return pem_finish(pem, ok, "the certificate", err);
}

int ca_pem_key(struct ca_pem *pem, EVP_PKEY *key, tn_err *err)
{
    if (pem_begin(pem, err) < 0)
        return -1;
    int ok = PEM_write_bio_PrivateKey(pem->bio, key, NULL, NULL, 0, NULL, NULL);
    return pem_finish(pem, ok, "the private key", err);
}

int ca_pem_crl(struct ca_pem *pem, X509_CRL *crl, tn_err *err)
{
    if (pem_begin(pem, err) < 0)
        return -1;
    int ok = PEM_write_bio_X509_CRL(pem->bio, crl);
    return pem_finish(pem, ok, "the CRL", err);
}

void ca_pem_free(struct ca_pem *pem)
{
    if (pem->bio != NULL) {
        char *data = NULL;
        long len = BIO_get_mem_data(pem->bio, &data);
        if (data != NULL && len > 0)
            OPENSSL_cleanse(data, (size_t)len); /* private keys must not linger */
        BIO_free(pem->bio);
    }
    memset(pem, 0, sizeof *pem);
}
