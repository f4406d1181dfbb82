/* cmd_user: `netshopd user add NAME --data DIR [--hash-cost COST]` — adds an account with an
 * argon2id hash, at libsodium's interactive cost or, for load-test accounts, its minimum cost. */
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "proto/shop1.h"
#include "server/auth.h"
#include "server/cmd.h"
#include "server/datadir.h"
#include "server/paths.h"
#include "store/store.h"

static const char USAGE[] =
    "usage: netshopd user add NAME --data DIR [--hash-cost interactive|minimal] [--allow-root]\n"
    "  The password is asked twice without echo, or read from the first line of stdin.\n"
    "  --hash-cost interactive  argon2id at libsodium's interactive limits (default)\n"
    "  --hash-cost minimal      argon2id at libsodium's minimum limits (1 pass, 8 KiB): for load-test\n"
    "                           accounts only, since such a hash is cheap to attack offline\n";

/* How expensive the account's password hash is. The server reads the parameters back from the
 * stored string when it verifies, so either cost logs in the same way. */
typedef enum { HASH_COST_INTERACTIVE, HASH_COST_MINIMAL } hash_cost_t;

/* Parses a --hash-cost value. Returns 0, or -1 after a message quoting it. */
static int parse_hash_cost(const char *s, hash_cost_t *out)
{
    if (strcmp(s, "interactive") == 0)
        *out = HASH_COST_INTERACTIVE;
    else if (strcmp(s, "minimal") == 0)
        *out = HASH_COST_MINIMAL;
    else {
        fprintf(stderr, "netshopd: --hash-cost wants interactive or minimal, not '%s'\n", s);
        return -1;
    }
    return 0;
}

/* Hashes password at the chosen cost into hash (crypto_pwhash_STRBYTES). Returns 0 or -1. */
static int hash_password(hash_cost_t cost, const char *password, char *hash, size_t cap)
{
    if (cost == HASH_COST_INTERACTIVE)
        return auth_hash_password(password, hash, cap);
    return crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_MIN,
                             crypto_pwhash_MEMLIMIT_MIN);
}

/* Reads one line from the terminal with echo off. Returns 0 or -1. */
static int read_tty_line(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *got = fgets(buf, (int)cap, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return got ? 0 : -1;
}

/* Reads a password: from the terminal without echo (asked twice when confirm is set), or the
 * first line of stdin when it is not a terminal. Rejects empty passwords and those with spaces
 * or control characters (SHOP/1 sends it as one word). Returns 0, or -1 after a message. */
static int read_password(const char *prompt, bool confirm, char *buf, size_t cap)
{
    bool tty = isatty(STDIN_FILENO);
    if (tty ? read_tty_line(prompt, buf, cap) != 0 : !fgets(buf, (int)cap, stdin)) {
        fprintf(stderr, "netshopd: no password given\n");
        return -1;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    size_t len = strlen(buf);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) {
            fprintf(stderr, "netshopd: a password may not contain spaces or control characters\n");
            return -1;
        }
    if (len == 0 || len > SHOP1_PASSWORD_MAX) {
        fprintf(stderr, "netshopd: a password has 1 to %d bytes\n", SHOP1_PASSWORD_MAX);
        return -1;
    }
    if (tty && confirm) {
        char again[SHOP1_PASSWORD_MAX + 2];
        int rc = read_tty_line("Again: ", again, sizeof again);
        again[strcspn(again, "\r\n")] = '\0';
        bool same = rc == 0 && strcmp(again, buf) == 0;
        sodium_memzero(again, sizeof again);
        if (!same) {
            fprintf(stderr, "netshopd: the passwords differ\n");
            return -1;
        }
    }
    return 0;
}

/* The user-name rule of SHOP/1 LOGIN: 1..32 of [A-Za-z0-9._-], not starting with '-'. */
static bool valid_user_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > SHOP1_USER_MAX || name[0] == '-')
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"hash-cost", required_argument, NULL, 'c'},
        {"allow-root", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    hash_cost_t cost = HASH_COST_INTERACTIVE;
    bool allow_root = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'R') {
            allow_root = true;
        } else if (c == 'c') {
            if (parse_hash_cost(optarg, &cost) != 0)
                return 2;
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (!dir || argc - optind != 2 || strcmp(argv[optind], "add") != 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    const char *name = argv[optind + 1];
    if (!valid_user_name(name)) {
        fprintf(stderr, "netshopd: bad user name '%s': 1 to %d of A-Z a-z 0-9 . _ - (not starting with -)\n",
                name, SHOP1_USER_MAX);
        return 2;
    }
    char err[256];
    int root = datadir_check_user(allow_root, "add users", err, sizeof err);
    if (root < 0) { /* as root with --allow-root: the data directory is root's (checked next) */
        fprintf(stderr, "netshopd: %s\n", err);
        return 1;
    }
    if (datadir_check(dir, err, sizeof err) != 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 1;
    }
    if (sodium_init() < 0)
        return 1;
    if (cost == HASH_COST_MINIMAL)
        fprintf(stderr, "netshopd: WARNING: user '%s' gets a minimal-cost password hash, fast to guess "
                        "offline if the database leaks: for load tests only\n", name);
    char password[SHOP1_PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
    int rc = 1;
    store_t *st = NULL;
    if (read_password("Password: ", true, password, sizeof password) != 0)
        goto out;
    if (hash_password(cost, password, hash, sizeof hash) != 0) {
        fprintf(stderr, "netshopd: cannot hash the password (out of memory?)\n");
        goto out;
    }
    char db_path[PATH_MAX];
    if (paths_join(db_path, sizeof db_path, dir, PATHS_DB) != 0) {
        fprintf(stderr, "netshopd: data directory path too long\n");
        goto out;
    }
    int exists = datadir_check_file(dir, PATHS_DB, DATADIR_FILE_ANY_MODE, err, sizeof err);
    if (exists != 0) {
        if (exists > 0)
            fprintf(stderr, "netshopd: %s does not exist; run 'netshopd init --data %s' first\n", db_path, dir);
        else
            fprintf(stderr, "netshopd: %s\n", err);
        goto out;
    }
    if (!(st = store_open(db_path, err, sizeof err))) {
        fprintf(stderr, "netshopd: %s\n", err);
        goto out;
    }
    store_status_t s = store_user_add(st, name, hash);
    if (s == STORE_EXISTS)
        fprintf(stderr, "netshopd: user '%s' already exists\n", name);
    else if (s != STORE_OK)
        fprintf(stderr, "netshopd: cannot add user: %s\n", store_errmsg(st));
    else {
        printf("netshopd: added user %s\n", name);
        rc = 0;
    }
out:
    sodium_memzero(password, sizeof password);
    store_close(st);
    return rc;
}
