/*
 * tls_chain_check.h - judge a certificate chain offline, without a peer.
 *
 * For checks before a certificate is used (trustnet topology check): the
 * same store, CRLs, security level and reasons as a handshake verdict,
 * at the current time.  Name and key usage are the caller's checks.
 */
#ifndef TN_TLS_CHAIN_CHECK_H
#define TN_TLS_CHAIN_CHECK_H

#include <stddef.h>
#include <openssl/x509.h>

#include "tls/tls_trust.h"

/* chain: leaf first, then any intermediates (as read from a PEM file).
 * Returns 0 when the leaf chains to trust, is valid and not revoked;
 * -1 with the reason ("issuer not trusted: CN=Other CA", "certificate
 * revoked ...") otherwise. */
int tls_chain_check(const tls_trust *trust, STACK_OF(X509) *chain, char *reason, size_t len);

#endif
