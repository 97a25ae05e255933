/*
 * ca_names.h - strict syntax checks for what an operator gives the CA:
 * DNS names (with an optional whole left-most "*" label), subjectAltName
 * entries "DNS:x", "URI:sip:x", "IP:addr", UTC times "YYYY-MM-DD[THH:MM:SS]",
 * free-text name fields (organisation, unit) and the CRL URL.
 * Each check returns 0, or -1 with a reason that quotes the bad input.
 */
#ifndef TN_PKI_CA_NAMES_H
#define TN_PKI_CA_NAMES_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"

#define CA_DNS_NAME_MAX 253
#define CA_DNS_LABEL_MAX 63
#define CA_NAME_FIELD_MAX 64 /* RFC 5280 upper bound for CN, O and OU */
#define CA_SAN_VALUE_MAX 1024
#define CA_URL_MAX 1024

enum ca_san_type { CA_SAN_DNS, CA_SAN_URI, CA_SAN_IP };

struct ca_san {
    enum ca_san_type type;
    char value[CA_SAN_VALUE_MAX + 1];
};

/* A DNS name: LDH labels of 1..63 characters, at most 253 in all, no
 * leading or trailing hyphen, not all-numeric at the end (that would be an
 * IP address); the left-most label may be exactly "*". */
int ca_check_dns_name(const char *name, tn_err *err);

/* Parse "DNS:name", "URI:scheme:rest" or "IP:address" into san. */
int ca_parse_san(const char *text, struct ca_san *san, tn_err *err);

/* "DNS", "URI" or "IP". */
const char *ca_san_type_name(enum ca_san_type type);

/* Parse a UTC time "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM:SS[Z]". */
int ca_parse_utc_time(const char *text, time_t *out, tn_err *err);

/* A name field (what = "organisation", ...): 1..max characters of valid
 * UTF-8 without control characters. */
int ca_check_name_field(const char *what, const char *value, size_t max, tn_err *err);

/* An http:// or https:// URL of printable ASCII without spaces. */
int ca_check_url(const char *url, tn_err *err);

#endif
