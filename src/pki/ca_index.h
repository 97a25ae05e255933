/*
 * ca_index.h - the database of issued certificates, DIR/index.txt.
 *
 * The format is the one of 'openssl ca', so operators can read and process
 * it with known tools.  One line per certificate, six tab-separated fields:
 *
 *     V  <expiry>  <empty>                 <serial hex>  unknown  /O=Corp/CN=x
 *     R  <expiry>  <revoked>[,<reason>]    <serial hex>  unknown  /O=Corp/CN=y
 *
 * Times are ASN.1 UTCTime "YYMMDDHHMMSSZ" (GeneralizedTime from 2050 on).
 * Status 'E' (expired, written by 'openssl ca -updatedb') is read too.
 * Loading is strict: every malformed line is an error naming its number.
 */
#ifndef TN_PKI_CA_INDEX_H
#define TN_PKI_CA_INDEX_H

#include <stddef.h>

#include "common/err.h"

#define CA_INDEX_FILE "index.txt"
#define CA_SERIAL_HEX_MAX 64
#define CA_INDEX_SUBJECT_MAX 1024

/* The CRL reasons an operator may give, as 'openssl ca' spells them. */
#define CA_REASONS_TEXT "unspecified, keyCompromise, CACompromise, " \
                        "affiliationChanged, superseded, cessationOfOperation"

struct ca_index_entry {
    char status;                          /* 'V', 'R' or 'E' */
    char expiry[16];                      /* the certificate's notAfter */
    char revoked[16];                     /* revocation time; "" unless 'R' */
    char reason[32];                      /* CRL reason name; "" if none */
    char serial[CA_SERIAL_HEX_MAX + 1];   /* upper-case hex */
    char filename[256];                   /* "unknown" */
    char subject[CA_INDEX_SUBJECT_MAX];   /* "/O=Corp/CN=name" */
};

struct ca_index {
    struct ca_index_entry *entries;
    size_t count;
    size_t cap;
};

/* The CRL reason code (CRL_REASON_*) of a reason name, or -1. */
int ca_reason_code(const char *name);

/* Load index.txt (a missing file is an error). */
int ca_index_load(const char *path, struct ca_index *idx, tn_err *err);

/* Parse index text (path names the file in errors). */
int ca_index_parse(const char *path, const char *text, struct ca_index *idx,
                   tn_err *err);

/* Atomically replace path with the entries of idx. */
int ca_index_save(const char *path, const struct ca_index *idx, tn_err *err);

/* Append a copy of entry. */
int ca_index_append(struct ca_index *idx, const struct ca_index_entry *entry,
                    tn_err *err);

/* The entry with this serial (hex, any case, leading zeros ignored) or NULL. */
struct ca_index_entry *ca_index_find(const struct ca_index *idx, const char *serial);

/* The CN of the entry's subject ("" if none) into buf. */
void ca_index_entry_name(const struct ca_index_entry *entry, char *buf, size_t len);

void ca_index_free(struct ca_index *idx);

#endif
