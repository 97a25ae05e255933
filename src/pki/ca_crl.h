/*
 * ca_crl.h - the CA's certificate revocation list (DIR/crl.pem) and its
 * counter DIR/crlnumber, which holds in hex the number the next CRL will
 * carry, as 'openssl ca' keeps it.
 *
 * A CRL is v2 with crlNumber and authorityKeyIdentifier, lastUpdate now,
 * nextUpdate now + days, and one entry (serial, revocation date, reason)
 * for each revoked certificate of the index.
 */
#ifndef TN_PKI_CA_CRL_H
#define TN_PKI_CA_CRL_H

#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "common/err.h"
#include "pki/ca_index.h"

#define CA_CRL_FILE "crl.pem"
#define CA_CRLNUMBER_FILE "crlnumber"

/* Build and sign the CRL of idx with the given number. */
X509_CRL *ca_crl_build(X509 *ca, EVP_PKEY *key, const struct ca_index *idx,
                       const BIGNUM *number, time_t now, int days, tn_err *err);

/* Read the crlnumber file into a new BIGNUM. */
BIGNUM *ca_crl_number_load(const char *path, tn_err *err);

/* Write number to the crlnumber file: exclusively when create is true,
 * else by atomic replacement. */
int ca_crl_number_save(const char *path, const BIGNUM *number, int create, tn_err *err);

#endif
