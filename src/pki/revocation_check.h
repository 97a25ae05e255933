/*
 * revocation_check.h - can relying parties check this certificate's
 * revocation?  (trustnet check --revocation, like certutil -URL.)
 *
 * Before a certificate is deployed, fetch every CRL distribution point of
 * it and of its chain and say, per URL, whether the CRL is reachable,
 * parses, is signed by the issuer, is current and does not list the
 * certificate.  OCSP URLs are listed, not yet queried.
 */
#ifndef TN_PKI_REVOCATION_CHECK_H
#define TN_PKI_REVOCATION_CHECK_H

#include <stdio.h>

#include "common/err.h"

/* Check every CRL distribution point (and list OCSP URLs) of every
 * certificate in cert_file (PEM, leaf first, then its chain).  issuer_file
 * (may be NULL) holds extra CA certificates used to find issuers and
 * verify CRL signatures.  Writes a human report to out.
 *
 * Returns TN_EXIT_OK (0) when every CDP of every certificate is reachable,
 * parses as a CRL (DER or PEM), is signed by the certificate's issuer when
 * that issuer is known, is current (nextUpdate in the future) and does not
 * list the certificate; TN_EXIT_REFUSED (1) when any of those fails or a
 * certificate that is not self-signed has no CDP; TN_EXIT_USAGE (2) when
 * cert_file or issuer_file cannot be read (reason in err). */
int revocation_check_report(const char *cert_file, const char *issuer_file,
                            FILE *out, tn_err *err);

#endif
