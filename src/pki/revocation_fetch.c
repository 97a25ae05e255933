/* revocation_fetch.c - fetch and parse a CRL (see revocation_fetch.h). */
#include "pki/revocation_fetch.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>

#include "common/str.h"

#define PEM_CRL_MARKER "-----BEGIN X509 CRL-----"
#define REVOCATION_FETCH_MAX_REDIRECTS 5

static bool has_scheme(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return strlen(url) >= n && tn_ascii_caseeq(url, n, scheme, n);
}

const char *revocation_url_unsupported(const char *url)
{
    /* A URI has no spaces or control bytes (RFC 3986); one that does could
     * inject lines into the HTTP request. */
    for (const char *p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "not a valid URI (spaces, control or non-ASCII bytes)";
    if (has_scheme(url, "http://"))
        return NULL;
    if (has_scheme(url, "https://"))
        return "https is not used for CRL distribution points: a CRL is "
               "signed, RFC 5280 CDPs are plain http, and fetching over TLS "
               "needs a revocation check of its own";
    if (has_scheme(url, "ldap://") || has_scheme(url, "ldaps://"))
        return "ldap is not fetched (http only): relying parties outside the "
               "directory, such as partners, usually cannot reach it";
    return "unsupported scheme: only http:// distribution points are fetched";
}

void revocation_printable(const char *s, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char ellipsis[] = "...";
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (outlen < sizeof ellipsis + 4)
        return;
    /* Keep room for one escape (4 bytes), the ellipsis and the NUL. */
    size_t limit = outlen - sizeof ellipsis - 4, o = 0, i;
    for (i = 0; i < n && o < limit; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0xf];
        }
    }
    out[o] = '\0';
    if (i < n)
        tn_strlcpy(out + o, ellipsis, outlen - o);
}

/* Append every queued OpenSSL error as "reason (detail)", then clear the
 * queue.  The innermost cause (often the system error) comes first. */
static void append_openssl_reasons(tn_err *err)
{
    const char *data;
    int flags;
    unsigned long code;
    int count = 0;
    if (err == NULL) {
        ERR_clear_error();
        return;
    }
    while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (count++ >= 4)
            continue; /* drain the rest */
        /* OpenSSL keeps errno as the reason of a system error. */
        const char *reason = ERR_SYSTEM_ERROR(code)
                                 ? strerror(ERR_GET_REASON(code))
                                 : ERR_reason_error_string(code);
        char detail[160] = "";
        if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0')
            revocation_printable(data, strlen(data), detail, sizeof detail);
        tn_appendf(err->msg, sizeof err->msg, "%s%s", count > 1 ? "; " : "",
                   reason != NULL ? reason : "unknown error");
        if (detail[0] != '\0')
            tn_appendf(err->msg, sizeof err->msg, " (%s)", detail);
    }
    if (count == 0)
        tn_appendf(err->msg, sizeof err->msg, "no reason given");
}

/* Read the whole response body from the connection, which OpenSSL left
 * non-blocking, until EOF, the deadline or the size limit. */
static int read_body(BIO *conn, time_t deadline, unsigned char **body,
                     size_t *len, tn_err *err)
{
    size_t cap = 16384, used = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return tn_errf(err, "out of memory");
    for (;;) {
        if (used > REVOCATION_FETCH_MAX_BYTES) {
            free(buf);
            return tn_errf(err, "response larger than %d bytes (the limit)",
                           REVOCATION_FETCH_MAX_BYTES);
        }
        if (used == cap) {
            size_t want = cap * 2 > (size_t)REVOCATION_FETCH_MAX_BYTES + 1
                              ? (size_t)REVOCATION_FETCH_MAX_BYTES + 1 : cap * 2;
            unsigned char *bigger = realloc(buf, want);
            if (bigger == NULL) {
                free(buf);
                return tn_errf(err, "out of memory");
            }
            buf = bigger;
            cap = want;
        }
        size_t room = cap - used;
        int n = BIO_read(conn, buf + used, room > INT_MAX ? INT_MAX : (int)room);
        if (n > 0) {
            used += (size_t)n;
            continue;
        }
        if (!BIO_should_retry(conn))
            break; /* end of the body (HTTP/1.0: the server closes) */
        int w = BIO_wait(conn, deadline, 100);
        if (w <= 0) {
            free(buf);
            tn_errf(err, "%s", w == 0 ? "timed out reading the response"
                                     : "error reading the response");
            return -1;
        }
    }
    *body = buf;
    *len = used;
    return 0;
}

static int seconds_left(time_t deadline)
{
    time_t now = time(NULL);
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* Connect once to host:port before the deadline.  OpenSSL's HTTP client
 * would retry a refused connection until its timeout and then report only
 * "connect timeout"; connecting here keeps the real reason. */
static BIO *connect_once(const char *host, const char *port, time_t deadline,
                         tn_err *err)
{
    char spec[300];
    /* An IPv6 literal comes back from OSSL_HTTP_parse_url without [ ]. */
    if (tn_snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]" : "%s",
                    host) < 0) {
        tn_errf(err, "host name too long");
        return NULL;
    }
    BIO *conn = BIO_new_connect(spec);
    if (conn == NULL || BIO_set_conn_port(conn, port) <= 0) {
        BIO_free_all(conn);
        tn_errf(err, "out of memory");
        return NULL;
    }
    BIO_set_nbio(conn, 1);
    for (;;) {
        if (BIO_do_connect(conn) > 0)
            return conn;
        if (!BIO_should_retry(conn)) {
            append_openssl_reasons(err);
            break;
        }
        int w = BIO_wait(conn, deadline, 100);
        if (w <= 0) {
            ERR_clear_error();
            tn_errf(err, "%s", w == 0 ? "connect timed out" : "connect error");
            break;
        }
    }
    BIO_free_all(conn);
    return NULL;
}

/* One GET of url over conn.  Returns 0 with the body, 1 with *redirect set
 * (caller frees with OPENSSL_free), -1 on failure. */
static int exchange(BIO *conn, const char *host, const char *port,
                    const char *path, time_t deadline, unsigned char **body,
                    size_t *len, char **redirect, tn_err *err)
{
    int left = seconds_left(deadline);
    if (left <= 0) /* 0 would make OpenSSL switch conn to blocking */
        return tn_errf(err, "timed out");
    /* With a connection given, OpenSSL consults no proxy at all. */
    OSSL_HTTP_REQ_CTX *rctx = OSSL_HTTP_open(host, port, NULL, NULL, 0, conn,
                                             NULL, NULL, NULL, 0, left);
    /* expect_asn1 0 so that PEM CRLs come through: OpenSSL then hands back
     * the connection and read_body() applies the deadline and size cap. */
    if (rctx == NULL
        || !OSSL_HTTP_set1_request(rctx, path, NULL, NULL, NULL, NULL, 0,
                                   REVOCATION_FETCH_MAX_BYTES, -1, 0)) {
        OSSL_HTTP_close(rctx, 0);
        append_openssl_reasons(err);
        return -1;
    }
    int rc = -1;
    BIO *resp = OSSL_HTTP_exchange(rctx, redirect);
    if (resp != NULL)
        rc = read_body(resp, deadline, body, len, err);
    else if (*redirect != NULL)
        rc = 1;
    else
        append_openssl_reasons(err);
    BIO_free(resp);
    OSSL_HTTP_close(rctx, rc == 0);
    return rc;
}

/* Fetch url once: parse, connect, exchange. */
static int fetch_once(const char *url, time_t deadline, unsigned char **body,
                      size_t *len, char **redirect, tn_err *err)
{
    const char *why = revocation_url_unsupported(url);
    if (why != NULL)
        return tn_errf(err, "%s", why);
    char *host = NULL, *port = NULL, *path = NULL;
    int rc = -1;
    if (!OSSL_HTTP_parse_url(url, NULL, NULL, &host, &port, NULL, &path,
                             NULL, NULL)) {
        tn_errf(err, "malformed URL: ");
        append_openssl_reasons(err);
    } else {
        BIO *conn = connect_once(host, port, deadline, err);
        if (conn != NULL)
            rc = exchange(conn, host, port, path, deadline, body, len,
                          redirect, err);
        BIO_free_all(conn);
    }
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    return rc;
}

/* The absolute form of a redirect target: a path on the same server is
 * completed with the scheme, host and port of from. */
static char *absolute_url(const char *from, char *target)
{
    if (target[0] != '/')
        return target;
    char *host = NULL, *port = NULL, *abs = NULL;
    size_t n;
    if (OSSL_HTTP_parse_url(from, NULL, NULL, &host, &port, NULL, NULL, NULL,
                            NULL)
        && (abs = OPENSSL_malloc(n = strlen(host) + strlen(port)
                                     + strlen(target) + 16)) != NULL
        && tn_snprintf(abs, n, strchr(host, ':') ? "http://[%s]:%s%s"
                                                 : "http://%s:%s%s",
                       host, port, target) < 0) {
        OPENSSL_free(abs);
        abs = NULL;
    }
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(target);
    return abs;
}

int revocation_fetch(const char *url, unsigned char **body, size_t *len,
                     tn_err *err)
{
    *body = NULL;
    *len = 0;
    tn_err_clear(err);
    time_t deadline = time(NULL) + REVOCATION_FETCH_TIMEOUT_S;
    ERR_clear_error();
    char *current = OPENSSL_strdup(url);
    int rc = current != NULL ? 1 : tn_errf(err, "out of memory");
    for (int hops = 0; rc == 1; hops++) {
        char *next = NULL;
        rc = fetch_once(current, deadline, body, len, &next, err);
        if (rc == 1 && hops >= REVOCATION_FETCH_MAX_REDIRECTS) {
            OPENSSL_free(next);
            rc = tn_errf(err, "more than %d redirections",
                         REVOCATION_FETCH_MAX_REDIRECTS);
        } else if (rc == 1) {
            next = absolute_url(current, next);
            OPENSSL_free(current);
            current = next;
            if (current == NULL)
                rc = tn_errf(err, "bad redirection");
        } else if (rc < 0 && hops > 0 && err != NULL) {
            char shown[200], saved[TN_ERR_MAX];
            revocation_printable(current, strlen(current), shown, sizeof shown);
            tn_strlcpy(saved, err->msg, sizeof saved);
            tn_errf(err, "redirected to %s: %s", shown, saved);
        }
    }
    OPENSSL_free(current);
    ERR_clear_error();
    return rc;
}

static int parse_der(const unsigned char *buf, size_t len, X509_CRL **crl,
                     tn_err *err)
{
    const unsigned char *p = buf;
    X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);
    if (c == NULL)
        return -1;
    size_t used = (size_t)(p - buf);
    if (used != len) {
        X509_CRL_free(c);
        return tn_errf(err, "DER CRL followed by %zu bytes of other data",
                       len - used);
    }
    *crl = c;
    return 0;
}

static int parse_pem(const unsigned char *buf, size_t len, X509_CRL **crl,
                     tn_err *err)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL)
        return tn_errf(err, "out of memory");
    *crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (*crl != NULL)
        return 0;
    tn_errf(err, "the PEM X509 CRL block is not a valid CRL");
    return tn_err_append_openssl(err);
}

int revocation_parse_crl(const unsigned char *buf, size_t len, X509_CRL **crl,
                         const char **format, tn_err *err)
{
    *crl = NULL;
    tn_err_clear(err);
    if (len == 0)
        return tn_errf(err, "empty response");
    if (len > REVOCATION_FETCH_MAX_BYTES)
        return tn_errf(err, "response too large (%zu bytes)", len);
    ERR_clear_error();
    int rc;
    if (memmem(buf, len, PEM_CRL_MARKER, sizeof PEM_CRL_MARKER - 1) != NULL) {
        *format = "PEM";
        rc = parse_pem(buf, len, crl, err);
    } else {
        *format = "DER";
        rc = parse_der(buf, len, crl, err);
    }
    if (rc == 0)
        return 0;
    if (err != NULL && err->msg[0] == '\0') {
        char preview[40];
        revocation_printable((const char *)buf, len, preview, sizeof preview);
        tn_errf(err, "neither a DER nor a PEM CRL (%zu bytes starting \"%s\")",
                len, preview);
    }
    ERR_clear_error();
    return -1;
}
