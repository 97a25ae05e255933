/* cmd_user_help.c - the --help texts of trustnet user and its subcommands. */
#include "cli/cmd_user_help.h"

#define ADDRESS_TEXT                                                              \
"    ADDRESS is user@domain.  The user part is 1 to 64 characters: letters,\n"    \
"    digits, - _ . ! ~ * ' ( ) and %HH escapes (RFC 3261 unreserved and\n"        \
"    escaped); it is case-sensitive.  The domain is the SIP domain, a DNS\n"      \
"    name; it is kept in lowercase and is also the digest realm.\n"

#define PASSWORD_TEXT                                                             \
"    The password is read from --password-file (its first line), otherwise\n"     \
"    one line from standard input when it is not a terminal, otherwise it\n"      \
"    is asked for twice on the terminal without echo.  It is never stored:\n"     \
"    the store keeps only HA1 = H(user:domain:password) for SHA-256 (RFC\n"       \
"    8760) and MD5 (older clients).  At most 1024 bytes, not empty.\n"

const char user_help[] =
"NAME\n"
"    trustnet user - manage the users who authenticate to trustnet's SIP\n"
"    servers with HTTP digest\n"
"\n"
"SYNOPSIS\n"
"    trustnet user add    (--store FILE | --topology FILE) ADDRESS\n"
"                         [--password-file FILE]\n"
"    trustnet user passwd (--store FILE | --topology FILE) ADDRESS\n"
"                         [--password-file FILE]\n"
"    trustnet user del    (--store FILE | --topology FILE) ADDRESS\n"
"    trustnet user list   (--store FILE | --topology FILE)\n"
"    trustnet user SUBCOMMAND --help\n"
"\n"
"DESCRIPTION\n"
"    SIP clients register with trustnet and authenticate with HTTP digest\n"
"    (RFC 3261, RFC 7616, RFC 8760): the server challenges with SHA-256\n"
"    first, then MD5.  The store (a SQLite file, the same one the SIP\n"
"    server uses for registrations) holds each user's digest hashes, never\n"
"    the password.  Changes take effect at once, also in a running server.\n"
"\n"
ADDRESS_TEXT
"\n"
"SUBCOMMANDS\n"
"    add      add a user with a password\n"
"    passwd   change a user's password\n"
"    del      delete a user and the user's registrations\n"
"    list     show the users, their hash algorithms, creation time and\n"
"             number of active registrations\n"
"\n"
"    --topology FILE names the topology whose store (its top-level 'store'\n"
"    key) is used.\n"
"\n"
"FILES\n"
"    FILE     the store, created with mode 0600 by 'add' when missing (with\n"
"             FILE-wal and FILE-shm beside it).  A store that other users\n"
"             can read or write is refused: its hashes are password-\n"
"             equivalent for the domain.\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 the operation failed (the user exists, is unknown, the\n"
"    store cannot be used), 2 bad usage (bad address, bad options).\n"
"\n"
"EXAMPLES\n"
"    trustnet user add --store /var/lib/trustnet/store.db alice@corp.example\n"
"    echo 'S3cret pass' | trustnet user add --store store.db bob@corp.example\n"
"    trustnet user list --store /var/lib/trustnet/store.db\n";

const char user_add_help[] =
"NAME\n"
"    trustnet user add - add a SIP user with a digest password\n"
"\n"
"SYNOPSIS\n"
"    trustnet user add --store FILE ADDRESS [--password-file FILE]\n"
"\n"
"DESCRIPTION\n"
"    Adds ADDRESS to the store, creating the store (mode 0600) if it does\n"
"    not exist.  Refuses, changing nothing, if the user already exists\n"
"    (use 'trustnet user passwd' to change a password).\n"
"\n"
ADDRESS_TEXT
"\n"
PASSWORD_TEXT
"\n"
"OPTIONS\n"
"    --store FILE            the store (required)\n"
"    --password-file FILE    read the password from the first line of FILE\n"
"    -h, --help              show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the user was added, 1 the user exists or the store failed, 2 bad\n"
"    usage (bad address, empty password, unreadable password file).\n"
"\n"
"EXAMPLES\n"
"    trustnet user add --store store.db alice@corp.example\n"
"    trustnet user add --store store.db bob@corp.example --password-file pw.txt\n"
"    printf '%s\\n' \"$PW\" | trustnet user add --store store.db carol@corp.example\n";

const char user_passwd_help[] =
"NAME\n"
"    trustnet user passwd - change a SIP user's digest password\n"
"\n"
"SYNOPSIS\n"
"    trustnet user passwd --store FILE ADDRESS [--password-file FILE]\n"
"\n"
"DESCRIPTION\n"
"    Replaces the digest hashes of an existing user.  Registrations stay;\n"
"    clients authenticate with the new password at their next request.\n"
"\n"
ADDRESS_TEXT
"\n"
PASSWORD_TEXT
"\n"
"OPTIONS\n"
"    --store FILE            the store (required, must exist)\n"
"    --password-file FILE    read the password from the first line of FILE\n"
"    -h, --help              show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the password was changed, 1 no such user or the store failed, 2 bad\n"
"    usage.\n"
"\n"
"EXAMPLES\n"
"    trustnet user passwd --store store.db alice@corp.example\n";

const char user_del_help[] =
"NAME\n"
"    trustnet user del - delete a SIP user\n"
"\n"
"SYNOPSIS\n"
"    trustnet user del --store FILE ADDRESS\n"
"\n"
"DESCRIPTION\n"
"    Deletes the user and, in the same transaction, the user's\n"
"    registrations.  A running server refuses the user's next request;\n"
"    connections already open are not closed.\n"
"\n"
ADDRESS_TEXT
"\n"
"OPTIONS\n"
"    --store FILE    the store (required, must exist)\n"
"    -h, --help      show this help\n"
"\n"
"EXIT STATUS\n"
"    0 the user was deleted, 1 no such user or the store failed, 2 bad\n"
"    usage.\n"
"\n"
"EXAMPLES\n"
"    trustnet user del --store store.db alice@corp.example\n";

const char user_list_help[] =
"NAME\n"
"    trustnet user list - show the SIP users of a store\n"
"\n"
"SYNOPSIS\n"
"    trustnet user list --store FILE\n"
"\n"
"DESCRIPTION\n"
"    Prints one line per user, ordered by domain then user:\n"
"        ADDRESS  ALGORITHMS  CREATED  REGISTRATIONS\n"
"    ALGORITHMS are the digest algorithms the store has hashes for\n"
"    (SHA-256, MD5); CREATED is the UTC time the user was added;\n"
"    REGISTRATIONS counts the bindings that have not expired.\n"
"\n"
"OPTIONS\n"
"    --store FILE    the store (required, must exist)\n"
"    -h, --help      show this help\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 the store cannot be read, 2 bad usage.\n"
"\n"
"EXAMPLES\n"
"    trustnet user list --store /var/lib/trustnet/store.db\n";
