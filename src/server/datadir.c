/* datadir: ownership, mode and symbolic-link checks on data directories and their files, and the
 * refusal to run as root (see datadir.h). */
#include "server/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/paths.h"

int datadir_check_user(bool allow_root, const char *what, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    if (!allow_root) {
        snprintf(err, errlen,
                 "refusing to %s as root: netshopd needs no privileges; run it as an ordinary user "
                 "who owns the data directory, or pass --allow-root", what);
        return -1;
    }
    return 1;
}

/* Checks an fstat/lstat result of the directory `dir`. Returns 0 or -1 with err. */
static int check_dir_stat(const char *dir, const struct stat *st, bool mode_matters, char *err,
                          size_t errlen)
{
    if (S_ISLNK(st->st_mode)) {
        snprintf(err, errlen, "data directory %s is a symbolic link; give its real path", dir);
        return -1;
    }
    if (!S_ISDIR(st->st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if (st->st_uid != geteuid()) {
        snprintf(err, errlen, "directory %s belongs to uid %ld, not to the user running netshopd "
                 "(uid %ld); refusing to use it", dir, (long)st->st_uid, (long)geteuid());
        return -1;
    }
    if (mode_matters && (st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(err, errlen, "directory %s is writable by group or others (mode %04o); "
                 "chmod 700 it", dir, (unsigned)(st->st_mode & 07777));
        return -1;
    }
    return 0;
}

int datadir_check(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "data directory %s: %s", dir, strerror(errno));
        return -1;
    }
    return check_dir_stat(dir, &st, true, err, errlen);
}

int datadir_prepare(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    /* Opened without following a link, then checked and changed through the descriptor: what
     * was checked is what gets mode 0700. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR) {
            struct stat st;
            if (lstat(dir, &st) == 0 && check_dir_stat(dir, &st, false, err, errlen) != 0)
                return -1;
        }
        snprintf(err, errlen, "cannot open directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0)
        snprintf(err, errlen, "cannot check %s: %s", dir, strerror(errno));
    else if (check_dir_stat(dir, &st, false, err, errlen) != 0)
        ;
    else if (fchmod(fd, 0700) != 0)
        snprintf(err, errlen, "cannot set mode 0700 on %s: %s", dir, strerror(errno));
    else
        rc = 0;
    close(fd);
    return rc;
}

int datadir_check_file(const char *dir, const char *name, datadir_file_t kind, char *err,
                       size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    if (paths_join(path, sizeof path, dir, name) != 0) {
        snprintf(err, errlen, "data directory path too long");
        return -1;
    }
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(err, errlen, "%s is a symbolic link; refusing to follow it", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s belongs to uid %ld, not to the user running netshopd (uid %ld)",
                 path, (long)st.st_uid, (long)geteuid());
        return -1;
    }
    if (kind == DATADIR_FILE_PRIVATE && (st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s is accessible by group or others (mode %04o); chmod 600 it",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

bool datadir_same(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
