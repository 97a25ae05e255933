/* Unit tests: SMTP command lines (src/smtp/smtp_cmd.c, smtp_path.c,
 * smtp_parse.c): every verb, every path form, each error class with its
 * reply, the length limits at the boundary and one past it, and the
 * line reader over pipelined and too-long input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_cmd.h"

static struct smtp_cmd cmd;
static struct smtp_parse_error perr;

static int parse_n(const char *s, size_t n)
{
    memset(&perr, 0, sizeof(perr));
    return smtp_cmd_parse(s, n, &cmd, &perr);
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s));
}

static void expect_ok(const char *s, enum smtp_verb verb)
{
    int rc = parse(s);
    if (rc < 0 || cmd.verb != verb)
        fail_msg("wanted verb \"%s\", got rc %d verb \"%s\": %d %s %s "
                 "for: %s", smtp_verb_name(verb), rc,
                 smtp_verb_name(cmd.verb), perr.code, perr.enhanced,
                 perr.text, s);
}

/* The parse must fail with this fault, reply and a text containing want. */
static void expect_fault_n(const char *s, size_t n, enum smtp_fault fault,
                           int code, const char *enhanced, const char *want)
{
    int rc = parse_n(s, n);
    if (rc == 0 || perr.fault != fault || perr.code != code ||
        strcmp(perr.enhanced, enhanced) != 0 || !strstr(perr.text, want))
        fail_msg("wanted %d %s \"%s\", got rc %d: fault %d %d %s \"%s\" "
                 "for: %.*s", code, enhanced, want, rc, perr.fault,
                 perr.code, perr.enhanced, perr.text, (int)n, s);
}

static void expect_fault(const char *s, enum smtp_fault fault, int code,
                         const char *enhanced, const char *want)
{
    expect_fault_n(s, strlen(s), fault, code, enhanced, want);
}

#define SENDER(s, why) \
    expect_fault(s, SMTP_FAULT_SENDER, 501, "5.1.7", why)
#define RECIPIENT(s, why) \
    expect_fault(s, SMTP_FAULT_RECIPIENT, 501, "5.1.3", why)
#define ARGUMENT(s, why) \
    expect_fault(s, SMTP_FAULT_ARGUMENT, 501, "5.5.4", why)
#define SYNTAX(s, why) \
    expect_fault(s, SMTP_FAULT_SYNTAX, 500, "5.5.2", why)
#define UNSUPPORTED(s, why) \
    expect_fault(s, SMTP_FAULT_PARAM_UNSUPPORTED, 555, "5.5.4", why)

/* dst = n octets of labels ("aaa...a.aaa") forming a valid domain. */
static void make_domain(char *dst, size_t n)
{
    size_t pos = 0;
    while (n - pos > SMTP_LABEL_MAX) {
        size_t label = n - pos == SMTP_LABEL_MAX + 1 ? SMTP_LABEL_MAX - 1
                                                     : SMTP_LABEL_MAX;
        memset(dst + pos, 'a', label);
        dst[pos + label] = '.';
        pos += label + 1;
    }
    memset(dst + pos, 'b', n - pos);
    dst[n] = '\0';
}

static char *repeat(char *dst, char c, size_t n)
{
    memset(dst, c, n);
    dst[n] = '\0';
    return dst;
}

/* ------------------------------------------------------------- verbs */

static void every_verb(void **state)
{
    static const struct {
        const char *line;
        enum smtp_verb verb;
    } cases[] = {
        { "HELO mail.example.org\r\n", SMTP_VERB_HELO },
        { "EHLO mail.example.org\r\n", SMTP_VERB_EHLO },
        { "MAIL FROM:<a@example.org>\r\n", SMTP_VERB_MAIL },
        { "RCPT TO:<b@example.org>\r\n", SMTP_VERB_RCPT },
        { "DATA\r\n", SMTP_VERB_DATA },
        { "RSET\r\n", SMTP_VERB_RSET },
        { "NOOP\r\n", SMTP_VERB_NOOP },
        { "QUIT\r\n", SMTP_VERB_QUIT },
        { "VRFY bob\r\n", SMTP_VERB_VRFY },
        { "HELP\r\n", SMTP_VERB_HELP },
        { "STARTTLS\r\n", SMTP_VERB_STARTTLS },
        { "ehlo x\r\n", SMTP_VERB_EHLO },
        { "mail from:<a@b>\r\n", SMTP_VERB_MAIL },
        { "RcPt tO:<a@b>\r\n", SMTP_VERB_RCPT },
        { "data\r\n", SMTP_VERB_DATA },
        { "StartTLS\r\n", SMTP_VERB_STARTTLS },
        { "quit\r\n", SMTP_VERB_QUIT },
        { "AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n", SMTP_VERB_UNKNOWN },
        { "BDAT 100 LAST\r\n", SMTP_VERB_UNKNOWN },
        { "XYZZY\r\n", SMTP_VERB_UNKNOWN },
        { "DATAX\r\n", SMTP_VERB_UNKNOWN },
        { "MAI\r\n", SMTP_VERB_UNKNOWN },
        { " MAIL FROM:<a@b>\r\n", SMTP_VERB_UNKNOWN },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        expect_ok(cases[k].line, cases[k].verb);
    parse("AUTH PLAIN x\r\n");
    assert_int_equal(cmd.word_len, 4);
    assert_memory_equal(cmd.word, "AUTH", 4);
    assert_int_equal(cmd.arg_len, 7);
    assert_memory_equal(cmd.arg, "PLAIN x", 7);
    assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
    assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "");
    assert_string_equal(smtp_verb_name((enum smtp_verb)99), "");
}

static void verb_arguments(void **state)
{
    /* no argument allowed */
    ARGUMENT("DATA x\r\n", "Syntax: DATA (no arguments)");
    ARGUMENT("RSET now\r\n", "Syntax: RSET");
    ARGUMENT("QUIT please\r\n", "Syntax: QUIT");
    ARGUMENT("STARTTLS x\r\n", "Syntax: STARTTLS");
    assert_int_equal(cmd.verb, SMTP_VERB_STARTTLS); /* names the refused */
    /* trailing SPs are ignored */
    expect_ok("DATA \r\n", SMTP_VERB_DATA);
    expect_ok("QUIT   \r\n", SMTP_VERB_QUIT);
    /* optional text */
    expect_ok("NOOP\r\n", SMTP_VERB_NOOP);
    assert_int_equal(cmd.arg_len, 0);
    expect_ok("NOOP hello there\r\n", SMTP_VERB_NOOP);
    assert_int_equal(cmd.arg_len, 11);
    expect_ok("HELP MAIL\r\n", SMTP_VERB_HELP);
    assert_memory_equal(cmd.arg, "MAIL", 4);
    /* required text */
    expect_ok("VRFY <postmaster@example.org>\r\n", SMTP_VERB_VRFY);
    ARGUMENT("VRFY\r\n", "Syntax: VRFY address");
    ARGUMENT("VRFY  \r\n", "Syntax: VRFY address");
}

static void helo_ehlo(void **state)
{
    char name[300], line[400];
    expect_ok("EHLO mail.example.org\r\n", SMTP_VERB_EHLO);
    assert_true(cmd.arg_is_domain);
    assert_int_equal(cmd.arg_len, 16);
    expect_ok("EHLO [192.0.2.1]\r\n", SMTP_VERB_EHLO);
    assert_true(cmd.arg_is_domain);
    expect_ok("HELO [IPv6:2001:db8::1]\r\n", SMTP_VERB_HELO);
    assert_true(cmd.arg_is_domain);
    /* tolerated, but not a proper domain */
    expect_ok("EHLO under_score.example\r\n", SMTP_VERB_EHLO);
    assert_false(cmd.arg_is_domain);
    expect_ok("EHLO 192.0.2.1\r\n", SMTP_VERB_EHLO); /* all-digit labels */
    assert_true(cmd.arg_is_domain);
    expect_ok("EHLO [300.0.0.1]\r\n", SMTP_VERB_EHLO);
    assert_false(cmd.arg_is_domain);
    expect_ok("EHLO localhost.\r\n", SMTP_VERB_EHLO);
    assert_false(cmd.arg_is_domain);
    /* missing, empty, two tokens, double space */
    ARGUMENT("EHLO\r\n", "Syntax: EHLO hostname");
    ARGUMENT("EHLO \r\n", "Syntax: EHLO hostname");
    ARGUMENT("HELO\r\n", "Syntax: HELO hostname");
    ARGUMENT("EHLO my host\r\n", "Syntax: EHLO hostname");
    ARGUMENT("EHLO  host\r\n", "Syntax: EHLO hostname");
    /* 255 octets: a domain; 256: too long */
    make_domain(name, 255);
    snprintf(line, sizeof(line), "EHLO %s\r\n", name);
    expect_ok(line, SMTP_VERB_EHLO);
    assert_true(cmd.arg_is_domain);
    make_domain(name, 256);
    snprintf(line, sizeof(line), "EHLO %s\r\n", name);
    ARGUMENT(line, "Hostname too long");
}

/* --------------------------------------------------------- line level */

static void line_rules(void **state)
{
    char line[600];
    SYNTAX("NOOP", "not terminated");
    SYNTAX("NOOP\r", "not terminated");
    SYNTAX("", "not terminated");
    expect_fault("NOOP\n", SMTP_FAULT_BARE_LF, 500, "5.5.2", "Bare LF");
    expect_fault("\n", SMTP_FAULT_BARE_LF, 500, "5.5.2", "Bare LF");
    expect_fault("MAIL FROM:<a@b>\n", SMTP_FAULT_BARE_LF, 500, "5.5.2",
                 "Bare LF");
    expect_fault_n("NO\0OP\n", 6, SMTP_FAULT_BARE_LF, 500, "5.5.2",
                   "Bare LF");
    expect_fault_n("NO\0OP\r\n", 7, SMTP_FAULT_SYNTAX, 500, "5.5.2",
                   "Control character");
    expect_fault_n("MAIL FROM:<a@b>\0\r\n", 18, SMTP_FAULT_SYNTAX, 500,
                   "5.5.2", "Control character");
    SYNTAX("NOOP\tx\r\n", "Control character");
    SYNTAX("NOOP x\ry\r\n", "Control character");
    SYNTAX("NOOP\r\r\n", "Control character");
    SYNTAX("NOOP x\nRSET\r\n", "Control character");
    SYNTAX("NOOP \x7f\r\n", "Control character");
    SYNTAX("NOOP caf\xc3\xa9\r\n", "Non-ASCII");
    SYNTAX("\r\n", "Empty command");
    SYNTAX("   \r\n", "Empty command");
    /* 512 octets with CRLF: fine; 513: too long, whatever it holds */
    snprintf(line, sizeof(line), "NOOP %s\r\n", repeat((char[510]){ 0 }, 'x',
                                                       505));
    assert_int_equal(strlen(line), 512);
    expect_ok(line, SMTP_VERB_NOOP);
    snprintf(line, sizeof(line), "NOOP %s\r\n", repeat((char[510]){ 0 }, 'x',
                                                       506));
    expect_fault(line, SMTP_FAULT_LINE_TOO_LONG, 500, "5.5.2",
                 "Line too long");
    line[5] = '\0';
    expect_fault_n(line, 513, SMTP_FAULT_LINE_TOO_LONG, 500, "5.5.2",
                   "Line too long");
}

/* -------------------------------------------------------------- paths */

static void mail_paths(void **state)
{
    expect_ok("MAIL FROM:<user@Example.ORG>\r\n", SMTP_VERB_MAIL);
    assert_int_equal(cmd.path.kind, SMTP_PATH_MAILBOX);
    assert_string_equal(cmd.path.addr, "user@Example.ORG");
    assert_string_equal(cmd.path.domain, "example.org");
    assert_false(cmd.path.domain_is_literal);
    assert_false(cmd.has_size);
    assert_int_equal(cmd.body, SMTP_BODY_UNSPECIFIED);
    /* null reverse-path */
    expect_ok("MAIL FROM:<>\r\n", SMTP_VERB_MAIL);
    assert_int_equal(cmd.path.kind, SMTP_PATH_NULL);
    assert_string_equal(cmd.path.addr, "");
    assert_string_equal(cmd.path.domain, "");
    /* one SP after the colon, keyword in any case */
    expect_ok("MAIL FROM: <a@b.example>\r\n", SMTP_VERB_MAIL);
    assert_string_equal(cmd.path.addr, "a@b.example");
    expect_ok("MAIL from:<a@b.example>\r\n", SMTP_VERB_MAIL);
    expect_ok("MAIL FROM: <>\r\n", SMTP_VERB_MAIL);
    /* source route, accepted and dropped */
    expect_ok("MAIL FROM:<@relay1.example,@relay2.example:joe@c.example>\r\n",
              SMTP_VERB_MAIL);
    assert_true(cmd.path.had_source_route);
    assert_string_equal(cmd.path.addr, "joe@c.example");
    assert_string_equal(cmd.path.domain, "c.example");
    expect_ok("MAIL FROM:<@a.example:joe@c.example>\r\n", SMTP_VERB_MAIL);
    assert_string_equal(cmd.path.addr, "joe@c.example");
    /* quoted local part, kept as written */
    expect_ok("MAIL FROM:<\"john doe\"@example.org>\r\n", SMTP_VERB_MAIL);
    assert_string_equal(cmd.path.addr, "\"john doe\"@example.org");
    expect_ok("MAIL FROM:<\"a\\\"b\\\\c>@\"@example.org>\r\n", SMTP_VERB_MAIL);
    assert_string_equal(cmd.path.addr, "\"a\\\"b\\\\c>@\"@example.org");
    expect_ok("MAIL FROM:<\"\"@example.org>\r\n", SMTP_VERB_MAIL);
    /* dot-string with every atext special */
    expect_ok("MAIL FROM:<a.b!#$%&'*+-/=?^_`{|}~c@example.org>\r\n",
              SMTP_VERB_MAIL);
    /* address literals */
    expect_ok("MAIL FROM:<a@[192.0.2.1]>\r\n", SMTP_VERB_MAIL);
    assert_true(cmd.path.domain_is_literal);
    assert_string_equal(cmd.path.domain, "[192.0.2.1]");
    expect_ok("MAIL FROM:<a@[IPv6:2001:DB8::1]>\r\n", SMTP_VERB_MAIL);
    assert_string_equal(cmd.path.addr, "a@[IPv6:2001:DB8::1]");
    assert_string_equal(cmd.path.domain, "[ipv6:2001:db8::1]");
    expect_ok("MAIL FROM:<a@[IPv6:::ffff:192.0.2.1]>\r\n", SMTP_VERB_MAIL);
    /* usage errors */
    ARGUMENT("MAIL\r\n", "Syntax: MAIL FROM:<address>");
    ARGUMENT("MAIL FROM:\r\n", "Syntax: MAIL FROM:<address>");
    ARGUMENT("MAIL FROM: \r\n", "Syntax: MAIL FROM:<address>");
    ARGUMENT("MAIL TO:<a@b>\r\n", "Syntax: MAIL FROM:<address>");
    ARGUMENT("MAIL FROM <a@b>\r\n", "Syntax: MAIL FROM:<address>");
    ARGUMENT("MAIL  FROM:<a@b>\r\n", "Syntax: MAIL FROM:<address>");
    /* strict path */
    SENDER("MAIL FROM:a@b.example\r\n", "address must be in angle brackets");
    SENDER("MAIL FROM:  <a@b.example>\r\n", "angle brackets");
    SENDER("MAIL FROM:<postmaster>\r\n", "missing @domain");
    SENDER("MAIL FROM:<user>\r\n", "missing @domain");
    SENDER("MAIL FROM:<a@b.example\r\n", "missing closing >");
    SENDER("MAIL FROM:<a@b.example>x\r\n", "text after >");
    SENDER("MAIL FROM:<a@b.example>SIZE=1\r\n", "text after >");
    SENDER("MAIL FROM:<<a@b.example>>\r\n", "bad local part");
    SENDER("MAIL FROM:<a b@c.example>\r\n", "bad local part");
    SENDER("MAIL FROM:<.a@c.example>\r\n", "bad local part");
    SENDER("MAIL FROM:<a.@c.example>\r\n", "bad local part");
    SENDER("MAIL FROM:<a..b@c.example>\r\n", "bad local part");
    SENDER("MAIL FROM:<a(b)@c.example>\r\n", "bad local part");
    SENDER("MAIL FROM:<@c.example>\r\n", "bad source route");
    SENDER("MAIL FROM:<a@@c.example>\r\n", "bad domain");
    SENDER("MAIL FROM:<\"a@c.example>\r\n", "unterminated quoted local part");
    SENDER("MAIL FROM:<\"a\\\r\n", "bad quoted local part");
    SENDER("MAIL FROM:<a@>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@b.>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@.b>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@b..c>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@-b.example>\r\n", "hyphen");
    SENDER("MAIL FROM:<a@b-.example>\r\n", "hyphen");
    SENDER("MAIL FROM:<a@b_c.example>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@b c>\r\n", "bad domain");
    SENDER("MAIL FROM:<a@[192.0.2.1>\r\n", "unterminated address literal");
    SENDER("MAIL FROM:<a@[192.0.2]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[192.0.2.256]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[1.2.3.4.5]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[1234.2.3.4]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[IPv6:2001:db8::g]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[IPv6:1::2::3]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[IPv6:fe80::1%eth0]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[x-tag:anything]>\r\n", "bad address literal");
    SENDER("MAIL FROM:<a@[192.0.2.1]x>\r\n", "bad domain");
    SENDER("MAIL FROM:<@a.example,b.example:c@d.example>\r\n",
           "bad source route");
    SENDER("MAIL FROM:<@a.example;c@d.example>\r\n", "bad source route");
    SENDER("MAIL FROM:<@a.example:>\r\n", "bad local part");
    SENDER("MAIL FROM:<@[192.0.2.1]:c@d.example>\r\n", "bad domain");
    SENDER("MAIL FROM:<@:c@d.example>\r\n", "bad domain");
    SENDER("MAIL FROM:<>x\r\n", "text after >");
    SENDER("MAIL FROM:<\r\n", "bad local part");
    /* a refused MAIL keeps no half-parsed address */
    SENDER("MAIL FROM:<a@b.example>x\r\n", "text after >");
    assert_string_equal(cmd.path.addr, "");
    assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
}

static void rcpt_paths(void **state)
{
    expect_ok("RCPT TO:<bob@Corp.Example>\r\n", SMTP_VERB_RCPT);
    assert_string_equal(cmd.path.addr, "bob@Corp.Example");
    assert_string_equal(cmd.path.domain, "corp.example");
    expect_ok("RCPT TO:<postmaster>\r\n", SMTP_VERB_RCPT);
    assert_int_equal(cmd.path.kind, SMTP_PATH_POSTMASTER);
    assert_string_equal(cmd.path.addr, "postmaster");
    assert_string_equal(cmd.path.domain, "");
    expect_ok("RCPT TO:<PostMaster>\r\n", SMTP_VERB_RCPT);
    assert_int_equal(cmd.path.kind, SMTP_PATH_POSTMASTER);
    expect_ok("RCPT TO:<postmaster@corp.example>\r\n", SMTP_VERB_RCPT);
    assert_int_equal(cmd.path.kind, SMTP_PATH_MAILBOX);
    expect_ok("rcpt to: <@hop.example:bob@corp.example>\r\n", SMTP_VERB_RCPT);
    assert_string_equal(cmd.path.addr, "bob@corp.example");
    RECIPIENT("RCPT TO:<>\r\n", "null address not allowed");
    RECIPIENT("RCPT TO:<@hop.example:postmaster>\r\n", "missing @domain");
    RECIPIENT("RCPT TO:<bob>\r\n", "missing @domain");
    RECIPIENT("RCPT TO:bob@corp.example\r\n", "angle brackets");
    ARGUMENT("RCPT TO:<bob@corp.example> <x@y>\r\n", "Bad parameter syntax");
    ARGUMENT("RCPT FROM:<bob@corp.example>\r\n", "Syntax: RCPT TO:<address>");
    ARGUMENT("RCPT\r\n", "Syntax: RCPT TO:<address>");
    ARGUMENT("RCPT TO:\r\n", "Syntax: RCPT TO:<address>");
    assert_string_equal(perr.text, "Syntax: RCPT TO:<address>");
    RECIPIENT("RCPT TO:<a@b>x\r\n",
              "Bad recipient address syntax: text after >");
}

/* The command head, n times c, then tail: accepted as verb (MAIL or
 * RCPT), and one octet more refused as a bad sender or recipient whose
 * reason contains why. */
static void expect_limit(const char *head, char c, size_t n, const char *tail,
                         enum smtp_verb verb, const char *why)
{
    char part[300], line[700];
    assert_true(n + 1 < sizeof part);
    snprintf(line, sizeof(line), "%s%s%s", head, repeat(part, c, n), tail);
    expect_ok(line, verb);
    snprintf(line, sizeof(line), "%s%s%s", head, repeat(part, c, n + 1), tail);
    if (verb == SMTP_VERB_MAIL)
        SENDER(line, why);
    else
        RECIPIENT(line, why);
}

/* Exactly at each limit, and one past it. */
static void length_limits(void **state)
{
    char local[80], domain[300], line[700];
    /* local part: 64 / 65 */
    expect_limit("MAIL FROM:<", 'l', 64, "@example.org>\r\n", SMTP_VERB_MAIL,
                 "local part longer than 64 octets");
    /* a quoted local part counts its quotes */
    expect_limit("MAIL FROM:<\"", 'q', 62, "\"@example.org>\r\n", SMTP_VERB_MAIL,
                 "local part longer than 64 octets");
    /* label: 63 / 64 */
    expect_limit("RCPT TO:<a@", 'd', 63, ".example>\r\n", SMTP_VERB_RCPT,
                 "domain label longer than 63 octets");
    /* domain: 255 / 256 (as a whole path cannot hold 255, via the
     * validator and EHLO, and inside a path the domain check comes
     * before the path check) */
    make_domain(domain, 255);
    assert_true(smtp_domain_valid(domain, 255));
    make_domain(domain, 256);
    assert_false(smtp_domain_valid(domain, 256));
    snprintf(line, sizeof(line), "MAIL FROM:<a@%s>\r\n", domain);
    SENDER(line, "domain longer than 255 octets");
    make_domain(domain, 255);
    snprintf(line, sizeof(line), "MAIL FROM:<a@%s>\r\n", domain);
    SENDER(line, "path longer than 256 octets");
    /* path: 256 / 257 octets, brackets included */
    make_domain(domain, 189);
    snprintf(line, sizeof(line), "MAIL FROM:<%s@%s>\r\n",
             repeat(local, 'l', 64), domain);
    assert_int_equal(strlen(line) - strlen("MAIL FROM:\r\n"), 256);
    expect_ok(line, SMTP_VERB_MAIL);
    assert_int_equal(strlen(cmd.path.addr), SMTP_ADDR_MAX);
    assert_int_equal(strlen(cmd.path.domain), 189);
    make_domain(domain, 190);
    snprintf(line, sizeof(line), "RCPT TO:<%s@%s>\r\n",
             repeat(local, 'l', 64), domain);
    RECIPIENT(line, "path longer than 256 octets");
    /* the source route counts toward the 256 */
    make_domain(domain, 240);
    snprintf(line, sizeof(line), "RCPT TO:<@%s:a@bb.example>\r\n", domain);
    assert_int_equal(strlen(line) - strlen("RCPT TO:\r\n"), 256);
    expect_ok(line, SMTP_VERB_RCPT);
    assert_string_equal(cmd.path.addr, "a@bb.example");
    snprintf(line, sizeof(line), "RCPT TO:<@%s:a@bbb.example>\r\n", domain);
    RECIPIENT(line, "path longer than 256 octets");
}

/* --------------------------------------------------------- parameters */

static void mail_parameters(void **state)
{
    expect_ok("MAIL FROM:<a@b.example> SIZE=12345\r\n", SMTP_VERB_MAIL);
    assert_true(cmd.has_size);
    assert_int_equal(cmd.size, 12345);
    expect_ok("MAIL FROM:<a@b.example> SIZE=0\r\n", SMTP_VERB_MAIL);
    assert_true(cmd.has_size);
    assert_int_equal(cmd.size, 0);
    expect_ok("MAIL FROM:<a@b.example> size=18446744073709551615\r\n",
              SMTP_VERB_MAIL);
    assert_true(cmd.size == UINT64_MAX);
    expect_ok("MAIL FROM:<a@b.example> SIZE=00000000000000000001\r\n",
              SMTP_VERB_MAIL);
    assert_int_equal(cmd.size, 1);
    expect_fault("MAIL FROM:<a@b.example> SIZE=18446744073709551616\r\n",
                 SMTP_FAULT_TOO_BIG, 552, "5.3.4", "exceeds");
    expect_fault("MAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n",
                 SMTP_FAULT_TOO_BIG, 552, "5.3.4", "exceeds");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=123456789012345678901\r\n",
             "Bad SIZE parameter value");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=12k\r\n", "Bad SIZE");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=-1\r\n", "Bad SIZE");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE\r\n", "Bad SIZE");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=\r\n", "Bad parameter syntax");
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=1 SIZE=1\r\n",
             "Duplicate SIZE parameter");
    expect_ok("MAIL FROM:<a@b.example> BODY=7BIT\r\n", SMTP_VERB_MAIL);
    assert_int_equal(cmd.body, SMTP_BODY_7BIT);
    expect_ok("MAIL FROM:<a@b.example> body=8bitmime\r\n", SMTP_VERB_MAIL);
    assert_int_equal(cmd.body, SMTP_BODY_8BITMIME);
    UNSUPPORTED("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
                "Unsupported BODY type");
    UNSUPPORTED("MAIL FROM:<a@b.example> BODY=8BIT\r\n", "Unsupported BODY");
    ARGUMENT("MAIL FROM:<a@b.example> BODY\r\n", "Bad BODY parameter value");
    ARGUMENT("MAIL FROM:<a@b.example> BODY=7BIT BODY=7BIT\r\n",
             "Duplicate BODY parameter");
    /* several, separated by one or more SP, trailing SP */
    expect_ok("MAIL FROM:<> SIZE=10  BODY=8BITMIME \r\n", SMTP_VERB_MAIL);
    assert_int_equal(cmd.path.kind, SMTP_PATH_NULL);
    assert_int_equal(cmd.size, 10);
    assert_int_equal(cmd.body, SMTP_BODY_8BITMIME);
    /* others: unsupported (555), malformed: 501 */
    UNSUPPORTED("MAIL FROM:<a@b.example> AUTH=<>\r\n",
                "Unsupported parameter AUTH");
    UNSUPPORTED("MAIL FROM:<a@b.example> SMTPUTF8\r\n",
                "Unsupported parameter SMTPUTF8");
    UNSUPPORTED("MAIL FROM:<a@b.example> RET=HDRS\r\n", "RET");
    UNSUPPORTED("MAIL FROM:<a@b.example> X-A-VERY-LONG-KEYWORD-"
                "THAT-GOES-ON-AND-ON=1\r\n",
                "Unsupported parameter X-A-VERY-LONG-KEYWORD-THAT-GO");
    assert_true(strlen(perr.text) < sizeof(perr.text));
    ARGUMENT("MAIL FROM:<a@b.example> =1\r\n", "Bad parameter syntax");
    ARGUMENT("MAIL FROM:<a@b.example> -X=1\r\n", "Bad parameter syntax");
    ARGUMENT("MAIL FROM:<a@b.example> X_Y=1\r\n", "Bad parameter syntax");
    ARGUMENT("MAIL FROM:<a@b.example> X=a=b\r\n", "Bad parameter syntax");
    /* RCPT takes none of ours */
    UNSUPPORTED("RCPT TO:<a@b.example> SIZE=1\r\n",
                "Unsupported parameter SIZE");
    UNSUPPORTED("RCPT TO:<a@b.example> NOTIFY=NEVER\r\n", "NOTIFY");
    expect_ok("RCPT TO:<a@b.example> \r\n", SMTP_VERB_RCPT);
    /* after a refused parameter no size or body is left behind */
    ARGUMENT("MAIL FROM:<a@b.example> SIZE=5 BODY=x=y\r\n", "Bad parameter");
    assert_false(cmd.has_size);
}

/* --------------------------------------------------------- the reader */

static enum smtp_line_result next(struct smtp_line_reader *r, const char *s,
                                  size_t n, size_t *used)
{
    return smtp_line_next(r, s, n, used);
}

static void line_reader(void **state)
{
    struct smtp_line_reader r = { false };
    size_t used = 99;
    const char *pipe = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
    assert_int_equal(next(&r, pipe, strlen(pipe), &used), SMTP_LINE_READY);
    assert_int_equal(used, 17);
    assert_int_equal(next(&r, pipe + 17, strlen(pipe) - 17, &used),
                     SMTP_LINE_READY);
    assert_int_equal(used, 15);
    assert_int_equal(next(&r, "DAT", 3, &used), SMTP_LINE_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(next(&r, "", 0, &used), SMTP_LINE_NEED_MORE);
    /* a bare LF ends the line here; the parser refuses it */
    assert_int_equal(next(&r, "NOOP\nQUIT\r\n", 11, &used), SMTP_LINE_READY);
    assert_int_equal(used, 5);

    char big[1200];
    memset(big, 'x', sizeof(big));
    /* LF as octet 512: a line of 512, fine */
    big[511] = '\n';
    assert_int_equal(next(&r, big, sizeof(big), &used), SMTP_LINE_READY);
    assert_int_equal(used, 512);
    /* 511 octets and no LF yet: wait */
    assert_int_equal(next(&r, big, 511, &used), SMTP_LINE_NEED_MORE);
    assert_int_equal(used, 0);
    /* LF as octet 513: too long, answered once at its end */
    big[511] = 'x';
    big[512] = '\n';
    memcpy(big + 513, "QUIT\r\n", 6);
    assert_int_equal(next(&r, big, 519, &used), SMTP_LINE_TOO_LONG);
    assert_int_equal(used, 513);
    assert_false(r.skipping);
    assert_int_equal(next(&r, big + 513, 6, &used), SMTP_LINE_READY);
    /* a long line over several reads: dropped as it comes */
    memset(big, 'y', sizeof(big));
    assert_int_equal(next(&r, big, 600, &used), SMTP_LINE_NEED_MORE);
    assert_int_equal(used, 600);
    assert_true(r.skipping);
    assert_int_equal(next(&r, big, 1000, &used), SMTP_LINE_NEED_MORE);
    assert_int_equal(used, 1000);
    assert_int_equal(next(&r, "tail\r\nRSET\r\n", 12, &used),
                     SMTP_LINE_TOO_LONG);
    assert_int_equal(used, 6);
    assert_int_equal(next(&r, "RSET\r\n", 6, &used), SMTP_LINE_READY);
    assert_int_equal(used, 6);
    /* 512 octets with no LF: already too long */
    assert_int_equal(next(&r, big, 512, &used), SMTP_LINE_NEED_MORE);
    assert_true(r.skipping);
    assert_int_equal(used, 512);
}

/* ------------------------------------------------------------ replies */

static void reply_lines(void **state)
{
    char reply[SMTP_PARSE_REPLY_MAX];
    SENDER("MAIL FROM:<a..b@c>\r\n", "bad local part");
    assert_int_equal(smtp_parse_error_reply(&perr, reply, sizeof(reply)), 0);
    assert_string_equal(reply,
                        "501 5.1.7 Bad sender address syntax: bad local "
                        "part\r\n");
    assert_int_equal(smtp_parse_error_reply(&perr, reply, 10), -1);
    /* the text can never break the reply line */
    struct smtp_parse_error e;
    assert_int_equal(smtp_parse_fail(&e, SMTP_FAULT_SYNTAX,
                                     "a\r\n250 forged\x80"), -1);
    assert_string_equal(e.text, "a??250 forged?");
    assert_int_equal(e.code, 500);
    assert_int_equal(smtp_parse_fail(NULL, SMTP_FAULT_SYNTAX, "x"), -1);
    /* an unknown fault value is treated as a syntax error, not trusted */
    assert_int_equal(smtp_parse_fail(&e, (enum smtp_fault)999, NULL), -1);
    assert_int_equal(e.code, 500);
    assert_string_equal(e.text, "");
    /* the longest text fits in the longest reply */
    char longtext[300];
    assert_int_equal(smtp_parse_fail(&e, SMTP_FAULT_DATA_SINK,
                                     repeat(longtext, 'z', 299)), -1);
    assert_int_equal(smtp_parse_error_reply(&e, reply, sizeof(reply)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_verb),
        cmocka_unit_test(verb_arguments),
        cmocka_unit_test(helo_ehlo),
        cmocka_unit_test(line_rules),
        cmocka_unit_test(mail_paths),
        cmocka_unit_test(rcpt_paths),
        cmocka_unit_test(length_limits),
        cmocka_unit_test(mail_parameters),
        cmocka_unit_test(line_reader),
        cmocka_unit_test(reply_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
