/* x509_text.c - certificate facts as short human text (see x509_text.h). */
#include "tls/x509_text.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "common/str.h"

static void bio_to_buf(BIO *bio, char *buf, size_t len)
{
    int n = BIO_read(bio, buf, (int)(len > 1 ? len - 1 : 0));
    buf[n > 0 ? n : 0] = '\0';
}

void x509_text_name(const X509_NAME *name, char *buf, size_t len)
{
    tn_strlcpy(buf, "?", len);
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || name == NULL) {
        BIO_free(bio);
        return;
    }
    /* RFC 2253 order and escaping, but ", " between parts and UTF-8 kept. */
    unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK & ~ASN1_STRFLGS_ESC_MSB) |
                          XN_FLAG_SEP_CPLUS_SPC;
    if (X509_NAME_print_ex(bio, name, 0, flags) >= 0)
        bio_to_buf(bio, buf, len);
    BIO_free(bio);
    if (buf[0] == '\0')
        tn_strlcpy(buf, "(empty name)", len);
}

void x509_text_short_name(const X509_NAME *name, char *buf, size_t len)
{
    int idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    if (idx < 0) {
        x509_text_name(name, buf, len);
        return;
    }
    const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, cn);
    if (n < 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
        tn_strlcpy(buf, "?", len);
    } else {
        /* the holder's own text: control bytes as \xNN */
        tn_strlcpy(buf, "CN=", len);
        tn_append_printable(buf, len, (const char *)utf8, (size_t)n);
    }
    OPENSSL_free(utf8);
}

void x509_text_time(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        tn_strlcpy(buf, "?", len);
        return;
    }
    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void x509_text_date(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        tn_strlcpy(buf, "?", len);
        return;
    }
    strftime(buf, len, "%Y-%m-%d", &tm);
}

void x509_text_serial(const X509 *cert, char *buf, size_t len)
{
    tn_strlcpy(buf, "?", len);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex != NULL)
        tn_snprintf(buf, len, "0x%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
}

void x509_text_key(const X509 *cert, char *buf, size_t len, int *bits)
{
    EVP_PKEY *key = X509_get0_pubkey(cert);
    int nbits = key ? EVP_PKEY_get_bits(key) : 0;
    if (bits != NULL)
        *bits = nbits;
    if (key == NULL) {
        tn_strlcpy(buf, "?", len);
        return;
    }
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        tn_snprintf(buf, len, "RSA %d", nbits);
        return;
    case EVP_PKEY_EC: {
        char group[64] = "?";
        size_t glen = 0;
        EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &glen);
        int nid = OBJ_sn2nid(group);
        const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
        tn_snprintf(buf, len, "EC %s", nist ? nist : group);
        return;
    }
    case EVP_PKEY_ED25519:
        tn_strlcpy(buf, "Ed25519", len);
        return;
    case EVP_PKEY_ED448:
        tn_strlcpy(buf, "Ed448", len);
        return;
    default:
        tn_snprintf(buf, len, "%s %d", OBJ_nid2sn(EVP_PKEY_get_base_id(key)), nbits);
    }
}

void x509_text_sig_alg(const X509 *cert, char *buf, size_t len)
{
    int nid = X509_get_signature_nid(cert);
    tn_strlcpy(buf, nid != NID_undef ? OBJ_nid2ln(nid) : "?", len);
}

void x509_text_fingerprint_sha256(const X509 *cert, char *buf, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    tn_strlcpy(buf, "?", len);
    if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1)
        return;
    buf[0] = '\0';
    for (unsigned int i = 0; i < mdlen; i++)
        if (tn_appendf(buf, len, i ? ":%02X" : "%02X", md[i]) < 0)
            return;
}

static void append_general_name(char *buf, size_t len, const GENERAL_NAME *gn)
{
    const char *sep = buf[0] ? ", " : "";
    const ASN1_STRING *s = NULL;
    const char *tag = NULL;
    switch (gn->type) {
    case GEN_DNS: tag = "DNS"; s = gn->d.dNSName; break;
    case GEN_URI: tag = "URI"; s = gn->d.uniformResourceIdentifier; break;
    case GEN_EMAIL: tag = "email"; s = gn->d.rfc822Name; break;
    case GEN_IPADD: {
        char text[INET6_ADDRSTRLEN] = "?";
        int n = gn->d.iPAddress->length;
        int family = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
        if (family != 0)
            inet_ntop(family, gn->d.iPAddress->data, text, sizeof text);
        tn_appendf(buf, len, "%sIP:%s", sep, text);
        return;
    }
    default:
        tn_appendf(buf, len, "%s(other)", sep);
        return;
    }
    /* A NUL inside a name is an attack on C string handling: show it. */
    const unsigned char *data = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (memchr(data, '\0', (size_t)n) != NULL)
        tn_appendf(buf, len, "%s%s:(name with NUL byte)", sep, tag);
    else if (tn_appendf(buf, len, "%s%s:", sep, tag) == 0)
        tn_append_printable(buf, len, (const char *)data, (size_t)n);
}

void x509_text_sans(const X509 *cert, char *buf, size_t len)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    tn_strlcpy(buf, gens ? "" : "(none)", len);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++)
        append_general_name(buf, len, sk_GENERAL_NAME_value(gens, i));
    GENERAL_NAMES_free(gens);
}
