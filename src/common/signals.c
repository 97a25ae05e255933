/* signals.c - the server's signal mask (see signals.h). */
#include "common/signals.h"

#include <pthread.h>

void tn_signals_block(sigset_t *out)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (out != NULL)
        *out = set;
}
