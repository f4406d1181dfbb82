/* cmd: netshopd's administrative subcommands, one file each (cmd_init.c, cmd_user.c,
 * cmd_check.c).
 * Each takes the arguments after "netshopd" (argv[0] is the subcommand's name) and returns the
 * process exit status. */
#ifndef NETSHOP_CMD_H
#define NETSHOP_CMD_H

int cmd_init(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
