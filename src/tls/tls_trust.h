/*
 * tls_trust.h - a named trust store: the CA certificates a verifying side
 * trusts, and the CRLs that say which of their certificates are revoked.
 *
 * One store per trust domain: the enterprise CA bundle, or one partner's
 * roots.  Files are read once; tls_trust_reload_if_changed() re-reads them
 * only when one changed on disk (size, mtime or inode), so no connection
 * does disk I/O.  A reload that fails keeps the previous store.
 *
 * When CRL files are given, every certificate of a peer's chain must be
 * covered by a current CRL of its issuer (OpenSSL's CRL_CHECK_ALL).
 */
#ifndef TN_TLS_TRUST_H
#define TN_TLS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

#include "common/err.h"

#define TLS_TRUST_MAX_CRLS 16
#define TLS_TRUST_MAX_CAS 64

typedef struct tls_trust tls_trust;

/* name labels the store in reasons ("enterprise", "partner partner.test"). */
tls_trust *tls_trust_new(const char *name, const char *ca_file,
                         const char *const *crl_files, size_t n_crl, tn_err *err);
/* The same with the CA certificates of several files (say, every
 * federation partner's root). */
tls_trust *tls_trust_new_multi(const char *name, const char *const *ca_files, size_t n_ca,
                               const char *const *crl_files, size_t n_crl, tn_err *err);
/* The system roots (Debian's ca-certificates bundle, as OpenSSL finds it):
 * for connectors that trust public CAs.  No CRLs; the roots are not sent
 * in a CertificateRequest. */
tls_trust *tls_trust_new_system(const char *name, tn_err *err);
void tls_trust_free(tls_trust *trust);

/* Re-read the files if any changed.  *reloaded (may be NULL) says whether
 * the store was replaced.  On error the old store stays in use. */
int tls_trust_reload_if_changed(tls_trust *trust, bool *reloaded, tn_err *err);

/* True when a file changed on disk since it was read (stat only).  For a
 * server that prefers to build a fresh trust store and swap it. */
bool tls_trust_files_changed(const tls_trust *trust);

/* The current store (borrowed; callers that keep it must up-ref it). */
X509_STORE *tls_trust_store(const tls_trust *trust);
/* The trusted CA certificates (borrowed), e.g. for a CertificateRequest. */
const STACK_OF(X509) *tls_trust_cas(const tls_trust *trust);
/* Changes each time the store is (re)loaded: who keeps something derived
 * from the CAs knows when it is out of date. */
unsigned long tls_trust_generation(const tls_trust *trust);
const char *tls_trust_name(const tls_trust *trust);
bool tls_trust_checks_revocation(const tls_trust *trust);

#endif
