/*
 * smtp_path.h - RFC 5321 4.1.2 paths, parsed strictly.
 *
 *     struct smtp_path p; size_t used; struct smtp_parse_error e;
 *     if (smtp_path_parse(s, len, SMTP_REVERSE_PATH, &p, &used, &e) < 0)
 *         reply e (501 5.1.7 ...);
 *     p.addr "user@Example.ORG", p.domain "example.org", s + used: after ">"
 *
 * Accepted:
 *   <local-part@domain>        local-part a dot-string (atoms of atext
 *                              joined by single dots) or a quoted-string
 *                              (printable ASCII, backslash pairs), at
 *                              most 64 octets as written;
 *                              domain LDH labels of 1-63 octets joined by
 *                              dots, at most 255 octets, or an address
 *                              literal [192.0.2.1] / [IPv6:2001:db8::1]
 *   <@a.example,@b.example:local-part@domain>
 *                              a source route: checked, then dropped
 *                              (RFC 5321 4.1.1.3: servers SHOULD ignore
 *                              routes; appendix C: MUST accept them)
 *   <>                         SMTP_REVERSE_PATH only (bounces)
 *   <postmaster>               SMTP_FORWARD_PATH only, any case
 * and the whole path, brackets and route included, is at most 256 octets
 * (4.5.3.1.3).
 *
 * Why strict: the path is the envelope address that the queue stores,
 * routes on and hands to the next hop.  An address without brackets, with
 * spaces, unbalanced quotes or 8-bit octets is either a broken client or
 * an attempt to make two programs read two different addresses (parser
 * differential); refusing it costs nothing legitimate.  General address
 * literals ([tag:...]) and SMTPUTF8 addresses are refused: we implement
 * neither.
 *
 * addr keeps the local part and domain as written (a quoted local part
 * keeps its quotes: unquoting can change the meaning); domain is a
 * lowercased copy for routing and policy lookups.
 */
#ifndef TN_SMTP_PATH_H
#define TN_SMTP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp/smtp_parse.h"

#define SMTP_LOCAL_PART_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255      /* 4.5.3.1.2 */
#define SMTP_LABEL_MAX 63        /* RFC 1035 2.3.4 */
#define SMTP_PATH_MAX 256        /* 4.5.3.1.3: "<" to ">" inclusive */
#define SMTP_ADDR_MAX (SMTP_PATH_MAX - 2) /* local@domain, no brackets */

enum smtp_path_role {
    SMTP_REVERSE_PATH,  /* MAIL FROM: <> allowed; faults are SENDER */
    SMTP_FORWARD_PATH,  /* RCPT TO: <postmaster> allowed; RECIPIENT */
};

enum smtp_path_kind {
    SMTP_PATH_MAILBOX,    /* addr "local@domain", domain set */
    SMTP_PATH_NULL,       /* <>: addr and domain "" */
    SMTP_PATH_POSTMASTER, /* <postmaster>: addr "postmaster", domain "" */
};

struct smtp_path {
    enum smtp_path_kind kind;
    bool domain_is_literal;           /* [192.0.2.1] or [IPv6:...] */
    bool had_source_route;            /* <@a,@b:...> was given (dropped) */
    char addr[SMTP_ADDR_MAX + 1];     /* local@domain as written */
    char domain[SMTP_DOMAIN_MAX + 1]; /* lowercased, brackets kept */
};

/* Parse the path at the start of s[0, len): it must begin with "<".
 * *used is set to the octets from "<" through ">"; what follows is the
 * caller's (parameters).  Returns 0, or -1 with err filled (fault SENDER
 * or RECIPIENT by role, text naming the rule broken).  out is zeroed
 * first, so it never holds a stale address after a failure. */
int smtp_path_parse(const char *s, size_t len, enum smtp_path_role role,
                    struct smtp_path *out, size_t *used,
                    struct smtp_parse_error *err);

/* True if s[0, len) is exactly an RFC 5321 Domain or address-literal
 * within the length limits above (for EHLO arguments and configuration). */
bool smtp_domain_valid(const char *s, size_t len);

#endif
