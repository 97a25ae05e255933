/*
 * clock.h - milliseconds from the two clocks trustnet reads: monotonic for
 * timeouts and durations (never jumps), wall-clock for times that outlive
 * the process (a spooled message's arrival, its next delivery attempt).
 */
#ifndef TN_COMMON_CLOCK_H
#define TN_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t tn_clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For timeouts and durations. */
static inline int64_t tn_monotonic_ms(void) { return tn_clock_ms(CLOCK_MONOTONIC); }

/* Milliseconds since the epoch: stored and compared across restarts. */
static inline int64_t tn_wall_ms(void) { return tn_clock_ms(CLOCK_REALTIME); }

#endif
