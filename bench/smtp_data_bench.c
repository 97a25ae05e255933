/*
 * smtp_data_bench.c - throughput of the DATA-phase scanner (smtp_data.c).
 *
 * Builds mail-like streams (76-octet lines with some dot-stuffed; long
 * lines; a worst case of short, all-stuffed lines), each ending in
 * CRLF.CRLF, and scans each repeatedly in chunks of a TLS record (16 KiB)
 * and of 1 MiB; the sink checksums every piece so the work cannot be
 * optimised away.  By hand, never in tests:
 *
 *   make && cc -std=c11 -O2 -Isrc bench/smtp_data_bench.c \
 *       build/libtrustnet.a -o build/smtp_data_bench && build/smtp_data_bench
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime under -std=c11 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp/smtp_data.h"

#define STREAM_SIZE (64u << 20)

static unsigned long long checksum;

static int sink(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    checksum += (unsigned char)p[0] + (unsigned char)p[n - 1] + n;
    return 0;
}

/* Lines of line_len octets + CRLF; every dot_every-th line starts with a
 * stuffed dot. */
static size_t make_stream(char *buf, size_t size, size_t line_len,
                          size_t dot_every)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pos = 0, line = 0;
    while (pos + line_len + 2 + 5 < size) {
        size_t start = pos;
        if (line % dot_every == 0)
            buf[pos++] = '.';
        while (pos - start < line_len) {
            buf[pos] = alphabet[(pos * 7 + line) % 64];
            pos++;
        }
        buf[pos++] = '\r';
        buf[pos++] = '\n';
        line++;
    }
    memcpy(buf + pos, ".\r\n", 3);
    return pos + 3;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *buf, size_t len, size_t chunk, int rounds)
{
    struct smtp_data d;
    double t0 = now();
    unsigned long long pieces = 0;
    for (int r = 0; r < rounds; r++) {
        smtp_data_init(&d, 0, sink, NULL);
        size_t off = 0, used;
        while (off < len) {
            size_t n = len - off < chunk ? len - off : chunk;
            if (smtp_data_feed(&d, buf + off, n, &used) == SMTP_DATA_END) {
                off += used;
                break;
            }
            off += used;
        }
        if (off != len || smtp_data_verdict(&d, NULL) < 0) {
            fprintf(stderr, "scan failed at %zu\n", off);
            exit(1);
        }
        pieces += d.pieces;
    }
    double secs = now() - t0;
    printf("  chunk %7zu: %5.2f GB/s  (%d x %zu MB in %.3f s, %.0f octets "
           "per sink call)\n", chunk, (double)len * rounds / secs / 1e9,
           rounds, len >> 20, secs, (double)len * rounds / (double)pieces);
}

int main(void)
{
    char *buf = malloc(STREAM_SIZE);
    if (!buf)
        return 1;
    printf("76-octet lines, 1 in 40 dot-stuffed:\n");
    size_t len = make_stream(buf, STREAM_SIZE, 76, 40);
    run(buf, len, 16384, 20);
    run(buf, len, 1 << 20, 20);
    printf("998-octet lines (RFC 5322 maximum), none stuffed:\n");
    len = make_stream(buf, STREAM_SIZE, 998, (size_t)-1);
    run(buf, len, 16384, 20);
    printf("worst case: 10-octet lines, every one dot-stuffed:\n");
    len = make_stream(buf, STREAM_SIZE, 10, 1);
    run(buf, len, 16384, 20);
    printf("(checksum %llu)\n", checksum);
    free(buf);
    return 0;
}
