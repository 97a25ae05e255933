/*
 * sip_hdr.h - header names and the sub-parsers for header values:
 * generic ";name=value" parameters, name-addr (From, To, Contact, Route,
 * Record-Route, Path), Via, CSeq and Digest credentials/challenges.
 *
 * All of them take one header VALUE as the message parser split it (one
 * list element, folding still inside: sub-parsers treat CR/LF as white
 * space) and return 0 or -1; results are slices of that value.
 */
#ifndef TN_SIP_HDR_H
#define TN_SIP_HDR_H

#include "sip/sip_str.h"
#include "sip/sip_uri.h"

enum sip_hdr_id {
    SIP_HDR_OTHER = 0,
    SIP_HDR_VIA,
    SIP_HDR_FROM,
    SIP_HDR_TO,
    SIP_HDR_CALL_ID,
    SIP_HDR_CSEQ,
    SIP_HDR_MAX_FORWARDS,
    SIP_HDR_CONTACT,
    SIP_HDR_CONTENT_LENGTH,
    SIP_HDR_CONTENT_TYPE,
    SIP_HDR_CONTENT_ENCODING,
    SIP_HDR_ROUTE,
    SIP_HDR_RECORD_ROUTE,
    SIP_HDR_PATH,
    SIP_HDR_ALLOW,
    SIP_HDR_SUPPORTED,
    SIP_HDR_REQUIRE,
    SIP_HDR_PROXY_REQUIRE,
    SIP_HDR_UNSUPPORTED,
    SIP_HDR_EXPIRES,
    SIP_HDR_MIN_EXPIRES,
    SIP_HDR_AUTHORIZATION,
    SIP_HDR_PROXY_AUTHORIZATION,
    SIP_HDR_WWW_AUTHENTICATE,
    SIP_HDR_PROXY_AUTHENTICATE,
    SIP_HDR_SUBJECT,
    SIP_HDR_EVENT,
    SIP_HDR_ALLOW_EVENTS,
    SIP_HDR_SUBSCRIPTION_STATE,
    SIP_HDR_REFER_TO,
    SIP_HDR_REFERRED_BY,
    SIP_HDR_SESSION_EXPIRES,
    SIP_HDR_ACCEPT_CONTACT,
    SIP_HDR_REJECT_CONTACT,
    SIP_HDR_REQUEST_DISPOSITION,
    SIP_HDR_IDENTITY,
    SIP_HDR_IDENTITY_INFO,
    SIP_HDR_RSEQ,
    SIP_HDR_RACK,
    SIP_HDR_TIMESTAMP,
    SIP_HDR_USER_AGENT,
    SIP_HDR_SERVER,
    SIP_HDR__COUNT
};

/* Header id for a name, full or compact form, case-insensitive. */
enum sip_hdr_id sip_hdr_lookup(sip_str name);
/* Canonical full name ("Call-ID"); "" for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* True for the headers whose comma-separated values the parser splits
 * into one entry each (Via, Route, Record-Route, Contact, Path, Allow,
 * Supported, Require, Proxy-Require, Unsupported). */
bool sip_hdr_is_list(enum sip_hdr_id id);

/* token (RFC 3261 25.1): alphanum and -.!%*_+`'~ ; non-empty. */
bool sip_is_token(sip_str s);

/* ---- generic parameters: *( SEMI generic-param ) ---- */
struct sip_param {
    sip_str name;
    sip_str value;   /* without quotes when quoted (escapes kept) */
    bool has_value;
    bool quoted;
};

/* Take the next ";name[=value]" from *rest (which starts at optional white
 * space and a ';').  Returns 1 and advances *rest, 0 at the end, -1 when
 * malformed. */
int sip_param_next(sip_str *rest, struct sip_param *p);
/* Find a parameter by name (case-insensitive) in a params text as above.
 * Returns 1 found, 0 absent, -1 malformed. */
int sip_param_find(sip_str params, const char *name, struct sip_param *p);

/* Copy a quoted-string's content (as in sip_param.value), resolving
 * backslash escapes, into out (NUL-terminated).  -1 if it does not fit. */
int sip_unquote(sip_str raw, char *out, size_t outlen);

/* ---- name-addr / addr-spec with header params ---- */
struct sip_name_addr {
    bool is_star;        /* Contact: * */
    sip_str display;     /* display-name; quotes removed, escapes kept */
    sip_str uri_text;    /* the URI without <> */
    struct sip_uri uri;
    sip_str params;      /* raw header params from the first ';' (with it) */
    sip_str tag;
    bool has_expires;
    uint32_t expires;
    sip_str q;
    sip_str instance;    /* +sip.instance, quotes removed */
    bool has_reg_id;
    uint32_t reg_id;
};

int sip_name_addr_parse(sip_str value, struct sip_name_addr *na);

/* ---- Via ---- */
struct sip_via {
    sip_str transport;   /* "TLS", "TCP", "UDP", ... as written */
    sip_str host;        /* without [] for IPv6 */
    bool host_is_ipv6;
    int port;            /* 0 when absent */
    sip_str branch;
    sip_str received;
    bool has_rport;
    sip_str rport;       /* empty for the bare flag ";rport" */
    sip_str maddr;
    sip_str params;      /* raw, from the first ';' (with it) */
};

int sip_via_parse(sip_str value, struct sip_via *v);

/* ---- CSeq: 1*DIGIT LWS Method; number <= 2^31-1 ---- */
#define SIP_CSEQ_MAX 2147483647u
int sip_cseq_parse(sip_str value, uint32_t *num, sip_str *method);

/* ---- Content-Length: 1*DIGIT, at most max (one rule for the framer
 * and the parser, so both always agree on a message's length) ---- */
int sip_content_length_parse(sip_str value, size_t max, size_t *out);

/* ---- Digest credentials (Authorization, Proxy-Authorization) and
 * challenges (WWW-/Proxy-Authenticate) ---- */
struct sip_digest_params {
    sip_str username, realm, nonce, uri, response, algorithm;
    sip_str cnonce, opaque, qop, nc, domain, stale, userhash;
};

/* value is "Digest p=v, p=v...": the scheme must be Digest; each known
 * parameter at most once; unknown ones are skipped.  Quoted values are
 * returned without quotes, escapes kept (use sip_unquote). */
int sip_digest_params_parse(sip_str value, struct sip_digest_params *d);

#endif
