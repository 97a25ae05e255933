/* log.c - one-line log records (see log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

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

void tn_log(enum tn_log_level level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per record so that records from workers do not interleave. */
    fprintf(stderr, "%s %s %s: %s\n", stamp, level_name(level), component, line);
}
