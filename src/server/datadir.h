/* datadir: what netshopd checks before it trusts a data directory (or the CA directory of `init`)
 * and the files in it, and the refusal to run as root. Used by serving, `init` and `user add`.
 *
 * The rules (security audit finding 6):
 *   - a data directory is a real directory, not a symbolic link, owned by the effective user and
 *     writable by nobody else; `init` creates it 0700 or, when it exists and passes the owner
 *     check, narrows it to 0700;
 *   - the files netshopd reads or writes in it are never followed through a symbolic link: a link
 *     in place of shop.db, a key, a certificate or the lock file is refused (the store opens its
 *     database with O_NOFOLLOW and SQLITE_OPEN_NOFOLLOW itself);
 *   - as root (euid 0) nothing runs unless told to with --allow-root: the server needs no
 *     privilege (port 5555, files of its own user). */
#ifndef NETSHOP_SERVER_DATADIR_H
#define NETSHOP_SERVER_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

/* Which kind of file datadir_check_file expects. */
typedef enum {
    DATADIR_FILE_ANY_MODE, /* a certificate, or the database (whose mode the store narrows itself) */
    DATADIR_FILE_PRIVATE,  /* a private key: no group or other permission at all */
} datadir_file_t;

/* Refuses to run as root. Returns 0 when the effective user is not root, 1 when it is root and
 * allow_root is set (the caller warns), else -1 with err filled ("refusing to <what> as root",
 * naming the --allow-root option). */
int datadir_check_user(bool allow_root, const char *what, char *err, size_t errlen);

/* Checks the existing directory `dir` without following a symbolic link at its last component:
 * a directory, owned by the effective user, not writable by group or others. Returns 0, or -1
 * with err naming the directory and the problem. */
int datadir_check(const char *dir, char *err, size_t errlen);

/* For `init`: creates `dir` with mode 0700 when it does not exist; otherwise checks it is a real
 * directory (not a symbolic link) owned by the effective user and sets its mode to 0700. Returns
 * 0, or -1 with err filled. */
int datadir_prepare(const char *dir, char *err, size_t errlen);

/* Checks dir/name without following a symbolic link: a regular file owned by the effective user,
 * and for DATADIR_FILE_PRIVATE without group or other permissions. Returns 0 when it is fine, 1
 * when it does not exist, -1 with err filled otherwise. */
int datadir_check_file(const char *dir, const char *name, datadir_file_t kind, char *err,
                       size_t errlen);

/* True when `a` and `b` name the same existing directory (same device and inode). */
bool datadir_same(const char *a, const char *b);

#endif
