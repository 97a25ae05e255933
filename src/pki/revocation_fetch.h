/*
 * revocation_fetch.h - fetch a CRL from a distribution point and parse it.
 *
 * Used by revocation_check.c.  Plain http:// only (RFC 5280: a CRL is
 * signed, so its transport needs no TLS), OpenSSL's own HTTP client, no
 * proxy, bounded in time and size.  The response body is untrusted.
 */
#ifndef TN_PKI_REVOCATION_FETCH_H
#define TN_PKI_REVOCATION_FETCH_H

#include <stddef.h>

#include <openssl/x509.h>

#include "common/err.h"

#define REVOCATION_FETCH_TIMEOUT_S 5
#define REVOCATION_FETCH_MAX_BYTES (10 * 1024 * 1024)
#define REVOCATION_URL_MAX 2048

/* NULL when url is a well-formed http:// URL we fetch; otherwise a
 * sentence saying why it is not fetched (https, ldap, other schemes, bytes
 * that have no place in a URI). */
const char *revocation_url_unsupported(const char *url);

/* GET url with no proxy (environment proxies ignored), a 5 s timeout for
 * the whole exchange and a 10 MiB limit.  On success *body (free() it)
 * holds *len bytes of response body; on failure err holds the reason,
 * OpenSSL's when it comes from the HTTP client. */
int revocation_fetch(const char *url, unsigned char **body, size_t *len,
                     tn_err *err);

/* Parse one CRL from len bytes, DER or PEM.  On success *crl is set and
 * *format is "DER" or "PEM"; on failure err says why (with a printable
 * preview of the first bytes). */
int revocation_parse_crl(const unsigned char *buf, size_t len, X509_CRL **crl,
                         const char **format, tn_err *err);

/* Copy n untrusted bytes into out as printable ASCII: other bytes become
 * \xNN and an overlong text ends in "...".  out is always terminated. */
void revocation_printable(const char *s, size_t n, char *out, size_t outlen);

#endif
