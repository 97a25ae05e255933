/*
 * signals.h - how a server takes its signals: SIGTERM, SIGINT and SIGHUP
 * are blocked in every thread and taken by one (sigwaitinfo or
 * sigtimedwait on the set), so no worker is ever interrupted by them;
 * SIGPIPE is ignored (a peer that goes away is a write error, not death).
 */
#ifndef TN_COMMON_SIGNALS_H
#define TN_COMMON_SIGNALS_H

#include <signal.h>

/* Block the server's signals in the calling thread (threads it starts
 * afterwards inherit the mask), ignore SIGPIPE, and give the set to wait
 * on (may be NULL). */
void tn_signals_block(sigset_t *set);

#endif
