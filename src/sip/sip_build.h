/*
 * sip_build.h - write SIP messages derived from a parsed one into a
 * caller's buffer: local responses (RFC 3261 8.2.6), requests forwarded by
 * a stateful proxy (16.6) and responses forwarded back (16.7).
 *
 * Every builder returns the number of bytes written (no NUL is added) or
 * -1 when out is too small or an argument would inject a line break.
 * Headers the builder does not touch are copied byte-exact, so raw lines,
 * compact names and folding survive; Content-Length is always rewritten.
 */
#ifndef TN_SIP_BUILD_H
#define TN_SIP_BUILD_H

#include "sip/sip_msg.h"

/* Max-Forwards added to a forwarded request that has none (RFC 3261
 * 16.6 step 3). */
#define SIP_DEFAULT_MAX_FORWARDS 70

/* A response to req: status line, every Via value in order, From, To
 * (with ";tag=to_tag" added when to_tag is given and To has no tag),
 * Call-ID, CSeq (and Timestamp for a 100), then extra_headers (complete
 * CRLF-terminated lines, or NULL), Content-Type when body_len > 0 and
 * content_type is given, Content-Length, and the body.  Works on a request
 * that failed to parse as long as req->headers_ok (it then echoes what is
 * there), which is how a 400 names the problem to the sender. */
int sip_build_response(char *out, size_t outlen, const struct sip_msg *req,
                       int status, const char *reason, const char *to_tag,
                       const char *extra_headers, const char *body,
                       size_t body_len, const char *content_type);

struct sip_forward_edit {
    const char *ruri;          /* new Request-URI, or NULL to keep */
    const char *via;           /* value for a new top Via ("SIP/2.0/TLS
                                  fe1.example:5061;branch=z9hG4bK..."),
                                  or NULL */
    const char *record_route;  /* value for a new top Record-Route
                                  ("<sip:fe1.example;transport=tls;lr>"),
                                  or NULL */
    size_t drop_routes;        /* remove this many Route values from the
                                  top (a shared line is rewritten) */
    const enum sip_hdr_id *drop_ids; /* remove every header with these ids */
    size_t ndrop_ids;          /* (e.g. SIP_HDR_PROXY_AUTHORIZATION) */
    const char *extra_headers; /* CRLF-terminated lines, or NULL */
};

/* The request req forwarded with the edits in e: Max-Forwards is
 * decremented, or added as SIP_DEFAULT_MAX_FORWARDS when absent.  Returns
 * -1 as well when req->max_forwards is 0 (the caller answers 483) or
 * drop_routes exceeds the Route values present. */
int sip_build_forward(char *out, size_t outlen, const struct sip_msg *req,
                      const struct sip_forward_edit *e);

/* The response resp forwarded upstream: the top Via value removed (just
 * that value when it shares a line with others), everything else copied,
 * extra_headers (or NULL) added. */
int sip_build_forward_response(char *out, size_t outlen,
                               const struct sip_msg *resp,
                               const char *extra_headers);

#endif
