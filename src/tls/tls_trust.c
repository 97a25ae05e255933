/* tls_trust.c - named trust stores with CRLs (see tls_trust.h). */
#include "tls/tls_trust.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "common/str.h"
#include "tls/x509_load.h"

struct file_stamp {
    char *path; /* owned */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct tls_trust {
    char name[128];
    struct file_stamp cas_files[TLS_TRUST_MAX_CAS];
    size_t n_ca;
    struct file_stamp crls[TLS_TRUST_MAX_CRLS];
    size_t n_crl;
    X509_STORE *store;
    STACK_OF(X509) *cas;
    bool system;              /* OpenSSL's default roots (the distribution's bundle) */
    unsigned long generation; /* loads so far */
};

static int stamp_file(struct file_stamp *f, tn_err *err)
{
    struct stat st;
    if (stat(f->path, &st) < 0)
        return tn_errf(err, "%s: %s", f->path, strerror(errno));
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->mtime = st.st_mtim;
    return 0;
}

static bool file_changed(const struct file_stamp *f)
{
    struct stat st;
    if (stat(f->path, &st) < 0)
        return true; /* vanished: try (and fail) to reload, keep the old store */
    return st.st_dev != f->dev || st.st_ino != f->ino || st.st_size != f->size ||
           st.st_mtim.tv_sec != f->mtime.tv_sec || st.st_mtim.tv_nsec != f->mtime.tv_nsec;
}

static int add_cas(X509_STORE *store, const STACK_OF(X509) *cas, const char *path, tn_err *err)
{
    for (int i = 0; i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);
        /* A leaf in a CA bundle is a configuration error, not a trust anchor. */
        if (X509_check_ca(ca) == 0) {
            char subject[256];
            X509_NAME_oneline(X509_get_subject_name(ca), subject, sizeof subject);
            return tn_errf(err, "%s: certificate %d (%s) is not a CA certificate", path,
                           i + 1, subject);
        }
        if (!X509_STORE_add_cert(store, ca))
            return tn_errf(err, "%s: cannot add certificate %d", path, i + 1);
    }
    return 0;
}

static int add_crls(X509_STORE *store, const char *path, tn_err *err)
{
    STACK_OF(X509_CRL) *crls = x509_load_crl_file(path, err);
    if (crls == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < sk_X509_CRL_num(crls) && rc == 0; i++)
        if (!X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i)))
            rc = tn_errf(err, "%s: cannot add CRL %d", path, i + 1);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    return rc;
}

/* Build a fresh store from the files; install it only if all of it loads. */
static int load_store(tls_trust *t, tn_err *err)
{
    /* Stamp before reading: a file replaced while we read it is then seen
     * as changed by the next check, never missed. */
    STACK_OF(X509) *cas = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    int rc = cas != NULL && store != NULL ? 0 : tn_errf(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < t->n_ca; i++) {
        struct file_stamp *f = &t->cas_files[i];
        STACK_OF(X509) *file_cas = NULL;
        rc = stamp_file(f, err);
        if (rc == 0 && (file_cas = x509_load_chain_file(f->path, err)) == NULL)
            rc = -1;
        rc = rc < 0 ? rc : add_cas(store, file_cas, f->path, err);
        while (rc == 0 && sk_X509_num(file_cas) > 0) {
            X509 *ca = sk_X509_shift(file_cas);
            if (!sk_X509_push(cas, ca)) {
                X509_free(ca);
                rc = tn_errf(err, "out of memory");
            }
        }
        sk_X509_pop_free(file_cas, X509_free);
    }
    for (size_t i = 0; rc == 0 && i < t->n_crl; i++) {
        rc = stamp_file(&t->crls[i], err);
        rc = rc < 0 ? rc : add_crls(store, t->crls[i].path, err);
    }
    if (rc == 0 && t->system && !X509_STORE_set_default_paths(store))
        rc = tn_errf(err, "trust store %s: cannot load the system roots", t->name);
    if (rc == 0 && t->n_crl > 0)
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    if (rc < 0) {
        X509_STORE_free(store);
        sk_X509_pop_free(cas, X509_free);
        return -1;
    }
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->cas, X509_free);
    t->store = store;
    t->cas = cas;
    t->generation++;
    return 0;
}

static void free_paths(tls_trust *t)
{
    for (size_t i = 0; i < t->n_ca; i++)
        free(t->cas_files[i].path);
    for (size_t i = 0; i < t->n_crl; i++)
        free(t->crls[i].path);
}

tls_trust *tls_trust_new_multi(const char *name, const char *const *ca_files, size_t n_ca,
                               const char *const *crl_files, size_t n_crl, tn_err *err)
{
    if (n_crl > TLS_TRUST_MAX_CRLS || n_ca == 0 || n_ca > TLS_TRUST_MAX_CAS) {
        tn_errf(err, "trust store %s: 1-%d CA files and at most %d CRL files", name,
                TLS_TRUST_MAX_CAS, TLS_TRUST_MAX_CRLS);
        return NULL;
    }
    tls_trust *t = calloc(1, sizeof *t);
    if (t == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    int rc = tn_strlcpy(t->name, name, sizeof t->name);
    for (size_t i = 0; i < n_ca; i++, t->n_ca++)
        rc |= (t->cas_files[i].path = strdup(ca_files[i])) == NULL;
    for (size_t i = 0; i < n_crl; i++, t->n_crl++)
        rc |= (t->crls[i].path = strdup(crl_files[i])) == NULL;
    if (rc != 0) {
        tn_errf(err, "trust store %s: name too long or out of memory", name);
        free_paths(t);
        free(t);
        return NULL;
    }
    if (load_store(t, err) < 0) {
        free_paths(t);
        free(t);
        return NULL;
    }
    return t;
}

tls_trust *tls_trust_new_system(const char *name, tn_err *err)
{
    tls_trust *t = calloc(1, sizeof *t);
    if (t == NULL) {
        tn_errf(err, "out of memory");
        return NULL;
    }
    t->system = true;
    int rc = tn_strlcpy(t->name, name, sizeof t->name) < 0
                 ? tn_errf(err, "trust store %s: name too long", name)
                 : load_store(t, err);
    if (rc < 0) {
        free(t);
        return NULL;
    }
    return t;
}

tls_trust *tls_trust_new(const char *name, const char *ca_file,
                         const char *const *crl_files, size_t n_crl, tn_err *err)
{
    return tls_trust_new_multi(name, &ca_file, 1, crl_files, n_crl, err);
}

void tls_trust_free(tls_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->cas, X509_free);
    free_paths(t);
    free(t);
}

bool tls_trust_files_changed(const tls_trust *t)
{
    bool changed = false;
    for (size_t i = 0; i < t->n_ca && !changed; i++)
        changed = file_changed(&t->cas_files[i]);
    for (size_t i = 0; i < t->n_crl && !changed; i++)
        changed = file_changed(&t->crls[i]);
    return changed;
}

int tls_trust_reload_if_changed(tls_trust *t, bool *reloaded, tn_err *err)
{
    bool changed = tls_trust_files_changed(t);
    if (reloaded != NULL)
        *reloaded = false;
    if (!changed)
        return 0;
    if (load_store(t, err) < 0)
        return -1;
    if (reloaded != NULL)
        *reloaded = true;
    return 0;
}

X509_STORE *tls_trust_store(const tls_trust *t)
{
    return t->store;
}

const STACK_OF(X509) *tls_trust_cas(const tls_trust *t)
{
    return t->cas;
}

unsigned long tls_trust_generation(const tls_trust *t)
{
    return t->generation;
}

const char *tls_trust_name(const tls_trust *t)
{
    return t->name;
}

bool tls_trust_checks_revocation(const tls_trust *t)
{
    return t->n_crl > 0;
}
