/*
 * tls_name.h - does a certificate name the peer we wanted to reach?
 *
 * Only the subjectAltName is used, never the subject CN.  Comparison is
 * ASCII case-insensitive and ignores one trailing dot.
 *
 *   TLS_NAME_EXACT     dNSName (or iPAddress for an IP literal), exact.
 *   TLS_NAME_WILDCARD  as EXACT, and a dNSName "*.corp.test" matches
 *                      exactly one extra left-most label (RFC 9525 6.3):
 *                      "a.corp.test", never "a.b.corp.test" or
 *                      "corp.test".  Partial-label wildcards ("f*.corp.test")
 *                      and wildcards elsewhere never match.  For SMTP
 *                      connectors that ask for it.
 *   TLS_NAME_ANY_UNDER wanted is a pattern of OUR configuration, "*.bank.test"
 *                      (an SMTP connector's required name): a dNSName
 *                      naming one host directly under bank.test
 *                      ("mx1.bank.test"), or that same wildcard, matches.
 *   TLS_NAME_SIP       RFC 5922 7.1: if the certificate has any URI SAN
 *                      "sip:domain", only those are compared; otherwise the
 *                      dNSName entries.  Exact, never a wildcard.
 */
#ifndef TN_TLS_NAME_H
#define TN_TLS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

enum tls_name_rules { TLS_NAME_EXACT, TLS_NAME_WILDCARD, TLS_NAME_SIP, TLS_NAME_ANY_UNDER };

/* Ordered from the most to the least telling outcome. */
enum tls_name_match {
    TLS_NAME_MATCH,
    TLS_NAME_WILDCARD_REFUSED, /* would match, but wildcards are not allowed */
    TLS_NAME_BAD_PATTERN,      /* the presented name is not a usable pattern */
    TLS_NAME_NO_MATCH,
};

/* Compare one presented DNS-ID (pattern, plen bytes, not NUL-terminated)
 * with the reference name wanted (wlen bytes). */
enum tls_name_match tls_name_match_dns(const char *pattern, size_t plen,
                                       const char *wanted, size_t wlen,
                                       bool allow_wildcard);

/* Check cert against wanted under rules.  Returns 0 when it matches and
 * writes which SAN matched ("DNS:a.corp.test") into detail; returns -1
 * otherwise and writes the reason, e.g. "name mismatch: wanted
 * fe2.corp.example, certificate names fe9.corp.example". */
int tls_name_check(X509 *cert, const char *wanted, enum tls_name_rules rules,
                   char *detail, size_t len);

/* True when name is a usable DNS host name (LDH labels, 1..63 bytes each,
 * at most 253 bytes) or an IP literal. */
bool tls_name_is_valid_reference(const char *name);

#endif
