/* tls_verify.c - peer certificate verdicts (see tls_verify.h). */
#include "tls/tls_verify.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "common/str.h"
#include "tls/tls_policy.h"
#include "tls/x509_text.h"

/* What the verify callback needs; hung on the SSL as ex_data. */
struct verify_ctx {
    const struct tls_expect *expect;
    struct tls_verdict *verdict;
    bool checks_revocation;
    bool advisory;
};

static int ex_index = -1;
static CRYPTO_ONCE ex_index_once = CRYPTO_ONCE_STATIC_INIT;

/* "Corp Enterprise CA" for CN=Corp Enterprise CA, else the whole name. */
static void name_for_humans(const X509_NAME *name, char *buf, size_t len)
{
    x509_text_short_name(name, buf, len);
    if (strncmp(buf, "CN=", 3) == 0)
        memmove(buf, buf + 3, strlen(buf + 3) + 1);
}

static void reason_where(X509 *cert, int depth, char *buf, size_t len)
{
    char subject[256];
    if (depth <= 0 || cert == NULL)
        return;
    x509_text_short_name(X509_get_subject_name(cert), subject, sizeof subject);
    tn_appendf(buf, len, " (chain certificate %s at depth %d)", subject, depth);
}

static void reason_revoked(X509 *cert, X509_CRL *crl, char *buf, size_t len)
{
    char serial[80], issuer[256] = "its issuer";
    x509_text_serial(cert, serial, sizeof serial);
    if (crl != NULL)
        name_for_humans(X509_CRL_get_issuer(crl), issuer, sizeof issuer);
    tn_snprintf(buf, len, "certificate revoked (serial %s, CRL of %s)", serial, issuer);
}

static void reason_key_too_small(X509 *cert, char *buf, size_t len)
{
    char key[64];
    int bits = 0;
    x509_text_key(cert, key, sizeof key, &bits);
    tn_snprintf(buf, len, "key too small: %s (%d bits; security level %d requires RSA >= "
                "2048, EC >= 224)", key, bits, TLS_POLICY_SECURITY_LEVEL);
}

static void reason_for_error(int error, X509 *cert, X509_CRL *crl, char *buf, size_t len)
{
    char a[256] = "?", b[256] = "?";
    if (cert != NULL) {
        x509_text_short_name(X509_get_subject_name(cert), a, sizeof a);
        x509_text_name(X509_get_issuer_name(cert), b, sizeof b);
    }
    switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        x509_text_date(X509_get0_notAfter(cert), a, sizeof a);
        x509_text_time(X509_get0_notAfter(cert), b, sizeof b);
        tn_snprintf(buf, len, "expired on %s (not after %s)", a, b);
        return;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        x509_text_time(X509_get0_notBefore(cert), a, sizeof a);
        tn_snprintf(buf, len, "not yet valid: valid from %s", a);
        return;
    case X509_V_ERR_CERT_REVOKED:
        reason_revoked(cert, crl, buf, len);
        return;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        tn_snprintf(buf, len, "self-signed certificate not trusted: %s", a);
        return;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        tn_snprintf(buf, len, "issuer not trusted: %s", b);
        return;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        tn_snprintf(buf, len, "no CRL of issuer %s: revocation cannot be checked", b);
        return;
    case X509_V_ERR_CRL_HAS_EXPIRED:
        name_for_humans(X509_CRL_get_issuer(crl), a, sizeof a);
        x509_text_time(X509_CRL_get0_nextUpdate(crl), b, sizeof b);
        tn_snprintf(buf, len, "CRL of %s is out of date (next update was due %s): "
                    "revocation cannot be checked", a, b);
        return;
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        tn_snprintf(buf, len, "unusable CRL of issuer %s: %s", b,
                    X509_verify_cert_error_string(error));
        return;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        reason_key_too_small(cert, buf, len);
        return;
    case X509_V_ERR_CA_MD_TOO_WEAK:
        x509_text_sig_alg(cert, a, sizeof a);
        tn_snprintf(buf, len, "weak signature algorithm %s (SHA-1 and MD5 signatures are "
                    "refused)", a);
        return;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        tn_snprintf(buf, len, "issuer %s may not issue certificates: %s", b,
                    X509_verify_cert_error_string(error));
        return;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        tn_snprintf(buf, len, "bad signature on certificate %s", a);
        return;
    default:
        tn_snprintf(buf, len, "certificate %s not trusted: %s", a,
                    X509_verify_cert_error_string(error));
    }
}

void tls_verify_reason(int error, X509 *cert, int depth, X509_CRL *crl, char *buf, size_t len)
{
    reason_for_error(error, cert, crl, buf, len);
    reason_where(cert, depth, buf, len);
}

static void describe_key_usages(uint32_t xku, char *buf, size_t len)
{
    static const struct { uint32_t bit; const char *name; } usages[] = {
        {XKU_SSL_SERVER, "serverAuth"}, {XKU_SSL_CLIENT, "clientAuth"},
        {XKU_SMIME, "emailProtection"}, {XKU_CODE_SIGN, "codeSigning"},
        {XKU_OCSP_SIGN, "OCSPSigning"}, {XKU_TIMESTAMP, "timeStamping"},
        {XKU_ANYEKU, "anyExtendedKeyUsage"},
    };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
        if (xku & usages[i].bit)
            tn_appendf(buf, len, "%s%s", buf[0] ? ", " : "", usages[i].name);
    if (buf[0] == '\0')
        tn_strlcpy(buf, "other purposes only", len);
}

int tls_verify_key_usage(X509 *leaf, enum tls_peer_role role, char *buf, size_t len)
{
    uint32_t need = role == TLS_PEER_SERVER ? XKU_SSL_SERVER : XKU_SSL_CLIENT;
    const char *need_name = role == TLS_PEER_SERVER ? "serverAuth" : "clientAuth";
    /* X509_get_extension_flags() caches the decoded extensions. */
    if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE)) {
        tn_snprintf(buf, len, "certificate has no extended key usage: %s required", need_name);
        return -1;
    }
    uint32_t have = X509_get_extended_key_usage(leaf);
    if (have & need)
        return 0;
    char list[160];
    describe_key_usages(have, list, sizeof list);
    tn_snprintf(buf, len, "missing extended key usage %s (certificate is for: %s)",
                need_name, list);
    return -1;
}

static void keep_chain(struct tls_verdict *v, X509_STORE_CTX *store_ctx)
{
    if (v->chain == NULL)
        v->chain = X509_STORE_CTX_get1_chain(store_ctx);
}

/* error picks the TLS alert OpenSSL sends (certificate_expired,
 * certificate_revoked, ...); the reason itself stays ours.  Advisory: the
 * verdict stands, the handshake goes on. */
static int refuse(struct verify_ctx *vc, X509_STORE_CTX *store_ctx, int depth, int error)
{
    struct tls_verdict *v = vc->verdict;
    v->decided = true;
    v->trusted = false;
    v->error_depth = depth;
    keep_chain(v, store_ctx);
    X509_STORE_CTX_set_error(store_ctx, error);
    return vc->advisory;
}

static void describe_revocation(struct verify_ctx *vc, X509 *leaf)
{
    struct tls_verdict *v = vc->verdict;
    if (!vc->checks_revocation) {
        tn_strlcpy(v->revocation, "not checked: no CRL configured for this trust store",
                   sizeof v->revocation);
        return;
    }
    char issuer[256];
    name_for_humans(X509_get_issuer_name(leaf), issuer, sizeof issuer);
    tn_snprintf(v->revocation, sizeof v->revocation,
                "not revoked (CRL of %s; every certificate of the chain checked)", issuer);
}

/* Depth 0 passed OpenSSL's checks: now our own role and name checks. */
static int judge_leaf(struct verify_ctx *vc, X509_STORE_CTX *store_ctx, X509 *leaf)
{
    struct tls_verdict *v = vc->verdict;
    if (tls_verify_key_usage(leaf, vc->expect->role, v->reason, sizeof v->reason) < 0)
        return refuse(vc, store_ctx, 0, X509_V_ERR_INVALID_PURPOSE);
    if (vc->expect->name != NULL &&
        tls_name_check(leaf, vc->expect->name, vc->expect->rules, v->name_check,
                       sizeof v->name_check) < 0) {
        tn_strlcpy(v->reason, v->name_check, sizeof v->reason);
        return refuse(vc, store_ctx, 0, X509_V_ERR_HOSTNAME_MISMATCH);
    }
    if (vc->expect->name == NULL)
        tn_strlcpy(v->name_check, "not checked: no name expected", sizeof v->name_check);
    describe_revocation(vc, leaf);
    char issuer[256];
    name_for_humans(X509_get_issuer_name(leaf), issuer, sizeof issuer);
    tn_snprintf(v->reason, sizeof v->reason, "chain to %s, valid, %s", issuer,
                vc->expect->name ? v->name_check : "no name required");
    v->decided = true;
    v->trusted = true;
    keep_chain(v, store_ctx);
    return 1;
}

static int verify_callback(int preverify_ok, X509_STORE_CTX *store_ctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct verify_ctx *vc = ssl ? SSL_get_ex_data(ssl, ex_index) : NULL;
    if (vc == NULL)
        return 0; /* never trust a connection we did not arm */
    struct tls_verdict *v = vc->verdict;
    if (v->decided)
        return v->trusted || vc->advisory;
    int depth = X509_STORE_CTX_get_error_depth(store_ctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(store_ctx);
    if (!preverify_ok) {
        int error = X509_STORE_CTX_get_error(store_ctx);
        tls_verify_reason(error, cert, depth, X509_STORE_CTX_get0_current_crl(store_ctx),
                          v->reason, sizeof v->reason);
        /* OpenSSL's purpose check runs first; name the missing usage. */
        if (error == X509_V_ERR_INVALID_PURPOSE && depth == 0)
            tls_verify_key_usage(cert, vc->expect->role, v->reason, sizeof v->reason);
        return refuse(vc, store_ctx, depth, X509_STORE_CTX_get_error(store_ctx));
    }
    return depth == 0 ? judge_leaf(vc, store_ctx, cert) : 1;
}

static void free_verify_ctx(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                            long argl, void *argp)
{
    OPENSSL_free(ptr);
}

static void alloc_ex_index(void)
{
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_verify_ctx);
}

int tls_verify_arm(SSL *ssl, X509_STORE *store, bool checks_revocation, bool advisory,
                   const struct tls_expect *expect, struct tls_verdict *verdict)
{
    /* Workers arm connections concurrently: allocate the index once. */
    CRYPTO_THREAD_run_once(&ex_index_once, alloc_ex_index);
    struct verify_ctx *vc = OPENSSL_zalloc(sizeof *vc);
    if (ex_index < 0 || vc == NULL) {
        OPENSSL_free(vc);
        return -1;
    }
    vc->expect = expect;
    vc->verdict = verdict;
    vc->checks_revocation = checks_revocation;
    vc->advisory = advisory;
    if (!SSL_set_ex_data(ssl, ex_index, vc)) {
        OPENSSL_free(vc);
        return -1;
    }
    if (!SSL_set1_verify_cert_store(ssl, store))
        return -1;
    int mode = SSL_VERIFY_PEER;
    SSL_set_verify(ssl, mode | SSL_get_verify_mode(ssl), verify_callback);
    return 0;
}

void tls_verify_disarm(SSL *ssl)
{
    if (ex_index < 0)
        return;
    struct verify_ctx *vc = SSL_get_ex_data(ssl, ex_index);
    if (vc != NULL) {
        SSL_set_ex_data(ssl, ex_index, NULL);
        OPENSSL_free(vc);
    }
}

void tls_verdict_clear(struct tls_verdict *v)
{
    sk_X509_pop_free(v->chain, X509_free);
    memset(v, 0, sizeof *v);
}
