/* log.c - one-line log records (see log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/str.h"

#define TEXT_MAX 2048  /* the message, truncated beyond */
#define PREFIX_MAX 128 /* stamp, level and component */

static enum tn_log_level min_level = TN_LOG_INFO;

void tn_log_set_level(enum tn_log_level level)
{
    min_level = level;
}

static const char *level_name(enum tn_log_level level)
{
    switch (level) {
    case TN_LOG_DEBUG: return "debug";
    case TN_LOG_INFO: return "info";
    case TN_LOG_WARN: return "warn";
    case TN_LOG_ERROR: return "error";
    }
    return "?";
}

/* The time stamp, formatted once a second per thread (busy servers log
 * several lines per connection). */
static const char *stamp(void)
{
    static __thread time_t second = (time_t)-1;
    static __thread char text[32];
    time_t now = time(NULL);
    if (now != second) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        second = now;
    }
    return text;
}

/* A record is one line whatever its text holds: names from peers
 * (certificate subjects, SIP and SMTP fields) reach log lines, and a line
 * break or terminal escape in one must not forge a record or a screen.
 * Control bytes become \xNN; the text stays within TEXT_MAX. */
static int escape_controls(char *text, int len)
{
    bool clean = true;
    for (int i = 0; i < len && clean; i++)
        clean = (unsigned char)text[i] >= 0x20 && text[i] != 0x7f;
    if (clean)
        return len;
    char copy[TEXT_MAX];
    memcpy(copy, text, (size_t)len);
    text[0] = '\0';
    tn_append_printable(text, TEXT_MAX, copy, (size_t)len);
    return (int)strlen(text);
}

void tn_log(enum tn_log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char record[PREFIX_MAX + TEXT_MAX + 1];
    int head = snprintf(record, PREFIX_MAX, "%s %s %s: ", stamp(), level_name(level), component);
    if (head < 0)
        return;
    if (head >= PREFIX_MAX)
        head = PREFIX_MAX - 1;
    va_list ap;
    va_start(ap, fmt);
    int text = vsnprintf(record + head, TEXT_MAX, fmt, ap);
    va_end(ap);
    if (text < 0)
        text = 0;
    if (text >= TEXT_MAX)
        text = TEXT_MAX - 1;
    text = escape_controls(record + head, text);
    record[head + text] = '\n';
    /* One write per record: records from workers do not interleave. */
    /* A failure has nowhere to be reported. */
    (void)tn_write_all(STDERR_FILENO, record, (size_t)head + (size_t)text + 1);
}
