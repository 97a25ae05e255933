/*
 * thread_name.h - names for the server's threads, as `top -H`, `ps -L`,
 * perf and gdb show them ("sip-w0", "smtp-w1", "mail-commit"), so that an
 * operator sees which part of the server uses the CPU, as Kamailio's
 * process titles and Postfix's process names show it.
 */
#ifndef TN_COMMON_THREAD_NAME_H
#define TN_COMMON_THREAD_NAME_H

/* Name the calling thread; the kernel keeps 15 bytes, the rest is cut.
 * Failure is ignored: a name is only a help. */
void tn_thread_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
