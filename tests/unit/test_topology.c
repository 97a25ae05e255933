/* Unit tests: the topology loader (src/topology/): a valid file and its
 * lookups, then one case per class of error, each found with its line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "topology/topo_internal.h"
#include "topology/topology.h"

static char dir[] = "/tmp/trustnet-topo-unit.XXXXXX";
static char path[256];

static void write_file(const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* Load yaml; the diagnostics stay in d for the test to inspect. */
static int load(const char *yaml, struct topology **topo, struct topology_diags *d)
{
    tn_err err;
    write_file(yaml, strlen(yaml));
    topology_diags_init(d);
    return topology_load(path, topo, d, &err);
}

/* Is there a diagnostic of severity at line whose message has text? */
static bool has(const struct topology_diags *d, enum topo_severity sev, unsigned line,
                const char *text)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->items[i].severity == sev && d->items[i].pos.line == line &&
            strstr(d->items[i].msg, text) != NULL)
            return true;
    for (size_t i = 0; i < d->count; i++)
        fprintf(stderr, "# %u:%u: %s\n", d->items[i].pos.line, d->items[i].pos.col,
                d->items[i].msg);
    return false;
}

/* Load yaml, expect failure and a diagnostic at line with text. */
static void expect_error(const char *yaml, unsigned line, const char *text)
{
    struct topology *topo = (struct topology *)1;
    struct topology_diags d;
    assert_int_equal(load(yaml, &topo, &d), -1);
    assert_null(topo);
    assert_true(d.errors > 0);
    assert_true(has(&d, TOPO_ERROR, line, text));
    topology_diags_free(&d);
}

#define HEAD                                                     \
    "organisation: Corp Example\n"                /* 1 */        \
    "sip:\n"                                      /* 2 */        \
    "  domains: [corp.test]\n"                    /* 3 */        \
    "trust:\n"                                    /* 4 */        \
    "  ca: ca/ca.pem\n"                           /* 5 */        \
    "store: state/trustnet.sqlite\n"              /* 6 */

#define SITES                                                    \
    "sites:\n"                                    /* 7 */        \
    "  - name: paris\n"                           /* 8 */        \
    "    pools:\n"                                /* 9 */        \
    "      - fqdn: pool1.corp.test\n"             /* 10 */       \
    "        servers:\n"                          /* 11 */       \
    "          - fqdn: fe1.corp.test\n"           /* 12 */       \
    "            roles: [frontend]\n"             /* 13 */       \
    "            sip_listen: 127.0.0.1:5061\n"    /* 14 */       \
    "            certificate: fe1.pem\n"          /* 15 */       \
    "            key: fe1.key\n"                  /* 16 */

static const char good[] =
    HEAD SITES
    "          - fqdn: edge.corp.test\n"                   /* 17 */
    "            roles: [edge, mail]\n"
    "            sip_listen: \"[::1]\"\n"
    "            federation_listen: 127.0.0.2:5062\n"
    "            smtp_listen: 127.0.0.2\n"
    "            spool: /var/spool/trustnet\n"
    "            certificate: /etc/edge.pem\n"
    "            key: edge.key\n"
    "            workers: 2\n"
    "      - fqdn: pool2.corp.test\n"
    "        servers:\n"
    "          - fqdn: fe2.corp.test\n"
    "            roles: [frontend]\n"
    "            sip_listen: 127.0.0.3:5061\n"
    "            certificate: fe2.pem\n"
    "            key: fe2.key\n"
    "mail:\n"
    "  domains: [corp.test]\n"
    "users:\n"
    "  - address: alice@corp.test\n"
    "    pool: pool1.corp.test\n"
    "  - address: Carol@CORP.test\n"
    "    pool: POOL2.corp.test\n"
    "federation:\n"
    "  - name: partner\n"
    "    domains: [partner.test, partner2.test]\n"
    "    edge: edge.partner.test\n"
    "    edge_address: 127.0.0.30:5061\n"
    "    root_ca: partners/root.pem\n"
    "mail_connectors:\n"
    "  outbound:\n"
    "    - name: bank\n"
    "      domains: [bank.test]\n"
    "      smart_host: mx.bank.test\n"
    "      ca: system\n"
    "      peer_name: \"*.bank.test\"\n"
    "  inbound:\n"
    "    - name: bank\n"
    "      client_addresses: [192.0.2.0/24, \"2001:db8::/32\"]\n"
    "      ca: partners/bank.pem\n"
    "mail_routes:\n"
    "  - domain: partner.test\n"
    "    host: 127.0.0.41:2525\n"
    "  - domain: corp.test\n"
    "    host: mailbox.corp.test\n";

static void valid_topology_and_lookups(void **state)
{
    struct topology *t;
    struct topology_diags d;
    assert_int_equal(load(good, &t, &d), 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(t->organisation, "Corp Example");
    assert_int_equal(t->n_sites, 1);
    assert_int_equal(t->n_pools, 2);
    assert_int_equal(t->n_servers, 3);
    assert_int_equal(t->sites[0].n_pools, 2);
    assert_int_equal(t->pools[0].n_servers, 2);
    assert_ptr_equal(t->pools[1].servers, &t->servers[2]);

    const struct topo_server *edge = topology_find_server(t, "EDGE.corp.test");
    assert_non_null(edge);
    assert_int_equal(edge->roles, TOPO_ROLE_EDGE | TOPO_ROLE_MAIL);
    assert_string_equal(edge->sip_listen.text, "[::1]:5061");
    assert_int_equal(edge->smtp_listen.port, 25);
    assert_int_equal(edge->workers, 2);
    assert_string_equal(edge->certificate.path, "/etc/edge.pem");
    assert_int_equal(edge->certificate.pos.line, 23);
    char expect[300];
    snprintf(expect, sizeof expect, "%s/edge.key", t->dir);
    assert_string_equal(edge->key.path, expect);
    assert_int_equal(t->servers[0].workers, 0);
    snprintf(expect, sizeof expect, "%s/state/trustnet.sqlite", t->dir);
    assert_string_equal(t->servers[0].store.path, expect);

    assert_ptr_equal(topology_server_pool(t, "fe2.corp.test"), &t->pools[1]);
    assert_ptr_equal(topology_find_pool(t, "pool1.corp.test"), &t->pools[0]);
    assert_ptr_equal(topology_user_pool(t, "alice@corp.test"), &t->pools[0]);
    assert_ptr_equal(topology_user_pool(t, "Carol@corp.TEST"), &t->pools[1]);
    assert_null(topology_user_pool(t, "carol@corp.test")); /* user part is exact */
    assert_null(topology_user_pool(t, "mallory@corp.test"));
    assert_null(topology_find_server(t, "fe9.corp.test"));
    assert_true(topology_is_local_domain(t, "Corp.Test"));
    assert_false(topology_is_local_domain(t, "partner.test"));
    assert_true(topology_is_mail_domain(t, "corp.test"));
    assert_ptr_equal(topology_find_partner_by_domain(t, "partner2.test"), &t->partners[0]);
    assert_ptr_equal(topology_find_partner_by_edge(t, "edge.partner.test"), &t->partners[0]);
    assert_null(topology_find_partner_by_domain(t, "corp.test"));
    const struct topo_outbound *bank = topology_find_outbound(t, "bank.test");
    assert_non_null(bank);
    assert_true(bank->require_tls);
    assert_true(bank->ca.system);
    assert_string_equal(bank->smart_host.text, "mx.bank.test:25");
    assert_false(bank->smart_host.is_ip);
    assert_int_equal(t->inbound[0].n_client_addresses, 2);
    assert_string_equal(t->inbound[0].client_addresses[1].text, "2001:db8::/32");
    assert_string_equal(topology_find_mail_route(t, "partner.test")->host.text,
                        "127.0.0.41:2525");
    assert_int_equal(t->limits.max_connections, 10000);
    assert_int_equal(t->limits.max_connections_per_client, 0);
    assert_int_equal(t->sip.max_message_bytes, 65535);
    /* exempt from the per-client limit: every listening address given as
     * an IP (fe1, edge's three, fe2) and the partner's edge */
    size_t n_ours = 0;
    const struct sockaddr_storage *ours = topology_server_addresses(t, &n_ours);
    assert_non_null(ours);
    assert_int_equal(n_ours, 6);
    assert_int_equal(ours[0].ss_family, AF_INET);
    assert_int_equal(ours[1].ss_family, AF_INET6);
    assert_int_equal(ntohl(((const struct sockaddr_in *)&ours[5])->sin_addr.s_addr), 0x7f00001e);
    char roles[64];
    topology_roles_text(edge->roles, roles, sizeof roles);
    assert_string_equal(roles, "edge, mail");
    /* Two roles hold it: the first free leaves it whole for the second
     * (under ASan a use after free or a leak would fail here). */
    assert_ptr_equal(topology_hold(t), t);
    topology_free(t);
    assert_string_equal(topology_find_server(t, "fe1.corp.test")->fqdn, "fe1.corp.test");
    topology_free(t);
    topology_diags_free(&d);
}

static void syntax_error_has_line(void **state)
{
    expect_error(HEAD "sites: [\n  - x: y\n", 8, "YAML syntax");
    expect_error("organisation: a\n  sip: b\n", 2, "YAML syntax");
}

static void unknown_key_suggests(void **state)
{
    expect_error(HEAD "sites:\n  - name: paris\n    pools:\n      - fqdn: pool1.corp.test\n"
                 "        servers:\n          - fqdn: fe1.corp.test\n"
                 "            roles: [frontend]\n            sip_lsten: 127.0.0.1:5061\n"
                 "            certificate: fe1.pem\n            key: fe1.key\n",
                 14, "unknown key 'sip_lsten' in server 'fe1.corp.test' (did you mean "
                     "'sip_listen'?)");
    expect_error(HEAD SITES "colour: blue\n", 17, "unknown key 'colour' in the topology");
}

static void duplicate_key(void **state)
{
    expect_error(HEAD SITES "            key: fe2.key\n", 17,
                 "duplicate key 'key' in server 'fe1.corp.test' (first given at line 16)");
}

static void wrong_types(void **state)
{
    expect_error(HEAD SITES "            workers: two\n", 17,
                 "'workers' must be a whole number from 1 to 256, found 'two'");
    expect_error(HEAD SITES "            workers: \"2\"\n", 17, "write numbers without quotes");
    expect_error(HEAD SITES "limits:\n  max_connections: [1]\n", 18, "found 'a list'");
    expect_error(HEAD SITES "limits:\n  max_connections_per_client: 2000000\n", 18,
                 "'max_connections_per_client' must be a whole number from 0 to 1000000");
    expect_error("organisation: a\nsip:\n  domains: corp.test\n", 3,
                 "'domains' must be a list, e.g. [corp.test], found a single value");
    expect_error(HEAD SITES "mail_connectors:\n  outbound:\n    - name: b\n"
                 "      domains: [b.test]\n      ca: system\n      require_tls: yes\n",
                 22, "'require_tls' must be true or false");
    expect_error(HEAD "sites: paris\n", 7, "'sites' must be a list");
}

static void missing_required(void **state)
{
    expect_error("organisation: Corp\ntrust:\n  ca: ca.pem\nsip:\n  domains: [corp.test]\n"
                 "store: s\nsites:\n  - name: a\n    pools:\n      - fqdn: p.corp.test\n"
                 "        servers:\n          - fqdn: fe1.corp.test\n"
                 "            roles: [frontend]\n            sip_listen: 127.0.0.1\n"
                 "            key: k\n",
                 12, "server 'fe1.corp.test': missing required key 'certificate'");
    expect_error("organisation: Corp\n", 1, "the topology: missing required key 'sites'");
    expect_error(HEAD SITES "            roles: [edge]\n", 17, "duplicate key 'roles'");
}

static void role_requirements(void **state)
{
    static const char edge_without_federation[] =
        HEAD "sites:\n  - name: a\n    pools:\n      - fqdn: p.corp.test\n"
        "        servers:\n          - fqdn: edge.corp.test\n"   /* 12 */
        "            roles: [edge]\n            sip_listen: 127.0.0.1\n"
        "            smtp_listen: 127.0.0.1\n"                   /* 15 */
        "            certificate: c\n            key: k\n";
    expect_error(edge_without_federation, 12, "has role edge but no 'federation_listen'");
    expect_error(edge_without_federation, 15, "'smtp_listen' is only for mail servers");
    expect_error(HEAD SITES "            roles: [frontend]\n", 17, "duplicate key");
}

static void bad_addresses(void **state)
{
    static const char *const bad[] = {
        "::1:5061", "[::1", "[::1]x", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", ":5061",
        "fe1.corp.test:5061", "127.1:5061", "[127.0.0.1]:5061", "127.0.0.1:50a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "%s", HEAD SITES);
        char *listen = strstr(yaml, "127.0.0.1:5061");
        snprintf(listen, sizeof yaml - (size_t)(listen - yaml),
                 "\"%s\"\n            certificate: fe1.pem\n            key: fe1.key\n", bad[i]);
        expect_error(yaml, 14, "'sip_listen': bad address");
    }
    struct topo_addr a;
    char why[200];
    assert_int_equal(topo_parse_addr("[2001:db8::1]:5061", 5061, false, &a, why, sizeof why), 0);
    assert_int_equal(a.sa.ss_family, AF_INET6);
    assert_int_equal(topo_parse_addr("10.1.2.3", 25, false, &a, why, sizeof why), 0);
    assert_string_equal(a.text, "10.1.2.3:25");
    assert_int_equal(topo_parse_addr("mx.bank.test:2525", 25, true, &a, why, sizeof why), 0);
    assert_int_equal(topo_parse_addr("mx_bank:25", 25, true, &a, why, sizeof why), -1);
    struct topo_cidr c;
    assert_int_equal(topo_parse_cidr("10.0.0.0/8", &c, why, sizeof why), 0);
    assert_int_equal(topo_parse_cidr("0.0.0.0/0", &c, why, sizeof why), 0);
    assert_int_equal(topo_parse_cidr("192.0.2.7", &c, why, sizeof why), 0);
    assert_string_equal(c.text, "192.0.2.7/32");
    assert_int_equal(topo_parse_cidr("10.0.0.1/8", &c, why, sizeof why), -1);
    assert_non_null(strstr(why, "host bits"));
    assert_int_equal(topo_parse_cidr("10.0.0.0/33", &c, why, sizeof why), -1);
    assert_int_equal(topo_parse_cidr("10.0.0.0/", &c, why, sizeof why), -1);
    assert_int_equal(topo_parse_cidr("host/8", &c, why, sizeof why), -1);
}

static void duplicate_listen_address(void **state)
{
    expect_error(HEAD SITES "          - fqdn: fe2.corp.test\n            roles: [frontend]\n"
                 "            sip_listen: 127.0.0.1\n            certificate: c\n"
                 "            key: k\n",
                 19, "sip_listen 127.0.0.1:5061 is already used by server 'fe1.corp.test'");
}

static void unknown_pool_and_foreign_domain(void **state)
{
    expect_error(HEAD SITES "users:\n  - address: bob@corp.test\n    pool: pool9.corp.test\n",
                 18, "user 'bob@corp.test' is homed on pool 'pool9.corp.test', which is not "
                     "in the topology");
    expect_error(HEAD SITES "users:\n  - address: bob@other.test\n    pool: pool1.corp.test\n",
                 18, "domain other.test is not one of our SIP domains");
    expect_error(HEAD SITES "users:\n  - address: bob@corp.test\n    pool: pool1.corp.test\n"
                 "  - address: bob@CORP.test\n    pool: pool1.corp.test\n",
                 20, "user 'bob@CORP.test' is defined twice (first at line 18)");
    expect_error(HEAD SITES "users:\n  - address: bob\n    pool: pool1.corp.test\n", 18,
                 "not an address of the form user@domain");
}

static void duplicate_fqdn(void **state)
{
    expect_error(HEAD SITES "          - fqdn: FE1.corp.test\n            roles: [frontend]\n"
                 "            sip_listen: 127.0.0.2\n            certificate: c\n"
                 "            key: k\n",
                 17, "server 'FE1.corp.test' is defined twice (first at line 12)");
}

static void partners_and_connectors(void **state)
{
    expect_error(HEAD SITES "federation:\n  - name: evil\n    domains: [CORP.test]\n"
                 "    edge: edge.evil.test\n    edge_address: 127.0.0.9\n    root_ca: r.pem\n",
                 19, "domain CORP.test is one of our own SIP domains");
    expect_error(HEAD SITES "federation:\n  - name: me\n    domains: [me.test]\n"
                 "    edge: fe1.corp.test\n    edge_address: 127.0.0.9\n    root_ca: r.pem\n",
                 18, "edge fe1.corp.test is one of our own servers");
    expect_error(HEAD SITES "mail_connectors:\n  outbound:\n    - name: b\n"
                 "      domains: [b.test]\n",
                 19, "requires TLS but has no 'ca'");
    expect_error(HEAD SITES "mail_connectors:\n  inbound:\n    - name: b\n      ca: system\n",
                 19, "needs 'sender_domains' or 'client_addresses'");
    expect_error(HEAD SITES "mail_connectors:\n  outbound:\n    - name: b\n"
                 "      domains: [b.test]\n      ca: c.pem\n      peer_name: \"*.test\"\n",
                 22, "neither a DNS name nor a wildcard");
}

static void warnings_do_not_fail(void **state)
{
    struct topology *t;
    struct topology_diags d;
    assert_int_equal(load(HEAD SITES "mail_connectors:\n  outbound:\n    - name: b\n"
                          "      domains: [b.test]\n      ca: system\n", &t, &d), 0);
    assert_true(has(&d, TOPO_WARNING, 21, "a certificate from any public CA would pass"));
    assert_true(has(&d, TOPO_WARNING, 19, "no server has the mail role"));
    topology_free(t);
    topology_diags_free(&d);
}

static void refused_yaml_features(void **state)
{
    expect_error(HEAD "x: &a [1]\n", 7, "anchors (&a) and aliases are not supported");
    expect_error("organisation: !!str Corp\n", 1, "tags (tag:yaml.org,2002:str) are not supported");
    expect_error(HEAD SITES "---\nsites: []\n", 17, "a second YAML document");
    expect_error("", 1, "the file is empty");
    expect_error("- a\n", 1, "must be a mapping");
    expect_error("organisation: \"a\\0b\"\n", 1, "NUL");
}

/* A syntax error at the end of a file without a final newline is on its
 * last line (libyaml's own mark is on the line after; found by
 * fuzz/fuzz_topology.c). */
static void syntax_error_at_the_end(void **state)
{
    expect_error("version: 1\norganisation: Corp\nsites", 3, "could not find expected ':'");
}

/* A mail server whose FQDN was refused, while our mail domain's route is
 * checked against the mail servers: the error, not a crash (found by
 * fuzz/fuzz_topology.c). */
static void mail_server_with_a_bad_fqdn(void **state)
{
    expect_error(HEAD SITES
                 "          - fqdn: mail:corp.test\n"        /* 17 */
                 "            roles: [mail]\n"
                 "            smtp_listen: 127.0.0.2:25\n"
                 "            spool: spool\n"
                 "            certificate: mail.pem\n"
                 "            key: mail.key\n"
                 "mail:\n"
                 "  domains: [corp.test]\n"
                 "mail_routes:\n"
                 "  - domain: corp.test\n"
                 "    host: mailstore.corp.test:25\n",
                 17, "'mail:corp.test' is not a DNS name");
}

static void too_deep(void **state)
{
    char yaml[256] = "organisation: ";
    for (int i = 0; i < 40; i++)
        strcat(yaml, "[");
    for (int i = 0; i < 40; i++)
        strcat(yaml, "]");
    strcat(yaml, "\n");
    expect_error(yaml, 1, "nested deeper than 16 levels");
}

static void huge(void **state)
{
    size_t len = TOPO_MAX_FILE_BYTES + 10;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, '#', len);
    write_file(big, len);
    free(big);
    struct topology *t;
    struct topology_diags d;
    tn_err err;
    topology_diags_init(&d);
    assert_int_equal(topology_load(path, &t, &d, &err), -1);
    assert_non_null(strstr(err.msg, "larger than the limit"));
    topology_diags_free(&d);
    /* a value over the size limit */
    char *line = malloc(TOPO_MAX_SCALAR + 100);
    assert_non_null(line);
    memcpy(line, "organisation: ", 14);
    memset(line + 14, 'a', TOPO_MAX_SCALAR + 1);
    strcpy(line + 14 + TOPO_MAX_SCALAR + 1, "\n");
    expect_error(line, 1, "longer than the limit");
    free(line);
}

static void many_problems_all_reported(void **state)
{
    struct topology *t;
    struct topology_diags d;
    assert_int_equal(load(HEAD SITES "            workers: 0\n            colour: red\n"
                          "users:\n  - address: a@corp.test\n    pool: nowhere.corp.test\n",
                          &t, &d), -1);
    assert_true(has(&d, TOPO_ERROR, 17, "'workers'"));
    assert_true(has(&d, TOPO_ERROR, 18, "unknown key 'colour'"));
    assert_true(has(&d, TOPO_ERROR, 20, "nowhere.corp.test"));
    assert_int_equal(d.errors, 3);
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    topology_diags_print(&d, "topo.yaml", out);
    fclose(out);
    assert_non_null(strstr(buf, "topo.yaml:17:22: error: 'workers' must be"));
    assert_true(strstr(buf, "topo.yaml:17:") < strstr(buf, "topo.yaml:18:"));
    free(buf);
    topology_diags_free(&d);
}

static int setup(void **state)
{
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/topology.yaml", dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

#define MAIL_SERVER                                              \
    "          - fqdn: mail.corp.test\n"          /* 17 */       \
    "            roles: [mail]\n"                 /* 18 */       \
    "            smtp_listen: 127.0.0.9:25\n"     /* 19 */       \
    "            spool: spool\n"                  /* 20 */       \
    "            certificate: mail.pem\n"         /* 21 */       \
    "            key: mail.key\n"                 /* 22 */       \
    "mail:\n"                                     /* 23 */       \
    "  domains: [corp.test]\n"                    /* 24 */

static void mailbox_routes(void **state)
{
    struct topology *t;
    struct topology_diags d;
    /* Our domain without a route to its mailbox host: a warning. */
    assert_int_equal(load(HEAD SITES MAIL_SERVER, &t, &d), 0);
    assert_true(has(&d, TOPO_WARNING, 24, "mail domain corp.test has no mail route"));
    topology_free(t);
    topology_diags_free(&d);
    /* A route of our own domain to one of our mail servers would loop. */
    expect_error(HEAD SITES MAIL_SERVER "mail_routes:\n  - domain: corp.test\n"
                 "    host: mail.corp.test\n", 26, "mail.corp.test is one of our mail servers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_topology_and_lookups),
        cmocka_unit_test(syntax_error_has_line),
        cmocka_unit_test(unknown_key_suggests),
        cmocka_unit_test(duplicate_key),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(missing_required),
        cmocka_unit_test(role_requirements),
        cmocka_unit_test(bad_addresses),
        cmocka_unit_test(duplicate_listen_address),
        cmocka_unit_test(unknown_pool_and_foreign_domain),
        cmocka_unit_test(duplicate_fqdn),
        cmocka_unit_test(partners_and_connectors),
        cmocka_unit_test(warnings_do_not_fail),
        cmocka_unit_test(mailbox_routes),
        cmocka_unit_test(refused_yaml_features),
        cmocka_unit_test(syntax_error_at_the_end),
        cmocka_unit_test(mail_server_with_a_bad_fqdn),
        cmocka_unit_test(too_deep),
        cmocka_unit_test(huge),
        cmocka_unit_test(many_problems_all_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
