/*
 * x509_text.h - certificate facts as short human text.
 *
 * Used by every verdict reason, log line and report, so that one
 * certificate is described the same way everywhere.  All functions write a
 * NUL-terminated string into a caller buffer and never fail: on a problem
 * they write "?" (or as much as fits).
 */
#ifndef TN_TLS_X509_TEXT_H
#define TN_TLS_X509_TEXT_H

#include <stddef.h>
#include <openssl/x509.h>

/* "CN=fe1.corp.example, O=Corp" (RFC 2253 order, most specific first). */
void x509_text_name(const X509_NAME *name, char *buf, size_t len);

/* The CN of name if it has one (control bytes written as \xNN), else the
 * whole name as above. */
void x509_text_short_name(const X509_NAME *name, char *buf, size_t len);

/* "2026-01-01 12:00:00 UTC" */
void x509_text_time(const ASN1_TIME *t, char *buf, size_t len);

/* "2026-01-01" */
void x509_text_date(const ASN1_TIME *t, char *buf, size_t len);

/* "0x1A2B..." (upper-case hex, no leading zeros beyond one digit). */
void x509_text_serial(const X509 *cert, char *buf, size_t len);

/* "EC P-256", "RSA 2048", "Ed25519" with its bits in *bits (may be NULL). */
void x509_text_key(const X509 *cert, char *buf, size_t len, int *bits);

/* "ecdsa-with-SHA256", "sha1WithRSAEncryption", ... */
void x509_text_sig_alg(const X509 *cert, char *buf, size_t len);

/* "AB:CD:..." SHA-256 fingerprint of the DER certificate. */
void x509_text_fingerprint_sha256(const X509 *cert, char *buf, size_t len);

/* The subjectAltName entries as "DNS:a, URI:sip:b, IP:127.0.0.1", or
 * "(none)" when the certificate has no subjectAltName. */
void x509_text_sans(const X509 *cert, char *buf, size_t len);

#endif
