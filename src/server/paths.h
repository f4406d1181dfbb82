/* paths: the files of a data directory, built with a length check. */
#ifndef NETSHOP_PATHS_H
#define NETSHOP_PATHS_H

#include <stddef.h>

#define PATHS_DB "shop.db"
#define PATHS_LOCK "netshopd.lock"

/* Writes "dir/name" into buf. Returns 0, or -1 when it does not fit in cap. */
int paths_join(char *buf, size_t cap, const char *dir, const char *name);

#endif
