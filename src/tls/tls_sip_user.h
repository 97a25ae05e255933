/*
 * tls_sip_user.h - which SIP users a client certificate names.
 *
 * A user's certificate names the user's address of record as a
 * subjectAltName URI "sip:user@domain" (or "sips:"), as RFC 5922 names a
 * SIP domain with "sip:domain".  Only that plain form counts: no password,
 * port, parameters or headers, no control bytes or spaces, and never the
 * subject CN.  The user part is compared exactly (RFC 3261 19.1.4), the
 * domain ASCII case-insensitively.
 *
 * Whether the certificate itself is to be believed (chain, validity,
 * revocation, client-only use) is decided in the handshake; this only
 * reads names from one that was.
 */
#ifndef TN_TLS_SIP_USER_H
#define TN_TLS_SIP_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

/* Does cert name the SIP user user@domain? */
bool tls_cert_names_sip_user(X509 *cert, const char *user, const char *domain);

/* The SIP user URIs cert names, joined by ", " into buf for a log line
 * ("" if none; cut to fit).  Returns how many it names. */
size_t tls_cert_sip_users(X509 *cert, char *buf, size_t len);

#endif
