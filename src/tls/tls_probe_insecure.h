/*
 * tls_probe_insecure.h - diagnostic only: learn what an endpoint that
 * trustnet refused would have negotiated, to name the problem ("peer
 * offered only AES128-SHA, which has no forward secrecy").
 *
 * The probe offers every version and suite OpenSSL has, verifies nothing
 * and sends no application data: it completes a handshake, reads the
 * result and closes.  Never use it to carry traffic.
 */
#ifndef TN_TLS_PROBE_INSECURE_H
#define TN_TLS_PROBE_INSECURE_H

#include <stdbool.h>
#include <stddef.h>

struct tls_probe_result {
    char version[32]; /* "TLSv1.1" */
    char cipher[64];  /* "AES128-SHA" */
    int wire_version;
    bool forward_secret;
    bool aead;
};

/* Handshake on the connected socket fd (sending sni unless NULL).
 * Returns 0 with the result, -1 when even this handshake failed. */
int tls_probe_insecure(int fd, const char *sni, struct tls_probe_result *out);

/* The refusal reason the probe explains, or false when it explains none. */
bool tls_probe_explain(const struct tls_probe_result *r, char *buf, size_t len);

#endif
