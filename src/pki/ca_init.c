/* ca_init.c - creating a new enterprise CA directory (see ca.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "pki/ca.h"
#include "pki/ca_cert.h"
#include "pki/ca_crl.h"
#include "pki/ca_dir.h"
#include "pki/ca_fs.h"

/* Every file a CA consists of: init refuses if any exists. */
static const char *const ca_files[] = {
    CA_CERT_FILE, CA_KEY_FILE, CA_CRL_FILE, CA_CRLNUMBER_FILE,
    CA_INDEX_FILE, CA_INDEX_ATTR_FILE, CA_SETTINGS_FILE,
};
#define CA_FILE_COUNT (sizeof ca_files / sizeof ca_files[0])

static const char index_attr_text[] =
    "unique_subject = no\n"; /* several certificates per name, for rollovers */

static int check_init_opts(const struct ca_init_opts *o, tn_err *err)
{
    if (ca_check_name_field("CA name", o->name, CA_NAME_FIELD_MAX, err) < 0)
        return -1;
    if (o->org != NULL &&
        ca_check_name_field("organisation", o->org, CA_NAME_FIELD_MAX, err) < 0)
        return -1;
    if (o->crl_url != NULL && ca_check_url(o->crl_url, err) < 0)
        return -1;
    if (o->days < 1 || o->days > CA_DAYS_MAX)
        return tn_errf(err, "bad --days %d: expected 1 to %d", o->days, CA_DAYS_MAX);
    if (o->crl_days < 1 || o->crl_days > CA_CRL_DAYS_MAX)
        return tn_errf(err, "bad --crl-days %d: expected 1 to %d", o->crl_days,
                       CA_CRL_DAYS_MAX);
    return 0;
}

static int refuse_existing(const struct ca_dir *ca, tn_err *err)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < CA_FILE_COUNT; i++) {
        if (ca_dir_path(ca, ca_files[i], path, sizeof path, err) < 0)
            return -1;
        if (ca_fs_exists(path))
            return tn_errf(err, "%s already exists: refusing to overwrite an "
                           "existing CA", path);
    }
    return 0;
}

static int fill_settings(struct ca_settings *s, const struct ca_init_opts *o, tn_err *err)
{
    memset(s, 0, sizeof *s);
    s->crl_days = o->crl_days;
    if ((o->org && tn_strlcpy(s->org, o->org, sizeof s->org) < 0) ||
        (o->crl_url && tn_strlcpy(s->crl_url, o->crl_url, sizeof s->crl_url) < 0))
        return tn_errf(err, "organisation or CRL URL too long");
    return 0;
}

/* Key and self-signed certificate of the new CA into ca->key, ca->cert. */
static int make_ca_identity(struct ca_dir *ca, const struct ca_init_opts *o, time_t now,
                            tn_err *err)
{
    ca->key = ca_key_generate(o->key, err);
    if (ca->key == NULL)
        return -1;
    ASN1_INTEGER *serial = ca_cert_random_serial(err);
    if (serial == NULL)
        return -1;
    struct ca_root_req req = {
        .name = o->name, .org = o->org, .serial = serial,
        .not_before = now, .not_after = now + (time_t)o->days * 86400,
    };
    ca->cert = ca_cert_make_root(&req, ca->key, err);
    ASN1_INTEGER_free(serial);
    return ca->cert ? 0 : -1;
}

static int write_pem_new(const struct ca_dir *ca, const char *name, mode_t mode,
                         struct ca_pem *pem, tn_err *err)
{
    char path[PATH_MAX];
    int rc = ca_dir_path(ca, name, path, sizeof path, err);
    if (rc == 0)
        rc = ca_fs_write_new(path, mode, pem->data, pem->len, err);
    ca_pem_free(pem);
    return rc;
}

static int write_text_new(const struct ca_dir *ca, const char *name, const char *text,
                          tn_err *err)
{
    char path[PATH_MAX];
    if (ca_dir_path(ca, name, path, sizeof path, err) < 0)
        return -1;
    return ca_fs_write_new(path, 0644, text, strlen(text), err);
}

/* The key first (mode 0600, exclusive), then everything that depends on it. */
static int write_ca_files(struct ca_dir *ca, time_t now, struct ca_crl_result *crl,
                          tn_err *err)
{
    char path[PATH_MAX];
    struct ca_pem pem;
    if (ca_pem_key(&pem, ca->key, err) < 0 ||
        write_pem_new(ca, CA_KEY_FILE, 0600, &pem, err) < 0)
        return -1;
    if (ca_pem_certs(&pem, &ca->cert, 1, err) < 0 ||
        write_pem_new(ca, CA_CERT_FILE, 0644, &pem, err) < 0)
        return -1;
    if (ca_dir_path(ca, CA_SETTINGS_FILE, path, sizeof path, err) < 0 ||
        ca_settings_write_new(path, &ca->settings, err) < 0)
        return -1;
    if (write_text_new(ca, CA_INDEX_FILE, "", err) < 0 ||
        write_text_new(ca, CA_INDEX_ATTR_FILE, index_attr_text, err) < 0)
        return -1;
    return ca_dir_write_crl(ca, now, true, crl, err);
}

/* Undo a failed init: the files did not exist before (refuse_existing). */
static void remove_ca_files(const struct ca_dir *ca)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < CA_FILE_COUNT; i++)
        if (ca_dir_path(ca, ca_files[i], path, sizeof path, NULL) == 0)
            unlink(path);
}

int ca_init(const struct ca_init_opts *opts, tn_err *err)
{
    struct ca_dir ca;
    memset(&ca, 0, sizeof ca);
    ca.dir = opts->dir;
    if (check_init_opts(opts, err) < 0 || fill_settings(&ca.settings, opts, err) < 0 ||
        ca_fs_make_private_dir(opts->dir, err) < 0)
        return -1;
    ca.lock_fd = ca_fs_lock_dir(opts->dir, true, err);
    if (ca.lock_fd < 0)
        return -1;
    time_t now = time(NULL);
    int rc = refuse_existing(&ca, err);
    if (rc == 0)
        rc = make_ca_identity(&ca, opts, now, err);
    if (rc == 0 && (rc = write_ca_files(&ca, now, NULL, err)) < 0)
        remove_ca_files(&ca);
    ca_dir_close(&ca);
    return rc;
}
