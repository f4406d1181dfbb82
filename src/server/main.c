/* netshopd: dispatches to a subcommand (init, user, check) or serves. */
#include <stdio.h>
#include <string.h>

#include "server/cmd.h"
#include "server/config.h"
#include "server/server.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *description;
} SUBCOMMANDS[] = {
    {"init", cmd_init, "create a data directory: database, catalog, CA and server certificate"},
    {"user", cmd_user, "manage user accounts (user add NAME)"},
    {"check", cmd_check, "check a data directory's database for inconsistencies (offline or live)"},
};

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (size_t i = 0; i < sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0]; i++)
            if (strcmp(argv[1], SUBCOMMANDS[i].name) == 0)
                return SUBCOMMANDS[i].run(argc - 1, argv + 1);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(config_usage(), stdout);
            return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
            printf("netshopd %s\n", NETSHOP_VERSION);
            return 0;
        }
    }
    config_t cfg;
    config_defaults(&cfg);
    if (config_parse_serve(&cfg, argc, argv) != 0)
        return 2;
    return server_run(&cfg);
}
