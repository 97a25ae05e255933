/* tls_io.c - handshake, reading and writing, and the facts of a finished
 * or failed handshake (see tls_conn.h). */
#include "tls/tls_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>

#include "common/clock.h"
#include "common/str.h"
#include "tls/tls_policy.h"
#include "tls/x509_text.h"

static bool peer_too_old(const tls_conn *conn, int *version)
{
    /* A server sees the client's highest version in its ClientHello; a
     * client sees the version of the records (alerts) an old server sends. */
    int v = conn->peer_hello_version ? conn->peer_hello_version : conn->peer_record_version;
    *version = v;
    return v >= SSL3_VERSION - 0x100 && v < TLS1_2_VERSION && v != 0;
}

static void explain_library_error(tls_conn *conn, unsigned long code)
{
    char *out = conn->diag->failure;
    size_t len = sizeof conn->diag->failure;
    switch (ERR_GET_REASON(code)) {
    case SSL_R_NO_SHARED_CIPHER:
        tn_strlcpy(out, "no cipher suite in common: peer offers no forward-secret AEAD "
                   "suite", len);
        return;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        tn_strlcpy(out, "no client certificate presented (mutual TLS required)", len);
        return;
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
        tn_strlcpy(out, "no key exchange group in common (we accept X25519, P-256, P-384)",
                   len);
        return;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        tn_strlcpy(out, "peer closed the connection during the handshake", len);
        return;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_HTTP_REQUEST:
        tn_strlcpy(out, "peer does not speak TLS", len);
        return;
    }
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    tn_snprintf(out, len, "handshake failed: %s", text);
}

/* Name the one reason this handshake failed, most specific first. */
static void explain_failure(tls_conn *conn, int ssl_error)
{
    int version;
    unsigned long code = ERR_peek_error();
    if (conn->diag->verdict.decided && !conn->diag->verdict.trusted)
        tn_strlcpy(conn->diag->failure, conn->diag->verdict.reason, sizeof conn->diag->failure);
    else if (peer_too_old(conn, &version))
        tn_snprintf(conn->diag->failure, sizeof conn->diag->failure, "peer offered only %s",
                    tls_policy_version_name(version));
    else if (conn->diag->peer_alert[0] != '\0')
        tn_snprintf(conn->diag->failure, sizeof conn->diag->failure,
                    "peer refused the handshake (alert: %s)", conn->diag->peer_alert);
    else if (code != 0)
        explain_library_error(conn, code);
    else if (ssl_error == SSL_ERROR_SYSCALL && errno != 0)
        tn_snprintf(conn->diag->failure, sizeof conn->diag->failure, "handshake failed: %s",
                    strerror(errno));
    else
        tn_strlcpy(conn->diag->failure, "peer closed the connection during the handshake",
                   sizeof conn->diag->failure);
    ERR_clear_error();
}

/* OpenSSL 3 reports a TCP end without close_notify as an SSL error with
 * its own reason; older behaviour (a syscall error with errno 0) too. */
static bool ended_without_close_notify(int ssl_error)
{
    if (ssl_error == SSL_ERROR_SYSCALL)
        return ERR_peek_error() == 0 && errno == 0;
    return ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

static enum tls_io io_result(tls_conn *conn, int ret)
{
    int e = SSL_get_error(conn->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ: return TLS_IO_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return TLS_IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return TLS_IO_CLOSED;
    case SSL_ERROR_SSL:
    case SSL_ERROR_SYSCALL:
        if (conn->established && ended_without_close_notify(e)) {
            ERR_clear_error();
            return TLS_IO_TRUNCATED;
        }
        /* fall through */
    default:
        if (!SSL_is_init_finished(conn->ssl) && conn->diag != NULL)
            explain_failure(conn, e);
        ERR_clear_error();
        return TLS_IO_ERROR;
    }
}

enum tls_io tls_conn_handshake(tls_conn *conn)
{
    ERR_clear_error();
    errno = 0;
    if (conn->diag == NULL)
        return TLS_IO_ERROR;
    int ret = SSL_do_handshake(conn->ssl);
    if (ret != 1)
        return io_result(conn, ret);
    /* The record versions it watched only explain a failed handshake;
     * left in place, OpenSSL would call it twice for every record. */
    SSL_set_msg_callback(conn->ssl, NULL);
    conn->established = true;
    conn->trusted = conn->diag->verdict.decided && conn->diag->verdict.trusted;
    /* A client always verifies; a server verified a certificate if one came. */
    if (SSL_is_server(conn->ssl) == 0 && !conn->diag->verdict.trusted && !conn->advisory) {
        tn_strlcpy(conn->diag->failure, "peer certificate was not verified",
                   sizeof conn->diag->failure);
        return TLS_IO_ERROR;
    }
    return TLS_IO_OK;
}

/* SSL_get_error needs an empty error queue before the call; failures
 * empty it (io_result), so it is almost always empty already, and peeking
 * costs a fraction of clearing (OpenSSL 3.0 walks the whole queue). */
static void clear_stale_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

enum tls_io tls_conn_read(tls_conn *conn, void *buf, size_t len, size_t *got)
{
    *got = 0;
    clear_stale_errors();
    errno = 0; /* tells a TCP end (0) from a socket error after a failure */
    int ret = SSL_read_ex(conn->ssl, buf, len, got);
    return ret == 1 ? TLS_IO_OK : io_result(conn, ret);
}

enum tls_io tls_conn_write(tls_conn *conn, const void *buf, size_t len, size_t *put)
{
    *put = 0;
    clear_stale_errors();
    int ret = SSL_write_ex(conn->ssl, buf, len, put);
    return ret == 1 ? TLS_IO_OK : io_result(conn, ret);
}

/* Peek without blocking: session tickets alone give WANT_READ. */
static int peek_nonblocking(tls_conn *conn, int fd)
{
    char byte;
    size_t got;
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    ERR_clear_error();
    int ret = SSL_peek_ex(conn->ssl, &byte, 1, &got);
    int e = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(conn->ssl, ret);
    fcntl(fd, F_SETFL, flags);
    return e;
}

enum tls_io tls_conn_confirm(tls_conn *conn, int timeout_ms)
{
    if (conn->diag == NULL)
        return TLS_IO_OK; /* only meaningful right after the handshake */
    int fd = SSL_get_fd(conn->ssl);
    long deadline = tn_monotonic_ms() + timeout_ms;
    for (;;) {
        long left = deadline - tn_monotonic_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (SSL_has_pending(conn->ssl) || left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return TLS_IO_OK;
        int e = peek_nonblocking(conn, fd);
        if (e == SSL_ERROR_NONE || e == SSL_ERROR_ZERO_RETURN)
            return TLS_IO_OK;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
    }
    if (conn->diag->peer_alert[0] != '\0')
        tn_snprintf(conn->diag->failure, sizeof conn->diag->failure,
                    "peer refused us after the handshake (alert: %s)", conn->diag->peer_alert);
    else
        tn_strlcpy(conn->diag->failure, "peer dropped the connection after the handshake",
                   sizeof conn->diag->failure);
    ERR_clear_error();
    return TLS_IO_ERROR;
}

void tls_conn_close(tls_conn *conn)
{
    ERR_clear_error();
    if (SSL_is_init_finished(conn->ssl))
        SSL_shutdown(conn->ssl);
    ERR_clear_error();
}

const char *tls_conn_version(const tls_conn *conn)
{
    return SSL_get_version(conn->ssl);
}

const char *tls_conn_cipher(const tls_conn *conn)
{
    const char *name = SSL_get_cipher_name(conn->ssl);
    return name ? name : "(none)";
}

const char *tls_conn_group(const tls_conn *conn)
{
    int nid = SSL_get_negotiated_group(conn->ssl);
    const char *name = nid > 0 ? SSL_group_to_name(conn->ssl, nid) : NULL;
    return name ? name : "(none)";
}

bool tls_conn_forward_secret(const tls_conn *conn)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(conn->ssl);
    if (c == NULL)
        return false;
    int kx = SSL_CIPHER_get_kx_nid(c);
    /* TLS 1.3 suites have kx "any": without resumption it is always (EC)DHE. */
    return kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any;
}

static const struct tls_verdict released_trusted = {
    .decided = true, .trusted = true, .reason = "trusted (details released)"};
static const struct tls_verdict released_other = {.reason = "(details released)"};

const struct tls_verdict *tls_conn_verdict(const tls_conn *conn)
{
    if (conn->diag == NULL)
        return conn->trusted ? &released_trusted : &released_other;
    return &conn->diag->verdict;
}

STACK_OF(X509) *tls_conn_verified_chain(const tls_conn *conn)
{
    return SSL_get0_verified_chain(conn->ssl);
}

bool tls_conn_has_pending(const tls_conn *conn)
{
    return SSL_has_pending(conn->ssl) != 0;
}

bool tls_conn_peer_trusted(const tls_conn *conn)
{
    return conn->trusted;
}

const char *tls_conn_failure(const tls_conn *conn)
{
    if (conn->diag == NULL || conn->diag->failure[0] == '\0')
        return "no failure";
    return conn->diag->failure;
}

X509 *tls_conn_peer_cert(const tls_conn *conn)
{
    return SSL_get0_peer_certificate(conn->ssl);
}

STACK_OF(X509) *tls_conn_peer_chain(const tls_conn *conn)
{
    X509 *leaf = SSL_get0_peer_certificate(conn->ssl);
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(conn->ssl);
    STACK_OF(X509) *chain = leaf ? sk_X509_new_null() : NULL;
    if (chain == NULL)
        return NULL;
    /* A server's view of the client's chain leaves the leaf out. */
    for (int i = -1; i < sk_X509_num(sent); i++) {
        X509 *x = i < 0 ? leaf : sk_X509_value(sent, i);
        if (i >= 0 && X509_cmp(x, leaf) == 0)
            continue;
        if (!X509_up_ref(x))
            goto fail;
        if (!sk_X509_push(chain, x)) {
            X509_free(x);
            goto fail;
        }
    }
    return chain;
fail:
    sk_X509_pop_free(chain, X509_free);
    return NULL;
}

static void describe_peer_cert(const tls_conn *conn, char *buf, size_t len)
{
    X509 *peer = tls_conn_peer_cert(conn);
    const STACK_OF(X509) *chain = tls_conn_verdict(conn)->chain;
    if (peer == NULL && chain != NULL && sk_X509_num(chain) > 0)
        peer = sk_X509_value(chain, 0);
    if (peer == NULL) {
        tn_strlcpy(buf, "none", len);
        return;
    }
    char subject[256], sans[256];
    x509_text_short_name(X509_get_subject_name(peer), subject, sizeof subject);
    x509_text_sans(peer, sans, sizeof sans);
    tn_snprintf(buf, len, "\"%s\" [%s]", subject, sans);
}

void tls_conn_describe(const tls_conn *conn, const char *peer_addr, char *buf, size_t len)
{
    tls_conn_describe_as(conn, peer_addr, NULL, buf, len);
}

void tls_conn_describe_as(const tls_conn *conn, const char *peer_addr, const char *final,
                          char *buf, size_t len)
{
    char cert[560];
    describe_peer_cert(conn, cert, sizeof cert);
    const struct tls_verdict *v = tls_conn_verdict(conn);
    bool up = SSL_is_init_finished(conn->ssl) &&
              (conn->diag == NULL || conn->diag->failure[0] == '\0');
    const char *verdict;
    const char *reason;
    if (!up) {
        verdict = "refused";
        reason = tls_conn_failure(conn);
    } else if (v->decided) {
        verdict = v->trusted ? "trusted" : conn->advisory ? "not verified" : "refused";
        reason = v->reason;
    } else {
        verdict = "accepted";
        reason = "no client certificate";
    }
    char decided[TLS_REASON_MAX + 16];
    tn_snprintf(decided, sizeof decided, "%s: %s", verdict, reason);
    tn_snprintf(buf, len, "peer=%s tls=%s cipher=%s group=%s cert=%s verdict=%s", peer_addr,
                up ? tls_conn_version(conn) : "-", up ? tls_conn_cipher(conn) : "-",
                up ? tls_conn_group(conn) : "-", cert, up && final ? final : decided);
}
