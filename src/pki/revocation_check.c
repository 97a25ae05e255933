/*
 * revocation_check.c - report on the revocation endpoints of a certificate
 * chain (see revocation_check.h).
 *
 * The coordinator walks certificate -> distribution point -> URL; each URL
 * gets one report line built by small checks that append a phrase and say
 * whether they found a problem.  Certificates and fetched CRLs are
 * untrusted: every count is bounded and every string shown is escaped.
 */
#include "pki/revocation_check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cli/commands.h"
#include "common/str.h"
#include "pki/revocation_fetch.h"
#include "tls/x509_load.h"
#include "tls/x509_text.h"

#define RC_MAX_CERTS 16         /* certificates checked per file */
#define RC_MAX_FETCHES 16       /* URLs fetched per run (5 s each at most) */
#define RC_MAX_NAMES 16         /* distribution points, and names in each */
#define RC_MAX_OCSP 8           /* OCSP URLs listed per certificate */
#define RC_LINE_MAX 2048
#define RC_NAME_MAX 256
#define RC_URL_SHOWN 200

typedef struct rc_ctx {
    FILE *out;
    STACK_OF(X509) *known; /* the chain and the extra CAs (borrowed) */
    int problems;
    int fetches_left; /* so that a hostile chain cannot keep us busy long */
} rc_ctx;

/* One certificate under check and what the per-URL checks need of it. */
typedef struct rc_cert {
    X509 *cert;
    X509 *issuer; /* NULL when no known certificate issued it */
    bool self_signed;
} rc_cert;

/* Where a CRL must come from: its issuer name and, when known, the
 * certificate whose key must have signed it. */
typedef struct rc_crl_source {
    const X509_NAME *name;
    X509 *signer;
    bool indirect;
} rc_crl_source;

/* ---- small helpers ---------------------------------------------------- */

/* The certificate in known that issued cert and whose key verifies its
 * signature, or NULL. */
static X509 *find_issuer(STACK_OF(X509) *known, X509 *cert)
{
    for (int i = 0; i < sk_X509_num(known); i++) {
        X509 *cand = sk_X509_value(known, i);
        if (X509_check_issued(cand, cert) != X509_V_OK)
            continue;
        EVP_PKEY *key = X509_get0_pubkey(cand);
        if (key != NULL && X509_verify(cert, key) == 1) {
            ERR_clear_error();
            return cand;
        }
    }
    ERR_clear_error();
    return NULL;
}

static X509 *find_by_subject(STACK_OF(X509) *known, const X509_NAME *name)
{
    for (int i = 0; i < sk_X509_num(known); i++) {
        X509 *cand = sk_X509_value(known, i);
        if (X509_NAME_cmp(X509_get_subject_name(cand), name) == 0)
            return cand;
    }
    return NULL;
}

static const char *crl_reason_name(int code)
{
    static const char *const names[] = {
        "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
        "superseded", "cessationOfOperation", "certificateHold", "(7)",
        "removeFromCRL", "privilegeWithdrawn", "aACompromise",
    };
    if (code >= 0 && code < (int)(sizeof names / sizeof names[0]))
        return names[code];
    return "unknown reason";
}

static int revoked_reason(X509_REVOKED *rev)
{
    int crit;
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
    int code = e != NULL ? (int)ASN1_ENUMERATED_get(e) : -1;
    ASN1_ENUMERATED_free(e);
    ERR_clear_error();
    return code;
}

/* ---- checks of one fetched CRL; each appends to line, true = problem -- */

static bool check_crl_issuer(X509_CRL *crl, const rc_crl_source *src,
                             char *line, size_t len)
{
    char name[RC_NAME_MAX];
    x509_text_short_name(X509_CRL_get_issuer(crl), name, sizeof name);
    tn_appendf(line, len, ", issuer %s", name);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), src->name) != 0) {
        /* Full names: the short ones may well be equal. */
        char got[RC_NAME_MAX], want[RC_NAME_MAX];
        x509_text_name(X509_CRL_get_issuer(crl), got, sizeof got);
        x509_text_name(src->name, want, sizeof want);
        tn_appendf(line, len, ": %s is NOT the %s %s", got, src->indirect ?
                   "CRL issuer named by the distribution point" :
                   "certificate's issuer", want);
        return true;
    }
    if (src->signer == NULL) {
        tn_appendf(line, len, ", signature not checked (issuer certificate "
                   "not known: give it with --ca)");
        return false;
    }
    bool bad = false;
    EVP_PKEY *key = X509_get0_pubkey(src->signer);
    if (key == NULL || X509_CRL_verify(crl, key) != 1) {
        tn_appendf(line, len, ", signature does NOT verify with the issuer's key");
        bad = true;
    } else {
        tn_appendf(line, len, ", signature verified");
    }
    ERR_clear_error();
    if (!(X509_get_key_usage(src->signer) & KU_CRL_SIGN)) {
        tn_appendf(line, len, ", issuer's key usage does not allow CRL signing");
        bad = true;
    }
    return bad;
}

static bool check_crl_times(X509_CRL *crl, char *line, size_t len)
{
    const ASN1_TIME *this_upd = X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME *next_upd = X509_CRL_get0_nextUpdate(crl);
    char when[64];
    bool bad = false;
    x509_text_time(this_upd, when, sizeof when);
    tn_appendf(line, len, ", this update %s", when);
    if (this_upd == NULL || X509_cmp_current_time(this_upd) >= 0) {
        tn_appendf(line, len, " (NOT YET VALID or malformed)");
        bad = true;
    }
    if (next_upd == NULL) {
        tn_appendf(line, len, ", no next update: relying parties cannot tell "
                   "whether it is current");
        return true;
    }
    x509_text_time(next_upd, when, sizeof when);
    int cmp = X509_cmp_current_time(next_upd);
    if (cmp > 0) {
        tn_appendf(line, len, ", next update %s", when);
    } else {
        tn_appendf(line, len, ", EXPIRED: next update %s %s", when,
                   cmp < 0 ? "is in the past" : "is malformed");
        bad = true;
    }
    ERR_clear_error();
    return bad;
}

/* Extensions that make the CRL unusable for this certificate. */
static bool check_crl_scope(X509_CRL *crl, const rc_cert *rc, char *line,
                            size_t len)
{
    bool bad = false;
    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_delta_crl) {
            tn_appendf(line, len, ", a delta CRL, not a complete one");
            bad = true;
        } else if (X509_EXTENSION_get_critical(ext)
                   && nid != NID_issuing_distribution_point
                   && nid != NID_authority_key_identifier) {
            tn_appendf(line, len, ", unhandled critical extension (relying "
                       "parties will reject this CRL)");
            bad = true;
        }
    }
    int crit;
    ISSUING_DIST_POINT *idp =
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
    if (idp != NULL) {
        bool is_ca = X509_check_ca(rc->cert) > 0;
        if ((idp->onlyCA && !is_ca) || (idp->onlyuser && is_ca) || idp->onlyattr) {
            tn_appendf(line, len, ", its scope (issuing distribution point) "
                       "excludes this certificate");
            bad = true;
        }
        if (idp->onlysomereasons != NULL)
            tn_appendf(line, len, ", covers some revocation reasons only");
    } else if (crit >= 0) {
        tn_appendf(line, len, ", malformed issuing distribution point");
        bad = true;
    }
    ISSUING_DIST_POINT_free(idp);
    ERR_clear_error();
    return bad;
}

static bool check_crl_listing(X509_CRL *crl, const rc_cert *rc, char *line,
                              size_t len)
{
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    int n = sk_X509_REVOKED_num(revoked);
    n = n < 0 ? 0 : n;
    tn_appendf(line, len, ", %d revoked %s", n, n == 1 ? "entry" : "entries");
    X509_REVOKED *rev = NULL;
    int found = X509_CRL_get0_by_cert(crl, &rev, rc->cert);
    ERR_clear_error();
    if (found != 1 || rev == NULL) {
        tn_appendf(line, len, ", certificate not listed");
        return false;
    }
    char when[64];
    x509_text_time(X509_REVOKED_get0_revocationDate(rev), when, sizeof when);
    tn_appendf(line, len, ", certificate REVOKED on %s (reason %s)", when,
               crl_reason_name(revoked_reason(rev)));
    return true;
}

/* ---- one URL ---------------------------------------------------------- */

static bool check_crl(X509_CRL *crl, const rc_cert *rc,
                      const rc_crl_source *src, char *line, size_t len)
{
    bool bad = check_crl_issuer(crl, src, line, len);
    bad |= check_crl_times(crl, line, len);
    bad |= check_crl_scope(crl, rc, line, len);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), src->name) != 0)
        tn_appendf(line, len, ", listing not checked (wrong issuer)");
    else
        bad |= check_crl_listing(crl, rc, line, len);
    return bad;
}

/* Fetch url and check the CRL it serves; appends to line. */
static bool check_url(const char *url, const rc_cert *rc,
                      const rc_crl_source *src, char *line, size_t len)
{
    tn_err err;
    tn_err_clear(&err);
    const char *why = revocation_url_unsupported(url);
    if (why != NULL) {
        tn_appendf(line, len, "not checked: %s", why);
        return true;
    }
    unsigned char *body = NULL;
    size_t n = 0;
    if (revocation_fetch(url, &body, &n, &err) < 0) {
        tn_appendf(line, len, "unreachable: %s", err.msg);
        return true;
    }
    X509_CRL *crl = NULL;
    const char *format = "?";
    bool bad;
    if (revocation_parse_crl(body, n, &crl, &format, &err) < 0) {
        tn_appendf(line, len, "reachable, but the response does not parse as "
                   "a CRL: %s", err.msg);
        bad = true;
    } else {
        tn_appendf(line, len, "reachable, CRL parsed (%s)", format);
        bad = check_crl(crl, rc, src, line, len);
    }
    X509_CRL_free(crl);
    free(body);
    ERR_clear_error();
    return bad;
}

/* ---- one certificate -------------------------------------------------- */

static void report_line(rc_ctx *ctx, const char *line, bool problem)
{
    fprintf(ctx->out, "%s\n", line);
    if (problem)
        ctx->problems++;
}

/* The name, if any, the distribution point gives as the CRL's issuer. */
static const X509_NAME *dp_crl_issuer(const DIST_POINT *dp)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(dp->CRLissuer); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->CRLissuer, i);
        if (gn->type == GEN_DIRNAME)
            return gn->d.directoryName;
    }
    return NULL;
}

/* One name of a distribution point. */
static void check_dp_name(rc_ctx *ctx, const rc_cert *rc,
                          const rc_crl_source *src, const GENERAL_NAME *gn)
{
    char line[RC_LINE_MAX];
    if (gn->type != GEN_URI) {
        report_line(ctx, "    CRL distribution point name that is not a URL:"
                    " relying parties cannot fetch it", true);
        return;
    }
    const ASN1_IA5STRING *uri = gn->d.uniformResourceIdentifier;
    const char *bytes = (const char *)ASN1_STRING_get0_data(uri);
    int ulen = ASN1_STRING_length(uri);
    char shown[RC_URL_SHOWN];
    revocation_printable(bytes, ulen > 0 ? (size_t)ulen : 0, shown, sizeof shown);
    tn_snprintf(line, sizeof line, "    CRL %s: ", shown);
    if (ulen <= 0 || ulen > REVOCATION_URL_MAX
        || memchr(bytes, '\0', (size_t)ulen) != NULL) {
        tn_appendf(line, sizeof line, "not checked: %s", ulen <= 0 ? "empty URL"
                   : ulen > REVOCATION_URL_MAX ? "URL too long"
                   : "URL contains a NUL byte");
        report_line(ctx, line, true);
        return;
    }
    if (ctx->fetches_left <= 0) {
        tn_appendf(line, sizeof line, "not checked: more than %d URLs to "
                   "fetch", RC_MAX_FETCHES);
        report_line(ctx, line, true);
        return;
    }
    ctx->fetches_left--;
    char url[REVOCATION_URL_MAX + 1];
    memcpy(url, bytes, (size_t)ulen);
    url[ulen] = '\0';
    bool bad = check_url(url, rc, src, line, sizeof line);
    report_line(ctx, line, bad);
}

static void check_dist_point(rc_ctx *ctx, const rc_cert *rc,
                             const DIST_POINT *dp)
{
    rc_crl_source src = { X509_get_issuer_name(rc->cert), rc->issuer, false };
    const X509_NAME *indirect = dp_crl_issuer(dp);
    if (indirect != NULL) {
        src.name = indirect;
        src.signer = find_by_subject(ctx->known, indirect);
        src.indirect = true;
    }
    if (dp->distpoint == NULL || dp->distpoint->type != 0) {
        report_line(ctx, "    CRL distribution point without a full name "
                    "(URL): relying parties cannot fetch it", true);
        return;
    }
    GENERAL_NAMES *names = dp->distpoint->name.fullname;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        if (i >= RC_MAX_NAMES) {
            report_line(ctx, "    more distribution point names: not checked",
                        true);
            return;
        }
        check_dp_name(ctx, rc, &src, sk_GENERAL_NAME_value(names, i));
    }
}

static void check_cdps(rc_ctx *ctx, const rc_cert *rc, bool is_leaf)
{
    int crit = -1;
    CRL_DIST_POINTS *cdps =
        X509_get_ext_d2i(rc->cert, NID_crl_distribution_points, &crit, NULL);
    ERR_clear_error();
    if (cdps == NULL && crit != -1) {
        report_line(ctx, crit == -2
                    ? "    more than one CRL distribution points extension"
                    : "    malformed CRL distribution points extension", true);
        return;
    }
    if (sk_DIST_POINT_num(cdps) <= 0) {
        if (rc->self_signed)
            report_line(ctx, "    no CRL distribution point (self-signed "
                        "root: none needed)", false);
        else
            report_line(ctx, is_leaf
                        ? "    no CRL distribution point: revocation cannot be"
                          " checked by relying parties"
                        : "    no CRL distribution point: revocation of this "
                          "CA certificate cannot be checked by relying parties",
                        true);
        CRL_DIST_POINTS_free(cdps);
        return;
    }
    for (int i = 0; i < sk_DIST_POINT_num(cdps) && i < RC_MAX_NAMES; i++)
        check_dist_point(ctx, rc, sk_DIST_POINT_value(cdps, i));
    if (sk_DIST_POINT_num(cdps) > RC_MAX_NAMES)
        report_line(ctx, "    more distribution points: not checked", true);
    CRL_DIST_POINTS_free(cdps);
}

static void list_ocsp(rc_ctx *ctx, X509 *cert)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    ERR_clear_error();
    for (int i = 0; i < sk_OPENSSL_STRING_num(urls); i++) {
        if (i >= RC_MAX_OCSP) {
            fprintf(ctx->out, "    (%d more OCSP URLs)\n",
                    sk_OPENSSL_STRING_num(urls) - i);
            break;
        }
        const char *url = sk_OPENSSL_STRING_value(urls, i);
        char shown[RC_URL_SHOWN];
        revocation_printable(url, strlen(url), shown, sizeof shown);
        fprintf(ctx->out, "    OCSP %s: listed (OCSP checking is not done yet)\n",
                shown);
    }
    X509_email_free(urls);
}

static void check_certificate(rc_ctx *ctx, int index, X509 *cert)
{
    rc_cert rc = { cert, NULL, X509_self_signed(cert, 1) == 1 };
    ERR_clear_error();
    rc.issuer = rc.self_signed ? cert : find_issuer(ctx->known, cert);

    char subject[RC_NAME_MAX], issuer[RC_NAME_MAX], serial[80];
    x509_text_short_name(X509_get_subject_name(cert), subject, sizeof subject);
    x509_text_short_name(X509_get_issuer_name(cert), issuer, sizeof issuer);
    x509_text_serial(cert, serial, sizeof serial);
    fprintf(ctx->out, "certificate %d: %s (serial %s), issuer %s%s\n", index,
            subject, serial, issuer, rc.self_signed ? " (self-signed)" : "");
    if (rc.issuer == NULL)
        fprintf(ctx->out, "    issuer certificate not known (give it with "
                "--ca): CRL signatures cannot be verified\n");
    check_cdps(ctx, &rc, index == 0);
    list_ocsp(ctx, cert);
}

/* ---- entry point ------------------------------------------------------ */

static STACK_OF(X509) *known_certificates(STACK_OF(X509) *chain,
                                          STACK_OF(X509) *extra)
{
    STACK_OF(X509) *known = sk_X509_dup(chain);
    for (int i = 0; known != NULL && i < sk_X509_num(extra); i++) {
        if (!sk_X509_push(known, sk_X509_value(extra, i))) {
            sk_X509_free(known);
            return NULL;
        }
    }
    return known;
}

/* Check every certificate of chain; returns the number of problems. */
static int check_chain(FILE *out, STACK_OF(X509) *chain, STACK_OF(X509) *known)
{
    rc_ctx ctx = { out, known, 0, RC_MAX_FETCHES };
    int n = sk_X509_num(chain);
    for (int i = 0; i < n && i < RC_MAX_CERTS; i++)
        check_certificate(&ctx, i, sk_X509_value(chain, i));
    if (n > RC_MAX_CERTS) {
        fprintf(out, "certificates %d to %d: not checked (limit %d)\n",
                RC_MAX_CERTS, n - 1, RC_MAX_CERTS);
        ctx.problems++;
    }
    if (ctx.problems == 0)
        fprintf(out, "revocation endpoints: all reachable\n");
    else
        fprintf(out, "revocation endpoints: %d problem%s\n", ctx.problems,
                ctx.problems == 1 ? "" : "s");
    return ctx.problems;
}

int revocation_check_report(const char *cert_file, const char *issuer_file,
                            FILE *out, tn_err *err)
{
    STACK_OF(X509) *chain = x509_load_chain_file(cert_file, err);
    if (chain == NULL)
        return TN_EXIT_USAGE;
    STACK_OF(X509) *extra = NULL;
    if (issuer_file != NULL
        && (extra = x509_load_chain_file(issuer_file, err)) == NULL) {
        sk_X509_pop_free(chain, X509_free);
        return TN_EXIT_USAGE;
    }
    int rc = TN_EXIT_USAGE;
    STACK_OF(X509) *known = known_certificates(chain, extra);
    if (known == NULL)
        tn_errf(err, "out of memory");
    else
        rc = check_chain(out, chain, known) == 0 ? TN_EXIT_OK : TN_EXIT_REFUSED;
    sk_X509_free(known);
    sk_X509_pop_free(extra, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}
