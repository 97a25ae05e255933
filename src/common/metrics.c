/* metrics.c - sources, rendering and the file writer (see metrics.h). */
#include "common/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "common/str.h"
#include "common/thread_name.h"

#define MAX_SOURCES 16

struct source {
    tn_metrics_source_fn *fn;
    void *ctx;
};

static struct {
    pthread_mutex_t lock; /* sources, and the file while it is written */
    struct source sources[MAX_SOURCES];
    size_t n;
    /* What removed sources printed last: their final counts stay in the
     * file until the process ends. */
    char *final[MAX_SOURCES];
    size_t n_final;
    char path[4096]; /* "" when no file is written */
    char server[256];
    unsigned interval_ms;
    time_t started;
    pthread_t thread;
    bool thread_running, stopping;
    pthread_cond_t stop;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop = PTHREAD_COND_INITIALIZER};

/* --- rendering ---------------------------------------------------------------- */

static void append(struct tn_metrics_out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if (o->buf != NULL && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 8192;
        while (cap < o->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(o->buf, cap);
        if (grown == NULL) {
            o->failed = true;
            return;
        }
        o->buf = grown;
        o->cap = cap;
    }
}

void tn_metrics_family(struct tn_metrics_out *o, const char *name, const char *type,
                       const char *help)
{
    append(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tn_metrics_sample(struct tn_metrics_out *o, const char *name, const char *labels,
                       uint64_t value)
{
    append(o, "%s{server=\"%s\"%s%s} %llu\n", name, o->server, labels[0] ? "," : "", labels,
           (unsigned long long)value);
}

void tn_metrics_single(struct tn_metrics_out *o, const char *name, const char *type,
                       const char *help, uint64_t value)
{
    tn_metrics_family(o, name, type, help);
    tn_metrics_sample(o, name, "", value);
}

static int render_locked(struct tn_metrics_out *o, const char *server)
{
    memset(o, 0, sizeof *o);
    tn_strlcpy(o->server, server, sizeof o->server);
    if (reg.started == 0)
        reg.started = time(NULL);
    tn_metrics_single(o, "trustnet_start_time_seconds", "gauge",
                      "When the server process started, in seconds since the epoch.",
                      (uint64_t)reg.started);
    for (size_t i = 0; i < reg.n; i++)
        reg.sources[i].fn(o, reg.sources[i].ctx);
    for (size_t i = 0; i < reg.n_final; i++)
        append(o, "%s", reg.final[i]);
    if (o->failed) {
        free(o->buf);
        o->buf = NULL;
        return -1;
    }
    return 0;
}

int tn_metrics_render(struct tn_metrics_out *o, const char *server)
{
    pthread_mutex_lock(&reg.lock);
    int rc = render_locked(o, server);
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

/* --- the file ----------------------------------------------------------------- */

/* Readers see the old file or the new one, never half of one. */
static void write_file_locked(void)
{
    if (reg.path[0] == '\0')
        return;
    struct tn_metrics_out o;
    if (render_locked(&o, reg.server) < 0) {
        tn_log(TN_LOG_ERROR, "metrics", "out of memory: %s not updated", reg.path);
        return;
    }
    char tmp[sizeof reg.path + 8];
    tn_snprintf(tmp, sizeof tmp, "%s.tmp", reg.path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && tn_write_all(fd, o.buf, o.len) == 0;
    if (fd >= 0 && close(fd) < 0)
        ok = false;
    if (!ok || rename(tmp, reg.path) < 0) {
        tn_log(TN_LOG_ERROR, "metrics", "cannot write %s: %s", reg.path, strerror(errno));
        unlink(tmp);
    }
    free(o.buf);
}

static void *writer_main(void *arg)
{
    (void)arg;
    tn_thread_name("metrics");
    pthread_mutex_lock(&reg.lock);
    while (!reg.stopping) {
        write_file_locked();
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += reg.interval_ms / 1000;
        until.tv_nsec += (long)(reg.interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!reg.stopping && pthread_cond_timedwait(&reg.stop, &reg.lock, &until) == 0)
            ;
    }
    write_file_locked();
    pthread_mutex_unlock(&reg.lock);
    return NULL;
}

int tn_metrics_start(const char *path, const char *server, unsigned interval_ms, tn_err *err)
{
    pthread_mutex_lock(&reg.lock);
    reg.path[0] = '\0';
    int rc = 0;
    if (tn_strlcpy(reg.server, server, sizeof reg.server) < 0)
        rc = tn_errf(err, "server name too long");
    else if (path != NULL && !reg.thread_running) {
        if (tn_strlcpy(reg.path, path, sizeof reg.path) < 0) {
            reg.path[0] = '\0';
            rc = tn_errf(err, "metrics file name too long");
        } else {
            reg.interval_ms = interval_ms > 0 ? interval_ms : 10000;
            reg.stopping = false;
            if (pthread_create(&reg.thread, NULL, writer_main, NULL) != 0) {
                reg.path[0] = '\0';
                rc = tn_errf(err, "cannot start the metrics writer");
            } else {
                reg.thread_running = true;
            }
        }
    }
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

void tn_metrics_stop(void)
{
    pthread_mutex_lock(&reg.lock);
    bool running = reg.thread_running;
    reg.stopping = true;
    pthread_cond_broadcast(&reg.stop);
    pthread_mutex_unlock(&reg.lock);
    if (running)
        pthread_join(reg.thread, NULL);
    pthread_mutex_lock(&reg.lock);
    reg.thread_running = false;
    reg.path[0] = '\0';
    for (size_t i = 0; i < reg.n_final; i++)
        free(reg.final[i]);
    reg.n_final = 0;
    pthread_mutex_unlock(&reg.lock);
}

/* --- sources ------------------------------------------------------------------ */

int tn_metrics_add_source(tn_metrics_source_fn *fn, void *ctx, tn_err *err)
{
    pthread_mutex_lock(&reg.lock);
    int rc = 0;
    if (reg.n == MAX_SOURCES)
        rc = tn_errf(err, "too many metrics sources (%d)", MAX_SOURCES);
    else
        reg.sources[reg.n++] = (struct source){fn, ctx};
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

void tn_metrics_remove_source(tn_metrics_source_fn *fn, void *ctx)
{
    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < reg.n; i++) {
        if (reg.sources[i].fn != fn || reg.sources[i].ctx != ctx)
            continue;
        struct tn_metrics_out last = {0};
        tn_strlcpy(last.server, reg.server, sizeof last.server);
        fn(&last, ctx);
        if (!last.failed && last.buf != NULL && reg.n_final < MAX_SOURCES)
            reg.final[reg.n_final++] = last.buf;
        else
            free(last.buf);
        memmove(&reg.sources[i], &reg.sources[i + 1], (reg.n - i - 1) * sizeof reg.sources[0]);
        reg.n--;
        write_file_locked();
        break;
    }
    pthread_mutex_unlock(&reg.lock);
}
