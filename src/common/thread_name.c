/* thread_name.c - names for the server's threads (see thread_name.h). */
#include "common/thread_name.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define THREAD_NAME_MAX 16 /* TASK_COMM_LEN, with the NUL */

void tn_thread_name(const char *fmt, ...)
{
    char name[THREAD_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    /* vsnprintf cuts a long name to 15 bytes and the NUL */
    if (vsnprintf(name, sizeof name, fmt, ap) >= 0)
        (void)pthread_setname_np(pthread_self(), name);
    va_end(ap);
}
