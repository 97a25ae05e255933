/*
 * topo_files.c - the files a topology names: server certificates and keys,
 * the enterprise CA bundle and CRLs, partner roots and connector CAs.
 *
 * A server certificate passes when: its file and key load, the key is the
 * certificate's, its subjectAltName names the server's FQDN exactly, it is
 * inside its validity (a warning when it ends within TOPO_CERT_WARN_DAYS),
 * it may serve both sides of mutual TLS (serverAuth and clientAuth), and it
 * chains to trust.ca without being revoked by trust.crls.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls/tls_chain_check.h"
#include "tls/tls_name.h"
#include "tls/tls_trust.h"
#include "tls/tls_verify.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"
#include "topology/topo_internal.h"

#define ERR(d, pos, ...) topo_diag((d), TOPO_ERROR, (pos), __VA_ARGS__)
#define WARN(d, pos, ...) topo_diag((d), TOPO_WARNING, (pos), __VA_ARGS__)

/* 0 when cert is inside its validity; a warning when it ends soon. */
static int check_validity(struct topology_diags *d, struct topo_pos pos, const char *what,
                          X509 *cert)
{
    char date[64];
    int days = 0, secs = 0;
    const ASN1_TIME *not_before = X509_get0_notBefore(cert);
    const ASN1_TIME *not_after = X509_get0_notAfter(cert);
    if (X509_cmp_current_time(not_before) > 0) {
        x509_text_time(not_before, date, sizeof date);
        ERR(d, pos, "%s is not valid before %s", what, date);
        return -1;
    }
    x509_text_time(not_after, date, sizeof date);
    if (X509_cmp_current_time(not_after) < 0) {
        ERR(d, pos, "%s expired on %s", what, date);
        return -1;
    }
    if (ASN1_TIME_diff(&days, &secs, NULL, not_after) == 1 && secs > 0)
        days++; /* a part of a day counts as a day: "--days 10" is "in 10 days" */
    if (days < TOPO_CERT_WARN_DAYS)
        WARN(d, pos, "%s expires on %s, in %d day%s: renew it", what, date, days,
             days == 1 ? "" : "s");
    return 0;
}

/* A CA file (PEM, one or more certificates); NULL after a diagnostic. */
static STACK_OF(X509) *load_ca_file(struct topology_diags *d, const struct topo_file *f,
                                    const char *what)
{
    tn_err err;
    STACK_OF(X509) *certs = x509_load_chain_file(f->path, &err);
    if (certs == NULL) {
        ERR(d, f->pos, "%s: %s", what, err.msg);
        return NULL;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *cert = sk_X509_value(certs, i);
        char name[256], label[400];
        x509_text_short_name(X509_get_subject_name(cert), name, sizeof name);
        snprintf(label, sizeof label, "%s: CA certificate '%s'", what, name);
        if (X509_check_ca(cert) == 0)
            WARN(d, f->pos, "%s: certificate '%s' in %s is not a CA certificate", what, name,
                 f->path);
        check_validity(d, f->pos, label, cert);
    }
    return certs;
}

static bool check_crl(struct topology_diags *d, const struct topo_file *f)
{
    tn_err err;
    STACK_OF(X509_CRL) *crls = x509_load_crl_file(f->path, &err);
    if (crls == NULL) {
        ERR(d, f->pos, "trust.crls: %s", err.msg);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(sk_X509_CRL_value(crls, i));
        if (next != NULL && X509_cmp_current_time(next) < 0) {
            char date[64];
            x509_text_time(next, date, sizeof date);
            ERR(d, f->pos, "trust.crls: the CRL in %s is out of date (next update was due %s): "
                "every certificate check will fail until it is renewed (trustnet ca crl)",
                f->path, date);
            ok = false;
        }
    }
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    return ok;
}

/* The enterprise trust store, or NULL when trust.ca or a CRL is unusable
 * (already reported: chain checks are then skipped). */
static tls_trust *enterprise_trust(const struct topology *t, struct topology_diags *d)
{
    if (t->trust.ca.path == NULL)
        return NULL;
    STACK_OF(X509) *cas = load_ca_file(d, &t->trust.ca, "trust.ca");
    if (cas == NULL)
        return NULL;
    sk_X509_pop_free(cas, X509_free);
    const char *crls[TOPO_MAX_CRLS];
    bool crls_ok = true;
    for (size_t i = 0; i < t->trust.n_crls; i++) {
        crls[i] = t->trust.crls[i].path;
        crls_ok &= check_crl(d, &t->trust.crls[i]);
    }
    if (!crls_ok)
        return NULL;
    tn_err err;
    tls_trust *trust = tls_trust_new("enterprise", t->trust.ca.path, crls, t->trust.n_crls, &err);
    if (trust == NULL)
        ERR(d, t->trust.ca.pos, "trust.ca: %s", err.msg);
    return trust;
}

static void check_key_usage(struct topology_diags *d, const struct topo_server *s, X509 *leaf)
{
    char why[256];
    if (tls_verify_key_usage(leaf, TLS_PEER_SERVER, why, sizeof why) < 0)
        ERR(d, s->certificate.pos, "server '%s': certificate %s: %s", s->fqdn,
            s->certificate.path, why);
    else if (tls_verify_key_usage(leaf, TLS_PEER_CLIENT, why, sizeof why) < 0)
        ERR(d, s->certificate.pos, "server '%s': certificate %s: %s (servers also authenticate "
            "to each other as MTLS clients)", s->fqdn, s->certificate.path, why);
}

static void check_server_cert(struct topology_diags *d, const struct topo_server *s,
                              STACK_OF(X509) *chain, const tls_trust *trust)
{
    X509 *leaf = sk_X509_value(chain, 0);
    char why[TLS_REASON_MAX], label[400];
    if (tls_name_check(leaf, s->fqdn, TLS_NAME_EXACT, why, sizeof why) < 0)
        ERR(d, s->certificate.pos, "server '%s': certificate %s does not name the server: %s",
            s->fqdn, s->certificate.path, why);
    snprintf(label, sizeof label, "server '%s': certificate %s", s->fqdn, s->certificate.path);
    bool valid = check_validity(d, s->certificate.pos, label, leaf) == 0;
    check_key_usage(d, s, leaf);
    if (valid && trust != NULL && tls_chain_check(trust, chain, why, sizeof why) < 0)
        ERR(d, s->certificate.pos, "server '%s': certificate %s is not trusted by trust.ca: %s",
            s->fqdn, s->certificate.path, why);
}

static void check_server(struct topology_diags *d, const struct topo_server *s,
                         const tls_trust *trust)
{
    if (s->fqdn == NULL || s->certificate.path == NULL || s->key.path == NULL)
        return; /* the entry has errors already */
    tn_err err;
    STACK_OF(X509) *chain = x509_load_chain_file(s->certificate.path, &err);
    if (chain == NULL)
        ERR(d, s->certificate.pos, "server '%s': certificate: %s", s->fqdn, err.msg);
    EVP_PKEY *key = x509_load_key_file(s->key.path, &err);
    if (key == NULL)
        ERR(d, s->key.pos, "server '%s': key: %s", s->fqdn, err.msg);
    if (chain != NULL && key != NULL &&
        EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(chain, 0)), key) != 1)
        ERR(d, s->key.pos, "server '%s': the key in %s is not the key of the certificate in %s",
            s->fqdn, s->key.path, s->certificate.path);
    if (chain != NULL)
        check_server_cert(d, s, chain, trust);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
}

static void check_ca_ref(struct topology_diags *d, const struct topo_ca_ref *ca,
                         const char *kind, const char *name)
{
    if (ca->system || ca->file.path == NULL)
        return;
    char what[300];
    snprintf(what, sizeof what, "%s connector '%s': ca", kind, name ? name : "?");
    STACK_OF(X509) *certs = load_ca_file(d, &ca->file, what);
    sk_X509_pop_free(certs, X509_free);
}

static void check_partner_roots(const struct topology *t, struct topology_diags *d)
{
    for (size_t i = 0; i < t->n_partners; i++) {
        const struct topo_partner *p = &t->partners[i];
        if (p->root_ca.path == NULL)
            continue;
        char what[300];
        snprintf(what, sizeof what, "partner '%s': root_ca", p->name ? p->name : "?");
        STACK_OF(X509) *certs = load_ca_file(d, &p->root_ca, what);
        sk_X509_pop_free(certs, X509_free);
    }
}

static void check_connector_cas(const struct topology *t, struct topology_diags *d)
{
    for (size_t i = 0; i < t->n_outbound; i++)
        check_ca_ref(d, &t->outbound[i].ca, "outbound", t->outbound[i].name);
    for (size_t i = 0; i < t->n_inbound; i++)
        check_ca_ref(d, &t->inbound[i].ca, "inbound", t->inbound[i].name);
}

/* Servers write their metrics file there: it must be a directory we may
 * write in (a temporary file is renamed over the old one). */
static void check_metrics_dir(const struct topology *t, struct topology_diags *d)
{
    const struct topo_file *dir = &t->metrics_dir;
    struct stat st;
    if (dir->path == NULL)
        return;
    if (stat(dir->path, &st) < 0)
        ERR(d, dir->pos, "metrics_dir %s: %s", dir->path, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        ERR(d, dir->pos, "metrics_dir %s: not a directory", dir->path);
    else if (access(dir->path, W_OK | X_OK) < 0)
        ERR(d, dir->pos, "metrics_dir %s: cannot write there: %s", dir->path, strerror(errno));
}

int topology_check_files(const struct topology *topo, const struct topo_server *server,
                         struct topology_diags *diags)
{
    size_t before = diags->errors;
    check_metrics_dir(topo, diags);
    tls_trust *trust = enterprise_trust(topo, diags);
    for (size_t i = 0; i < topo->n_servers; i++)
        if (server == NULL || server == &topo->servers[i])
            check_server(diags, &topo->servers[i], trust);
    if (server == NULL || (server->roles & TOPO_ROLE_EDGE))
        check_partner_roots(topo, diags);
    if (server == NULL || (server->roles & TOPO_ROLE_MAIL))
        check_connector_cas(topo, diags);
    tls_trust_free(trust);
    return diags->errors > before ? -1 : 0;
}
