/*
 * sip_str.h - the counted slice every SIP parser returns.
 *
 * A sip_str points into the caller's message buffer (zero-copy), so it is
 * never NUL-terminated and lives only as long as that buffer.  Helpers are
 * static inline: they are tiny and used on every header.
 */
#ifndef TN_SIP_STR_H
#define TN_SIP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *p;
    size_t len;
} sip_str;

#define SIP_STR_NULL ((sip_str){ NULL, 0 })

static inline sip_str sip_str_make(const char *p, size_t len)
{
    return (sip_str){ p, len };
}

/* A slice of a NUL-terminated C string (for tests and literals). */
static inline sip_str sip_str_cstr(const char *s)
{
    return (sip_str){ s, s ? strlen(s) : 0 };
}

/* The first CRLFCRLF (the end of a header block) in p[0..len), or NULL.
 * memchr finds the CRs (vectorised); memmem's general search costs
 * several times more on every message. */
static inline const char *sip_find_blank_line(const char *p, size_t len)
{
    const char *end = p + len;
    while (end - p >= 4) {
        const char *cr = memchr(p, '\r', (size_t)(end - p) - 3);
        if (cr == NULL)
            return NULL;
        if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
            return cr;
        p = cr + 1;
    }
    return NULL;
}

/* Parsers start with this so that SIP_STR_NULL behaves like "" (no
 * arithmetic on a NULL pointer). */
static inline sip_str sip_str_nonnull(sip_str s)
{
    return s.p ? s : (sip_str){ "", 0 };
}

static inline char sip_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline bool sip_str_eq(sip_str a, sip_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ASCII case-insensitive: header names, parameter names, schemes. */
static inline bool sip_str_caseeq(sip_str a, sip_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (sip_ascii_lower(a.p[i]) != sip_ascii_lower(b.p[i]))
            return false;
    return true;
}

/* Compare with a string literal without strlen at run time. */
#define sip_str_eq_lit(s, lit) \
    sip_str_eq((s), (sip_str){ (lit), sizeof(lit) - 1 })
#define sip_str_caseeq_lit(s, lit) \
    sip_str_caseeq((s), (sip_str){ (lit), sizeof(lit) - 1 })

/* Linear white space as it can appear inside a header value: the parser
 * has already checked that CR and LF only occur as CRLF + SP/HT (folding),
 * so sub-parsers may treat them as plain white space. */
static inline bool sip_is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline sip_str sip_str_trim(sip_str s)
{
    while (s.len > 0 && sip_is_lws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && sip_is_lws(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Drop n bytes from the front (n <= s.len is the caller's duty). */
static inline sip_str sip_str_skip(sip_str s, size_t n)
{
    return (sip_str){ s.p + n, s.len - n };
}

/* Decimal digits only (no sign, no white space), value <= max.
 * Returns 0, or -1 when empty, not all digits or above max. */
static inline int sip_str_to_u32(sip_str s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
        if (v > max) /* checked every digit, so v never overflows */
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

#endif
