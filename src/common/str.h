/*
 * str.h - bounded string helpers.  Every copy reports truncation, so a
 * caller can never silently act on a shortened name or path.
 */
#ifndef TN_COMMON_STR_H
#define TN_COMMON_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Copy src into dst (size dstsize, always NUL-terminated).
 * Returns 0, or -1 if src did not fit (dst then holds a truncated copy). */
int tn_strlcpy(char *dst, const char *src, size_t dstsize);

/* snprintf that returns 0, or -1 on truncation or encoding error. */
int tn_snprintf(char *dst, size_t dstsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append formatted text at the end of dst; -1 on truncation. */
int tn_appendf(char *dst, size_t dstsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The n bytes of in as 2n lower-case hex digits and a NUL in dst.
 * Returns 0, or -1 (dst empty) if dstsize < 2n + 1. */
int tn_hex_encode(char *dst, size_t dstsize, const unsigned char *in, size_t n);

/* Append the n bytes of s (a peer's text: a certificate name, a protocol
 * field) to the string in dst, each control byte (below 0x20, and 0x7f)
 * written as \xNN, so that the result is one line of visible text.  Cut
 * between characters, never inside an escape.  Returns 0, or -1 on
 * truncation. */
int tn_append_printable(char *dst, size_t dstsize, const char *s, size_t n);

/* ASCII-only case-insensitive comparison of two counted strings. */
bool tn_ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen);

#endif
