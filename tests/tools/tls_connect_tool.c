/*
 * tls_connect_tool - drives an outgoing connection of src/net/conn.c
 * (non-blocking connect, TLS client handshake with verification, bytes
 * queued before the handshake) against a real server.
 *
 * usage: tls_connect_tool IP PORT NAME CAFILE [CERT KEY]
 * CAFILE "system": the system roots.  TN_ADVISORY=1 in the environment:
 * advisory verification (opportunistic TLS: judged, never refused).
 * Sends "GET / HTTP/1.0\r\n\r\n" (queued before the handshake ends), prints
 * what comes back on stdout and the connection's log lines on stderr.
 * Exit 0 when a response arrived, 1 otherwise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/worker.h"

static int got_reply;
static tls_config *cfg;
static tls_trust *trust;
static struct sockaddr_in peer;
static const char *peer_name;

static size_t on_data(struct conn *c, const char *buf, size_t len, void *ctx)
{
    fwrite(buf, 1, len, stdout);
    got_reply = 1;
    return len;
}

static void on_close(struct conn *c, void *ctx, char *note, size_t note_size)
{
    ev_loop_stop(c->worker->loop);
}

static const struct conn_handler handler = {.on_data = on_data, .on_close = on_close};
static const struct conn_limits limits = {
    .max_buffer = 65536, .max_queue = 65536, .handshake_ms = 3000, .idle_ms = 5000};

static void start(ev_loop *loop, void *arg)
{
    struct worker *w = arg;
    tn_err err;
    struct tls_expect expect = {.name = peer_name, .role = TLS_PEER_SERVER};
    struct conn *c = conn_connect(w, (struct sockaddr *)&peer, sizeof peer, NULL, 0, cfg, &expect,
                                  &handler, &limits, &err);
    if (c == NULL) {
        fprintf(stderr, "connect: %s\n", err.msg);
        ev_loop_stop(loop);
        return;
    }
    conn_send(c, "GET / HTTP/1.0\r\n\r\n", 18);
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7)
        return 2;
    tn_err err;
    peer.sin_family = AF_INET;
    peer.sin_port = htons((uint16_t)atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &peer.sin_addr);
    peer_name = argv[3];
    trust = strcmp(argv[4], "system") == 0 ? tls_trust_new_system("system", &err)
                                           : tls_trust_new("test", argv[4], NULL, 0, &err);
    cfg = trust ? tls_config_new(TLS_SIDE_CLIENT, &err) : NULL;
    if (cfg == NULL || (argc == 7 && tls_config_add_identity(cfg, argv[5], argv[6], &err) < 0)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    tls_config_set_trust(cfg, trust);
    const char *advisory = getenv("TN_ADVISORY");
    tls_config_set_verify_advisory(cfg, advisory != NULL && strcmp(advisory, "1") == 0);
    static struct worker_group g;
    if (worker_group_init(&g, 1, NULL, NULL, &handler, &limits, 10, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    ev_post(g.workers[0].loop, start, &g.workers[0]);
    worker_group_start(&g, &err);
    pthread_join(g.workers[0].thread, NULL);
    g.n = 1;
    worker_group_free(&g);
    tls_config_free(cfg);
    tls_trust_free(trust);
    return got_reply ? 0 : 1;
}
