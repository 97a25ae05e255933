/* mail_mx.c - MX lookups through the system resolver (see mail_mx.h). */
#include "mail/mail_mx.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

/* Answers larger than this are truncated by the resolver and retried
 * over TCP by it; 64 KiB is the protocol's limit. */
#define ANSWER_MAX 65536

static int by_pref(const void *a, const void *b)
{
    const struct mail_mx *x = a, *y = b;
    return (int)x->pref - (int)y->pref;
}

/* Read the MX records of an answer; -1 when it cannot be parsed. */
static int parse_answer(const unsigned char *answer, int len, struct mail_mx *out, size_t max,
                        size_t *n)
{
    ns_msg msg;
    if (ns_initparse(answer, len, &msg) < 0)
        return -1;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count && *n < max; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return -1;
        if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
            continue;
        const unsigned char *rdata = ns_rr_rdata(rr);
        struct mail_mx *mx = &out[*n];
        mx->pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata + 2, mx->host,
                               sizeof mx->host) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

enum mail_mx_result mail_mx_lookup(const char *domain, struct mail_mx *out, size_t max,
                                   size_t *n, tn_err *err)
{
    *n = 0;
    struct __res_state res;
    memset(&res, 0, sizeof res);
    if (res_ninit(&res) < 0) {
        tn_errf(err, "cannot initialise the resolver");
        return MAIL_MX_TEMPORARY;
    }
    unsigned char *answer = malloc(ANSWER_MAX);
    if (answer == NULL) {
        res_nclose(&res);
        tn_errf(err, "out of memory");
        return MAIL_MX_TEMPORARY;
    }
    int len = res_nquery(&res, domain, ns_c_in, ns_t_mx, answer, ANSWER_MAX);
    int herr = res.res_h_errno;
    enum mail_mx_result result = MAIL_MX_OK;
    if (len < 0 && herr == HOST_NOT_FOUND) {
        tn_errf(err, "domain %s does not exist", domain);
        result = MAIL_MX_NULL;
    } else if (len < 0 && herr != NO_DATA) {
        tn_errf(err, "MX lookup for %s failed (try again later)", domain);
        result = MAIL_MX_TEMPORARY;
    } else if (len >= 0 && parse_answer(answer, len, out, max, n) < 0) {
        tn_errf(err, "MX answer for %s cannot be parsed", domain);
        result = MAIL_MX_TEMPORARY;
    }
    free(answer);
    res_nclose(&res);
    if (result != MAIL_MX_OK)
        return result;
    if (*n == 0) { /* no MX: the domain itself (RFC 5321 5.1) */
        tn_strlcpy(out[0].host, domain, sizeof out[0].host);
        out[0].pref = 0;
        *n = 1;
        return MAIL_MX_OK;
    }
    if (*n == 1 && out[0].host[0] == '\0') {
        tn_errf(err, "domain %s accepts no mail (null MX, RFC 7505)", domain);
        return MAIL_MX_NULL;
    }
    qsort(out, *n, sizeof *out, by_pref);
    return MAIL_MX_OK;
}
