/* menu: the interactive shop — connect, log in (User:/Password:), then
 * `1. Browse  2. Purchase  3. Print Receipt  4. Exit` until Exit or end of input. Bad input
 * gets a message and the menu again; only a lost connection ends it early. */
#ifndef NETSHOP_MENU_H
#define NETSHOP_MENU_H

#include "client/cli_error.h"
#include "client/options.h"

/* Runs the menu on stdin/stdout. Returns the exit status (0 after Exit or end of input);
 * on failure *err describes it (not printed). */
netshop_exit_t menu_run(const client_options_t *o, cli_error_t *err);

#endif
