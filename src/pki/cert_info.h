/*
 * cert_info.h - the facts of a certificate file that a partner needs to
 * set up forced TLS with us: root issuer, certificate name, organisation,
 * key type and strength, validity, fingerprint, key usage, revocation
 * endpoints, and the chain.  The facts are field/value rows, printed as an
 * aligned "field: value" table.
 */
#ifndef TN_PKI_CERT_INFO_H
#define TN_PKI_CERT_INFO_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "common/err.h"

struct cert_info_row {
    char field[40];
    char *value;
};

struct cert_info {
    struct cert_info_row *rows;
    size_t count;
    size_t cap;
};

/* Describe chain[0] (the certificate) and then chain[1..] briefly.  The
 * root issuer is the issuer of the last certificate, or its subject when
 * it is self-signed. */
int cert_info_describe(STACK_OF(X509) *chain, struct cert_info *info, tn_err *err);

/* Load a PEM file (certificate first, then its chain) and describe it. */
int cert_info_load(const char *path, struct cert_info *info, tn_err *err);

/* Print the rows as "Field:   value" with the values aligned. */
void cert_info_print(const struct cert_info *info, FILE *out);

void cert_info_free(struct cert_info *info);

#endif
