/*
 * fuzz_x509_text.c - libFuzzer target for what trustnet reads out of a
 * peer's certificate (src/tls/x509_text.c, tls_name.c, tls_sip_user.c).
 * OpenSSL parses the DER; the names in it are the peer's own text, and
 * they end up in log records, refusal reasons and Received: headers.
 * Any certificate OpenSSL accepts (the signature is not checked here: a
 * refused certificate is described too) goes through every describer, the
 * server-name check under each rule and the SIP user lookup.  Invariants
 * that abort:
 *   - every text is NUL-terminated inside its buffer, even a small one;
 *   - no text holds a control byte (a line break would split a log
 *     record or start a mail header);
 *   - a certificate that names sip:alice@corp.test as a SIP user is
 *     counted among the SIP users it names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "tls/tls_name.h"
#include "tls/tls_sip_user.h"
#include "tls/x509_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 0x5A

/* buf has len usable bytes and a guard byte after them. */
static void check_text(const char *buf, size_t len)
{
    size_t n = strnlen(buf, len);
    if (n == len || (unsigned char)buf[len] != GUARD)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            abort();
}

/* Each describer, into a roomy buffer and a tight one. */
static void describe(X509 *cert, size_t len)
{
    char buf[1025];
    memset(buf, GUARD, sizeof buf);
    x509_text_name(X509_get_subject_name(cert), buf, len);
    check_text(buf, len);
    x509_text_name(X509_get_issuer_name(cert), buf, len);
    check_text(buf, len);
    x509_text_short_name(X509_get_subject_name(cert), buf, len);
    check_text(buf, len);
    x509_text_time(X509_get0_notAfter(cert), buf, len);
    check_text(buf, len);
    x509_text_date(X509_get0_notBefore(cert), buf, len);
    check_text(buf, len);
    x509_text_serial(cert, buf, len);
    check_text(buf, len);
    int bits = 0;
    x509_text_key(cert, buf, len, &bits);
    check_text(buf, len);
    x509_text_sig_alg(cert, buf, len);
    check_text(buf, len);
    x509_text_fingerprint_sha256(cert, buf, len);
    check_text(buf, len);
    x509_text_sans(cert, buf, len);
    check_text(buf, len);
    tls_cert_sip_users(cert, buf, len);
    check_text(buf, len);
}

static void check_names(X509 *cert)
{
    static const enum tls_name_rules rules[] = {TLS_NAME_EXACT, TLS_NAME_WILDCARD,
                                                TLS_NAME_SIP, TLS_NAME_ANY_UNDER};
    char buf[513];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        memset(buf, GUARD, sizeof buf);
        tls_name_check(cert, "fe1.corp.test", rules[i], buf, 512);
        check_text(buf, 512);
        tls_name_check(cert, "127.0.0.1", rules[i], buf, 512);
        check_text(buf, 512);
    }
    memset(buf, GUARD, sizeof buf);
    size_t users = tls_cert_sip_users(cert, buf, 512);
    if (tls_cert_names_sip_user(cert, "alice", "corp.test") && users == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *cert = d2i_X509(NULL, &p, (long)size);
    if (cert == NULL)
        return 0;
    describe(cert, 1024);
    describe(cert, 24);
    check_names(cert);
    X509_free(cert);
    return 0;
}
