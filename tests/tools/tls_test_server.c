/*
 * tls_test_server - a minimal listener built on the trust core, so that
 * real TLS clients (openssl s_client, trustnet check) can test the server
 * side of src/tls/: policy, SNI certificate selection, client certificate
 * verification and the per-connection log line.
 *
 * usage: tls_test_server PORT [--cert C --key K]... [--ca CA [--crl CRL]]
 *                        [--client-auth none|optional|required] [--max N]
 * Listens on 127.0.0.1:PORT, serves at most N (default 100) connections
 * one at a time: handshake, log line on stderr, "hello\n", close.  The
 * trust store is reloaded (if its files changed) after each accept.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/log.h"
#include "net/net_connect.h"
#include "tls/tls_conn.h"

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
        perror("listen");
        exit(2);
    }
    return fd;
}

static void serve_one(tls_config *cfg, int fd, const char *peer)
{
    tn_err err;
    struct tls_expect expect = {.name = NULL, .role = TLS_PEER_CLIENT};
    net_set_io_timeout(fd, 5000);
    tls_conn *conn = tls_conn_new_server(cfg, fd, &expect, &err);
    if (conn == NULL) {
        tn_log(TN_LOG_ERROR, "test-server", "%s", err.msg);
        return;
    }
    char line[2048];
    enum tls_io io = tls_conn_handshake(conn);
    tls_conn_describe(conn, peer, line, sizeof line);
    tn_log(TN_LOG_INFO, "tls", "%s", line);
    if (io == TLS_IO_OK) {
        size_t put;
        tls_conn_write(conn, "hello\n", 6, &put);
        tls_conn_close(conn);
    }
    tls_conn_free(conn);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    tn_err err;
    tls_config *cfg = tls_config_new(TLS_SIDE_SERVER, &err);
    const char *ca = NULL, *crls[4];
    size_t n_crl = 0;
    int max = 100;
    enum tls_client_auth auth = TLS_CLIENT_CERT_NONE;
    for (int i = 2; cfg && i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--cert") == 0 && i + 3 < argc) {
            if (tls_config_add_identity(cfg, argv[i + 1], argv[i + 3], &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 2;
            }
            i += 2;
        } else if (strcmp(argv[i], "--ca") == 0) {
            ca = argv[i + 1];
        } else if (strcmp(argv[i], "--crl") == 0 && n_crl < 4) {
            crls[n_crl++] = argv[i + 1];
        } else if (strcmp(argv[i], "--client-auth") == 0) {
            auth = strcmp(argv[i + 1], "required") == 0   ? TLS_CLIENT_CERT_REQUIRED
                   : strcmp(argv[i + 1], "optional") == 0 ? TLS_CLIENT_CERT_OPTIONAL
                                                          : TLS_CLIENT_CERT_NONE;
        } else if (strcmp(argv[i], "--max") == 0) {
            max = atoi(argv[i + 1]);
        }
    }
    tls_trust *trust = ca ? tls_trust_new("test", ca, crls, n_crl, &err) : NULL;
    if (cfg == NULL || (ca && trust == NULL)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    tls_config_set_trust(cfg, trust);
    tls_config_set_client_auth(cfg, auth);
    int lfd = listen_on(atoi(argv[1]));
    for (int n = 0; n < max; n++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        int fd = accept(lfd, (struct sockaddr *)&sa, &len);
        if (fd < 0)
            continue;
        /* A real server does this from a timer; here after each accept. */
        bool reloaded = false;
        if (trust != NULL && tls_trust_reload_if_changed(trust, &reloaded, &err) < 0)
            tn_log(TN_LOG_WARN, "tls", "trust store not reloaded: %s", err.msg);
        else if (reloaded)
            tn_log(TN_LOG_INFO, "tls", "trust store reloaded");
        char peer[64];
        snprintf(peer, sizeof peer, "%s:%d", inet_ntoa(sa.sin_addr), ntohs(sa.sin_port));
        serve_one(cfg, fd, peer);
        close(fd);
    }
    close(lfd);
    tls_config_free(cfg);
    tls_trust_free(trust);
    return 0;
}
