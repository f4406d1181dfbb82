/* commands: the one-shot commands (categories, browse, item, buy, receipt, orders, ping) —
 * argument checks, their requests, and their human or JSON output on stdout. */
#ifndef NETSHOP_COMMANDS_H
#define NETSHOP_COMMANDS_H

#include "client/cli_error.h"
#include "client/options.h"

/* Runs o->command with o->args: checks the arguments (usage errors before any connection),
 * connects, logs in when the command needs it, sends its requests, prints the result on
 * stdout, and says QUIT. Returns the exit status; on failure *err describes it (not printed). */
netshop_exit_t commands_run(const client_options_t *o, cli_error_t *err);

#endif
