/* topo_values.c - parsers for the values a topology holds: DNS names,
 * listen and remote addresses, networks (see topo_internal.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "tls/tls_name.h"
#include "topology/topo_internal.h"

static bool is_ip_literal(const char *s)
{
    unsigned char bin[16];
    return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

bool topo_is_dns_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 253 || name[len - 1] == '.')
        return false;
    return !is_ip_literal(name) && tls_name_is_valid_reference(name);
}

bool topo_name_eq(const char *a, const char *b)
{
    size_t alen = strlen(a), blen = strlen(b);
    if (alen > 0 && a[alen - 1] == '.')
        alen--;
    if (blen > 0 && b[blen - 1] == '.')
        blen--;
    return tn_ascii_caseeq(a, alen, b, blen);
}

bool topo_names_contain(const struct topo_names *names, const char *name)
{
    for (size_t i = 0; i < names->count; i++)
        if (topo_name_eq(names->items[i], name))
            return true;
    return false;
}

/* Decimal digits only, 1..max. */
static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
    if (*s == '\0' || strlen(s) > 10)
        return -1;
    unsigned long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int fill_sockaddr(struct topo_addr *addr)
{
    memset(&addr->sa, 0, sizeof addr->sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr->sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr->sa;
    if (inet_pton(AF_INET, addr->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(addr->port);
        addr->sa_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(addr->port);
        addr->sa_len = sizeof *v6;
    } else {
        return -1;
    }
    addr->is_ip = true;
    return 0;
}

/* Split text into host and port text; brackets are removed. */
static int split_host_port(const char *text, char *host, size_t hostlen, const char **port,
                           char *why, size_t len)
{
    *port = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL) {
            tn_snprintf(why, len, "missing ']' after the IPv6 address");
            return -1;
        }
        size_t n = (size_t)(close - text - 1);
        if (n == 0 || n >= hostlen) {
            tn_snprintf(why, len, "bad IPv6 address in brackets");
            return -1;
        }
        memcpy(host, text + 1, n);
        host[n] = '\0';
        unsigned char bin[16];
        if (inet_pton(AF_INET6, host, bin) != 1) {
            tn_snprintf(why, len, "'%s' is not an IPv6 address", host);
            return -1;
        }
        if (close[1] == ':')
            *port = close + 2;
        else if (close[1] != '\0') {
            tn_snprintf(why, len, "expected ':PORT' after ']'");
            return -1;
        }
        return 0;
    }
    const char *colon = strchr(text, ':');
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
        tn_snprintf(why, len, "an IPv6 address needs brackets, e.g. [::1]:5061");
        return -1;
    }
    size_t n = colon ? (size_t)(colon - text) : strlen(text);
    if (n == 0 || n >= hostlen) {
        tn_snprintf(why, len, n == 0 ? "missing host" : "host name too long");
        return -1;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    if (colon != NULL)
        *port = colon + 1;
    return 0;
}

int topo_parse_addr(const char *text, uint16_t default_port, bool allow_names,
                    struct topo_addr *addr, char *why, size_t len)
{
    const char *port_text;
    memset(addr, 0, sizeof *addr);
    if (split_host_port(text, addr->host, sizeof addr->host, &port_text, why, len) < 0)
        return -1;
    unsigned long port = default_port;
    if (port_text != NULL && parse_number(port_text, 65535, &port) < 0) {
        tn_snprintf(why, len, "port '%s' is not a number from 1 to 65535", port_text);
        return -1;
    }
    addr->port = (uint16_t)port;
    if (fill_sockaddr(addr) < 0) {
        if (!allow_names) {
            tn_snprintf(why, len, "'%s' is not an IP address (a listen address is an IPv4 "
                        "address or a bracketed IPv6 address, e.g. 127.0.0.1:5061 or "
                        "[::1]:5061)", addr->host);
            return -1;
        }
        if (!topo_is_dns_name(addr->host)) {
            tn_snprintf(why, len, "'%s' is neither an IP address nor a DNS name", addr->host);
            return -1;
        }
    }
    bool v6 = addr->is_ip && addr->sa.ss_family == AF_INET6;
    tn_snprintf(addr->text, sizeof addr->text, "%s%s%s:%u", v6 ? "[" : "", addr->host,
                v6 ? "]" : "", addr->port);
    addr->set = true;
    return 0;
}

static bool host_bits_zero(const unsigned char *addr, unsigned bits, unsigned prefix)
{
    for (unsigned i = prefix; i < bits; i++)
        if (addr[i / 8] & (0x80u >> (i % 8)))
            return false;
    return true;
}

int topo_parse_cidr(const char *text, struct topo_cidr *cidr, char *why, size_t len)
{
    memset(cidr, 0, sizeof *cidr);
    char host[64];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n == 0 || n >= sizeof host) {
        tn_snprintf(why, len, "expected an address or network, e.g. 192.0.2.0/24");
        return -1;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    unsigned bits;
    if (inet_pton(AF_INET, host, cidr->addr) == 1) {
        cidr->family = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, host, cidr->addr) == 1) {
        cidr->family = AF_INET6;
        bits = 128;
    } else {
        tn_snprintf(why, len, "'%s' is not an IP address", host);
        return -1;
    }
    unsigned long prefix = bits;
    if (slash != NULL && strcmp(slash + 1, "0") == 0)
        prefix = 0;
    else if (slash != NULL && parse_number(slash + 1, bits, &prefix) < 0) {
        tn_snprintf(why, len, "prefix length '%s' is not a number from 0 to %u", slash + 1, bits);
        return -1;
    }
    cidr->prefix = (unsigned)prefix;
    if (!host_bits_zero(cidr->addr, bits, cidr->prefix)) {
        tn_snprintf(why, len, "'%s' has host bits set after the /%u prefix", text, cidr->prefix);
        return -1;
    }
    tn_snprintf(cidr->text, sizeof cidr->text, "%s/%u", host, cidr->prefix);
    return 0;
}

int topo_ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
        int y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y || x == 0)
            return x - y;
    }
}

int topo_address_cmp(const char *a, const char *b)
{
    const char *da = strrchr(a, '@'), *db = strrchr(b, '@');
    int c = topo_ascii_casecmp(da ? da + 1 : "", db ? db + 1 : "");
    if (c != 0)
        return c;
    size_t la = da ? (size_t)(da - a) : strlen(a), lb = db ? (size_t)(db - b) : strlen(b);
    c = memcmp(a, b, la < lb ? la : lb);
    return c != 0 ? c : (la > lb) - (la < lb);
}
