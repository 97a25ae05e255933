/* cmd_user.c - "trustnet user": SIP users' digest credentials in the store.
 * Parses and checks arguments (bad usage exits 2 with one line on stderr),
 * reads the password without echoing it, then calls src/store/store.h. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cmd_user_help.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/str.h"
#include "pki/ca_names.h"
#include "store/store.h"
#include "topology/topology.h"

/* What the command line gave; the store path is derived from it by
 * resolve_store_path() (later also from --topology FILE). */
struct user_opts {
    const char *sub;           /* "add", "del", ... for messages */
    const char *store;         /* --store FILE */
    const char *topology;      /* --topology FILE: its store */
    const char *password_file; /* --password-file FILE */
    const char *address;       /* the positional ADDRESS */
};

struct address {
    char user[STORE_USER_MAX + 1];
    char domain[STORE_DOMAIN_MAX + 1];
};

/* ---- messages ---- */

#define usage_error(sub, ...) cli_usage_error("user", (sub), __VA_ARGS__)
#define failed(sub, err) cli_failed("user", (sub), (err))

/* ---- options ---- */

enum { OPT_STORE = 1, OPT_PASSWORD_FILE, OPT_TOPOLOGY };

/* Parse argv into o.  with_address: one positional ADDRESS is required;
 * with_password: --password-file is allowed.  Returns 0, TN_EXIT_USAGE
 * after printing the error, or -1 when --help was printed. */
static int parse_options(int argc, char **argv, struct user_opts *o, bool with_address,
                         bool with_password, const char *help)
{
    static const struct option all[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0; /* 0 resets glibc's getopt state completely */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", all, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (c == ':')
            return usage_error(o->sub, "option %s needs a value", argv[optind - 1]);
        if (c == '?')
            return usage_error(o->sub, "unknown option '%s'", argv[optind - 1]);
        if (c == OPT_PASSWORD_FILE && !with_password)
            return usage_error(o->sub, "option --password-file is not for this subcommand");
        if (strncmp(optarg, "--", 2) == 0)
            return usage_error(o->sub, "option %s needs a value (got '%s')",
                               argv[optind - 2], optarg);
        if (c == OPT_STORE)
            o->store = optarg;
        else if (c == OPT_TOPOLOGY)
            o->topology = optarg;
        else
            o->password_file = optarg;
    }
    if (with_address) {
        if (optind >= argc)
            return usage_error(o->sub, "missing ADDRESS (user@domain)");
        o->address = argv[optind++];
    }
    if (optind < argc)
        return usage_error(o->sub, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* The one place that decides which store file a command uses. */
static int resolve_store_path(const struct user_opts *o, char *out, size_t outlen,
                              tn_err *err)
{
    if ((o->store == NULL) == (o->topology == NULL))
        return tn_errf(err, "give either --store FILE or --topology FILE");
    if (o->store != NULL) {
        if (o->store[0] == '\0' || tn_strlcpy(out, o->store, outlen) < 0)
            return tn_errf(err, "bad store path");
        return 0;
    }
    struct topology *topo = NULL;
    if (topology_load(o->topology, &topo, NULL, err) < 0)
        return -1;
    int rc = 0;
    if (topo->store.path == NULL)
        rc = tn_errf(err, "%s names no store", o->topology);
    else if (tn_strlcpy(out, topo->store.path, outlen) < 0)
        rc = tn_errf(err, "store path too long");
    topology_free(topo);
    return rc;
}

/* ---- addresses ---- */

static bool is_unreserved(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-_.!~*'()", c) != NULL);
}

static bool is_hexdig(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3261 user part, restricted to unreserved characters and escapes. */
static int check_user_part(const char *user, size_t len, tn_err *err)
{
    if (len == 0)
        return tn_errf(err, "the user part is empty");
    if (len > STORE_USER_MAX)
        return tn_errf(err, "the user part is longer than %d characters", STORE_USER_MAX);
    for (size_t i = 0; i < len; i++) {
        if (user[i] == '%' && i + 2 < len && is_hexdig(user[i + 1]) &&
            is_hexdig(user[i + 2])) {
            i += 2;
            continue;
        }
        if (!is_unreserved(user[i]))
            return tn_errf(err, "the user part may hold letters, digits, -_.!~*'() and "
                                "%%HH escapes only");
    }
    return 0;
}

static int parse_address(const char *text, struct address *a, tn_err *err)
{
    tn_err why;
    const char *at = strchr(text, '@');
    if (at == NULL)
        return tn_errf(err, "bad address '%s': expected user@domain", text);
    size_t ulen = (size_t)(at - text);
    const char *domain = at + 1;
    if (check_user_part(text, ulen, &why) < 0)
        return tn_errf(err, "bad address '%s': %s", text, why.msg);
    if (strchr(domain, '*') != NULL || ca_check_dns_name(domain, &why) < 0 ||
        tn_strlcpy(a->domain, domain, sizeof a->domain) < 0)
        return tn_errf(err, "bad address '%s': the domain is not a DNS name", text);
    memcpy(a->user, text, ulen);
    a->user[ulen] = '\0';
    for (char *p = a->domain; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* ---- passwords ---- */

#define PASSWORD_BUF (STORE_PASSWORD_MAX + 2)

enum line_result { LINE_OK, LINE_EMPTY, LINE_TOO_LONG, LINE_BAD };

/* One line from f into buf (PASSWORD_BUF bytes), without its "\n" or
 * "\r\n".  A NUL byte makes it LINE_BAD. */
static enum line_result read_line(FILE *f, char *buf)
{
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            return LINE_BAD;
        if (n + 1 >= PASSWORD_BUF)
            return LINE_TOO_LONG;
        buf[n++] = (char)ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n > STORE_PASSWORD_MAX)
        return LINE_TOO_LONG;
    return n == 0 ? LINE_EMPTY : LINE_OK;
}

static int line_error(const char *sub, enum line_result r, const char *from)
{
    if (r == LINE_EMPTY)
        return usage_error(sub, "empty password (from %s)", from);
    if (r == LINE_TOO_LONG)
        return usage_error(sub, "password longer than %d bytes (from %s)",
                           STORE_PASSWORD_MAX, from);
    return usage_error(sub, "password holds a NUL byte (from %s)", from);
}

static struct termios saved_tty;

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void restore_tty_and_exit(int sig)
{
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    if (write(STDERR_FILENO, "\n", 1) < 0) {
        /* nothing more to do on the way out */
    }
    _exit(128 + sig);
}

static enum line_result prompt_once(const char *prompt, char *buf)
{
    /* Echo goes off before the prompt shows, so nothing typed after it
     * can be echoed. */
    struct termios quiet = saved_tty;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    fputs(prompt, stderr);
    fflush(stderr);
    enum line_result r = read_line(stdin, buf);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    fputs("\n", stderr);
    return r;
}

/* Ask twice on the terminal.  Returns 0, or the exit status. */
static int prompt_password(const struct user_opts *o, const struct address *a, char *buf)
{
    char again[PASSWORD_BUF], prompt[STORE_AOR_MAX + 32];
    if (tcgetattr(STDIN_FILENO, &saved_tty) < 0) {
        fprintf(stderr, "trustnet user %s: cannot read the terminal: %s\n", o->sub,
                strerror(errno));
        return TN_EXIT_USAGE;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_tty_and_exit;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    snprintf(prompt, sizeof prompt, "Password for %s@%s: ", a->user, a->domain);
    enum line_result r = prompt_once(prompt, buf);
    int rc = 0;
    if (r != LINE_OK) {
        rc = line_error(o->sub, r, "the terminal");
    } else {
        r = prompt_once("Again: ", again);
        if (r != LINE_OK || strcmp(buf, again) != 0) {
            fprintf(stderr, "trustnet user %s: the passwords do not match\n", o->sub);
            rc = TN_EXIT_REFUSED;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}

/* The password into buf (PASSWORD_BUF bytes).  Returns 0 or the exit status. */
static int read_password(const struct user_opts *o, const struct address *a, char *buf)
{
    if (o->password_file != NULL) {
        FILE *f = fopen(o->password_file, "r");
        if (f == NULL)
            return usage_error(o->sub, "cannot read password file %s: %s", o->password_file,
                               strerror(errno));
        enum line_result r = read_line(f, buf);
        fclose(f);
        return r == LINE_OK ? 0 : line_error(o->sub, r, o->password_file);
    }
    if (!isatty(STDIN_FILENO)) {
        enum line_result r = read_line(stdin, buf);
        return r == LINE_OK ? 0 : line_error(o->sub, r, "standard input");
    }
    return prompt_password(o, a, buf);
}

/* ---- the store ---- */

#define STORE_PATH_BUF 4096

/* The store path into path (STORE_PATH_BUF); 0 or the exit status. */
static int store_path(const struct user_opts *o, char *path)
{
    tn_err err;
    if (resolve_store_path(o, path, STORE_PATH_BUF, &err) < 0)
        return usage_error(o->sub, "%s", err.msg);
    return 0;
}

/* Open the store at path; must_exist for all but add.  NULL after
 * printing why. */
static store *open_store(const struct user_opts *o, const char *path, bool must_exist)
{
    tn_err err;
    struct stat st;
    if (must_exist && stat(path, &st) < 0) {
        fprintf(stderr, "trustnet user %s: no store at %s: %s\n", o->sub, path,
                strerror(errno));
        return NULL;
    }
    store *s = store_open(path, &err);
    /* Operators' changes are rare: have each fsync'ed, power loss or not. */
    if (s != NULL && store_set_sync_full(s, true, &err) < 0) {
        store_close(s);
        s = NULL;
    }
    if (s == NULL)
        failed(o->sub, &err);
    return s;
}

/* ---- subcommands ---- */

/* add and passwd: parse, read the password, write the HA1s. */
static int put_user(int argc, char **argv, const char *sub, const char *help, bool add)
{
    struct user_opts o = {.sub = sub};
    struct address a;
    char password[PASSWORD_BUF], path[STORE_PATH_BUF];
    tn_err err;
    int rc = parse_options(argc, argv, &o, true, true, help);
    if (rc != 0)
        return rc < 0 ? TN_EXIT_OK : rc;
    if (parse_address(o.address, &a, &err) < 0)
        return usage_error(sub, "%s", err.msg);
    if ((rc = store_path(&o, path)) != 0)
        return rc;
    rc = read_password(&o, &a, password);
    if (rc != 0) {
        OPENSSL_cleanse(password, sizeof password);
        return rc;
    }
    rc = TN_EXIT_REFUSED;
    store *s = open_store(&o, path, !add);
    if (s != NULL) {
        int r = add ? store_user_add(s, a.user, a.domain, password, &err)
                    : store_user_set_password(s, a.user, a.domain, password, &err);
        rc = r == 0 ? TN_EXIT_OK : failed(sub, &err);
        if (r == 0)
            printf(add ? "added %s@%s (digest SHA-256 and MD5)\n"
                       : "changed the password of %s@%s\n",
                   a.user, a.domain);
        store_close(s);
    }
    OPENSSL_cleanse(password, sizeof password);
    return rc;
}

static int user_add(int argc, char **argv)
{
    return put_user(argc, argv, "add", user_add_help, true);
}

static int user_passwd(int argc, char **argv)
{
    return put_user(argc, argv, "passwd", user_passwd_help, false);
}

static int user_del(int argc, char **argv)
{
    struct user_opts o = {.sub = "del"};
    struct address a;
    char path[STORE_PATH_BUF];
    tn_err err;
    int rc = parse_options(argc, argv, &o, true, false, user_del_help);
    if (rc != 0)
        return rc < 0 ? TN_EXIT_OK : rc;
    if (parse_address(o.address, &a, &err) < 0)
        return usage_error(o.sub, "%s", err.msg);
    if ((rc = store_path(&o, path)) != 0)
        return rc;
    store *s = open_store(&o, path, true);
    if (s == NULL)
        return TN_EXIT_REFUSED;
    if (store_user_del(s, a.user, a.domain, &err) == 0) {
        printf("deleted %s@%s and its registrations\n", a.user, a.domain);
        rc = TN_EXIT_OK;
    } else {
        rc = failed(o.sub, &err);
    }
    store_close(s);
    return rc;
}

static int print_user(const struct store_user *u, void *ctx)
{
    char address[STORE_AOR_MAX + 1], algs[32] = "", created[32] = "-";
    struct tm tm;
    time_t t = (time_t)u->created;
    snprintf(address, sizeof address, "%s@%s", u->user, u->domain);
    if (u->has_sha256)
        tn_appendf(algs, sizeof algs, "SHA-256");
    if (u->has_md5)
        tn_appendf(algs, sizeof algs, "%sMD5", algs[0] ? "," : "");
    if (gmtime_r(&t, &tm) != NULL)
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-32s %-12s %-21s %u\n", address, algs[0] ? algs : "-", created,
           u->active_bindings);
    return 0;
}

static int user_list(int argc, char **argv)
{
    struct user_opts o = {.sub = "list"};
    char path[STORE_PATH_BUF];
    tn_err err;
    int rc = parse_options(argc, argv, &o, false, false, user_list_help);
    if (rc != 0)
        return rc < 0 ? TN_EXIT_OK : rc;
    if ((rc = store_path(&o, path)) != 0)
        return rc;
    store *s = open_store(&o, path, true);
    if (s == NULL)
        return TN_EXIT_REFUSED;
    printf("%-32s %-12s %-21s %s\n", "ADDRESS", "ALGORITHMS", "CREATED", "REGISTRATIONS");
    rc = store_user_list(s, (int64_t)time(NULL), print_user, NULL, &err) == 0
             ? TN_EXIT_OK
             : failed(o.sub, &err);
    store_close(s);
    return rc;
}

static const struct cli_subcommand subcommands[] = {
    {"add", user_add},
    {"passwd", user_passwd},
    {"del", user_del},
    {"list", user_list},
};

int cmd_user(int argc, char **argv)
{
    return cli_dispatch("user", subcommands, sizeof subcommands / sizeof subcommands[0], user_help,
                        argc, argv);
}
