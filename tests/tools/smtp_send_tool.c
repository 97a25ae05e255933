/*
 * smtp_send_tool - delivers one file through the SMTP delivery client
 * (src/smtp/smtp_client.h) to one next hop, as a delivery thread of the
 * queue manager would: open the session (once more in plaintext when an
 * opportunistic handshake failed), send, log one line per attempt.
 *
 * usage: smtp_send_tool --connect IP:PORT --to ADDR [--to ADDR]... [options] FILE
 *   --host NAME         next hop name (SNI, verification, logs; default IP)
 *   --policy P          opportunistic (default), internal or connector
 *   --policy-name TEXT  the policy's name in the log
 *   --ca FILE           trust store (default: the system roots)
 *   --cert F --key F    our certificate (mutual TLS)
 *   --name NAME         expected certificate name (default: --host for
 *                       internal; none for a connector)
 *   --wildcard          the certificate may be *.domain (connector)
 *   --from ADDR         sender (default sender@client.test; "" for <>)
 *   --helo NAME         our EHLO name (default client.test)
 *   --count N           send the message N times over one session
 *   --timeout MS        per reply/write (default 10000)
 *   --8bit              the message is 8-bit (BODY=8BITMIME if offered)
 *   --advisory-tls      (tests only) make the TLS configuration advisory
 *                       whatever the policy: forced policies must still
 *                       refuse an unverified peer on their own
 *
 * stdout: one line per recipient and message, "rcpt=ADDR status=sent|
 * deferred|bounced code=N enhanced=X text=..."; stderr: the log lines.
 * Exit 0 when everything was sent, 1 when something was deferred, 2 when
 * something bounced (and nothing deferred), 3 for usage or setup errors.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "net/net_connect.h"
#include "smtp/smtp_client.h"

#define MAX_TO 64

struct opts {
    const char *connect, *host, *policy_name, *ca, *cert, *key, *name, *from, *helo, *file;
    const char *to[MAX_TO];
    size_t n_to;
    enum smtp_tls_policy policy;
    bool wildcard, eight_bit, advisory;
    int count, timeout_ms;
};

static int usage(const char *why)
{
    fprintf(stderr, "smtp_send_tool: %s\n", why);
    return 3;
}

static int parse_policy(const char *p, enum smtp_tls_policy *out)
{
    if (strcmp(p, "opportunistic") == 0)
        *out = SMTP_TLS_OPPORTUNISTIC;
    else if (strcmp(p, "internal") == 0)
        *out = SMTP_TLS_INTERNAL;
    else if (strcmp(p, "connector") == 0)
        *out = SMTP_TLS_CONNECTOR;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"connect", 1, 0, 'c'}, {"host", 1, 0, 'H'}, {"policy", 1, 0, 'p'},
        {"policy-name", 1, 0, 'P'}, {"ca", 1, 0, 'a'}, {"cert", 1, 0, 'C'},
        {"key", 1, 0, 'k'}, {"name", 1, 0, 'n'}, {"wildcard", 0, 0, 'w'},
        {"from", 1, 0, 'f'}, {"to", 1, 0, 't'}, {"helo", 1, 0, 'e'},
        {"count", 1, 0, 'N'}, {"timeout", 1, 0, 'T'}, {"8bit", 0, 0, '8'},
        {"advisory-tls", 0, 0, 'A'}, {0, 0, 0, 0}};
    *o = (struct opts){.from = "sender@client.test", .helo = "client.test", .count = 1,
                       .timeout_ms = 10000};
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'c': o->connect = optarg; break;
        case 'H': o->host = optarg; break;
        case 'p':
            if (parse_policy(optarg, &o->policy) < 0)
                return usage("--policy: opportunistic, internal or connector");
            break;
        case 'P': o->policy_name = optarg; break;
        case 'a': o->ca = optarg; break;
        case 'C': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'n': o->name = optarg; break;
        case 'w': o->wildcard = true; break;
        case 'f': o->from = optarg; break;
        case 't':
            if (o->n_to == MAX_TO)
                return usage("too many --to");
            o->to[o->n_to++] = optarg;
            break;
        case 'e': o->helo = optarg; break;
        case 'N': o->count = atoi(optarg); break;
        case 'T': o->timeout_ms = atoi(optarg); break;
        case '8': o->eight_bit = true; break;
        case 'A': o->advisory = true; break;
        default: return usage("unknown option");
        }
    }
    if (optind + 1 != argc || o->connect == NULL || o->n_to == 0 || o->count < 1)
        return usage("need --connect IP:PORT, --to ADDR and one FILE");
    o->file = argv[optind];
    return 0;
}

static int make_hop(const struct opts *o, struct smtp_hop *hop, char *host, size_t hostlen)
{
    char port[8];
    tn_err err;
    if (net_split_host_port(o->connect, host, hostlen, port, sizeof port, &err) < 0)
        return usage(err.msg);
    memset(hop, 0, sizeof *hop);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&hop->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&hop->addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)atoi(port));
        hop->addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)atoi(port));
        hop->addrlen = sizeof *v6;
    } else {
        return usage("--connect takes an IP address");
    }
    hop->host = o->host ? o->host : host;
    hop->helo_name = o->helo;
    hop->policy = o->policy;
    hop->policy_name = o->policy_name;
    hop->timeout_ms = o->timeout_ms;
    hop->expect.name = o->name ? o->name : o->policy == SMTP_TLS_CONNECTOR ? NULL : hop->host;
    hop->expect.rules = o->wildcard ? TLS_NAME_WILDCARD : TLS_NAME_EXACT;
    hop->expect.role = TLS_PEER_SERVER;
    return 0;
}

static void log_attempt(const struct smtp_delivery_log *log)
{
    char line[SMTP_LOG_LINE_MAX];
    smtp_delivery_log_format(log, line, sizeof line);
    tn_log(TN_LOG_INFO, "smtp", "%s", line);
}

static const char *status_word(enum smtp_status st)
{
    return st == SMTP_STATUS_OK ? "sent" : st == SMTP_STATUS_PERMANENT ? "bounced" : "deferred";
}

/* Open (and for opportunistic TLS, once more in plaintext). */
static struct smtp_session *open_session(struct smtp_hop *hop, const struct opts *o)
{
    struct smtp_delivery_log log;
    struct smtp_session *s;
    tn_err err;
    enum smtp_status st = smtp_session_open(hop, &s, &log, &err);
    if (st == SMTP_STATUS_RETRY_PLAINTEXT) {
        smtp_delivery_log_recipients(&log, o->to, o->n_to);
        log_attempt(&log);
        hop->plaintext_retry = true;
        st = smtp_session_open(hop, &s, &log, &err);
    }
    if (st != SMTP_STATUS_OK) {
        smtp_delivery_log_recipients(&log, o->to, o->n_to);
        log_attempt(&log);
        for (size_t i = 0; i < o->n_to; i++)
            printf("rcpt=%s status=deferred code=0 enhanced=4.4.1 text=%s\n", o->to[i], err.msg);
        return NULL;
    }
    return s;
}

/* Send the message count times; returns the worst outcome seen. */
static int deliver(struct smtp_session *s, const struct opts *o,
                   const struct smtp_message_source *msg)
{
    int worst = 0;
    struct smtp_rcpt_result results[MAX_TO];
    for (int k = 0; k < o->count; k++) {
        struct smtp_delivery_log log;
        tn_err err;
        smtp_session_send(s, o->from, o->to, o->n_to, msg, results, &log, &err);
        log_attempt(&log);
        for (size_t i = 0; i < o->n_to; i++) {
            const struct smtp_rcpt_result *r = &results[i];
            printf("rcpt=%s status=%s code=%d enhanced=%s text=%s\n", o->to[i],
                   status_word(r->status), r->code, r->enhanced[0] ? r->enhanced : "-", r->text);
            int rank = r->status == SMTP_STATUS_TEMPORARY ? 1
                       : r->status == SMTP_STATUS_PERMANENT ? 2 : 0;
            if (rank == 1 || (rank == 2 && worst == 0))
                worst = rank;
        }
        if (k + 1 < o->count && !smtp_session_reusable(s)) {
            fprintf(stderr, "smtp_send_tool: session not reusable after message %d\n", k + 1);
            return 1;
        }
    }
    return worst;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct smtp_hop hop;
    char host[256];
    tn_err err;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &o) != 0 || make_hop(&o, &hop, host, sizeof host) != 0)
        return 3;
    int fd = open(o.file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return usage("cannot open the message file");
    tls_trust *trust = o.ca ? tls_trust_new("smtp", o.ca, NULL, 0, &err)
                            : tls_trust_new_system("system roots", &err);
    tls_config *cfg = trust ? smtp_client_tls_config(o.policy, trust, o.cert, o.key, &err) : NULL;
    if (cfg == NULL) {
        tls_trust_free(trust);
        close(fd);
        return usage(err.msg);
    }
    if (o.advisory)
        tls_config_set_verify_advisory(cfg, true);
    hop.tls = cfg;
    struct smtp_message_source msg = {.fd = fd, .length = (uint64_t)st.st_size,
                                      .eight_bit = o.eight_bit};
    int rc = 1;
    struct smtp_session *s = open_session(&hop, &o);
    if (s != NULL) {
        rc = deliver(s, &o, &msg);
        smtp_session_close(s);
    }
    tls_config_free(cfg);
    tls_trust_free(trust);
    close(fd);
    return rc;
}
