/* cmd_mail_help.c - the --help texts of trustnet mailq and trustnet mail. */
#include "cli/cmd_mail_help.h"

#define SPOOL_TEXT                                                                 \
"    The queue is the spool directory of one mail server: either named by\n"      \
"    the topology (--topology FILE --server FQDN: that server's 'spool'\n"         \
"    key) or given directly (--spool DIR).\n"

#define SERVER_TEXT                                                                \
"    While the server runs (it holds DIR/lock), the command posts a request\n"     \
"    in DIR/control/ and waits at most --timeout seconds for the server to\n"     \
"    take it.  When no server runs, the command changes the queue itself.\n"

#define WHERE_OPTIONS                                                              \
"    --topology FILE     the topology that names the server's spool\n"             \
"    --server FQDN       the mail server of that topology\n"                       \
"    --spool DIR         the spool directory itself (instead of the two\n"         \
"                        options above)\n"

const char mailq_help[] =
"NAME\n"
"    trustnet mailq - list the messages in a mail server's queue\n"
"\n"
"SYNOPSIS\n"
"    trustnet mailq --topology FILE --server FQDN\n"
"    trustnet mailq --spool DIR\n"
"\n"
"DESCRIPTION\n"
"    Lists every message that waits in the queue, oldest first, in the\n"
"    manner of Postfix's mailq, then one count line.  The queue is read as\n"
"    it is on disk, whether or not the server runs; nothing is changed.\n"
"\n"
SPOOL_TEXT
"\n"
"OUTPUT\n"
"    For each message:\n"
"        ID  SIZE  ARRIVAL  SENDER\n"
"                attempts: N, next attempt: TIME\n"
"                (the reason the last attempt failed)\n"
"                                               RECIPIENT\n"
"    ID is the queue id (16 characters, for 'trustnet mail delete'); SIZE\n"
"    the bytes of the message; ARRIVAL and TIME are UTC; the sender of a\n"
"    bounce (the null sender <>) shows as MAILER-DAEMON.  Only recipients\n"
"    still pending are listed; a recipient whose own last reply differs\n"
"    from the message's reason is preceded by that reply in parentheses.\n"
"    The last line is \"-- N Kbytes in N Requests.\", or \"Mail queue is\n"
"    empty\".  A damaged file in the queue is reported on standard error\n"
"    (the server moves it to DIR/corrupt/) and counted on a line of its own.\n"
"\n"
"OPTIONS\n"
WHERE_OPTIONS
"    -h, --help          show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the queue was listed (even if empty), 1 the spool is missing or\n"
"    cannot be read, 2 bad usage (options, topology, unknown server).\n"
"\n"
"EXAMPLES\n"
"    trustnet mailq --topology /etc/trustnet/topology.yaml --server mail1.corp.example\n"
"    trustnet mailq --spool /var/spool/trustnet/mail1\n"
"\n"
"SEE ALSO\n"
"    trustnet mail --help, docs/mail-queue.md\n";

const char mail_help[] =
"NAME\n"
"    trustnet mail - act on a mail server's queue\n"
"\n"
"SYNOPSIS\n"
"    trustnet mail flush  (--topology FILE --server FQDN | --spool DIR)\n"
"                         [--timeout SECONDS]\n"
"    trustnet mail delete (--topology FILE --server FQDN | --spool DIR)\n"
"                         [--timeout SECONDS] ID...\n"
"    trustnet mail SUBCOMMAND --help\n"
"\n"
"DESCRIPTION\n"
"    A mail server keeps every message it accepted in its queue until each\n"
"    recipient is delivered or bounced.  These commands let an operator\n"
"    retry the queue now or remove messages from it; 'trustnet mailq'\n"
"    lists it.\n"
"\n"
SPOOL_TEXT
"\n"
SERVER_TEXT
"\n"
"SUBCOMMANDS\n"
"    flush    retry every queued message now\n"
"    delete   remove messages from the queue, without a bounce\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 the operation failed (unknown id, missing spool, the\n"
"    server did not take the request in time), 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"    trustnet mail flush --topology topology.yaml --server mail1.corp.example\n"
"    trustnet mail delete --spool /var/spool/trustnet/mail1 1K18TV9RVNH00MAB\n"
"\n"
"SEE ALSO\n"
"    trustnet mailq --help, docs/mail-queue.md\n";

const char mail_flush_help[] =
"NAME\n"
"    trustnet mail flush - retry every queued message now\n"
"\n"
"SYNOPSIS\n"
"    trustnet mail flush --topology FILE --server FQDN [--timeout SECONDS]\n"
"    trustnet mail flush --spool DIR [--timeout SECONDS]\n"
"\n"
"DESCRIPTION\n"
"    Makes every message in the queue due now, whatever its next attempt\n"
"    time, like Postfix's 'postqueue -f'.  Messages whose next hop still\n"
"    fails are deferred again with their usual back-off.\n"
"\n"
SPOOL_TEXT
"\n"
SERVER_TEXT
"    Without a server, each message's next attempt time is cleared: the\n"
"    server tries them all as soon as it starts.\n"
"\n"
"OPTIONS\n"
WHERE_OPTIONS
"    --timeout SECONDS   how long to wait for a running server to take the\n"
"                        request (1 to 3600, default 10)\n"
"    -h, --help          show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the server took the request, or the queue was changed; 1 the spool\n"
"    is missing or the server did not take the request in time (it is\n"
"    withdrawn); 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"    trustnet mail flush --topology topology.yaml --server mail1.corp.example\n"
"    trustnet mail flush --spool /var/spool/trustnet/mail1 --timeout 30\n";

const char mail_delete_help[] =
"NAME\n"
"    trustnet mail delete - remove messages from the queue\n"
"\n"
"SYNOPSIS\n"
"    trustnet mail delete --topology FILE --server FQDN [--timeout SECONDS] ID...\n"
"    trustnet mail delete --spool DIR [--timeout SECONDS] ID...\n"
"\n"
"DESCRIPTION\n"
"    Removes each message ID (as 'trustnet mailq' shows it) from the queue\n"
"    with its delivery state, like Postfix's 'postsuper -d'.  No bounce is\n"
"    sent: the sender is not told.  A message being delivered at that\n"
"    moment is removed when that attempt ends, so a recipient of it may\n"
"    still receive it.\n"
"\n"
SPOOL_TEXT
"\n"
SERVER_TEXT
"\n"
"OPTIONS\n"
WHERE_OPTIONS
"    --timeout SECONDS   how long to wait for a running server to take each\n"
"                        request (1 to 3600, default 10)\n"
"    -h, --help          show this help\n"
"\n"
"EXIT STATUS\n"
"    0 every message was deleted; 1 an ID is not in the queue (the others\n"
"    are still deleted), the spool is missing, or the server did not take\n"
"    a request in time; 2 bad usage (an ID that is not a queue id).\n"
"\n"
"EXAMPLES\n"
"    trustnet mail delete --spool /var/spool/trustnet/mail1 1K18TV9RVNH00MAB\n"
"    trustnet mail delete --topology topology.yaml --server mail1.corp.example \\\n"
"        1K18TV9RVNH00MAB 1K18TVA0QZ300MAB\n";
