/*
 * ca_cert.h - building the CA's certificates: the self-signed CA
 * certificate, end-entity (server or client) certificates, and the random
 * 16-byte serial numbers they carry.  Signatures are SHA-256 based
 * (sha256WithRSAEncryption or ecdsa-with-SHA256).
 */
#ifndef TN_PKI_CA_CERT_H
#define TN_PKI_CA_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/err.h"
#include "pki/ca_names.h"

#define CA_SERIAL_BYTES 16

/* A random positive serial of exactly CA_SERIAL_BYTES bytes. */
ASN1_INTEGER *ca_cert_random_serial(tn_err *err);

/* Upper-case hex of a serial ("5F3A..."), as index.txt spells it. */
int ca_cert_serial_hex(const ASN1_INTEGER *serial, char *buf, size_t len, tn_err *err);

struct ca_root_req {
    const char *name;              /* CN */
    const char *org;               /* O, or NULL / "" */
    time_t not_before, not_after;
    const ASN1_INTEGER *serial;
};

/* Self-signed CA certificate: basicConstraints critical CA:TRUE, keyUsage
 * critical keyCertSign+cRLSign, subjectKeyIdentifier. */
X509 *ca_cert_make_root(const struct ca_root_req *req, EVP_PKEY *key, tn_err *err);

struct ca_leaf_req {
    const char *name;              /* CN and first DNS SAN */
    const char *org;               /* O, or NULL / "" */
    const char *ou;                /* OU, or NULL / "" */
    const struct ca_san *sans;     /* further SANs (duplicates are skipped) */
    size_t nsans;
    bool client_only;              /* EKU clientAuth only (else server+client) */
    time_t not_before, not_after;
    const char *crl_url;           /* crlDistributionPoints, or NULL / "" */
    const ASN1_INTEGER *serial;
};

/* End-entity certificate for leaf_key, signed by the CA. */
X509 *ca_cert_make_leaf(const struct ca_leaf_req *req, EVP_PKEY *leaf_key, X509 *ca,
                        EVP_PKEY *ca_key, tn_err *err);

#endif
