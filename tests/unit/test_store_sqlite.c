/* test_store_sqlite: unit tests of the SQLite back end of store.h, each on a fresh database
 * file in its own mkdtemp directory under /tmp (removed afterwards with its -wal/-shm). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define PHONE_PRICE 10000000   /* 100000.00 */
#define LAPTOP_PRICE 5500050   /* 55000.50 */
#define LIPSTICK_PRICE 25000   /* 250.00 */
#define PHONE_STOCK 10
#define LAPTOP_STOCK 5
#define LIPSTICK_STOCK 3

typedef struct {
    char dir[64];
    char path[128];
    store_t *st;
} fixture_t;

/* ---- Fixture. ---- */

static void path_in(const fixture_t *f, const char *name, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", f->dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static store_t *open_or_fail(const char *path)
{
    char err[256] = "";
    store_t *st = store_open(path, err, sizeof err);
    if (st == NULL)
        fail_msg("store_open(%s): %s", path, err);
    return st;
}

static int teardown(void **state);

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/netshop-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path_in(f, "shop.db", f->path, sizeof f->path);
    *state = f;
    char err[256] = "";
    f->st = store_open(f->path, err, sizeof err);
    if (f->st == NULL) {
        print_error("store_open(%s): %s\n", f->path, err);
        teardown(state); /* cmocka skips teardown when setup fails */
        return -1;
    }
    return 0;
}

/* Closes the store and removes every file the test made (database, -wal, -shm, extras). */
static int teardown(void **state)
{
    fixture_t *f = *state;
    store_close(f->st); /* NULL is allowed */
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[192];
        path_in(f, e->d_name, p, sizeof p);
        assert_int_equal(unlink(p), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* ---- Helpers. ---- */

/* Two categories, three items: 101 Phone, 102 Laptop (Electronics), 201 Lipstick. */
static catalog_t *make_catalog(void)
{
    catalog_t *cat = catalog_new();
    assert_non_null(cat);
    assert_int_equal(catalog_add_category(cat, 1, "Electronics"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 2, "Cosmetics"), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 101, 1, "Phone", PHONE_PRICE, PHONE_STOCK),
                     CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 102, 1, "Laptop", LAPTOP_PRICE, LAPTOP_STOCK),
                     CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 201, 2, "Lipstick", LIPSTICK_PRICE, LIPSTICK_STOCK),
                     CATALOG_OK);
    catalog_freeze(cat);
    return cat;
}

static void import_catalog(store_t *st)
{
    catalog_t *cat = make_catalog();
    assert_int_equal(store_catalog_import(st, cat), STORE_OK);
    catalog_free(cat);
}

static int64_t add_user(store_t *st, const char *name)
{
    char hash[STORE_PWHASH_MAX];
    int64_t id = 0;
    assert_int_equal(store_user_add(st, name, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA"),
                     STORE_OK);
    assert_int_equal(store_user_get(st, name, &id, hash, sizeof hash), STORE_OK);
    assert_true(id > 0);
    return id;
}

static store_line_t make_line(int64_t order_id, int sno, const char *name, money_t unit,
                              int64_t qty)
{
    store_line_t line = {.order_id = order_id, .sno = sno, .qty = qty, .unit_price = unit,
                         .line_total = unit * qty};
    assert_true(strlen(name) < sizeof line.name);
    strcpy(line.name, name);
    return line;
}

/* Adds one line in its own store_begin/store_commit, as the committer does; returns its id. */
static int64_t buy(store_t *st, int64_t order_id, int sno, const char *name, money_t unit,
                   int64_t qty)
{
    store_line_t line = make_line(order_id, sno, name, unit, qty);
    assert_int_equal(store_begin(st), STORE_OK);
    assert_int_equal(store_line_add(st, &line), STORE_OK);
    assert_int_equal(store_commit(st), STORE_OK);
    assert_true(line.line_id > 0);
    return line.line_id;
}

static int64_t open_order(store_t *st, int64_t user_id, int64_t now)
{
    int64_t order_id = 0;
    assert_int_equal(store_order_open(st, user_id, now, &order_id), STORE_OK);
    assert_true(order_id > 0);
    return order_id;
}

/* Stock per sno as store_stock_each reports it (snos 0..999 only, enough for the tests). */
typedef struct {
    int64_t stock[1000];
    int64_t initial[1000];
    int calls;
} stock_seen_t;

static void record_stock(void *ctx, int sno, int64_t stock, int64_t initial)
{
    stock_seen_t *seen = ctx;
    assert_true(sno >= 0 && sno < 1000);
    seen->stock[sno] = stock;
    seen->initial[sno] = initial;
    seen->calls++;
}

static stock_seen_t read_stock(store_t *st)
{
    stock_seen_t seen;
    memset(&seen, 0xff, sizeof seen); /* -1 everywhere: unreported items stand out */
    seen.calls = 0;
    assert_int_equal(store_stock_each(st, record_stock, &seen), STORE_OK);
    return seen;
}

static int64_t stock_of(store_t *st, int sno)
{
    return read_stock(st).stock[sno];
}

/* Reads an order that must exist for user_id; the caller frees *lines. */
static store_order_t get_order(store_t *st, int64_t order_id, int64_t user_id,
                               store_line_t **lines, size_t *nlines)
{
    store_order_t hdr;
    memset(&hdr, 0, sizeof hdr);
    assert_int_equal(store_order_get(st, order_id, user_id, &hdr, lines, nlines), STORE_OK);
    assert_int_equal(hdr.order_id, order_id);
    return hdr;
}

/* Runs one SQL query with the SQLite API directly and returns its first column as text. */
static void raw_query(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const char *text = (const char *)sqlite3_column_text(s, 0);
    assert_non_null(text);
    assert_true(strlen(text) < cap);
    strcpy(out, text);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static unsigned file_mode(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (unsigned)(sb.st_mode & 07777);
}

/* ---- Open, schema, files. ---- */

/* buy_requests' columns in order: an upgraded file must match a new one. */
#define BUY_REQUESTS_COLUMNS "SELECT group_concat(name, ',') FROM pragma_table_info('buy_requests')"
#define BUY_REQUESTS_COLUMNS_V4 "user_id,request_id,sno,qty,outcome,line_id,created_at,stock_left"

static void test_open_creates_schema(void **state)
{
    fixture_t *f = *state;
    char text[256];
    raw_query(f->path, "PRAGMA user_version", text, sizeof text);
    assert_string_equal(text, "4");
    raw_query(f->path, BUY_REQUESTS_COLUMNS, text, sizeof text);
    assert_string_equal(text, BUY_REQUESTS_COLUMNS_V4);
    raw_query(f->path, "PRAGMA journal_mode", text, sizeof text);
    assert_string_equal(text, "wal");
    raw_query(f->path,
              "SELECT group_concat(name, ',') FROM"
              " (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)",
              text, sizeof text);
    assert_string_equal(text, "buy_requests,categories,items,order_lines,orders,settings,users");
    raw_query(f->path,
              "SELECT group_concat(name, ',') FROM"
              " (SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
              " ORDER BY name)",
              text, sizeof text);
    assert_string_equal(text, "buy_requests_refused,orders_by_user,orders_open");
    assert_true(store_catalog_empty(f->st));
    assert_string_equal(store_errmsg(f->st), "");
}

static void test_open_files_are_private(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(file_mode(f->path), 0600);
    /* The WAL exists once something was written; it must be as private as the database. */
    assert_int_equal(store_setting_set(f->st, "currency", "INR"), STORE_OK);
    char wal[160];
    path_in(f, "shop.db-wal", wal, sizeof wal);
    assert_int_equal(file_mode(wal), 0600);

    /* A permissive umask does not widen the mode, a restrictive one does not narrow it. */
    char loose[160], tight[160];
    path_in(f, "loose.db", loose, sizeof loose);
    path_in(f, "tight.db", tight, sizeof tight);
    mode_t old = umask(0);
    store_t *a = open_or_fail(loose);
    umask(0277);
    store_t *b = open_or_fail(tight);
    umask(old);
    assert_int_equal(file_mode(loose), 0600);
    assert_int_equal(file_mode(tight), 0600);
    store_close(a);
    store_close(b);
}

/* Audit 6: a symbolic link in place of the database (dangling or not) or of its WAL is refused,
 * and nothing is created where it points. */
static void test_open_refuses_symbolic_links(void **state)
{
    fixture_t *f = *state;
    char link[160], target[160], err[256] = "";
    path_in(f, "linked.db", link, sizeof link);
    path_in(f, "target.db", target, sizeof target);
    assert_int_equal(symlink(target, link), 0);
    assert_null(store_open(link, err, sizeof err));
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(access(target, F_OK), -1);     /* dangling: the target was not created */

    store_close(open_or_fail(target));              /* a real database behind the link */
    assert_null(store_open(link, err, sizeof err));

    char wal[192];
    path_in(f, "walled.db", link, sizeof link);
    store_close(open_or_fail(link));
    snprintf(wal, sizeof wal, "%s-wal", link);
    (void)unlink(wal);
    assert_int_equal(symlink(target, wal), 0);
    assert_null(store_open(link, err, sizeof err));
    assert_non_null(strstr(err, "-wal is a symbolic link"));
}

/* Audit 6: a database left readable by others (as one made through a link was) is narrowed. */
static void test_open_narrows_an_existing_database_to_owner_only(void **state)
{
    fixture_t *f = *state;
    char path[160];
    path_in(f, "wide.db", path, sizeof path);
    store_close(open_or_fail(path));
    assert_int_equal(chmod(path, 0644), 0);
    store_t *st = open_or_fail(path);
    assert_int_equal(file_mode(path), 0600);
    store_close(st);
}

/* The POSIX (fcntl) locks this process holds, from /proc/locks. */
static int own_posix_locks(void)
{
    FILE *f = fopen("/proc/locks", "r");
    assert_non_null(f);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int pid = 0;
        char kind[16];
        if (sscanf(line, "%*d: %15s %*s %*s %d", kind, &pid) == 2 && strcmp(kind, "POSIX") == 0
            && pid == (int)getpid())
            n++;
    }
    fclose(f);
    return n;
}

/* Regression (found by test_crash while writing the audit-6 fix): store_open must not open and
 * close an existing database, -wal or -shm file, since closing any descriptor of a file drops every
 * POSIX lock this process holds on it: another connection's SQLite locks vanished (and with them
 * the protection of its transaction against other processes). */
static void test_open_keeps_other_connections_locks(void **state)
{
    fixture_t *f = *state;
    sqlite3 *a = NULL;
    assert_int_equal(sqlite3_open(f->path, &a), SQLITE_OK);
    assert_int_equal(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    int before = own_posix_locks();
    assert_true(before > 0);
    store_t *b = open_or_fail(f->path);
    assert_int_equal(own_posix_locks(), before);
    store_close(b);
    assert_int_equal(sqlite3_exec(a, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(a);
}

static void test_open_bad_path_reports_error(void **state)
{
    fixture_t *f = *state;
    char path[192], err[256] = "";
    path_in(f, "no-such-dir/shop.db", path, sizeof path);
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, "no-such-dir/shop.db"));
}

static void test_open_refuses_newer_schema(void **state)
{
    fixture_t *f = *state;
    char path[160], err[256] = "";
    path_in(f, "future.db", path, sizeof path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 5", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, "schema version 5"));
}

/* A database of schema version 1 (netshop 0.1: lines indexed by order) as that release made
 * it, with two orders whose lines interleave. */
static const char v1_database[] =
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE categories(number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;"
    "CREATE TABLE items(sno INTEGER PRIMARY KEY,"
    "  category INTEGER NOT NULL REFERENCES categories(number), name TEXT NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0), stock INTEGER NOT NULL CHECK (stock >= 0),"
    "  initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0)) STRICT;"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  pwhash TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    "  opened_at INTEGER NOT NULL, closed_at INTEGER,"
    "  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    "  line_count INTEGER NOT NULL DEFAULT 0 CHECK (line_count >= 0),"
    "  total INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),"
    "  CHECK ((status = 'open') = (closed_at IS NULL))) STRICT;"
    "CREATE INDEX orders_by_user ON orders(user_id, id);"
    "CREATE INDEX orders_open ON orders(id) WHERE status = 'open';"
    "CREATE TABLE order_lines(id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  sno INTEGER NOT NULL REFERENCES items(sno), name TEXT NOT NULL,"
    "  qty INTEGER NOT NULL CHECK (qty > 0), unit_price INTEGER NOT NULL CHECK (unit_price >= 0),"
    "  line_total INTEGER NOT NULL CHECK (line_total >= 0)) STRICT;"
    "CREATE INDEX order_lines_by_order ON order_lines(order_id, id);"
    "CREATE TABLE buy_requests(user_id INTEGER NOT NULL REFERENCES users(id),"
    "  request_id TEXT NOT NULL, sno INTEGER NOT NULL, qty INTEGER NOT NULL,"
    "  result INTEGER NOT NULL, line_id INTEGER REFERENCES order_lines(id),"
    "  PRIMARY KEY (user_id, request_id)) STRICT, WITHOUT ROWID;"
    "INSERT INTO categories VALUES (1, 'Mobiles');"
    "INSERT INTO items VALUES (101, 1, 'Phone', 100, 6, 10);"
    "INSERT INTO users VALUES (1, 'alice', 'x', 0);"
    "INSERT INTO orders VALUES (1, 1, 10, NULL, 'open', 2, 300);"
    "INSERT INTO orders VALUES (2, 1, 11, 20, 'closed', 1, 100);"
    "INSERT INTO order_lines VALUES (1, 1, 101, 'Phone', 1, 100, 100);"
    "INSERT INTO order_lines VALUES (2, 2, 101, 'Phone', 1, 100, 100);"
    "INSERT INTO order_lines VALUES (3, 1, 101, 'Phone', 2, 100, 200);"
    "INSERT INTO buy_requests VALUES (1, 'r-3', 101, 2, 0, 3);"
    "PRAGMA user_version = 1;";

/* The line ids and quantities of an order, in order, as "id:qty,id:qty". */
static void order_lines_text(store_t *st, int64_t order_id, char *out, size_t cap)
{
    store_line_t *lines = NULL;
    size_t n = 0;
    get_order(st, order_id, 1, &lines, &n);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%lld:%lld", i ? "," : "",
                 (long long)lines[i].line_id, (long long)lines[i].qty);
    free(lines);
}

static void test_open_upgrades_schema_v1(void **state)
{
    fixture_t *f = *state;
    char path[160], text[256];
    path_in(f, "v1.db", path, sizeof path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_database, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    int64_t before = (int64_t)time(NULL);
    store_t *st = open_or_fail(path);
    raw_query(path, "PRAGMA user_version", text, sizeof text);
    assert_string_equal(text, "4");
    /* Records from before the upgrade count from the upgrade (v2 -> v3). */
    raw_query(path, "SELECT count(*) FROM buy_requests WHERE created_at < strftime('%s', 'now') - 5"
              " OR created_at > strftime('%s', 'now') + 5", text, sizeof text);
    assert_string_equal(text, "0");
    int64_t pruned = -1;
    assert_int_equal(store_requests_prune(st, before - 10, 100, &pruned), STORE_OK);
    assert_int_equal(pruned, 0);
    raw_query(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'order_lines_by_order'",
              text, sizeof text);
    assert_string_equal(text, "0");
    order_lines_text(st, 1, text, sizeof text);
    assert_string_equal(text, "1:1,3:2");
    order_lines_text(st, 2, text, sizeof text);
    assert_string_equal(text, "2:1");

    /* The open order goes on growing its chain; old purchase records still answer. */
    int64_t added = buy(st, 1, 101, "Phone", 100, 3);
    order_lines_text(st, 1, text, sizeof text);
    char want[64];
    snprintf(want, sizeof want, "1:1,3:2,%lld:3", (long long)added);
    assert_string_equal(text, want);
    assert_int_equal(stock_of(st, 101), 3);
    store_request_t rec;
    assert_int_equal(store_request_get(st, 1, "r-3", &rec), STORE_OK);
    assert_int_equal(rec.line_id, 3);
    assert_int_equal(rec.outcome, OUTCOME_BOUGHT);
    store_close(st);
}

/* A version-3 database as that schema wrote it: buy_requests.result held shop1_error_t values
 * (SHOP1_OK 0, NO_SUCH_ITEM 7, BAD_QUANTITY 10, INSUFFICIENT_STOCK 11, LIMIT 13). */
static const char v3_database_schema[] =
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE categories(number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;"
    "CREATE TABLE items(sno INTEGER PRIMARY KEY,"
    "  category INTEGER NOT NULL REFERENCES categories(number), name TEXT NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0), stock INTEGER NOT NULL CHECK (stock >= 0),"
    "  initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0)) STRICT;"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  pwhash TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    "  opened_at INTEGER NOT NULL, closed_at INTEGER,"
    "  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    "  line_count INTEGER NOT NULL DEFAULT 0 CHECK (line_count >= 0),"
    "  total INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0), last_line_id INTEGER,"
    "  CHECK ((status = 'open') = (closed_at IS NULL))) STRICT;"
    "CREATE INDEX orders_by_user ON orders(user_id, id);"
    "CREATE INDEX orders_open ON orders(id) WHERE status = 'open';"
    "CREATE TABLE order_lines(id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  sno INTEGER NOT NULL REFERENCES items(sno), name TEXT NOT NULL,"
    "  qty INTEGER NOT NULL CHECK (qty > 0), unit_price INTEGER NOT NULL CHECK (unit_price >= 0),"
    "  line_total INTEGER NOT NULL CHECK (line_total >= 0), prev_line_id INTEGER) STRICT;"
    "CREATE TABLE buy_requests(user_id INTEGER NOT NULL REFERENCES users(id),"
    "  request_id TEXT NOT NULL, sno INTEGER NOT NULL, qty INTEGER NOT NULL,"
    "  result INTEGER NOT NULL, line_id INTEGER REFERENCES order_lines(id),"
    "  created_at INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (user_id, request_id)) STRICT, WITHOUT ROWID;"
    "CREATE INDEX buy_requests_refused ON buy_requests(created_at) WHERE result != 0;"
    "INSERT INTO categories VALUES (1, 'Mobiles');"
    "INSERT INTO items VALUES (101, 1, 'Phone', 100, 6, 10);"
    "INSERT INTO users VALUES (1, 'alice', 'x', 0);"
    "INSERT INTO orders VALUES (1, 1, 10, 20, 'closed', 1, 100, 1);"
    "INSERT INTO order_lines VALUES (1, 1, 101, 'Phone', 1, 100, 100, NULL);"
    "PRAGMA user_version = 3;";

static void make_v3_database(const char *path, const char *more_sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v3_database_schema, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, more_sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Issue 9: records stored wire codes; version 4 stores the shop's outcomes. Every value the old
 * code could record maps to its outcome, in place, and stays prunable through the index. */
static void test_open_upgrades_schema_v3_wire_codes_to_outcomes(void **state)
{
    fixture_t *f = *state;
    char path[160], text[256];
    path_in(f, "v3.db", path, sizeof path);
    make_v3_database(path,
                     "INSERT INTO buy_requests VALUES (1, 'bought', 101, 1, 0, 1, 100);"
                     "INSERT INTO buy_requests VALUES (1, 'no-item', 999, 1, 7, NULL, 200);"
                     "INSERT INTO buy_requests VALUES (1, 'bad-qty', 101, 0, 10, NULL, 300);"
                     "INSERT INTO buy_requests VALUES (1, 'no-stock', 101, 50, 11, NULL, 400);"
                     "INSERT INTO buy_requests VALUES (1, 'full', 101, 1, 13, NULL, 500);");

    store_t *st = open_or_fail(path);
    raw_query(path, "PRAGMA user_version", text, sizeof text);
    assert_string_equal(text, "4");
    raw_query(path, BUY_REQUESTS_COLUMNS, text, sizeof text);
    assert_string_equal(text, BUY_REQUESTS_COLUMNS_V4);
    static const struct {
        const char *rid;
        outcome_t outcome;
    } want[] = {{"bought", OUTCOME_BOUGHT},
                {"no-item", OUTCOME_NO_SUCH_ITEM},
                {"bad-qty", OUTCOME_BAD_QUANTITY},
                {"no-stock", OUTCOME_INSUFFICIENT_STOCK},
                {"full", OUTCOME_ORDER_FULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        store_request_t rec;
        assert_int_equal(store_request_get(st, 1, want[i].rid, &rec), STORE_OK);
        if (rec.outcome != want[i].outcome)
            fail_msg("request %s: outcome %d, want %d", want[i].rid, (int)rec.outcome,
                     (int)want[i].outcome);
        assert_int_equal(rec.stock_left, -1); /* not kept before version 4 */
    }
    store_request_t rec;
    assert_int_equal(store_request_get(st, 1, "bought", &rec), STORE_OK);
    assert_int_equal(rec.line_id, 1);
    /* The partial index follows the renamed column; refusals still expire, purchases stay. */
    raw_query(path, "SELECT sql FROM sqlite_schema WHERE name = 'buy_requests_refused'", text,
              sizeof text);
    assert_non_null(strstr(text, "WHERE outcome != 0"));
    int64_t deleted = -1;
    assert_int_equal(store_requests_prune(st, 450, 100, &deleted), STORE_OK);
    assert_int_equal(deleted, 3);
    assert_int_equal(store_request_get(st, 1, "full", &rec), STORE_OK);
    assert_int_equal(store_request_get(st, 1, "bought", &rec), STORE_OK);
    /* New records keep the stock left. */
    store_request_t put = {.sno = 101, .qty = 9, .outcome = OUTCOME_INSUFFICIENT_STOCK,
                           .stock_left = 6, .created_at = 600};
    assert_int_equal(store_request_put(st, 1, "after", &put), STORE_OK);
    assert_int_equal(store_request_get(st, 1, "after", &rec), STORE_OK);
    assert_int_equal(rec.stock_left, 6);
    store_close(st);
}

/* A value the old code never recorded is not guessed at: the upgrade fails, the file stays at
 * version 3 with its records as they were. */
static void test_open_refuses_to_upgrade_unknown_v3_wire_code(void **state)
{
    fixture_t *f = *state;
    char path[160], text[256], err[256] = "";
    path_in(f, "v3-odd.db", path, sizeof path);
    make_v3_database(path, "INSERT INTO buy_requests VALUES (1, 'odd', 101, 1, 12, NULL, 100);");
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, "upgrading schema"));
    raw_query(path, "PRAGMA user_version", text, sizeof text);
    assert_string_equal(text, "3");
    raw_query(path, "SELECT result FROM buy_requests WHERE request_id = 'odd'", text, sizeof text);
    assert_string_equal(text, "12");
}

static void test_reopen_keeps_data(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);
    int64_t line = buy(f->st, order, 101, "Phone", PHONE_PRICE, 2);
    assert_int_equal(store_setting_set(f->st, "currency", "INR"), STORE_OK);
    store_close(f->st);

    f->st = open_or_fail(f->path);
    char value[16], hash[STORE_PWHASH_MAX];
    int64_t id = 0;
    assert_int_equal(store_setting_get(f->st, "currency", value, sizeof value), STORE_OK);
    assert_string_equal(value, "INR");
    assert_int_equal(store_user_get(f->st, "alice", &id, hash, sizeof hash), STORE_OK);
    assert_int_equal(id, alice);
    assert_false(store_catalog_empty(f->st));
    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK - 2);
    store_line_t got;
    assert_int_equal(store_line_get(f->st, line, &got), STORE_OK);
    assert_int_equal(got.order_id, order);
    assert_int_equal(got.qty, 2);
}

/* ---- Catalog. ---- */

static void test_catalog_import_load_round_trip(void **state)
{
    fixture_t *f = *state;
    assert_true(store_catalog_empty(f->st));
    catalog_t *want = make_catalog();
    assert_int_equal(store_catalog_import(f->st, want), STORE_OK);
    assert_false(store_catalog_empty(f->st));

    catalog_t *got = NULL;
    assert_int_equal(store_catalog_load(f->st, &got), STORE_OK);
    assert_non_null(got);
    assert_int_equal(catalog_category_count(got), 2);
    assert_int_equal(catalog_item_count(got), 3);
    for (size_t i = 0; i < catalog_category_count(want); i++) {
        const catalog_category_t *w = catalog_category_at(want, i);
        const catalog_category_t *g = catalog_category_at(got, i);
        assert_int_equal(g->number, w->number);
        assert_string_equal(g->name, w->name);
        assert_int_equal(g->item_count, w->item_count);
    }
    for (size_t i = 0; i < catalog_item_count(want); i++) {
        const catalog_item_t *w = catalog_item_at(want, i);
        const catalog_item_t *g = catalog_item_at(got, i);
        assert_int_equal(catalog_item_sno(g), catalog_item_sno(w));
        assert_int_equal(catalog_item_category(g), catalog_item_category(w));
        assert_string_equal(catalog_item_name(g), catalog_item_name(w));
        assert_int_equal(catalog_item_price(g), catalog_item_price(w));
        assert_int_equal(catalog_item_stock(g), catalog_item_stock(w));
    }
    const catalog_item_t *laptop = catalog_find_item(got, 102);
    assert_non_null(laptop);
    assert_string_equal(catalog_item_name(laptop), "Laptop");
    assert_int_equal(catalog_item_price(laptop), LAPTOP_PRICE);
    assert_int_equal(catalog_item_stock(laptop), LAPTOP_STOCK);
    catalog_free(got);
    catalog_free(want);

    stock_seen_t seen = read_stock(f->st);
    assert_int_equal(seen.calls, 3);
    assert_int_equal(seen.initial[101], PHONE_STOCK);
    assert_int_equal(seen.initial[201], LIPSTICK_STOCK);
}

static void test_catalog_load_reflects_current_stock(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t order = open_order(f->st, add_user(f->st, "alice"), 1000);
    buy(f->st, order, 102, "Laptop", LAPTOP_PRICE, 4);
    catalog_t *got = NULL;
    assert_int_equal(store_catalog_load(f->st, &got), STORE_OK);
    assert_int_equal(catalog_item_stock(catalog_find_item(got, 102)), LAPTOP_STOCK - 4);
    assert_int_equal(catalog_item_stock(catalog_find_item(got, 101)), PHONE_STOCK);
    catalog_free(got);
}

static void test_catalog_import_twice_exists(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    catalog_t *again = make_catalog();
    assert_int_equal(store_catalog_import(f->st, again), STORE_EXISTS);
    catalog_free(again);
    /* A catalog that clashes with nothing is refused too: the store already has items. */
    catalog_t *other = catalog_new();
    assert_int_equal(catalog_add_category(other, 4, "Shoes"), CATALOG_OK);
    assert_int_equal(catalog_add_item(other, 401, 4, "Sneakers", 300000, 7), CATALOG_OK);
    catalog_freeze(other);
    assert_int_equal(store_catalog_import(f->st, other), STORE_EXISTS);
    catalog_free(other);
    /* Nothing of the refused imports was written: still three items at their stock. */
    stock_seen_t seen = read_stock(f->st);
    assert_int_equal(seen.calls, 3);
    assert_int_equal(seen.stock[401], -1);
    assert_int_equal(seen.stock[101], PHONE_STOCK);
}

static void test_catalog_import_is_all_or_nothing(void **state)
{
    fixture_t *f = *state;
    /* A category named like one already stored makes the import fail half-way. */
    catalog_t *first = catalog_new();
    assert_int_equal(catalog_add_category(first, 9, "Cosmetics"), CATALOG_OK);
    catalog_freeze(first);
    assert_int_equal(store_catalog_import(f->st, first), STORE_OK); /* no items: allowed */
    catalog_free(first);

    catalog_t *cat = make_catalog(); /* category 1 inserts, 2 "Cosmetics" clashes */
    assert_int_equal(store_catalog_import(f->st, cat), STORE_EXISTS);
    catalog_free(cat);
    assert_true(store_catalog_empty(f->st));
    catalog_t *got = NULL;
    assert_int_equal(store_catalog_load(f->st, &got), STORE_OK);
    assert_int_equal(catalog_category_count(got), 1); /* only category 9 */
    assert_int_equal(catalog_category_at(got, 0)->number, 9);
    catalog_free(got);
}

/* ---- Settings. ---- */

static void test_settings_get_set(void **state)
{
    fixture_t *f = *state;
    char value[8];
    assert_int_equal(store_setting_get(f->st, "currency", value, sizeof value), STORE_NOT_FOUND);
    assert_int_equal(store_setting_set(f->st, "currency", "INR"), STORE_OK);
    assert_int_equal(store_setting_set(f->st, "minor_digits", "2"), STORE_OK);
    assert_int_equal(store_setting_get(f->st, "currency", value, sizeof value), STORE_OK);
    assert_string_equal(value, "INR");
    assert_int_equal(store_setting_set(f->st, "currency", "EUR"), STORE_OK);
    assert_int_equal(store_setting_get(f->st, "currency", value, sizeof value), STORE_OK);
    assert_string_equal(value, "EUR");
    assert_int_equal(store_setting_get(f->st, "minor_digits", value, sizeof value), STORE_OK);
    assert_string_equal(value, "2");
    /* "EUR" needs 4 bytes with its NUL. */
    assert_int_equal(store_setting_get(f->st, "currency", value, 3), STORE_ERROR);
    assert_non_null(strstr(store_errmsg(f->st), "currency"));
}

/* ---- Users. ---- */

static void test_users(void **state)
{
    fixture_t *f = *state;
    char hash[STORE_PWHASH_MAX];
    int64_t id = 0, id2 = 0;
    assert_int_equal(store_user_add(f->st, "alice", "$argon2id$hash-a"), STORE_OK);
    assert_int_equal(store_user_add(f->st, "bob", "$argon2id$hash-b"), STORE_OK);
    assert_int_equal(store_user_get(f->st, "alice", &id, hash, sizeof hash), STORE_OK);
    assert_string_equal(hash, "$argon2id$hash-a");
    assert_int_equal(store_user_get(f->st, "bob", &id2, hash, sizeof hash), STORE_OK);
    assert_string_equal(hash, "$argon2id$hash-b");
    assert_true(id > 0);
    assert_true(id2 != id);

    assert_int_equal(store_user_add(f->st, "alice", "$argon2id$other"), STORE_EXISTS);
    assert_int_equal(store_user_get(f->st, "alice", &id2, hash, sizeof hash), STORE_OK);
    assert_string_equal(hash, "$argon2id$hash-a"); /* the duplicate changed nothing */
    assert_int_equal(id2, id);

    assert_int_equal(store_user_get(f->st, "carol", &id, hash, sizeof hash), STORE_NOT_FOUND);

    char long_hash[STORE_PWHASH_MAX + 1];
    memset(long_hash, 'h', STORE_PWHASH_MAX);
    long_hash[STORE_PWHASH_MAX] = '\0';
    assert_int_equal(store_user_add(f->st, "dave", long_hash), STORE_ERROR);
    assert_int_equal(store_user_get(f->st, "dave", &id, hash, sizeof hash), STORE_NOT_FOUND);
}

/* ---- Orders and lines. ---- */

/* Lines of orders bought at the same time (one batch) interleave in the table; each order
 * lists its own, in the order bought, and a refused line does not break the chain. */
static void test_interleaved_orders_keep_their_own_lines(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t one = open_order(f->st, alice, 1000);
    int64_t two = open_order(f->st, alice, 1001);
    int64_t closed = open_order(f->st, alice, 1002);
    assert_int_equal(store_order_close(f->st, closed, 1003), STORE_OK);

    assert_int_equal(store_begin(f->st), STORE_OK);
    int64_t want_one[3], want_two[2];
    for (int i = 0; i < 3; i++) {
        store_line_t a = make_line(one, 101, "Phone", PHONE_PRICE, i + 1);
        assert_int_equal(store_line_add(f->st, &a), STORE_OK);
        want_one[i] = a.line_id;
        store_line_t refused = make_line(closed, 101, "Phone", PHONE_PRICE, 1);
        assert_int_equal(store_line_add(f->st, &refused), STORE_NOT_FOUND);
        if (i < 2) {
            store_line_t b = make_line(two, 201, "Lipstick", LIPSTICK_PRICE, 1);
            assert_int_equal(store_line_add(f->st, &b), STORE_OK);
            want_two[i] = b.line_id;
        }
    }
    assert_int_equal(store_commit(f->st), STORE_OK);

    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, one, alice, &lines, &n);
    assert_int_equal(n, 3);
    assert_int_equal(hdr.lines, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(lines[i].line_id, want_one[i]);
        assert_int_equal(lines[i].qty, (int64_t)i + 1);
    }
    free(lines);
    get_order(f->st, two, alice, &lines, &n);
    assert_int_equal(n, 2);
    assert_int_equal(lines[0].line_id, want_two[0]);
    assert_int_equal(lines[1].line_id, want_two[1]);
    free(lines);
    hdr = get_order(f->st, closed, alice, &lines, &n);
    assert_int_equal(n, 0);
    assert_int_equal(hdr.lines, 0);
    free(lines);
    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK - 6);
}

static void test_order_lines_totals_and_list(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t first = open_order(f->st, alice, 1000);

    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t a = make_line(first, 101, "Phone", PHONE_PRICE, 2);
    store_line_t b = make_line(first, 201, "Lipstick", LIPSTICK_PRICE, 3);
    assert_int_equal(store_line_add(f->st, &a), STORE_OK);
    assert_int_equal(store_line_add(f->st, &b), STORE_OK);
    assert_int_equal(store_commit(f->st), STORE_OK);
    assert_true(b.line_id > a.line_id);

    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, first, alice, &lines, &n);
    assert_true(hdr.open);
    assert_int_equal(hdr.opened_at, 1000);
    assert_int_equal(hdr.closed_at, 0);
    assert_int_equal(hdr.lines, 2);
    assert_int_equal(hdr.total, 2 * PHONE_PRICE + 3 * LIPSTICK_PRICE);
    assert_int_equal(n, 2);
    assert_int_equal(lines[0].line_id, a.line_id);
    assert_int_equal(lines[0].order_id, first);
    assert_int_equal(lines[0].sno, 101);
    assert_string_equal(lines[0].name, "Phone");
    assert_int_equal(lines[0].qty, 2);
    assert_int_equal(lines[0].unit_price, PHONE_PRICE);
    assert_int_equal(lines[0].line_total, 2 * PHONE_PRICE);
    assert_int_equal(lines[1].sno, 201);
    assert_string_equal(lines[1].name, "Lipstick");
    assert_int_equal(lines[1].line_total, 3 * LIPSTICK_PRICE);
    free(lines);

    store_line_t got;
    assert_int_equal(store_line_get(f->st, b.line_id, &got), STORE_OK);
    assert_int_equal(got.order_id, first);
    assert_int_equal(got.sno, 201);
    assert_string_equal(got.name, "Lipstick");
    assert_int_equal(got.qty, 3);
    assert_int_equal(got.unit_price, LIPSTICK_PRICE);
    assert_int_equal(got.line_total, 3 * LIPSTICK_PRICE);
    assert_int_equal(store_line_get(f->st, b.line_id + 100, &got), STORE_NOT_FOUND);

    assert_int_equal(store_order_close(f->st, first, 2000), STORE_OK);
    int64_t second = open_order(f->st, alice, 3000);
    buy(f->st, second, 102, "Laptop", LAPTOP_PRICE, 1);
    int64_t third = open_order(f->st, alice, 4000); /* no lines yet */

    store_order_t *list = NULL;
    assert_int_equal(store_orders_list(f->st, alice, 100, &list, &n), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].order_id, third);
    assert_int_equal(list[0].lines, 0);
    assert_int_equal(list[0].total, 0);
    assert_true(list[0].open);
    assert_int_equal(list[1].order_id, second);
    assert_int_equal(list[1].lines, 1);
    assert_int_equal(list[1].total, LAPTOP_PRICE);
    assert_int_equal(list[1].opened_at, 3000);
    assert_int_equal(list[2].order_id, first);
    assert_int_equal(list[2].lines, 2);
    assert_int_equal(list[2].total, 2 * PHONE_PRICE + 3 * LIPSTICK_PRICE);
    assert_false(list[2].open);
    assert_int_equal(list[2].closed_at, 2000);
    free(list);

    assert_int_equal(store_orders_list(f->st, alice, 2, &list, &n), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].order_id, third);
    assert_int_equal(list[1].order_id, second);
    free(list);

    /* An order without lines reads back with lines == NULL. */
    lines = (store_line_t *)&got; /* must be overwritten */
    hdr = get_order(f->st, third, alice, &lines, &n);
    assert_null(lines);
    assert_int_equal(n, 0);
    assert_int_equal(hdr.lines, 0);

    int64_t bob = add_user(f->st, "bob");
    assert_int_equal(store_orders_list(f->st, bob, 100, &list, &n), STORE_OK);
    assert_int_equal(n, 0);
    assert_null(list);
}

static void test_line_too_little_stock(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t line = make_line(order, 201, "Lipstick", LIPSTICK_PRICE, LIPSTICK_STOCK + 1);
    assert_int_equal(store_line_add(f->st, &line), STORE_NO_STOCK);
    assert_int_equal(store_commit(f->st), STORE_OK);
    assert_non_null(strstr(store_errmsg(f->st), "201"));

    assert_int_equal(stock_of(f->st, 201), LIPSTICK_STOCK);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, order, alice, &lines, &n);
    assert_int_equal(n, 0);
    assert_null(lines);
    assert_int_equal(hdr.lines, 0);
    assert_int_equal(hdr.total, 0);
}

static void test_line_refused_inside_batch_keeps_the_rest(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    int64_t closed = open_order(f->st, alice, 1001);
    assert_int_equal(store_order_close(f->st, closed, 1002), STORE_OK);

    /* One committer batch: ok, refused for stock, refused after its stock was taken (the
     * order is closed), ok. A refusal must undo only itself, never its neighbours. */
    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t a = make_line(order, 101, "Phone", PHONE_PRICE, 1);
    store_line_t b = make_line(order, 201, "Lipstick", LIPSTICK_PRICE, 99);
    store_line_t late = make_line(closed, 201, "Lipstick", LIPSTICK_PRICE, 2);
    store_line_t c = make_line(order, 102, "Laptop", LAPTOP_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &a), STORE_OK);
    assert_int_equal(store_line_add(f->st, &b), STORE_NO_STOCK);
    assert_int_equal(store_line_add(f->st, &late), STORE_NOT_FOUND);
    assert_int_equal(store_line_add(f->st, &c), STORE_OK);
    assert_int_equal(store_commit(f->st), STORE_OK);

    stock_seen_t seen = read_stock(f->st);
    assert_int_equal(seen.stock[101], PHONE_STOCK - 1);
    assert_int_equal(seen.stock[201], LIPSTICK_STOCK); /* late's decrement was undone */
    assert_int_equal(seen.stock[102], LAPTOP_STOCK - 1);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, order, alice, &lines, &n);
    assert_int_equal(n, 2);
    assert_int_equal(hdr.total, PHONE_PRICE + LAPTOP_PRICE);
    assert_int_equal(lines[1].line_id, c.line_id);
    free(lines);
}

static void test_line_exact_remaining_stock(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    buy(f->st, order, 201, "Lipstick", LIPSTICK_PRICE, 1);
    buy(f->st, order, 201, "Lipstick", LIPSTICK_PRICE, LIPSTICK_STOCK - 1); /* the last ones */
    assert_int_equal(stock_of(f->st, 201), 0);

    store_line_t more = make_line(order, 201, "Lipstick", LIPSTICK_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &more), STORE_NO_STOCK);
    assert_int_equal(stock_of(f->st, 201), 0);
}

static void test_line_unknown_item_or_closed_order(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    store_line_t line = make_line(order, 999, "Ghost", 100, 1);
    assert_int_equal(store_line_add(f->st, &line), STORE_NOT_FOUND);
    assert_non_null(strstr(store_errmsg(f->st), "999"));

    assert_int_equal(store_order_close(f->st, order, 2000), STORE_OK);
    line = make_line(order, 101, "Phone", PHONE_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &line), STORE_NOT_FOUND);
    line = make_line(order + 50, 101, "Phone", PHONE_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &line), STORE_NOT_FOUND);
    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK); /* both refusals gave stock back */
}

static void test_line_bad_values_refused(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    store_line_t line = make_line(order, 101, "Phone", PHONE_PRICE, 2);
    line.line_total = PHONE_PRICE; /* not unit * qty */
    assert_int_equal(store_line_add(f->st, &line), STORE_ERROR);
    line = make_line(order, 101, "Phone", PHONE_PRICE, 1);
    line.qty = 0;
    line.line_total = 0;
    assert_int_equal(store_line_add(f->st, &line), STORE_ERROR);
    line = make_line(order, 101, "Phone", PHONE_PRICE, 1);
    line.unit_price = -1;
    line.line_total = -1;
    assert_int_equal(store_line_add(f->st, &line), STORE_ERROR);
    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK);
}

static void test_line_order_total_overflow(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    const money_t huge = INT64_C(1) << 62;
    buy(f->st, order, 101, "Phone", huge, 1);
    store_line_t line = make_line(order, 101, "Phone", huge, 1); /* 2^63 does not fit */
    assert_int_equal(store_line_add(f->st, &line), STORE_ERROR);
    assert_non_null(strstr(store_errmsg(f->st), "overflow"));

    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK - 1);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, order, alice, &lines, &n);
    assert_int_equal(n, 1);
    assert_int_equal(hdr.total, huge);
    free(lines);
}

static void test_rollback_discards_lines_and_stock(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);

    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t a = make_line(order, 101, "Phone", PHONE_PRICE, 3);
    store_line_t b = make_line(order, 102, "Laptop", LAPTOP_PRICE, LAPTOP_STOCK);
    assert_int_equal(store_line_add(f->st, &a), STORE_OK);
    assert_int_equal(store_line_add(f->st, &b), STORE_OK);
    assert_int_equal(stock_of(f->st, 101), PHONE_STOCK - 3); /* visible inside */
    store_rollback(f->st);

    stock_seen_t seen = read_stock(f->st);
    assert_int_equal(seen.stock[101], PHONE_STOCK);
    assert_int_equal(seen.stock[102], LAPTOP_STOCK);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, order, alice, &lines, &n);
    assert_int_equal(n, 0);
    assert_int_equal(hdr.lines, 0);
    assert_int_equal(hdr.total, 0);
    store_line_t got;
    assert_int_equal(store_line_get(f->st, a.line_id, &got), STORE_NOT_FOUND);
}

static void test_order_of_other_user_not_found(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t bob = add_user(f->st, "bob");
    int64_t order = open_order(f->st, alice, 1000);
    buy(f->st, order, 101, "Phone", PHONE_PRICE, 1);

    store_order_t hdr = {.order_id = -7};
    store_line_t *lines = (store_line_t *)&hdr; /* must be overwritten */
    size_t n = 99;
    assert_int_equal(store_order_get(f->st, order, bob, &hdr, &lines, &n), STORE_NOT_FOUND);
    assert_null(lines);
    assert_int_equal(n, 0);
    assert_int_equal(hdr.order_id, -7); /* untouched */
    assert_int_equal(store_order_get(f->st, order + 1, alice, &hdr, &lines, &n),
                     STORE_NOT_FOUND);
    assert_null(lines);
}

static void test_order_open_unknown_user_not_found(void **state)
{
    fixture_t *f = *state;
    int64_t order = 0;
    assert_int_equal(store_order_open(f->st, 4242, 1000, &order), STORE_NOT_FOUND);
    assert_int_equal(order, 0);
}

static void test_orders_close_all(void **state)
{
    fixture_t *f = *state;
    int64_t alice = add_user(f->st, "alice");
    int64_t bob = add_user(f->st, "bob");
    int64_t a1 = open_order(f->st, alice, 1000);
    int64_t a2 = open_order(f->st, alice, 1100);
    int64_t b1 = open_order(f->st, bob, 1200);
    assert_int_equal(store_order_close(f->st, a1, 1500), STORE_OK);
    assert_int_equal(store_order_close(f->st, a1, 1600), STORE_NOT_FOUND); /* already closed */

    assert_int_equal(store_orders_close_all(f->st, 9000), STORE_OK);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(f->st, a1, alice, &lines, &n);
    assert_false(hdr.open);
    assert_int_equal(hdr.closed_at, 1500); /* closed earlier: keeps its time */
    hdr = get_order(f->st, a2, alice, &lines, &n);
    assert_false(hdr.open);
    assert_int_equal(hdr.closed_at, 9000);
    hdr = get_order(f->st, b1, bob, &lines, &n);
    assert_false(hdr.open);
    assert_int_equal(hdr.closed_at, 9000);
    assert_int_equal(store_order_close(f->st, b1, 9100), STORE_NOT_FOUND);
}

/* ---- Idempotent BUY records. ---- */

static void test_requests(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t bob = add_user(f->st, "bob");
    int64_t order = open_order(f->st, alice, 1000);
    int64_t line = buy(f->st, order, 101, "Phone", PHONE_PRICE, 2);

    store_request_t ok = {.sno = 101, .qty = 2, .outcome = OUTCOME_BOUGHT, .line_id = line};
    store_request_t refused = {.sno = 201, .qty = 50, .outcome = OUTCOME_INSUFFICIENT_STOCK,
                               .line_id = 0, .stock_left = 7};
    store_request_t no_item = {.sno = 999, .qty = 1, .outcome = OUTCOME_NO_SUCH_ITEM, .stock_left = 3};
    store_request_t got;
    assert_int_equal(store_request_get(f->st, alice, "r-1", &got), STORE_NOT_FOUND);
    assert_int_equal(store_request_put(f->st, alice, "r-1", &ok), STORE_OK);
    assert_int_equal(store_request_put(f->st, alice, "r-2", &refused), STORE_OK);
    assert_int_equal(store_request_put(f->st, bob, "r-1", &refused), STORE_OK); /* per user */

    assert_int_equal(store_request_get(f->st, alice, "r-1", &got), STORE_OK);
    assert_int_equal(got.sno, 101);
    assert_int_equal(got.qty, 2);
    assert_int_equal(got.outcome, OUTCOME_BOUGHT);
    assert_int_equal(got.line_id, line);
    assert_int_equal(got.stock_left, -1);
    assert_int_equal(store_request_get(f->st, alice, "r-2", &got), STORE_OK);
    assert_int_equal(got.sno, 201);
    assert_int_equal(got.qty, 50);
    assert_int_equal(got.outcome, OUTCOME_INSUFFICIENT_STOCK);
    assert_int_equal(got.line_id, 0);
    assert_int_equal(got.stock_left, 7); /* what the refusal's text said */
    /* Only an INSUFFICIENT_STOCK refusal keeps a number left. */
    assert_int_equal(store_request_put(f->st, alice, "r-3", &no_item), STORE_OK);
    assert_int_equal(store_request_get(f->st, alice, "r-3", &got), STORE_OK);
    assert_int_equal(got.outcome, OUTCOME_NO_SUCH_ITEM);
    assert_int_equal(got.stock_left, -1);
    assert_int_equal(store_request_get(f->st, bob, "r-1", &got), STORE_OK);
    assert_int_equal(got.sno, 201);

    assert_int_equal(store_request_put(f->st, alice, "r-1", &refused), STORE_EXISTS);
    assert_int_equal(store_request_get(f->st, alice, "r-1", &got), STORE_OK);
    assert_int_equal(got.sno, 101); /* the first outcome stays */
    assert_int_equal(got.line_id, line);
}

/* Regression (audit finding 7): every refused BUY with a request id was kept forever. Refused
 * outcomes older than the cut-off go, oldest first and at most `limit` at a time; purchases and
 * newer refusals stay. */
static void test_requests_prune_forgets_old_refusals_only(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t order = open_order(f->st, alice, 1000);
    int64_t line = buy(f->st, order, 101, "Phone", PHONE_PRICE, 1);
    store_request_t old_ok = {.sno = 101, .qty = 1, .outcome = OUTCOME_BOUGHT, .line_id = line, .created_at = 100};
    assert_int_equal(store_request_put(f->st, alice, "bought", &old_ok), STORE_OK);
    char rid[32];
    for (int i = 0; i < 5; i++) {
        store_request_t refused = {.sno = 201, .qty = 50, .outcome = OUTCOME_BAD_QUANTITY, .created_at = 200 + i};
        snprintf(rid, sizeof rid, "old-%d", i);
        assert_int_equal(store_request_put(f->st, alice, rid, &refused), STORE_OK);
    }
    store_request_t recent = {.sno = 201, .qty = 50, .outcome = OUTCOME_BAD_QUANTITY, .created_at = 1000};
    assert_int_equal(store_request_put(f->st, alice, "recent", &recent), STORE_OK);

    int64_t deleted = -1;
    assert_int_equal(store_requests_prune(f->st, 1000, 3, &deleted), STORE_OK);
    assert_int_equal(deleted, 3);                   /* the limit */
    store_request_t got;
    assert_int_equal(store_request_get(f->st, alice, "old-0", &got), STORE_NOT_FOUND); /* oldest first */
    assert_int_equal(store_request_get(f->st, alice, "old-3", &got), STORE_OK);
    assert_int_equal(store_requests_prune(f->st, 1000, 3, &deleted), STORE_OK);
    assert_int_equal(deleted, 2);
    assert_int_equal(store_requests_prune(f->st, 1000, 3, &deleted), STORE_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(store_request_get(f->st, alice, "recent", &got), STORE_OK);
    assert_int_equal(got.created_at, 1000);         /* read back: the committer checks its age */
    assert_int_equal(store_request_get(f->st, alice, "bought", &got), STORE_OK); /* kept for good */
    assert_int_equal(got.line_id, line);

    /* One refusal is forgotten on its own (an expired one met before a prune); a purchase never. */
    assert_int_equal(store_request_forget(f->st, alice, "recent"), STORE_OK);
    assert_int_equal(store_request_get(f->st, alice, "recent", &got), STORE_NOT_FOUND);
    assert_int_equal(store_request_forget(f->st, alice, "recent"), STORE_NOT_FOUND);
    assert_int_equal(store_request_forget(f->st, alice, "bought"), STORE_NOT_FOUND);
    assert_int_equal(store_request_get(f->st, alice, "bought", &got), STORE_OK);
}

/* ---- Stock invariant. ---- */

static void test_stock_each_invariant(void **state)
{
    fixture_t *f = *state;
    import_catalog(f->st);
    int64_t alice = add_user(f->st, "alice");
    int64_t bob = add_user(f->st, "bob");
    int64_t oa = open_order(f->st, alice, 1000);
    int64_t ob = open_order(f->st, bob, 1001);
    buy(f->st, oa, 101, "Phone", PHONE_PRICE, 3);
    buy(f->st, ob, 101, "Phone", PHONE_PRICE, 4);
    buy(f->st, ob, 201, "Lipstick", LIPSTICK_PRICE, LIPSTICK_STOCK);
    store_line_t refused = make_line(oa, 201, "Lipstick", LIPSTICK_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &refused), STORE_NO_STOCK);

    int64_t sold[1000] = {0};
    int64_t orders[2][2] = {{oa, alice}, {ob, bob}};
    for (size_t i = 0; i < 2; i++) {
        store_line_t *lines = NULL;
        size_t n = 0;
        get_order(f->st, orders[i][0], orders[i][1], &lines, &n);
        for (size_t j = 0; j < n; j++)
            sold[lines[j].sno] += lines[j].qty;
        free(lines);
    }

    stock_seen_t seen = read_stock(f->st);
    assert_int_equal(seen.calls, 3);
    assert_int_equal(seen.stock[101], PHONE_STOCK - 7);
    assert_int_equal(seen.initial[101], PHONE_STOCK);
    assert_int_equal(seen.stock[102], LAPTOP_STOCK);
    assert_int_equal(seen.initial[102], LAPTOP_STOCK);
    assert_int_equal(seen.stock[201], 0);
    assert_int_equal(seen.initial[201], LIPSTICK_STOCK);
    const int snos[] = {101, 102, 201};
    for (size_t i = 0; i < sizeof snos / sizeof snos[0]; i++)
        assert_int_equal(seen.stock[snos[i]] + sold[snos[i]], seen.initial[snos[i]]);
}

/* ---- Two connections on one file. ---- */

static void test_reader_sees_committed_data(void **state)
{
    fixture_t *f = *state;
    store_t *reader = open_or_fail(f->path);
    assert_true(store_catalog_empty(reader));
    import_catalog(f->st);
    assert_false(store_catalog_empty(reader));

    int64_t alice = add_user(f->st, "alice");
    char hash[STORE_PWHASH_MAX];
    int64_t id = 0;
    assert_int_equal(store_user_get(reader, "alice", &id, hash, sizeof hash), STORE_OK);
    assert_int_equal(id, alice);

    int64_t order = open_order(f->st, alice, 1000);
    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t line = make_line(order, 102, "Laptop", LAPTOP_PRICE, 2);
    assert_int_equal(store_line_add(f->st, &line), STORE_OK);

    /* Not committed yet: the reader still sees the old stock and no line. */
    assert_int_equal(stock_of(reader, 102), LAPTOP_STOCK);
    store_line_t got;
    assert_int_equal(store_line_get(reader, line.line_id, &got), STORE_NOT_FOUND);

    assert_int_equal(store_commit(f->st), STORE_OK);
    assert_int_equal(stock_of(reader, 102), LAPTOP_STOCK - 2);
    store_line_t *lines = NULL;
    size_t n = 0;
    store_order_t hdr = get_order(reader, order, alice, &lines, &n);
    assert_int_equal(n, 1);
    assert_int_equal(hdr.total, 2 * LAPTOP_PRICE);
    assert_int_equal(lines[0].line_id, line.line_id);
    free(lines);

    catalog_t *cat = NULL;
    assert_int_equal(store_catalog_load(reader, &cat), STORE_OK);
    assert_int_equal(catalog_item_stock(catalog_find_item(cat, 102)), LAPTOP_STOCK - 2);
    catalog_free(cat);
    store_close(reader);
}

/* ---- store_check. ---- */

#define CHECK_PROBLEMS_MAX 16

/* What store_check reported: each problem, with its request id copied (valid in the callback
 * only). */
typedef struct {
    store_problem_t p[CHECK_PROBLEMS_MAX];
    char request_id[CHECK_PROBLEMS_MAX][64];
    int n;
} problems_t;

static void record_problem(void *ctx, const store_problem_t *p)
{
    problems_t *seen = ctx;
    if (seen->n == CHECK_PROBLEMS_MAX)
        fail_msg("more than %d problems", CHECK_PROBLEMS_MAX);
    seen->p[seen->n] = *p;
    if (p->kind == STORE_PROBLEM_REQUEST) {
        assert_true(strlen(p->u.request.request_id) < sizeof seen->request_id[0]);
        strcpy(seen->request_id[seen->n], p->u.request.request_id);
        seen->p[seen->n].u.request.request_id = seen->request_id[seen->n];
    }
    if (p->kind == STORE_PROBLEM_INTEGRITY)
        seen->p[seen->n].u.integrity.text = NULL; /* not kept */
    seen->n++;
}

/* Runs store_check on a read-only connection of its own, as `netshopd check` does. */
static problems_t check_store(const char *path, store_check_summary_t *sum)
{
    problems_t seen;
    memset(&seen, 0, sizeof seen);
    store_t *reader = open_or_fail(path);
    assert_int_equal(store_read_only(reader), STORE_OK);
    store_status_t s = store_check(reader, record_problem, &seen, sum);
    if (s != STORE_OK)
        fail_msg("store_check: %s", store_errmsg(reader));
    assert_int_equal(sum->problems, seen.n);
    store_close(reader);
    return seen;
}

/* Changes the database behind the store's back (no foreign keys enforced). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A shop with purchases: alice's order (2 phones, 1 lipstick, recorded as bought under r-1..r-2)
 * and bob's (1 laptop, r-3), plus a refusal of alice's. */
typedef struct {
    int64_t alice, bob, order_a, order_b, line_a1, line_a2, line_b1;
} check_shop_t;

static void record_bought(store_t *st, int64_t user, const char *request_id, int sno,
                          int64_t qty, int64_t line_id)
{
    store_request_t r = {.sno = sno, .qty = qty, .outcome = OUTCOME_BOUGHT, .line_id = line_id,
                         .stock_left = -1, .created_at = 1000};
    assert_int_equal(store_request_put(st, user, request_id, &r), STORE_OK);
}

static check_shop_t make_check_shop(store_t *st)
{
    check_shop_t s;
    import_catalog(st);
    s.alice = add_user(st, "alice");
    s.bob = add_user(st, "bob");
    s.order_a = open_order(st, s.alice, 1000);
    s.order_b = open_order(st, s.bob, 1001);
    s.line_a1 = buy(st, s.order_a, 101, "Phone", PHONE_PRICE, 2);
    s.line_b1 = buy(st, s.order_b, 102, "Laptop", LAPTOP_PRICE, 1);
    s.line_a2 = buy(st, s.order_a, 201, "Lipstick", LIPSTICK_PRICE, 1);
    record_bought(st, s.alice, "r-1", 101, 2, s.line_a1);
    record_bought(st, s.alice, "r-2", 201, 1, s.line_a2);
    record_bought(st, s.bob, "r-3", 102, 1, s.line_b1);
    store_request_t refused = {.sno = 201, .qty = 9, .outcome = OUTCOME_INSUFFICIENT_STOCK,
                               .stock_left = 2, .created_at = 1000};
    assert_int_equal(store_request_put(st, s.alice, "r-4", &refused), STORE_OK);
    return s;
}

static void test_check_consistent_store_passes(void **state)
{
    fixture_t *f = *state;
    make_check_shop(f->st);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 0);
    assert_int_equal(sum.items, 3);
    assert_int_equal(sum.orders, 2);
    assert_int_equal(sum.lines, 3);
    assert_int_equal(sum.bought, 3);
}

static void test_check_empty_store_passes(void **state)
{
    fixture_t *f = *state;
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 0);
    assert_int_equal(sum.items, 0);
}

/* The check reads one snapshot and takes no write lock: a writer's open transaction (stock
 * already taken, line not yet written) neither blocks it nor shows up as a problem. */
static void test_check_beside_an_open_write_transaction(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    assert_int_equal(store_begin(f->st), STORE_OK);
    store_line_t line = make_line(s.order_b, 101, "Phone", PHONE_PRICE, 1);
    assert_int_equal(store_line_add(f->st, &line), STORE_OK);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 0);
    assert_int_equal(sum.lines, 3);
    assert_int_equal(store_commit(f->st), STORE_OK);
    seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 0);
    assert_int_equal(sum.lines, 4);
}

static void test_check_reports_stock_changed_behind_its_back(void **state)
{
    fixture_t *f = *state;
    make_check_shop(f->st);
    raw_exec(f->path, "UPDATE items SET stock = stock + 1 WHERE sno = 101");
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_STOCK);
    assert_int_equal(seen.p[0].u.stock.sno, 101);
    assert_int_equal(seen.p[0].u.stock.initial_stock, PHONE_STOCK);
    assert_int_equal(seen.p[0].u.stock.stock, PHONE_STOCK - 2 + 1);
    assert_int_equal(seen.p[0].u.stock.sold, 2);
    assert_false(seen.p[0].u.stock.sold_overflow);
}

static void test_check_reports_order_total_and_count_wrong(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE orders SET total = total + 5, line_count = 7 WHERE id = %lld",
             (long long)s.order_b);
    raw_exec(f->path, sql);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_LINE_COUNT);
    assert_int_equal(seen.p[0].u.line_count.order_id, s.order_b);
    assert_int_equal(seen.p[0].u.line_count.recorded, 7);
    assert_int_equal(seen.p[0].u.line_count.counted, 1);
    assert_int_equal(seen.p[1].kind, STORE_PROBLEM_TOTAL);
    assert_int_equal(seen.p[1].u.total.order_id, s.order_b);
    assert_int_equal(seen.p[1].u.total.recorded, LAPTOP_PRICE + 5);
    assert_int_equal(seen.p[1].u.total.counted, LAPTOP_PRICE);
    assert_false(seen.p[1].u.total.overflow);
}

/* Line totals whose sum does not fit in money_t are reported as such, not wrapped. */
static void test_check_reports_order_total_overflow(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE order_lines SET line_total = 9223372036854775000"
             " WHERE order_id = %lld", (long long)s.order_a);
    raw_exec(f->path, sql);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_TOTAL);
    assert_int_equal(seen.p[0].u.total.order_id, s.order_a);
    assert_true(seen.p[0].u.total.overflow);
}

/* Runs `sql`, one corruption of an order's chain, and returns the single problem found. */
static store_problem_t broken_chain(fixture_t *f, const char *sql)
{
    raw_exec(f->path, sql);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    if (seen.n != 1)
        fail_msg("%s: %d problems, want 1", sql, seen.n);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_CHAIN);
    return seen.p[0];
}

/* "UPDATE order_lines SET prev_line_id = <prev> WHERE id = <line>" (prev < 0: NULL). */
static store_problem_t relinked(fixture_t *f, int64_t line, int64_t prev)
{
    char sql[128];
    if (prev < 0)
        snprintf(sql, sizeof sql, "UPDATE order_lines SET prev_line_id = NULL WHERE id = %lld",
                 (long long)line);
    else
        snprintf(sql, sizeof sql, "UPDATE order_lines SET prev_line_id = %lld WHERE id = %lld",
                 (long long)prev, (long long)line);
    return broken_chain(f, sql);
}

static void test_check_reports_a_chain_ending_early(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    store_problem_t p = relinked(f, s.line_a2, -1);
    assert_int_equal(p.u.chain.order_id, s.order_a);
    assert_int_equal(p.u.chain.fault, STORE_CHAIN_SHORT);
    assert_int_equal(p.u.chain.reached, 1);
    assert_int_equal(p.u.chain.lines, 2);
}

static void test_check_reports_a_chain_loop(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    store_problem_t p = relinked(f, s.line_a1, s.line_a2);
    assert_int_equal(p.u.chain.order_id, s.order_a);
    assert_int_equal(p.u.chain.fault, STORE_CHAIN_LOOP);
    assert_int_equal(p.u.chain.reached, 2);
}

static void test_check_reports_a_chain_into_another_order(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    store_problem_t p = relinked(f, s.line_a1, s.line_b1);
    assert_int_equal(p.u.chain.order_id, s.order_a);
    assert_int_equal(p.u.chain.fault, STORE_CHAIN_FOREIGN);
    assert_int_equal(p.u.chain.line_id, s.line_b1);
    assert_int_equal(p.u.chain.other_order, s.order_b);
    assert_int_equal(p.u.chain.reached, 2);
}

static void test_check_reports_a_chain_to_a_missing_line(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE orders SET last_line_id = 999 WHERE id = %lld",
             (long long)s.order_b);
    store_problem_t p = broken_chain(f, sql);
    assert_int_equal(p.u.chain.order_id, s.order_b);
    assert_int_equal(p.u.chain.fault, STORE_CHAIN_MISSING);
    assert_int_equal(p.u.chain.line_id, 999);
    assert_int_equal(p.u.chain.reached, 0);
    assert_int_equal(p.u.chain.lines, 1);
}

static void test_check_reports_a_bought_record_pointing_nowhere(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    raw_exec(f->path, "UPDATE buy_requests SET line_id = 999 WHERE request_id = 'r-3'");
    raw_exec(f->path, "UPDATE buy_requests SET qty = 5 WHERE request_id = 'r-1'");
    raw_exec(f->path, "UPDATE buy_requests SET line_id = NULL WHERE request_id = 'r-4'"); /* refused: fine */
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_REQUEST);
    assert_int_equal(seen.p[0].u.request.user_id, s.alice);
    assert_string_equal(seen.p[0].u.request.request_id, "r-1");
    assert_int_equal(seen.p[0].u.request.qty, 5);
    assert_true(seen.p[0].u.request.line_found);
    assert_int_equal(seen.p[0].u.request.line_qty, 2);
    assert_int_equal(seen.p[0].u.request.line_sno, 101);
    assert_int_equal(seen.p[0].u.request.line_user, s.alice);
    assert_int_equal(seen.p[1].kind, STORE_PROBLEM_REQUEST);
    assert_int_equal(seen.p[1].u.request.user_id, s.bob);
    assert_string_equal(seen.p[1].u.request.request_id, "r-3");
    assert_int_equal(seen.p[1].u.request.line_id, 999);
    assert_false(seen.p[1].u.request.line_found);
}

static void test_check_reports_a_line_without_its_order_or_item(void **state)
{
    fixture_t *f = *state;
    check_shop_t s = make_check_shop(f->st);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE order_lines SET sno = 999 WHERE id = %lld", (long long)s.line_b1);
    raw_exec(f->path, sql);
    store_check_summary_t sum;
    problems_t seen = check_store(f->path, &sum);
    /* The item lost its sale (stock), the line has no item, r-3 names another item. */
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.p[0].kind, STORE_PROBLEM_STOCK);
    assert_int_equal(seen.p[0].u.stock.sno, 102);
    assert_int_equal(seen.p[1].kind, STORE_PROBLEM_ORPHAN);
    assert_true(seen.p[1].u.orphan.no_item);
    assert_int_equal(seen.p[1].u.orphan.line_id, s.line_b1);
    assert_int_equal(seen.p[1].u.orphan.sno, 999);
    assert_int_equal(seen.p[2].kind, STORE_PROBLEM_REQUEST);
}

static void test_check_inside_a_transaction_is_refused(void **state)
{
    fixture_t *f = *state;
    store_check_summary_t sum;
    problems_t seen;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_begin(f->st), STORE_OK);
    assert_int_equal(store_check(f->st, record_problem, &seen, &sum), STORE_ERROR);
    assert_non_null(strstr(store_errmsg(f->st), "transaction"));
    store_rollback(f->st);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_creates_schema),
        T(test_open_files_are_private),
        T(test_open_refuses_symbolic_links),
        T(test_open_narrows_an_existing_database_to_owner_only),
        T(test_open_keeps_other_connections_locks),
        T(test_open_bad_path_reports_error),
        T(test_open_refuses_newer_schema),
        T(test_open_upgrades_schema_v1),
        T(test_open_upgrades_schema_v3_wire_codes_to_outcomes),
        T(test_open_refuses_to_upgrade_unknown_v3_wire_code),
        T(test_requests_prune_forgets_old_refusals_only),
        T(test_interleaved_orders_keep_their_own_lines),
        T(test_reopen_keeps_data),
        T(test_catalog_import_load_round_trip),
        T(test_catalog_load_reflects_current_stock),
        T(test_catalog_import_twice_exists),
        T(test_catalog_import_is_all_or_nothing),
        T(test_settings_get_set),
        T(test_users),
        T(test_order_lines_totals_and_list),
        T(test_line_too_little_stock),
        T(test_line_refused_inside_batch_keeps_the_rest),
        T(test_line_exact_remaining_stock),
        T(test_line_unknown_item_or_closed_order),
        T(test_line_bad_values_refused),
        T(test_line_order_total_overflow),
        T(test_rollback_discards_lines_and_stock),
        T(test_order_of_other_user_not_found),
        T(test_order_open_unknown_user_not_found),
        T(test_orders_close_all),
        T(test_requests),
        T(test_stock_each_invariant),
        T(test_reader_sees_committed_data),
        T(test_check_consistent_store_passes),
        T(test_check_empty_store_passes),
        T(test_check_beside_an_open_write_transaction),
        T(test_check_reports_stock_changed_behind_its_back),
        T(test_check_reports_order_total_and_count_wrong),
        T(test_check_reports_order_total_overflow),
        T(test_check_reports_a_chain_ending_early),
        T(test_check_reports_a_chain_loop),
        T(test_check_reports_a_chain_into_another_order),
        T(test_check_reports_a_chain_to_a_missing_line),
        T(test_check_reports_a_bought_record_pointing_nowhere),
        T(test_check_reports_a_line_without_its_order_or_item),
        T(test_check_inside_a_transaction_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
