/*
 * fuzz_spool_files.c - libFuzzer target for the files of the mail queue
 * (src/mail/spool_envelope.c, spool_state.c): what a damaged disk or a
 * hostile local user could put in queue/ and state/.
 *
 * The first input byte chooses the file: even, a queue file (its last 48
 * bytes are the trailer, the envelope is parsed whether or not its
 * checksum matches, so that the parser itself is reached); odd, a state
 * file of a message with (byte / 2) % 8 + 1 recipients.  Invariants that
 * abort:
 *   - an accepted envelope has 1..SPOOL_RCPTS_MAX recipients, each
 *     non-empty, and every string within its bound and free of control
 *     characters;
 *   - an accepted trailer's lengths add up to the file size;
 *   - an accepted state has exactly the recipients asked for, each with
 *     a known status and NUL-terminated fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mail/spool_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            abort();
}

static void check_message(const struct spool_message *m)
{
    if (m->n_rcpts == 0 || m->n_rcpts > SPOOL_RCPTS_MAX || m->size > SPOOL_DATA_MAX)
        abort();
    check_text(m->sender, SPOOL_ADDR_MAX);
    check_text(m->client, SPOOL_CLIENT_MAX);
    check_text(m->helo, SPOOL_HELO_MAX);
    check_text(m->tls, SPOOL_TLS_MAX);
    for (size_t i = 0; i < m->n_rcpts; i++) {
        check_text(m->rcpts[i], SPOOL_ADDR_MAX);
        if (m->rcpts[i][0] == '\0')
            abort();
    }
}

static void queue_file(const uint8_t *data, size_t size)
{
    struct spool_trailer t;
    tn_err err;
    if (size >= SPOOL_TRAILER_LEN &&
        spool_trailer_parse((const char *)data + size - SPOOL_TRAILER_LEN, &t, &err) == 0 &&
        spool_trailer_check(&t, size, &err) == 0 &&
        t.data_len + t.env_len + SPOOL_TRAILER_LEN != size)
        abort();
    /* The envelope parser on the whole input. */
    struct spool_message m;
    memset(&m, 0, sizeof m);
    m.text = malloc(size + 1);
    if (m.text == NULL)
        return;
    memcpy(m.text, data, size);
    m.text[size] = '\0';
    if (spool_envelope_parse(&m, size, &err) == 0)
        check_message(&m);
    free(m.rcpts);
    free(m.text);
}

static void state_file(const uint8_t *data, size_t size, size_t n_rcpts)
{
    struct spool_state st;
    tn_err err;
    if (spool_state_parse((const char *)data, size, n_rcpts, &st, &err) < 0)
        return;
    if (st.n_rcpts != n_rcpts)
        abort();
    if (strnlen(st.last_reason, SPOOL_REPLY_MAX) >= SPOOL_REPLY_MAX)
        abort();
    for (size_t i = 0; i < n_rcpts; i++) {
        const struct spool_rcpt_state *r = &st.rcpts[i];
        if ((unsigned)r->status > SPOOL_RCPT_BOUNCED ||
            strnlen(r->reply, SPOOL_REPLY_MAX) >= SPOOL_REPLY_MAX ||
            strnlen(r->remote_mta, SPOOL_HOST_MAX + 1) > SPOOL_HOST_MAX)
            abort();
    }
    free(st.rcpts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    tn_log_set_level(TN_LOG_ERROR);
    if ((data[0] & 1) == 0)
        queue_file(data + 1, size - 1);
    else
        state_file(data + 1, size - 1, (size_t)(data[0] / 2) % 8 + 1);
    return 0;
}
