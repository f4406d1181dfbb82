/* paths: joining a data directory and a file name without silent truncation. */
#include "server/paths.h"

#include <stdio.h>

int paths_join(char *buf, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
