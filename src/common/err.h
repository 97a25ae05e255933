/*
 * err.h - the one error convention of trustnet.
 *
 * A function that can fail returns 0 on success and -1 on failure and, on
 * failure, writes one human sentence into a caller-owned tn_err.  No global
 * error state: the caller decides whether to print, log or wrap the reason.
 *
 *     tn_err err;
 *     if (ca_init(&opts, &err) < 0)
 *         die("%s", err.msg);
 */
#ifndef TN_COMMON_ERR_H
#define TN_COMMON_ERR_H

#include <stddef.h>

#define TN_ERR_MAX 512

typedef struct tn_err {
    char msg[TN_ERR_MAX];
} tn_err;

/* Write a formatted reason into err (may be NULL) and return -1. */
int tn_errf(tn_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append the most recent OpenSSL error (if any) as ": reason" to err. */
int tn_err_append_openssl(tn_err *err);

/* Clear err to the empty string. */
void tn_err_clear(tn_err *err);

#endif
