/* spool_tool - prepares and serves mail spools for tests/integration/
 * mail_cli.sh (src/mail/spool.h).
 *
 *   spool_tool add DIR --from ADDR --to ADDR [--to ADDR]... [--arrival T]
 *              [--attempts N] [--next T] [--reason TEXT]
 *              [--delivered I] [--reply I TEXT]   < DATA
 *       commit DATA as a message and print its id; the options set its
 *       state (recipient I counts from 0)
 *   spool_tool state DIR ID
 *       print "attempts N next T pending N" of a message
 *   spool_tool serve DIR
 *       hold the lock like a server and act on requests: flush makes
 *       every message due, delete removes it; prints "ready", then one
 *       line per request taken; runs until killed
 *   spool_tool hold DIR
 *       hold the lock and never take a request (a hung server)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"
#include "mail/spool.h"

#define MAX_RCPTS 16

static int die(const char *what, const tn_err *err)
{
    fprintf(stderr, "spool_tool: %s: %s\n", what, err != NULL ? err->msg : "");
    return 1;
}

struct add_opts {
    const char *from;
    const char *to[MAX_RCPTS];
    size_t n_to;
    struct spool_state st;
    struct spool_rcpt_state rcpts[MAX_RCPTS];
    int64_t arrival;
    bool with_state;
};

static int parse_add(int argc, char **argv, struct add_opts *a)
{
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        bool has1 = i + 1 < argc, has2 = i + 2 < argc;
        if (strcmp(o, "--from") == 0 && has1) {
            a->from = argv[++i];
        } else if (strcmp(o, "--to") == 0 && has1 && a->n_to < MAX_RCPTS) {
            a->to[a->n_to++] = argv[++i];
        } else if (strcmp(o, "--arrival") == 0 && has1) {
            a->arrival = atoll(argv[++i]);
        } else if (strcmp(o, "--attempts") == 0 && has1) {
            a->st.attempts = (unsigned)atoi(argv[++i]);
            a->with_state = true;
        } else if (strcmp(o, "--next") == 0 && has1) {
            a->st.next_attempt = atoll(argv[++i]);
            a->with_state = true;
        } else if (strcmp(o, "--reason") == 0 && has1) {
            tn_strlcpy(a->st.last_reason, argv[++i], sizeof a->st.last_reason);
            a->with_state = true;
        } else if (strcmp(o, "--delivered") == 0 && has1) {
            a->rcpts[atoi(argv[++i]) % MAX_RCPTS].status = SPOOL_RCPT_DELIVERED;
            a->with_state = true;
        } else if (strcmp(o, "--reply") == 0 && has2) {
            int r = atoi(argv[++i]) % MAX_RCPTS;
            tn_strlcpy(a->rcpts[r].reply, argv[++i], sizeof a->rcpts[r].reply);
            a->with_state = true;
        } else {
            fprintf(stderr, "spool_tool add: bad option '%s'\n", o);
            return -1;
        }
    }
    return a->from != NULL && a->n_to > 0 ? 0 : -1;
}

static int write_stdin(struct spool_writer *w, tn_err *err)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
        if (spool_write(w, buf, (size_t)n, err) < 0)
            return -1;
    return n < 0 ? tn_errf(err, "cannot read standard input") : 0;
}

static int cmd_add(const char *dir, int argc, char **argv)
{
    struct add_opts a;
    memset(&a, 0, sizeof a);
    if (parse_add(argc, argv, &a) < 0)
        return 2;
    tn_err err;
    spool *s = spool_open(dir, true, &err);
    if (s == NULL)
        return die("open", &err);
    struct spool_writer *w = spool_begin(s, &err);
    if (w == NULL || write_stdin(w, &err) < 0)
        return die("write", &err);
    struct spool_envelope env = {.arrival = a.arrival, .sender = a.from, .rcpts = a.to,
                                 .n_rcpts = a.n_to, .client = "192.0.2.7",
                                 .helo = "client.test", .tls = "TLSv1.3"};
    char id[SPOOL_ID_MAX];
    if (spool_commit(s, w, &env, id, &err) < 0)
        return die("commit", &err);
    a.st.n_rcpts = a.n_to;
    a.st.rcpts = a.rcpts;
    if (a.with_state && spool_update_state(s, id, &a.st, &err) < 0)
        return die("state", &err);
    printf("%s\n", id);
    spool_close(s);
    return 0;
}

static int cmd_state(const char *dir, const char *id)
{
    tn_err err;
    spool *s = spool_open(dir, false, &err);
    if (s == NULL)
        return die("open", &err);
    struct spool_message *m;
    if (spool_load(s, id, &m, &err) != 0)
        return die("load", &err);
    size_t pending = 0;
    for (size_t i = 0; i < m->n_rcpts; i++)
        pending += m->state.rcpts[i].status == SPOOL_RCPT_PENDING;
    printf("attempts %u next %lld pending %zu\n", m->state.attempts,
           (long long)m->state.next_attempt, pending);
    spool_message_free(m);
    spool_close(s);
    return 0;
}

static int make_due(const struct spool_message *m, void *ctx)
{
    struct spool_state st = m->state;
    tn_err err;
    st.next_attempt = 0;
    spool_update_state(ctx, m->id, &st, &err);
    return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

static void act(spool *s, const struct spool_request *r)
{
    tn_err err;
    if (r->kind == SPOOL_REQUEST_FLUSH) {
        spool_scan(s, make_due, s, NULL, &err);
        printf("flush\n");
    } else {
        int rc = spool_remove(s, r->id, &err);
        printf("delete %s %s\n", r->id, rc == 0 ? "removed" : "unknown");
    }
    fflush(stdout);
}

static int cmd_serve(const char *dir, bool take)
{
    tn_err err;
    spool *s = spool_open(dir, true, &err);
    if (s == NULL)
        return die("open", &err);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        struct spool_request reqs[8];
        size_t n = 0;
        if (take && spool_take_requests(s, reqs, 8, &n, &err) < 0)
            return die("requests", &err);
        for (size_t i = 0; i < n; i++)
            act(s, &reqs[i]);
        usleep(20000);
    }
    spool_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spool_tool add|state|serve|hold DIR ...\n");
        return 2;
    }
    if (strcmp(argv[1], "add") == 0)
        return cmd_add(argv[2], argc - 3, argv + 3);
    if (strcmp(argv[1], "state") == 0 && argc == 4)
        return cmd_state(argv[2], argv[3]);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argv[2], true);
    if (strcmp(argv[1], "hold") == 0)
        return cmd_serve(argv[2], false);
    fprintf(stderr, "spool_tool: unknown command '%s'\n", argv[1]);
    return 2;
}
