/* Unit tests: the durable mail queue (src/mail/spool.h): commit, scan,
 * load, state, removal, group commit, ids, damaged and leftover files,
 * the server lock, operator requests, and a crash test (a child that
 * commits in a loop is killed with SIGKILL several times; every message
 * it acknowledged must be in the queue, whole). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixtures.h"
#include "common/log.h"
#include "mail/spool.h"

struct fixture {
    char dir[TEMP_DIR_MAX];
    char spool[96];
    spool *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    temp_dir_make(f->dir, "spool");
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    tn_err err;
    f->s = spool_open(f->spool, true, &err);
    if (f->s == NULL)
        fail_msg("spool_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    spool_close(f->s);
    int rc = temp_dir_remove(f->dir);
    free(f);
    return rc;
}

static void path_of(const struct fixture *f, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void path_of(const struct fixture *f, char *buf, size_t len, const char *fmt, ...)
{
    char rel[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(buf, len, "%s/%s", f->spool, rel);
}

/* Does SPOOL/sub/name exist? */
static bool file_exists(const struct fixture *f, const char *sub, const char *name)
{
    char path[512];
    struct stat st;
    path_of(f, path, sizeof path, "%s/%s", sub, name);
    return lstat(path, &st) == 0;
}

static size_t count_entries(const struct fixture *f, const char *sub)
{
    char cmd[512], path[400];
    path_of(f, path, sizeof path, "%s", sub);
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 0;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return (size_t)n;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Commit one message; its id into id.  Returns spool_commit's result. */
static int commit_one(spool *s, const char *sender, const char *const *rcpts, size_t n,
                      const char *data, size_t len, char id[SPOOL_ID_MAX], tn_err *err)
{
    struct spool_writer *w = spool_begin(s, err);
    if (w == NULL)
        return -1;
    if (spool_write(w, data, len, err) < 0) {
        spool_abort(w);
        return -1;
    }
    struct spool_envelope env = {
        .sender = sender, .rcpts = rcpts, .n_rcpts = n, .client = "192.0.2.7",
        .helo = "mx.example.org", .tls = "TLSv1.3 TLS_AES_256_GCM_SHA384", .flags = 0,
    };
    return spool_commit(s, w, &env, id, err);
}

static void commit_ok(spool *s, const char *data, char id[SPOOL_ID_MAX])
{
    static const char *const rcpts[] = {"bob@corp.test", "carol@corp.test"};
    tn_err err;
    if (commit_one(s, "alice@example.org", rcpts, 2, data, strlen(data), id, &err) < 0)
        fail_msg("commit: %s", err.msg);
}

/* The whole data of a message, read through spool_open_data. */
static char *read_data(spool *s, const char *id, size_t *len)
{
    struct spool_data d;
    tn_err err;
    if (spool_open_data(s, id, &d, &err) != 0)
        fail_msg("spool_open_data %s: %s", id, err.msg);
    char *buf = malloc(d.length + 1);
    assert_non_null(buf);
    ssize_t n = pread(d.fd, buf, d.length, d.offset);
    assert_int_equal(n, (ssize_t)d.length);
    buf[d.length] = '\0';
    *len = d.length;
    spool_data_close(&d);
    return buf;
}

/* ---- layout ---- */

static void layout_created_private(void **state)
{
    struct fixture *f = *state;
    const char *dirs[] = {"", "/incoming", "/queue", "/state", "/control", "/corrupt"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "%s%s", f->spool, dirs[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    assert_true(spool_locked(f->s));
    assert_string_equal(spool_dir(f->s), f->spool);
}

static void reader_needs_existing_spool(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    char path[256];
    snprintf(path, sizeof path, "%s/none", f->dir);
    assert_null(spool_open(path, false, &err));
    assert_non_null(strstr(err.msg, "no spool at"));
    struct stat st;
    assert_int_equal(stat(path, &st), -1); /* nothing created */
    assert_int_equal(mkdir(path, 0700), 0);
    assert_null(spool_open(path, false, &err));
    assert_non_null(strstr(err.msg, "not a trustnet spool"));
    assert_null(spool_open("", true, &err));
    spool *r = spool_open(f->spool, false, &err);
    assert_non_null(r);
    assert_false(spool_locked(r));
    spool_close(r);
}

/* ---- commit, scan, load, data ---- */

static void commit_load_roundtrip(void **state)
{
    struct fixture *f = *state;
    static const char data[] = "Received: from mx.example.org\r\nSubject: hi\r\n\r\nhello\r\n";
    static const char *const rcpts[] = {"bob@corp.test", "carol@corp.test"};
    char id[SPOOL_ID_MAX];
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err);
    assert_non_null(w);
    char reserved[SPOOL_ID_MAX];
    snprintf(reserved, sizeof reserved, "%s", spool_writer_id(w));
    assert_true(spool_id_valid(reserved));
    assert_true(file_exists(f, "incoming", reserved));
    for (size_t i = 0; i < sizeof data - 1; i += 7) { /* many small writes */
        size_t n = sizeof data - 1 - i < 7 ? sizeof data - 1 - i : 7;
        assert_int_equal(spool_write(w, data + i, n, &err), 0);
    }
    assert_int_equal(spool_writer_size(w), sizeof data - 1);
    struct spool_envelope env = {
        .arrival = 1764259200, .sender = "alice@example.org", .rcpts = rcpts, .n_rcpts = 2,
        .client = "192.0.2.7", .helo = "mx.example.org", .tls = "TLSv1.3 TLS_AES_256_GCM_SHA384",
        .flags = SPOOL_F_8BITMIME,
    };
    assert_int_equal(spool_commit(f->s, w, &env, id, &err), 0);
    assert_string_equal(id, reserved);
    assert_false(file_exists(f, "incoming", id));
    assert_true(file_exists(f, "queue", id));

    struct spool_message *m;
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_string_equal(m->id, id);
    assert_int_equal(m->arrival, 1764259200);
    assert_int_equal(m->size, sizeof data - 1);
    assert_int_equal(m->flags, SPOOL_F_8BITMIME);
    assert_string_equal(m->sender, "alice@example.org");
    assert_string_equal(m->client, "192.0.2.7");
    assert_string_equal(m->helo, "mx.example.org");
    assert_string_equal(m->tls, "TLSv1.3 TLS_AES_256_GCM_SHA384");
    assert_int_equal(m->n_rcpts, 2);
    assert_string_equal(m->rcpts[0], "bob@corp.test");
    assert_string_equal(m->rcpts[1], "carol@corp.test");
    assert_int_equal(m->state.n_rcpts, 2);
    assert_int_equal(m->state.attempts, 0);
    assert_int_equal(m->state.next_attempt, 0);
    assert_int_equal(m->state.rcpts[1].status, SPOOL_RCPT_PENDING);
    spool_message_free(m);

    size_t len;
    char *got = read_data(f->s, id, &len);
    assert_int_equal(len, sizeof data - 1);
    assert_memory_equal(got, data, len);
    free(got);
    assert_int_equal(spool_load(f->s, "0000000000000000", &m, &err), 1);
    assert_int_equal(spool_load(f->s, "../etc/passwd", &m, &err), -1);
}

static void null_sender_and_empty_fields(void **state)
{
    struct fixture *f = *state;
    static const char *const rcpts[] = {"alice@example.org"};
    char id[SPOOL_ID_MAX];
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err);
    assert_non_null(w);
    struct spool_envelope env = {.sender = "", .rcpts = rcpts, .n_rcpts = 1};
    assert_int_equal(spool_commit(f->s, w, &env, id, &err), 0); /* empty data, NULL strings */
    struct spool_message *m;
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_string_equal(m->sender, "");
    assert_string_equal(m->client, "");
    assert_string_equal(m->tls, "");
    assert_int_equal(m->size, 0);
    assert_true(m->arrival > 1700000000); /* 0 means now */
    spool_message_free(m);
}

static void large_and_small_writes(void **state)
{
    struct fixture *f = *state;
    static const char *const rcpts[] = {"bob@corp.test"};
    size_t total = 3 * 1024 * 1024 + 17;
    char *data = malloc(total);
    assert_non_null(data);
    for (size_t i = 0; i < total; i++)
        data[i] = (char)(i * 31 + i / 1000);
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err);
    assert_non_null(w);
    /* small, then one larger than the buffer, then more small */
    size_t off = 0, sizes[] = {1, 100, 65535, 200000, 3, 1000000, 65536, 65537};
    for (size_t i = 0; off < total; i++) {
        size_t n = sizes[i % 8];
        if (n > total - off)
            n = total - off;
        assert_int_equal(spool_write(w, data + off, n, &err), 0);
        off += n;
    }
    struct spool_envelope env = {.sender = "a@b.test", .rcpts = rcpts, .n_rcpts = 1};
    char id[SPOOL_ID_MAX];
    assert_int_equal(spool_commit(f->s, w, &env, id, &err), 0);
    size_t len;
    char *got = read_data(f->s, id, &len);
    assert_int_equal(len, total);
    assert_memory_equal(got, data, total);
    free(got);
    free(data);
}

static int collect_ids(const struct spool_message *m, void *ctx)
{
    char (*ids)[SPOOL_ID_MAX] = ctx;
    for (int i = 0;; i++)
        if (ids[i][0] == '\0') {
            snprintf(ids[i], SPOOL_ID_MAX, "%s", m->id);
            return 0;
        }
}

static void scan_oldest_first(void **state)
{
    struct fixture *f = *state;
    char ids[5][SPOOL_ID_MAX], seen[6][SPOOL_ID_MAX];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 5; i++)
        commit_ok(f->s, "Subject: x\r\n\r\nbody\r\n", ids[i]);
    size_t damaged = 99;
    tn_err err;
    assert_int_equal(spool_scan(f->s, collect_ids, seen, &damaged, &err), 0);
    assert_int_equal(damaged, 0);
    for (int i = 0; i < 5; i++)
        assert_string_equal(seen[i], ids[i]);
    assert_string_equal(seen[5], "");
}

static int stop_at_first(const struct spool_message *m, void *ctx)
{
    (*(int *)ctx)++;
    return 1;
}

static void scan_stops(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX];
    commit_ok(f->s, "a", id);
    commit_ok(f->s, "b", id);
    int calls = 0;
    tn_err err;
    assert_int_equal(spool_scan(f->s, stop_at_first, &calls, NULL, &err), 0);
    assert_int_equal(calls, 1);
}

/* ---- group commit ---- */

static void group_commit(void **state)
{
    struct fixture *f = *state;
    enum { N = 16 };
    static const char *const rcpts[] = {"bob@corp.test"};
    static const char *const bad_rcpts[] = {"bob@corp.test\r\nrcpt evil@x.test"};
    struct spool_writer *w[N];
    struct spool_envelope env[N];
    const struct spool_envelope *envp[N];
    char ids[N][SPOOL_ID_MAX], reserved[N][SPOOL_ID_MAX], data[N][32];
    tn_err errs[N], err;
    for (int i = 0; i < N; i++) {
        w[i] = spool_begin(f->s, &err);
        assert_non_null(w[i]);
        snprintf(reserved[i], SPOOL_ID_MAX, "%s", spool_writer_id(w[i]));
        snprintf(data[i], sizeof data[i], "message %d\r\n", i);
        assert_int_equal(spool_write(w[i], data[i], strlen(data[i]), &err), 0);
        env[i] = (struct spool_envelope){.sender = "a@b.test", .rcpts = rcpts, .n_rcpts = 1};
        envp[i] = &env[i];
    }
    env[5].rcpts = bad_rcpts; /* a forged line: refused, the others go on */
    assert_int_equal(spool_commit_many(f->s, w, envp, N, ids, errs), -1);
    for (int i = 0; i < N; i++) {
        if (i == 5) {
            assert_string_equal(ids[i], "");
            assert_non_null(strstr(errs[i].msg, "control character"));
            assert_false(file_exists(f, "incoming", reserved[i]));
            assert_false(file_exists(f, "queue", reserved[i]));
            continue;
        }
        assert_string_equal(errs[i].msg, "");
        assert_string_equal(ids[i], reserved[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
        size_t len;
        char *got = read_data(f->s, ids[i], &len);
        assert_int_equal(len, strlen(data[i]));
        assert_memory_equal(got, data[i], len);
        free(got);
    }
    assert_int_equal(count_entries(f, "queue"), N - 1);
    assert_int_equal(count_entries(f, "incoming"), 0);
}

/* ---- ids ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void ids_unique_and_ordered(void **state)
{
    struct fixture *f = *state;
    enum { N = 5000 };
    char (*ids)[SPOOL_ID_MAX] = calloc(N, SPOOL_ID_MAX);
    assert_non_null(ids);
    tn_err err;
    for (int i = 0; i < N; i++) {
        struct spool_writer *w = spool_begin(f->s, &err);
        assert_non_null(w);
        snprintf(ids[i], SPOOL_ID_MAX, "%s", spool_writer_id(w));
        spool_abort(w);
        assert_true(spool_id_valid(ids[i]));
        assert_int_equal(strlen(ids[i]), SPOOL_ID_LEN);
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0); /* strictly increasing */
    }
    qsort(ids, N, SPOOL_ID_MAX, cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    assert_int_equal(count_entries(f, "incoming"), 0); /* spool_abort removes */
    assert_false(spool_id_valid("0123456789ABCDEI")); /* I is not in the alphabet */
    assert_false(spool_id_valid("0123456789abcdef"));
    assert_false(spool_id_valid("0123456789ABCDE"));
    assert_false(spool_id_valid("0123456789ABCDEFG"));
    assert_false(spool_id_valid(NULL));
    assert_true(spool_id_valid("0123456789ABCDEF"));
}

/* An id already in the queue (a restart after the clock went back) is
 * never overwritten: the commit takes a fresh one. */
static void id_collision_takes_new_id(void **state)
{
    struct fixture *f = *state;
    char first[SPOOL_ID_MAX], id[SPOOL_ID_MAX], src[512], dst[512];
    commit_ok(f->s, "the first one", first);
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err);
    assert_non_null(w);
    assert_int_equal(spool_write(w, "the second one", 14, &err), 0);
    /* Plant a message under the id the writer reserved. */
    path_of(f, src, sizeof src, "queue/%s", first);
    path_of(f, dst, sizeof dst, "queue/%s", spool_writer_id(w));
    assert_int_equal(link(src, dst), 0);
    char taken[SPOOL_ID_MAX];
    snprintf(taken, sizeof taken, "%s", spool_writer_id(w));
    static const char *const rcpts[] = {"bob@corp.test"};
    struct spool_envelope env = {.sender = "a@b.test", .rcpts = rcpts, .n_rcpts = 1};
    assert_int_equal(spool_commit(f->s, w, &env, id, &err), 0);
    assert_string_not_equal(id, taken);
    size_t len;
    char *got = read_data(f->s, taken, &len);
    assert_memory_equal(got, "the first one", len);
    free(got);
    got = read_data(f->s, id, &len);
    assert_memory_equal(got, "the second one", len);
    free(got);
}

/* ---- limits ---- */

static void envelope_limits(void **state)
{
    struct fixture *f = *state;
    enum { MAXR = SPOOL_RCPTS_MAX };
    static char addrs[MAXR + 1][SPOOL_ADDR_MAX + 2];
    const char *rcpts[MAXR + 1];
    for (int i = 0; i <= MAXR; i++) { /* "0001xxx...": 256 octets each */
        snprintf(addrs[i], sizeof addrs[i], "%04d", i);
        memset(addrs[i] + 4, 'x', SPOOL_ADDR_MAX - 4);
        addrs[i][SPOOL_ADDR_MAX] = '\0';
        rcpts[i] = addrs[i];
    }
    char id[SPOOL_ID_MAX];
    tn_err err;
    /* 1000 recipients of 256 octets: accepted and read back */
    assert_int_equal(commit_one(f->s, addrs[0], rcpts, MAXR, "x", 1, id, &err), 0);
    struct spool_message *m;
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_int_equal(m->n_rcpts, MAXR);
    assert_string_equal(m->rcpts[MAXR - 1], addrs[MAXR - 1]);
    spool_message_free(m);
    /* one more recipient, a longer address, none, a control character */
    assert_int_equal(commit_one(f->s, "a@b", rcpts, MAXR + 1, "x", 1, id, &err), -1);
    assert_non_null(strstr(err.msg, "1001 recipients"));
    addrs[3][SPOOL_ADDR_MAX] = 'y';
    addrs[3][SPOOL_ADDR_MAX + 1] = '\0';
    assert_int_equal(commit_one(f->s, "a@b", rcpts + 3, 1, "x", 1, id, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 256"));
    assert_int_equal(commit_one(f->s, "a@b", rcpts, 0, "x", 1, id, &err), -1);
    static const char *const tab[] = {"bob\t@corp.test"};
    assert_int_equal(commit_one(f->s, "a@b", tab, 1, "x", 1, id, &err), -1);
    assert_int_equal(commit_one(f->s, "a\n@b", rcpts, 1, "x", 1, id, &err), -1);
    assert_int_equal(count_entries(f, "incoming"), 0);
    assert_int_equal(count_entries(f, "queue"), 1);
}

static void data_limit(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err);
    assert_non_null(w);
    char byte = 'x';
    /* Refused before a byte is read: the length alone is over the limit. */
    assert_int_equal(spool_write(w, &byte, (size_t)SPOOL_DATA_MAX + 1, &err), -1);
    assert_int_equal(spool_write(w, &byte, 1, &err), -1); /* the writer stays failed */
    static const char *const rcpts[] = {"bob@corp.test"};
    struct spool_envelope env = {.sender = "a@b", .rcpts = rcpts, .n_rcpts = 1};
    char id[SPOOL_ID_MAX];
    assert_int_equal(spool_commit(f->s, w, &env, id, &err), -1);
    assert_string_equal(id, "");
    assert_int_equal(count_entries(f, "incoming"), 0);
    assert_int_equal(count_entries(f, "queue"), 0);
}

/* ---- state ---- */

static void state_roundtrip(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX];
    commit_ok(f->s, "data", id);
    tn_err err;
    struct spool_message *m;
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    m->state.attempts = 3;
    m->state.last_attempt = 1764259200;
    m->state.next_attempt = 1764260100;
    snprintf(m->state.last_reason, sizeof m->state.last_reason,
             "451 4.7.0 TLS is required,\r\nbut was not offered");
    m->state.rcpts[0].status = SPOOL_RCPT_DELIVERED;
    snprintf(m->state.rcpts[0].reply, SPOOL_REPLY_MAX, "250 2.0.0 Ok: queued as 4ABC");
    snprintf(m->state.rcpts[0].remote_mta, SPOOL_HOST_MAX + 1, "mx.corp.test");
    m->state.rcpts[1].status = SPOOL_RCPT_PENDING;
    snprintf(m->state.rcpts[1].reply, SPOOL_REPLY_MAX, "451 4.7.0 TLS is required");
    snprintf(m->state.rcpts[1].remote_mta, SPOOL_HOST_MAX + 1, "evil host\nname");
    assert_int_equal(spool_update_state(f->s, id, &m->state, &err), 0);
    spool_message_free(m);
    assert_int_equal(count_entries(f, "state"), 1); /* no temporary file left */

    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_int_equal(m->state.attempts, 3);
    assert_int_equal(m->state.last_attempt, 1764259200);
    assert_int_equal(m->state.next_attempt, 1764260100);
    /* a reply stays on one line */
    assert_string_equal(m->state.last_reason, "451 4.7.0 TLS is required,  but was not offered");
    assert_int_equal(m->state.rcpts[0].status, SPOOL_RCPT_DELIVERED);
    assert_string_equal(m->state.rcpts[0].reply, "250 2.0.0 Ok: queued as 4ABC");
    assert_string_equal(m->state.rcpts[0].remote_mta, "mx.corp.test");
    assert_int_equal(m->state.rcpts[1].status, SPOOL_RCPT_PENDING);
    assert_string_equal(m->state.rcpts[1].remote_mta, "evil_host_name");
    /* a maximal reply is kept whole */
    memset(m->state.rcpts[1].reply, 'r', SPOOL_REPLY_MAX - 1);
    m->state.rcpts[1].reply[SPOOL_REPLY_MAX - 1] = '\0';
    m->state.rcpts[1].status = SPOOL_RCPT_BOUNCED;
    assert_int_equal(spool_update_state(f->s, id, &m->state, &err), 0);
    spool_message_free(m);
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_int_equal(strlen(m->state.rcpts[1].reply), SPOOL_REPLY_MAX - 1);
    assert_int_equal(m->state.rcpts[1].status, SPOOL_RCPT_BOUNCED);
    assert_string_equal(m->state.rcpts[1].remote_mta, "evil_host_name");
    spool_message_free(m);
    assert_int_equal(spool_update_state(f->s, "nonsense", &m->state, &err), -1);
}

static void remove_message(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX];
    commit_ok(f->s, "data", id);
    tn_err err;
    struct spool_message *m;
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_int_equal(spool_update_state(f->s, id, &m->state, &err), 0);
    spool_message_free(m);
    assert_true(file_exists(f, "state", id));
    assert_int_equal(spool_remove(f->s, id, &err), 0);
    assert_false(file_exists(f, "queue", id));
    assert_false(file_exists(f, "state", id));
    assert_int_equal(spool_remove(f->s, id, &err), 1);
    struct spool_data d;
    assert_int_equal(spool_open_data(f->s, id, &d, &err), 1);
}

/* An open data descriptor outlives the removal (a delivery in flight). */
static void data_survives_removal(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX];
    commit_ok(f->s, "still readable", id);
    tn_err err;
    struct spool_data d;
    assert_int_equal(spool_open_data(f->s, id, &d, &err), 0);
    assert_int_equal(spool_remove(f->s, id, &err), 0);
    char buf[32];
    assert_int_equal(pread(d.fd, buf, d.length, d.offset), 14);
    assert_memory_equal(buf, "still readable", 14);
    spool_data_close(&d);
}

/* ---- damaged and foreign files ---- */

static void truncate_copy(const struct fixture *f, const char *from_id, const char *to_id,
                          size_t cut, size_t flip)
{
    char src[512], dst[512];
    path_of(f, src, sizeof src, "queue/%s", from_id);
    path_of(f, dst, sizeof dst, "queue/%s", to_id);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    if (flip > 0)
        buf[n - flip] ^= 0x01;
    write_file(dst, buf, n - cut);
}

/* A queue with one good message and one of each kind of bad file. */
static void plant_damage(const struct fixture *f, char good[SPOOL_ID_MAX])
{
    commit_ok(f->s, "Subject: good\r\n\r\n", good);
    char path[512];
    path_of(f, path, sizeof path, "queue/README");
    write_file(path, "not a message", 13);
    truncate_copy(f, good, "0000000000000001", 10, 0);  /* cut short */
    truncate_copy(f, good, "0000000000000002", 0, 60);  /* envelope edited */
    path_of(f, path, sizeof path, "queue/0000000000000003");
    write_file(path, "", 0);                              /* empty */
    path_of(f, path, sizeof path, "queue/0000000000000004");
    assert_int_equal(symlink("/etc/passwd", path), 0);   /* a link out */
    path_of(f, path, sizeof path, "queue/0000000000000005");
    assert_int_equal(mkfifo(path, 0600), 0);             /* would block a read */
    path_of(f, path, sizeof path, "queue/0000000000000006");
    assert_int_equal(mkdir(path, 0700), 0);
    /* a trailer that claims a huge envelope */
    static const char fake[] = "xxTNQ1 0000000000000002 7fffffff 0000000000000000\n";
    path_of(f, path, sizeof path, "queue/0000000000000007");
    write_file(path, fake, sizeof fake - 1);
}

/* A scan by s sees the good message alone, and counts damaged files. */
static void expect_scan(spool *s, const char *good, size_t damaged)
{
    char seen[3][SPOOL_ID_MAX];
    memset(seen, 0, sizeof seen);
    size_t counted = 0;
    tn_err err;
    assert_int_equal(spool_scan(s, collect_ids, seen, &counted, &err), 0);
    assert_int_equal(counted, damaged);
    assert_string_equal(seen[0], good);
    assert_string_equal(seen[1], "");
}

static void damaged_files_moved_aside(void **state)
{
    struct fixture *f = *state;
    char good[SPOOL_ID_MAX];
    plant_damage(f, good);
    expect_scan(f->s, good, 8);
    assert_int_equal(count_entries(f, "queue"), 1);
    assert_int_equal(count_entries(f, "corrupt"), 8);
    assert_true(file_exists(f, "corrupt", "README"));
    assert_true(file_exists(f, "corrupt", "0000000000000002"));
    /* a second scan finds only the good one */
    expect_scan(f->s, good, 0);
    /* the same name damaged again does not overwrite the first evidence */
    truncate_copy(f, good, "0000000000000002", 5, 0);
    struct spool_message *m;
    tn_err err;
    assert_int_equal(spool_load(f->s, "0000000000000002", &m, &err), -1);
    assert_non_null(strstr(err.msg, "0000000000000002"));
    assert_true(file_exists(f, "corrupt", "0000000000000002.1"));
}

static void reader_leaves_damage_in_place(void **state)
{
    struct fixture *f = *state;
    char good[SPOOL_ID_MAX];
    plant_damage(f, good);
    tn_err err;
    spool *r = spool_open(f->spool, false, &err);
    assert_non_null(r);
    expect_scan(r, good, 8);
    assert_int_equal(count_entries(f, "queue"), 9);
    assert_int_equal(count_entries(f, "corrupt"), 0);
    spool_close(r);
}

static void damaged_state_means_pending(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX], path[512];
    commit_ok(f->s, "data", id);
    tn_err err;
    struct spool_message *m;
    const char *bad[] = {
        "trustnet-state 1\nattempts 2\nlast-attempt 5\nnext-attempt 9\nreason x\n"
        "rcpt delivered - 250 ok\n", /* cut before the end */
        "trustnet-state 1\nattempts 2\nlast-attempt 5\nnext-attempt 9\nreason x\n"
        "rcpt delivered - 250 ok\nend\n", /* one recipient of two */
        "trustnet-state 1\nattempts 99999999999\nlast-attempt 5\nnext-attempt 9\nreason\n"
        "rcpt delivered -\nrcpt pending -\nend\n",
        "trustnet-state 1\nattempts 2\nlast-attempt 5\nnext-attempt 9\nreason\n"
        "rcpt delivered -\nrcpt lost -\nend\n",
        "trustnet-state 1\nattempts 2\nlast-attempt 5\nnext-attempt 9\nreason \r\n"
        "rcpt delivered -\nrcpt pending -\nend\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path_of(f, path, sizeof path, "state/%s", id);
        write_file(path, bad[i], strlen(bad[i]));
        assert_int_equal(spool_load(f->s, id, &m, &err), 0);
        assert_int_equal(m->state.attempts, 0);
        assert_int_equal(m->state.rcpts[0].status, SPOOL_RCPT_PENDING);
        spool_message_free(m);
        assert_false(file_exists(f, "state", id));
    }
    assert_int_equal(count_entries(f, "corrupt"), sizeof bad / sizeof bad[0]);
    /* the good form of the same */
    const char *good = "trustnet-state 1\nattempts 2\nlast-attempt 5\nnext-attempt 9\nreason\n"
                       "rcpt delivered -\nrcpt pending mx.x 451 later\nend\n";
    write_file(path, good, strlen(good));
    assert_int_equal(spool_load(f->s, id, &m, &err), 0);
    assert_int_equal(m->state.attempts, 2);
    assert_int_equal(m->state.rcpts[0].status, SPOOL_RCPT_DELIVERED);
    assert_string_equal(m->state.rcpts[1].reply, "451 later");
    spool_message_free(m);
}

/* ---- leftovers of a crash ---- */

static void leftovers_cleaned_at_open(void **state)
{
    struct fixture *f = *state;
    char id[SPOOL_ID_MAX], path[512];
    commit_ok(f->s, "kept", id);
    tn_err err;
    struct spool_writer *w = spool_begin(f->s, &err); /* a message being received */
    assert_non_null(w);
    assert_int_equal(spool_write(w, "half", 4, &err), 0);
    path_of(f, path, sizeof path, "state/%s.tmp", id);
    write_file(path, "trustnet-state 1\n", 17);
    path_of(f, path, sizeof path, "state/0000000000000009");        /* orphan */
    write_file(path, "x", 1);
    path_of(f, path, sizeof path, "state/notes.txt");               /* foreign */
    write_file(path, "x", 1);
    /* the "crash": the server goes away without cleaning */
    spool_close(f->s);
    free(w); /* (its descriptor leaks in this test, like in a crash) */
    f->s = spool_open(f->spool, true, &err);
    assert_non_null(f->s);
    assert_int_equal(count_entries(f, "incoming"), 0);
    assert_int_equal(count_entries(f, "state"), 0);
    assert_true(file_exists(f, "corrupt", "notes.txt.state"));
    assert_true(file_exists(f, "queue", id));
}

/* ---- the lock ---- */

static void second_server_refused(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    time_t t0 = time(NULL);
    assert_null(spool_open(f->spool, true, &err));
    assert_true(time(NULL) - t0 <= 3); /* waits about a second, not forever */
    assert_non_null(strstr(err.msg, "in use"));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));
    spool *r = spool_open(f->spool, false, &err);
    assert_non_null(r);
    long holder = 0;
    assert_int_equal(spool_lock_try(r, &holder, &err), 0);
    assert_int_equal(holder, (long)getpid());
    assert_false(spool_locked(r));
    spool_close(f->s); /* the server stops: a command may act alone */
    f->s = NULL;
    assert_int_equal(spool_lock_try(r, &holder, &err), 1);
    assert_true(spool_locked(r));
    f->s = r;
}

/* ---- operator requests ---- */

struct poster {
    spool *s;
    struct spool_request req;
    int rc;
};

static void *post_thread(void *arg)
{
    struct poster *p = arg;
    tn_err err;
    p->rc = spool_post_request(p->s, &p->req, 5000, &err);
    return NULL;
}

static void control_requests(void **state)
{
    struct fixture *f = *state;
    tn_err err;
    spool *cli = spool_open(f->spool, false, &err);
    assert_non_null(cli);
    struct poster p1 = {.s = cli, .req = {.kind = SPOOL_REQUEST_FLUSH}, .rc = -9};
    struct poster p2 = {.s = cli, .req = {.kind = SPOOL_REQUEST_DELETE}, .rc = -9};
    snprintf(p2.req.id, sizeof p2.req.id, "0123456789ABCDEF");
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, post_thread, &p1), 0);
    assert_int_equal(pthread_create(&t2, NULL, post_thread, &p2), 0);
    char path[512];
    path_of(f, path, sizeof path, "control/garbage");
    write_file(path, "", 0);
    struct spool_request reqs[4];
    size_t got = 0, n;
    bool flush = false, del = false;
    for (int i = 0; i < 250 && !(flush && del); i++) {
        assert_int_equal(spool_take_requests(f->s, reqs, 4, &n, &err), 0);
        for (size_t j = 0; j < n; j++) {
            flush |= reqs[j].kind == SPOOL_REQUEST_FLUSH;
            if (reqs[j].kind == SPOOL_REQUEST_DELETE) {
                assert_string_equal(reqs[j].id, "0123456789ABCDEF");
                del = true;
            }
        }
        got += n;
        usleep(10000);
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_true(flush && del);
    assert_int_equal(got, 2);
    assert_int_equal(p1.rc, 0);
    assert_int_equal(p2.rc, 0);
    assert_int_equal(count_entries(f, "control"), 0); /* the garbage too */
    /* nobody takes it: withdrawn after the timeout */
    assert_int_equal(spool_post_request(cli, &p1.req, 100, &err), 1);
    assert_non_null(strstr(err.msg, "withdrawn"));
    assert_int_equal(count_entries(f, "control"), 0);
    struct spool_request bad = {.kind = SPOOL_REQUEST_DELETE};
    snprintf(bad.id, sizeof bad.id, "../../etc/passwd");
    assert_int_equal(spool_post_request(cli, &bad, 100, &err), -1);
    /* at most max at a time */
    path_of(f, path, sizeof path, "control/flush");
    write_file(path, "", 0);
    path_of(f, path, sizeof path, "control/delete.0123456789ABCDEF");
    write_file(path, "", 0);
    assert_int_equal(spool_take_requests(f->s, reqs, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(spool_take_requests(f->s, reqs, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(spool_take_requests(f->s, reqs, 1, &n, &err), 0);
    assert_int_equal(n, 0);
    spool_close(cli);
}

/* ---- crashes ---- */

#define CRASH_ROUNDS 8

/* The data of test message seq: a header naming it, then a pattern. */
static size_t crash_size(unsigned seq)
{
    return 64 + (seq * 7919u) % 150000u;
}

static void crash_fill(unsigned seq, char *buf, size_t len)
{
    int n = snprintf(buf, len, "X-Seq: %08u\r\n\r\n", seq);
    for (size_t i = (size_t)n; i < len; i++)
        buf[i] = (char)('a' + (seq + i * 7) % 26);
}

/* The child: commit batches of 1..8 messages forever; after each commit
 * returns, write "ID SEQ" lines for the committed ones to fd. */
static void crash_child(const char *dir, int fd, unsigned round)
{
    tn_err err;
    spool *s = spool_open(dir, true, &err);
    if (s == NULL)
        _exit(3);
    static char buf[160000];
    unsigned seq = round * 100000u;
    srand(round);
    for (;;) {
        struct spool_writer *w[8];
        struct spool_envelope env[8];
        const struct spool_envelope *envp[8];
        char rcpt[8][32], ids[8][SPOOL_ID_MAX];
        const char *rcpts[8][1];
        tn_err errs[8];
        size_t n = 1 + (size_t)rand() % 8;
        for (size_t i = 0; i < n; i++, seq++) {
            if ((w[i] = spool_begin(s, &err)) == NULL)
                _exit(4);
            size_t len = crash_size(seq);
            crash_fill(seq, buf, len);
            if (spool_write(w[i], buf, len, &err) < 0)
                _exit(5);
            snprintf(rcpt[i], sizeof rcpt[i], "seq%u@crash.test", seq);
            rcpts[i][0] = rcpt[i];
            env[i] = (struct spool_envelope){.sender = "c@crash.test", .rcpts = rcpts[i],
                                             .n_rcpts = 1};
            envp[i] = &env[i];
        }
        if (spool_commit_many(s, w, envp, n, ids, errs) < 0)
            _exit(6);
        char line[64 * 8];
        size_t used = 0;
        for (size_t i = 0; i < n; i++)
            used += (size_t)snprintf(line + used, sizeof line - used, "%s %u\n", ids[i],
                                     seq - (unsigned)n + (unsigned)i);
        if (write(fd, line, used) != (ssize_t)used)
            _exit(7);
    }
}

struct acked {
    char id[SPOOL_ID_MAX];
    unsigned seq;
};

static size_t read_acks(int fd, char *pending, size_t *plen, struct acked *out, size_t n,
                        size_t max)
{
    for (;;) {
        ssize_t r = read(fd, pending + *plen, 4096 - *plen);
        if (r <= 0)
            break;
        *plen += (size_t)r;
        char *nl;
        while ((nl = memchr(pending, '\n', *plen)) != NULL) {
            *nl = '\0';
            if (n < max && sscanf(pending, "%16s %u", out[n].id, &out[n].seq) == 2)
                n++;
            size_t used = (size_t)(nl - pending) + 1;
            memmove(pending, nl + 1, *plen - used);
            *plen -= used;
        }
    }
    return n;
}

static void check_acked(spool *s, const struct acked *a)
{
    tn_err err;
    struct spool_message *m;
    if (spool_load(s, a->id, &m, &err) != 0)
        fail_msg("acknowledged %s (seq %u) is lost: %s", a->id, a->seq, err.msg);
    char want[32];
    snprintf(want, sizeof want, "seq%u@crash.test", a->seq);
    assert_string_equal(m->rcpts[0], want);
    assert_int_equal(m->size, crash_size(a->seq));
    spool_message_free(m);
    size_t len;
    char *got = read_data(s, a->id, &len);
    char *exp = malloc(len);
    assert_non_null(exp);
    crash_fill(a->seq, exp, len);
    assert_memory_equal(got, exp, len);
    free(exp);
    free(got);
}

static int count_cb(const struct spool_message *m, void *ctx)
{
    (*(size_t *)ctx)++;
    return 0;
}

static void crash_loses_nothing_acknowledged(void **state)
{
    struct fixture *f = *state;
    spool_close(f->s); /* the children are the servers */
    f->s = NULL;
    enum { MAX_ACKS = 20000 };
    struct acked *acks = calloc(MAX_ACKS, sizeof *acks);
    assert_non_null(acks);
    size_t n = 0;
    srand((unsigned)time(NULL));
    for (unsigned round = 0; round < CRASH_ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(f->spool, p[1], round + 1);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        char pending[4096];
        size_t plen = 0;
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long run_ms = 100 + rand() % 400; /* kill at a random moment */
        for (;;) {
            struct pollfd pfd = {.fd = p[0], .events = POLLIN};
            poll(&pfd, 1, 10);
            n = read_acks(p[0], pending, &plen, acks, n, MAX_ACKS);
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > run_ms)
                break;
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status)); /* not an early exit of its own */
        n = read_acks(p[0], pending, &plen, acks, n, MAX_ACKS);
        close(p[0]);
    }
    assert_true(n > CRASH_ROUNDS); /* the children got work done */
    tn_err err;
    f->s = spool_open(f->spool, true, &err);
    assert_non_null(f->s);
    for (size_t i = 0; i < n; i++)
        check_acked(f->s, &acks[i]);
    /* Nothing half-written is visible: every file in queue/ is whole (the
     * unacknowledged ones too, committed just before a kill). */
    size_t seen = 0, damaged = 0;
    assert_int_equal(spool_scan(f->s, count_cb, &seen, &damaged, &err), 0);
    assert_int_equal(damaged, 0);
    assert_true(seen >= n);
    assert_int_equal(count_entries(f, "incoming"), 0);
    print_message("# %zu acknowledged messages over %d kills, %zu in the queue\n", n,
                  CRASH_ROUNDS, seen);
    free(acks);
}

/* ---- cost of a commit ---- */

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { COST_ROUNDS = 31, COST_BATCH = 16 };

/* One round: n messages of 4 KiB begun, written and committed together. */
static double commit_round(spool *s, int n)
{
    static const char *const rcpts[] = {"bob@corp.test"};
    static char data[4096];
    memset(data, 'm', sizeof data);
    struct spool_envelope env = {.sender = "a@b.test", .rcpts = rcpts, .n_rcpts = 1};
    const struct spool_envelope *envp[COST_BATCH];
    struct spool_writer *w[COST_BATCH];
    char ids[COST_BATCH][SPOOL_ID_MAX];
    tn_err err, errs[COST_BATCH];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        envp[i] = &env;
        w[i] = spool_begin(s, &err);
        assert_non_null(w[i]);
        assert_int_equal(spool_write(w[i], data, sizeof data, &err), 0);
    }
    assert_int_equal(spool_commit_many(s, w, envp, (size_t)n, ids, errs), 0);
    return ms_since(&t0);
}

/* Not an assertion on speed (disks differ, and this one may be shared):
 * prints the median cost of committing one message, and a batch of 16,
 * rounds interleaved so that both see the same load. */
static void commit_cost(void **state)
{
    struct fixture *f = *state;
    double one[COST_ROUNDS], batch[COST_ROUNDS];
    for (int r = 0; r < COST_ROUNDS; r++) {
        one[r] = commit_round(f->s, 1);
        batch[r] = commit_round(f->s, COST_BATCH);
    }
    qsort(one, COST_ROUNDS, sizeof one[0], cmp_double);
    qsort(batch, COST_ROUNDS, sizeof batch[0], cmp_double);
    print_message("# median commit of one 4 KiB message: %.2f ms; of a batch of %d: %.2f ms "
                  "(%.2f ms a message)\n", one[COST_ROUNDS / 2], COST_BATCH,
                  batch[COST_ROUNDS / 2], batch[COST_ROUNDS / 2] / COST_BATCH);
}

int main(void)
{
    tn_log_set_level(TN_LOG_ERROR); /* the damage the tests plant is logged as warnings */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(layout_created_private, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_needs_existing_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_load_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(null_sender_and_empty_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(large_and_small_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(scan_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(scan_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(ids_unique_and_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(id_collision_takes_new_id, setup, teardown),
        cmocka_unit_test_setup_teardown(envelope_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(data_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(state_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_message, setup, teardown),
        cmocka_unit_test_setup_teardown(data_survives_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_files_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_leaves_damage_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_state_means_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(leftovers_cleaned_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(second_server_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(control_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_loses_nothing_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(commit_cost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
