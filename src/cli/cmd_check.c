/* cmd_check.c - placeholder until implemented. */
#include <stdio.h>
#include "cli/commands.h"

int cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("trustnet check: not implemented yet\n", stderr);
    return TN_EXIT_USAGE;
}
