/*
 * mail_mx.h - where a domain's mail goes: its MX records (RFC 5321 5.1),
 * by preference, through the system resolver (libresolv's parser, never
 * our own); no MX: the domain itself (implicit MX); a null MX (RFC 7505:
 * one record ".") means the domain takes no mail at all.
 */
#ifndef TN_MAIL_MAIL_MX_H
#define TN_MAIL_MAIL_MX_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MAIL_MX_MAX 8

struct mail_mx {
    char host[256];
    uint16_t pref;
};

enum mail_mx_result {
    MAIL_MX_OK,        /* out[0, *n), lowest preference first */
    MAIL_MX_TEMPORARY, /* the resolver failed: try later */
    MAIL_MX_NULL,      /* the domain accepts no mail (null MX or no such domain) */
};

enum mail_mx_result mail_mx_lookup(const char *domain, struct mail_mx *out, size_t max,
                                   size_t *n, tn_err *err);

#endif
