/* err.c - formatting of the caller-owned error reason (see err.h). */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

int tn_errf(tn_err *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int tn_err_append_openssl(tn_err *err)
{
    unsigned long code = ERR_peek_last_error();
    if (err == NULL || code == 0)
        return -1;
    char ossl[256];
    ERR_error_string_n(code, ossl, sizeof ossl);
    size_t used = strlen(err->msg);
    if (used < sizeof err->msg)
        snprintf(err->msg + used, sizeof err->msg - used, ": %s", ossl);
    ERR_clear_error();
    return -1;
}

void tn_err_clear(tn_err *err)
{
    if (err != NULL)
        err->msg[0] = '\0';
}
