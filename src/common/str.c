/* str.c - bounded string helpers (see str.h). */
#include "common/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tn_hex_encode(char *dst, size_t dstsize, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (dstsize == 0)
        return -1;
    if (n > (dstsize - 1) / 2) {
        dst[0] = '\0';
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[in[i] >> 4];
        dst[2 * i + 1] = digits[in[i] & 0x0f];
    }
    dst[2 * n] = '\0';
    return 0;
}

int tn_append_printable(char *dst, size_t dstsize, const char *s, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (dstsize == 0)
        return -1;
    size_t out = strnlen(dst, dstsize - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool control = c < 0x20 || c == 0x7f;
        if (out + (control ? 4 : 1) > dstsize - 1) {
            dst[out] = '\0';
            return -1;
        }
        if (control) {
            dst[out++] = '\\';
            dst[out++] = 'x';
            dst[out++] = digits[c >> 4];
            dst[out++] = digits[c & 0x0f];
        } else {
            dst[out++] = (char)c;
        }
    }
    dst[out] = '\0';
    return 0;
}

int tn_strlcpy(char *dst, const char *src, size_t dstsize)
{
    if (dstsize == 0)
        return -1;
    size_t len = strlen(src);
    if (len >= dstsize) {
        memcpy(dst, src, dstsize - 1);
        dst[dstsize - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, len + 1);
    return 0;
}

static int vformat_at(char *dst, size_t dstsize, const char *fmt, va_list ap)
{
    if (dstsize == 0)
        return -1;
    int n = vsnprintf(dst, dstsize, fmt, ap);
    return (n < 0 || (size_t)n >= dstsize) ? -1 : 0;
}

int tn_snprintf(char *dst, size_t dstsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vformat_at(dst, dstsize, fmt, ap);
    va_end(ap);
    return rc;
}

int tn_appendf(char *dst, size_t dstsize, const char *fmt, ...)
{
    size_t used = strnlen(dst, dstsize);
    if (used >= dstsize)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = vformat_at(dst + used, dstsize - used, fmt, ap);
    va_end(ap);
    return rc;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool tn_ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}
