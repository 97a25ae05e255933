/*
 * ca_settings.h - the CA's own settings file, DIR/settings.
 *
 * A small key=value text file (one setting a line, '#' comments and blank
 * lines allowed, no spaces around '='):
 *
 *     org=Corp
 *     crl_url=http://crl.corp.example/corp.crl
 *     crl_days=30
 *
 * crl_days is required; org and crl_url are optional.  Unknown keys,
 * duplicates and bad values are errors that name the file and line.
 */
#ifndef TN_PKI_CA_SETTINGS_H
#define TN_PKI_CA_SETTINGS_H

#include "common/err.h"
#include "pki/ca_names.h"

#define CA_SETTINGS_FILE "settings"
#define CA_CRL_DAYS_MAX 3650

struct ca_settings {
    char org[4 * CA_NAME_FIELD_MAX + 1];  /* "" if none; UTF-8 */
    char crl_url[CA_URL_MAX + 1];         /* "" if none */
    int crl_days;                         /* 1..CA_CRL_DAYS_MAX */
};

/* Parse the settings text (path names the file in errors). */
int ca_settings_parse(const char *path, const char *text, struct ca_settings *s,
                      tn_err *err);

/* Read and parse a settings file. */
int ca_settings_load(const char *path, struct ca_settings *s, tn_err *err);

/* Write s as a new file at path (exclusive create). */
int ca_settings_write_new(const char *path, const struct ca_settings *s, tn_err *err);

#endif
