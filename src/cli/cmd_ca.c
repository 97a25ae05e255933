/* cmd_ca.c - placeholder until implemented. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_ca(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("trustnet ca: not implemented yet\n", stderr);
    return TN_EXIT_USAGE;
}
