/* cmd_cert.c - "trustnet cert info FILE": the facts of a certificate file
 * that a partner needs to set up forced TLS with us (src/pki/cert_info.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "pki/cert_info.h"

static const char cert_help[] =
"NAME\n"
"    trustnet cert info - show the facts of a certificate file\n"
"\n"
"SYNOPSIS\n"
"    trustnet cert info FILE\n"
"    trustnet cert info --help\n"
"\n"
"DESCRIPTION\n"
"    Prints, as an aligned \"field: value\" table, what a partner needs to\n"
"    set up forced TLS with us, for the first certificate in FILE (a PEM\n"
"    file: the certificate, then optionally its chain):\n"
"\n"
"    Root issuer              issuer of the last certificate in FILE, or its\n"
"                             subject if it is self-signed (the root CA)\n"
"    Certificate name         the subject's common name (CN)\n"
"    Subject, Issuer          the full names\n"
"    Subject alt names        DNS names, URIs and IP addresses\n"
"    Organisation, Organisational unit\n"
"                             O and OU of the subject\n"
"    Key type and strength    e.g. \"EC P-256 (128-bit security)\"\n"
"    Signature algorithm      e.g. ecdsa-with-SHA256\n"
"    Valid from, Valid until  in UTC\n"
"    Serial                   hexadecimal\n"
"    SHA-256 fingerprint      of the DER certificate\n"
"    Extended key usage       e.g. serverAuth, clientAuth\n"
"    CRL distribution points  where its revocation list is published\n"
"    OCSP URLs                its OCSP responders\n"
"    Chain certificate N      each further certificate in FILE, briefly\n"
"\n"
"    A field the certificate does not have shows \"(none)\".\n"
"\n"
"OPTIONS\n"
"    -h, --help    show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the facts were printed, 1 FILE cannot be read or holds no PEM\n"
"    certificate, 2 bad usage.\n"
"\n"
"EXAMPLE\n"
"    trustnet cert info /etc/trustnet/edge.pem\n";

/* One line on stderr: "trustnet cert info: WHAT 'ARG'..."; exit status 2. */
static int usage_error(const char *what, const char *arg, const char *hint)
{
    fprintf(stderr, "trustnet cert info: %s%s%s%s%s (see 'trustnet cert info --help')\n",
            what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "", hint);
    return TN_EXIT_USAGE;
}

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static int cert_info_command(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(cert_help, stdout);
        return TN_EXIT_OK;
    }
    if (argc < 2)
        return usage_error("missing FILE", NULL, "");
    if (argc > 2)
        return usage_error("unexpected argument", argv[2], " (one FILE only)");
    if (argv[1][0] == '-' && argv[1][1] != '\0')
        return usage_error("unknown option", argv[1], "");
    struct cert_info info;
    tn_err err;
    if (cert_info_load(argv[1], &info, &err) < 0) {
        fprintf(stderr, "trustnet cert info: %s\n", err.msg);
        return TN_EXIT_REFUSED;
    }
    cert_info_print(&info, stdout);
    cert_info_free(&info);
    return TN_EXIT_OK;
}

int cmd_cert(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing subcommand", NULL, ": use trustnet cert info FILE");
    if (is_help(argv[1])) {
        fputs(cert_help, stdout);
        return TN_EXIT_OK;
    }
    if (strcmp(argv[1], "info") == 0)
        return cert_info_command(argc - 1, argv + 1);
    return usage_error("unknown subcommand", argv[1], ": use trustnet cert info FILE");
}
