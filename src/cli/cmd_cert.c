/* cmd_cert.c - placeholder until implemented. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_cert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("trustnet cert: not implemented yet\n", stderr);
    return TN_EXIT_USAGE;
}
