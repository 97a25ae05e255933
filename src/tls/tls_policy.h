/*
 * tls_policy.h - the one TLS policy of trustnet, applied to every context.
 *
 * TLS 1.3 preferred, TLS 1.2 minimum.  TLS 1.2 suites: ECDHE with AEAD only
 * (AES-GCM, ChaCha20-Poly1305).  AES-128 comes first: the key exchange
 * (X25519, P-256) offers 128-bit security, so AES-256 adds none, while
 * AES-128's SHA-256 key schedule and fewer rounds make every handshake
 * and record cheaper.  Groups X25519, P-256, P-384.  No
 * compression, no renegotiation, OpenSSL security level 2 (RSA/DH >= 2048
 * bits, ECC >= 224 bits, no SHA-1 signatures).  Servers choose the suite.
 */
#ifndef TN_TLS_POLICY_H
#define TN_TLS_POLICY_H

#include <openssl/ssl.h>

#include "common/err.h"

#define TLS_POLICY_CIPHERS_TLS12                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"               \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"               \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_POLICY_SUITES_TLS13                                                \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_POLICY_GROUPS "X25519:P-256:P-384"
#define TLS_POLICY_SECURITY_LEVEL 2

/* A new context for one side (client or server) with the policy applied. */
SSL_CTX *tls_policy_new_ctx(int is_server, tn_err *err);

/* "TLS 1.1" for a wire version number such as 0x0302. */
const char *tls_policy_version_name(int wire_version);

#endif
