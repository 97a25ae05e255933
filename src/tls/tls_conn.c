/* tls_conn.c - one TLS connection over an existing socket (see tls_conn.h). */
#include "tls/tls_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "common/str.h"
#include "tls/tls_policy.h"
#include "tls/x509_text.h"


/* Watch the peer's record and hello versions, so that a refused old
 * client or server can be named precisely ("peer offered only TLS 1.1"). */
static void watch_messages(int write_p, int version, int content_type, const void *buf,
                           size_t len, SSL *ssl, void *arg)
{
    tls_conn *conn = arg;
    const unsigned char *p = buf;
    if (write_p)
        return;
    if (content_type == SSL3_RT_HEADER && len >= 3) {
        int v = (p[1] << 8) | p[2];
        if (conn->peer_record_version == 0 || v < conn->peer_record_version)
            conn->peer_record_version = v;
    } else if (content_type == SSL3_RT_HANDSHAKE && len >= 6 &&
               p[0] == SSL3_MT_CLIENT_HELLO) {
        conn->peer_hello_version = (p[4] << 8) | p[5];
    }
}

/* OpenSSL 3.0 names no TLS 1.3 alert: name the ones peers send us. */
static const char *tls_alert_name(int code)
{
    switch (code) {
    case 109: return "missing extension";
    case 116: return "certificate required";
    case 120: return "no application protocol";
    default: return SSL_alert_desc_string_long(code);
    }
}

static void watch_alerts(const SSL *ssl, int where, int ret)
{
    /* SSL_CB_READ_ALERT is two bits: both must be set (not our own alert). */
    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT)
        return;
    tls_conn *conn = SSL_get_app_data(ssl);
    if (conn != NULL && conn->diag != NULL && conn->diag->peer_alert[0] == '\0')
        tn_strlcpy(conn->diag->peer_alert, tls_alert_name(ret & 0xff), sizeof conn->diag->peer_alert);
}

static bool is_ip_literal(const char *name)
{
    unsigned char bin[16];
    return inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1;
}

static int set_client_auth(SSL *ssl, tls_config *cfg)
{
    if (cfg->client_auth == TLS_CLIENT_CERT_NONE)
        return 0;
    int mode = SSL_VERIFY_PEER;
    if (cfg->client_auth == TLS_CLIENT_CERT_REQUIRED)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_set_verify(ssl, mode, SSL_get_verify_callback(ssl));
    /* Tell clients which CAs we accept, so they pick the right certificate:
     * the contexts carry the list, unless the trust store was reloaded in
     * place since (tls_trust_reload_if_changed) or it could not be set. */
    if (cfg->ca_names_set && cfg->ca_names_generation == tls_trust_generation(cfg->trust))
        return 0;
    STACK_OF(X509_NAME) *names = tls_ca_names(cfg->trust);
    if (names != NULL)
        SSL_set0_CA_list(ssl, names);
    return 0;
}

static tls_conn *conn_new(tls_config *cfg, int fd, const struct tls_expect *expect,
                          tn_err *err)
{
    tls_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL || (conn->diag = calloc(1, sizeof *conn->diag)) == NULL ||
        (conn->ssl = SSL_new(cfg->ctx)) == NULL) {
        tn_errf(err, "out of memory");
        if (conn != NULL)
            free(conn->diag);
        free(conn);
        return NULL;
    }
    if (expect != NULL) {
        conn->expect = *expect;
        if (expect->name != NULL) {
            if (tn_strlcpy(conn->diag->expect_name, expect->name, sizeof conn->diag->expect_name) < 0)
                goto fail_name;
            conn->expect.name = conn->diag->expect_name;
        }
    }
    SSL_set_msg_callback(conn->ssl, watch_messages);
    SSL_set_msg_callback_arg(conn->ssl, conn);
    SSL_set_app_data(conn->ssl, conn);
    SSL_set_info_callback(conn->ssl, watch_alerts);
    if (!SSL_set_fd(conn->ssl, fd)) {
        tn_errf(err, "cannot attach TLS to socket %d", fd);
        tls_conn_free(conn);
        return NULL;
    }
    return conn;
fail_name:
    tn_errf(err, "expected peer name too long");
    tls_conn_free(conn);
    return NULL;
}

static int arm_verification(tls_conn *conn, tls_config *cfg, tn_err *err)
{
    if (cfg->trust == NULL)
        return tn_errf(err, "no trust store configured: cannot verify the peer");
    conn->advisory = cfg->verify_advisory;
    if (tls_verify_arm(conn->ssl, tls_trust_store(cfg->trust),
                       tls_trust_checks_revocation(cfg->trust), cfg->verify_advisory,
                       &conn->expect, &conn->diag->verdict) < 0)
        return tn_errf(err, "cannot set up certificate verification");
    return 0;
}

tls_conn *tls_conn_new_client(tls_config *cfg, int fd, const struct tls_expect *expect,
                              tn_err *err)
{
    if (cfg->side != TLS_SIDE_CLIENT) {
        tn_errf(err, "a server configuration cannot open client connections");
        return NULL;
    }
    tls_conn *conn = conn_new(cfg, fd, expect, err);
    if (conn == NULL)
        return NULL;
    SSL_set_connect_state(conn->ssl);
    const char *name = conn->expect.name;
    /* No SNI for an IP literal or for a pattern ("*.bank.test"). */
    if (name != NULL && !is_ip_literal(name) && strchr(name, '*') == NULL &&
        !SSL_set_tlsext_host_name(conn->ssl, name)) {
        tn_errf(err, "cannot send SNI %s", name);
        tls_conn_free(conn);
        return NULL;
    }
    if (arm_verification(conn, cfg, err) < 0) {
        tls_conn_free(conn);
        return NULL;
    }
    return conn;
}

tls_conn *tls_conn_new_server(tls_config *cfg, int fd, const struct tls_expect *expect,
                              tn_err *err)
{
    if (cfg->side != TLS_SIDE_SERVER || cfg->n_ids == 0) {
        tn_errf(err, "a listener needs a server configuration with a certificate");
        return NULL;
    }
    tls_conn *conn = conn_new(cfg, fd, expect, err);
    if (conn == NULL)
        return NULL;
    SSL_set_accept_state(conn->ssl);
    if (cfg->client_auth != TLS_CLIENT_CERT_NONE) {
        if (arm_verification(conn, cfg, err) < 0 || set_client_auth(conn->ssl, cfg) < 0) {
            tls_conn_free(conn);
            return NULL;
        }
    }
    return conn;
}

void tls_conn_free(tls_conn *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl);
    tls_conn_release_diagnostics(conn);
    free(conn);
}

void tls_conn_release_diagnostics(tls_conn *conn)
{
    if (conn->diag == NULL)
        return;
    /* Nothing may write into the verdict once it is gone. */
    tls_verify_disarm(conn->ssl);
    conn->expect.name = NULL;
    tls_verdict_clear(&conn->diag->verdict);
    free(conn->diag);
    conn->diag = NULL;
}
