/*
 * sip_uri.h - SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), parsed
 * zero-copy into slices of the caller's text.
 *
 *     struct sip_uri u;
 *     if (sip_uri_parse(ruri, &u) < 0) -> 400 malformed Request-URI
 *
 * Characters are checked against the RFC 3261 classes (unreserved, escaped,
 * the user/password/param/header extras); hosts are hostnames, IPv4 or
 * [IPv6] (checked with inet_pton); ports are 1..65535.  Nothing is
 * unescaped: compare users with that in mind.
 */
#ifndef TN_SIP_URI_H
#define TN_SIP_URI_H

#include "sip/sip_str.h"

enum sip_uri_scheme {
    SIP_URI_SIP,
    SIP_URI_SIPS,
    SIP_URI_TEL,
};

struct sip_uri {
    enum sip_uri_scheme scheme;
    sip_str user;        /* sip: user part; tel: the number; may be empty */
    sip_str password;    /* empty unless has_password */
    bool has_password;
    sip_str host;        /* without [] for IPv6; empty for tel: */
    bool host_is_ipv6;
    int port;            /* 0 when absent */
    sip_str params;      /* raw text after the first ';' (without it) */
    sip_str headers;     /* raw text after '?' (without it) */
    /* Well-known parameters, found in params. */
    sip_str transport;
    sip_str maddr;
    sip_str user_param;  /* ;user=phone|ip */
    bool lr;
    bool ob;             /* RFC 5626 outbound */
};

/* Parse text (no surrounding <> or white space).  Returns 0 or -1. */
int sip_uri_parse(sip_str text, struct sip_uri *u);

/* hostport = host [":" port] as in a URI or a Via sent-by: a hostname,
 * IPv4 or [IPv6] (returned without []), port 1..65535 or 0 if absent. */
int sip_hostport_parse(sip_str hp, sip_str *host, bool *is_ipv6, int *port);

/* Look up a URI parameter by name (case-insensitive).  Returns true when
 * present; *value is the text after '=' (empty for a flag).  value may be
 * NULL. */
bool sip_uri_param(const struct sip_uri *u, const char *name, sip_str *value);

#endif
