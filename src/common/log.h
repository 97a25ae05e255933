/*
 * log.h - one-line log records on stderr.
 *
 * Each record is a single line: "2026-11-27T16:00:00Z LEVEL component: text".
 * Connection verdicts are logged at INFO; protocol traces at DEBUG.
 */
#ifndef TN_COMMON_LOG_H
#define TN_COMMON_LOG_H

enum tn_log_level { TN_LOG_DEBUG, TN_LOG_INFO, TN_LOG_WARN, TN_LOG_ERROR };

void tn_log_set_level(enum tn_log_level level);
void tn_log(enum tn_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
