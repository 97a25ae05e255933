/*
 * ca.h - the enterprise certificate authority.
 *
 * A CA is one directory (mode 0700):
 *
 *   ca.pem          the self-signed CA certificate
 *   ca.key          its private key (mode 0600)
 *   crl.pem         the current CRL
 *   crlnumber       the number the next CRL will carry (hex)
 *   index.txt       issued certificates, in 'openssl ca' database format
 *   index.txt.attr  'openssl ca' attributes (unique_subject = no)
 *   settings        org, crl_url, crl_days (see ca_settings.h)
 *
 * Every operation holds a lock on the directory (exclusive when it changes
 * CA state), creates new files exclusively and replaces old ones
 * atomically.  Each returns 0, or -1 with the reason in err.
 */
#ifndef TN_PKI_CA_H
#define TN_PKI_CA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "pki/ca_index.h"
#include "pki/ca_key.h"
#include "pki/ca_names.h"

#define CA_DAYS_MAX 36500

struct ca_init_opts {
    const char *dir;
    const char *name;         /* CN of the CA */
    const char *org;          /* O, or NULL; also given to issued certs */
    enum ca_key_type key;
    int days;                 /* validity of the CA certificate */
    const char *crl_url;      /* crlDistributionPoints of issued certs, or NULL */
    int crl_days;             /* nextUpdate of each CRL = now + crl_days */
};

/* Create a new CA in dir (created if missing).  Refuses if any CA file
 * already exists there; on failure nothing it created is left behind. */
int ca_init(const struct ca_init_opts *opts, tn_err *err);

struct ca_issue_opts {
    const char *dir;
    const char *name;           /* DNS name: CN and first DNS SAN */
    const struct ca_san *sans;  /* further SANs */
    size_t nsans;
    const char *ou;             /* or NULL */
    enum ca_key_type key;
    bool client_only;           /* EKU clientAuth only (default: server+client) */
    int days;                   /* validity from now, unless has_not_after */
    bool has_not_before;
    time_t not_before;          /* default: now */
    bool has_not_after;
    time_t not_after;
    const char *out_prefix;     /* writes PREFIX.pem (cert + CA) and PREFIX.key */
};

struct ca_issued {
    char serial[CA_SERIAL_HEX_MAX + 3];  /* "0x..." */
    char cert_path[PATH_MAX];
    char key_path[PATH_MAX];
    char not_before[32];
    char not_after[32];
};

/* Issue a certificate and record it in the index. */
int ca_issue(const struct ca_issue_opts *opts, struct ca_issued *out, tn_err *err);

struct ca_crl_result {
    char number[48];       /* "0x..." */
    size_t revoked;        /* entries in the CRL */
    char next_update[32];
};

/* Revoke by serial (hex, optional 0x) or by certificate file, record the
 * reason (NULL for none, see CA_REASONS_TEXT), and rewrite crl.pem. */
int ca_revoke(const char *dir, const char *serial_or_file, const char *reason,
              char *serial_out, size_t serial_len, struct ca_crl_result *crl,
              tn_err *err);

/* Rewrite crl.pem with a new number and every revoked serial. */
int ca_crl(const char *dir, struct ca_crl_result *crl, tn_err *err);

struct ca_list_entry {
    char serial[CA_SERIAL_HEX_MAX + 3];  /* "0x..." */
    char name[CA_INDEX_SUBJECT_MAX];
    char expires[16];                    /* "2027-01-31" */
    const char *status;                  /* "valid", "revoked" or "expired" */
};

/* The issued certificates in index order; free(*entries) afterwards. */
int ca_list(const char *dir, struct ca_list_entry **entries, size_t *count, tn_err *err);

/* true if text is a serial ca_revoke accepts: hex digits, optional 0x. */
bool ca_serial_syntax_ok(const char *text);

#endif
