/* main: the netshop client's entry point — parse the command line, run the one-shot command or
 * the interactive menu, report a failure once, exit with its status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client/cli_error.h"
#include "client/commands.h"
#include "client/menu.h"
#include "client/options.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a vanished server is an error return, not a signal */

    cli_error_t err;
    cli_error_clear(&err);
    client_options_t o;
    if (!options_parse(argc, argv, &o, &err)) {
        cli_error_report(&err, options_want_json(argc, argv));
        fputs("Try 'netshop --help' for more information.\n", stderr);
        return err.status;
    }
    if (o.help) {
        options_usage(stdout);
        options_free(&o);
        return NETSHOP_EXIT_OK;
    }

    netshop_exit_t status = o.command != NULL ? commands_run(&o, &err) : menu_run(&o, &err);
    if (status != NETSHOP_EXIT_OK)
        cli_error_report(&err, o.json);
    if (status == NETSHOP_EXIT_USAGE)
        fputs("Try 'netshop --help' for more information.\n", stderr);
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && status == NETSHOP_EXIT_OK) {
        fprintf(stderr, "netshop: cannot write the output: %s\n",
                errno != 0 ? strerror(errno) : "write error");
        status = NETSHOP_EXIT_REFUSED; /* the command ran but its result was not delivered */
    }
    options_free(&o);
    return (int)status;
}
