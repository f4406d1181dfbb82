/* cmd_init: `netshopd init` — makes a data directory: the database with the catalog and
 * settings, optionally the demo users, and the local CA and server certificate; the CA's private
 * key goes to a CA directory of its own (default: DIR.ca beside the data directory DIR). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/catalog_csv.h"
#include "server/auth.h"
#include "server/certs.h"
#include "server/cmd.h"
#include "server/datadir.h"
#include "server/paths.h"
#include "store/store.h"

#define SANS_MAX 16
#define CATALOG_FILE_MAX (16 * 1024 * 1024)

#ifndef NETSHOP_SHARE_DIR
#define NETSHOP_SHARE_DIR "/usr/local/share/netshop"
#endif

static const char *const DEMO_USERS[][2] = {{"root", "root"}, {"root1", "root1"}};

/* Reads a whole file into a NUL-terminated heap buffer. NULL with a message on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "netshopd: cannot open catalog '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CATALOG_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, CATALOG_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > CATALOG_FILE_MAX;
    fclose(f);
    if (bad) {
        fprintf(stderr, "netshopd: cannot read catalog '%s' (larger than %d bytes?)\n", path, CATALOG_FILE_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static const char *default_catalog(void)
{
    static const char *const candidates[] = {"data/catalog.csv", NETSHOP_SHARE_DIR "/catalog.csv"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return candidates[0];
}

/* Creates the database (if new): schema, catalog, currency, demo users. */
static int init_store(const char *db_path, const char *catalog_path, bool demo)
{
    char err[256];
    int rc = 1;
    catalog_t *cat = NULL;
    size_t len = 0;
    char *text = read_file(catalog_path, &len);
    if (!text)
        return 1;
    store_t *st = store_open(db_path, err, sizeof err);
    if (!st) {
        fprintf(stderr, "netshopd: %s\n", err);
        goto out;
    }
    if (store_catalog_empty(st)) {
        cat = catalog_new();
        if (!cat || catalog_csv_parse(text, len, CURRENCY_DEFAULT.minor_digits, cat, err, sizeof err) != 0) {
            fprintf(stderr, "netshopd: %s: %s\n", catalog_path, cat ? err : "out of memory");
            goto out;
        }
        catalog_freeze(cat);
        char digits[8];
        snprintf(digits, sizeof digits, "%d", CURRENCY_DEFAULT.minor_digits);
        if (store_catalog_import(st, cat) != STORE_OK ||
            store_setting_set(st, "currency", CURRENCY_DEFAULT.code) != STORE_OK ||
            store_setting_set(st, "minor_digits", digits) != STORE_OK) {
            fprintf(stderr, "netshopd: cannot write the catalog: %s\n", store_errmsg(st));
            goto out;
        }
        printf("netshopd: imported %zu items in %zu categories from %s\n", catalog_item_count(cat),
               catalog_category_count(cat), catalog_path);
    } else {
        printf("netshopd: %s already has a catalog; kept it\n", db_path);
    }
    if (demo) {
        for (size_t i = 0; i < sizeof DEMO_USERS / sizeof DEMO_USERS[0]; i++) {
            char hash[crypto_pwhash_STRBYTES];
            if (auth_hash_password(DEMO_USERS[i][1], hash, sizeof hash) != 0) {
                fprintf(stderr, "netshopd: cannot hash a password (out of memory?)\n");
                goto out;
            }
            store_status_t s = store_user_add(st, DEMO_USERS[i][0], hash);
            if (s != STORE_OK && s != STORE_EXISTS) {
                fprintf(stderr, "netshopd: cannot add demo users: %s\n", store_errmsg(st));
                goto out;
            }
        }
        if (store_setting_set(st, "demo", "1") != STORE_OK) {
            fprintf(stderr, "netshopd: %s\n", store_errmsg(st));
            goto out;
        }
        printf("netshopd: demo users root/root and root1/root1 (demo mode: never expose this server)\n");
    }
    rc = 0;
out:
    catalog_free(cat);
    store_close(st);
    free(text);
    return rc;
}

static const char USAGE[] =
    "usage: netshopd init --data DIR [--ca-dir DIR] [--demo] [--catalog FILE] [--san NAME]... [--force]\n"
    "                     [--allow-root]\n"
    "  --ca-dir DIR   where the CA's private key ca.key goes (default: the data directory's path\n"
    "                 with .ca appended); never the data directory itself\n";

/* The default CA directory: the data directory's path (trailing slashes dropped) + ".ca".
 * Returns 0, or -1 when it does not fit in cap. */
static int default_ca_dir(const char *dir, char *out, size_t cap)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    int n = snprintf(out, cap, "%.*s.ca", (int)len, dir);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},   {"demo", no_argument, NULL, 'D'},
        {"catalog", required_argument, NULL, 'c'}, {"san", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},        {"ca-dir", required_argument, NULL, 'a'},
        {"allow-root", no_argument, NULL, 'R'},   {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *catalog = NULL, *ca_dir = NULL;
    const char *sans[SANS_MAX];
    size_t nsans = 0;
    bool demo = false, force = false, allow_root = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'D': demo = true; break;
        case 'c': catalog = optarg; break;
        case 'f': force = true; break;
        case 'a': ca_dir = optarg; break;
        case 'R': allow_root = true; break;
        case 's':
            if (nsans == SANS_MAX) {
                fprintf(stderr, "netshopd: at most %d --san names\n", SANS_MAX);
                return 2;
            }
            sans[nsans++] = optarg;
            break;
        default:
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (!dir || optind < argc) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "netshopd: libsodium failed to initialise\n");
        return 1;
    }
    char err[512];
    char ca_path[PATH_MAX];
    int root = datadir_check_user(allow_root, "run init", err, sizeof err);
    if (root < 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 1;
    }
    if (root > 0)
        fprintf(stderr, "netshopd: WARNING: running init as root (--allow-root); the files will "
                        "belong to root, so only root can serve them\n");
    if (!ca_dir) {
        if (default_ca_dir(dir, ca_path, sizeof ca_path) != 0) {
            fprintf(stderr, "netshopd: data directory path too long\n");
            return 1;
        }
        ca_dir = ca_path;
    }
    /* The directories first (ours, 0700, not links), and no link in place of the database,
     * before anything is written. */
    if (datadir_prepare(dir, err, sizeof err) != 0 ||
        datadir_check_file(dir, PATHS_DB, DATADIR_FILE_ANY_MODE, err, sizeof err) < 0 ||
        datadir_prepare(ca_dir, err, sizeof err) != 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 1;
    }
    if (datadir_same(dir, ca_dir)) {
        fprintf(stderr, "netshopd: --ca-dir %s is the data directory; the CA's key must be kept out of "
                        "what the server reads\n", ca_dir);
        return 1;
    }
    if (certs_create(dir, ca_dir, sans, nsans, force, err, sizeof err) != 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 1;
    }
    printf("netshopd: wrote %s/ca.crt, server.key, server.csr, server.crt\n", dir);
    printf("netshopd: wrote the CA's private key to %s/ca.key: the server never needs it; keep it "
           "offline\n", ca_dir);
    char db_path[PATH_MAX];
    if (paths_join(db_path, sizeof db_path, dir, PATHS_DB) != 0) {
        fprintf(stderr, "netshopd: data directory path too long\n");
        return 1;
    }
    if (init_store(db_path, catalog ? catalog : default_catalog(), demo) != 0)
        return 1;
    printf("netshopd: ready: netshopd --data %s\n", dir);
    return 0;
}
