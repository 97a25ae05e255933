/* spool_id.c - message ids: time-ordered, unique, file-name safe.
 *
 * 11 base32 digits of the microseconds since the epoch (55 bits: good
 * until the year 3111), then 5 of the pid (25 bits; Linux pids stay below
 * 2^22).  The time part is made strictly increasing within the process,
 * so two ids of one process never collide, and two processes differ by
 * their pid.  A restart with the same pid after the clock was set back
 * could repeat an id: the rename into queue/ never replaces a file, and
 * the commit takes a new id then (spool_writer.c). */
#include <string.h>
#include <time.h>

#include "mail/spool_internal.h"

/* Crockford's base32: no I, L, O, U, so ids read aloud or typed by an
 * operator are unambiguous. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define ID_TIME_DIGITS 11
#define ID_PID_DIGITS 5
_Static_assert(ID_TIME_DIGITS + ID_PID_DIGITS == SPOOL_ID_LEN, "id length");
_Static_assert(SPOOL_ID_LEN < SPOOL_ID_MAX, "id buffer");

static void encode(uint64_t v, char *out, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = alphabet[v & 31];
        v >>= 5;
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void spool_id_next(spool *s, char id[SPOOL_ID_MAX])
{
    uint64_t now = now_us();
    uint64_t last = atomic_load(&s->last_id_us);
    uint64_t next;
    do {
        next = now > last ? now : last + 1;
    } while (!atomic_compare_exchange_weak(&s->last_id_us, &last, next));
    encode(next, id, ID_TIME_DIGITS);
    encode((uint64_t)s->pid, id + ID_TIME_DIGITS, ID_PID_DIGITS);
    id[SPOOL_ID_LEN] = '\0';
}

bool spool_id_valid(const char *id)
{
    if (id == NULL || strnlen(id, SPOOL_ID_LEN + 1) != SPOOL_ID_LEN)
        return false;
    for (size_t i = 0; i < SPOOL_ID_LEN; i++)
        if (id[i] == '\0' || strchr(alphabet, id[i]) == NULL)
            return false;
    return true;
}
