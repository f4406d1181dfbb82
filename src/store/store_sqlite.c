/* store_sqlite: the SQLite back end of store.h — one database file, one connection per
 * store_t, every statement prepared once at open and reused (reset + clear bindings).
 *
 * Invariants:
 *   1. Values never reach SQL text: every value is a bound parameter.
 *   2. items.initial_stock = items.stock + sum(order_lines.qty) for that sno, because
 *      store_line_add decrements stock and inserts the line all or none (a refusal after the
 *      stock was taken gives it back; a STORE_ERROR inside the caller's transaction leaves the
 *      caller to roll back, see store.h).
 *   3. orders.line_count and orders.total equal the count and the sum of line_total of the
 *      order's lines; they are maintained by store_line_add so ORDERS reads one row per order.
 *      The total never overflows: a line is only added when total <= INT64_MAX - line_total.
 *   5. An order's lines form a chain: orders.last_line_id is its newest line and every line's
 *      prev_line_id the one before (NULL for the first). RECEIPT walks the chain; there is no
 *      index on order_lines(order_id), so adding a line appends to the table and updates one
 *      row of orders, and a batch of purchases from many open orders dirties few pages (an
 *      index would take one page per order per batch).
 *   4. Tables are STRICT, so a value of the wrong type is an error, never a silent conversion.
 *   store_check (`netshopd check`) verifies 2, 3 and 5 on a snapshot, and that every purchase
 *   record (outcome OUTCOME_BOUGHT) points at its line.
 *
 * Connection: SQLITE_OPEN_NOMUTEX (a store_t is used by one thread), WAL journal,
 * synchronous=FULL (a COMMIT is durable when it returns), foreign keys on, 5 s busy timeout.
 * After store_defer_sync: synchronous=NORMAL (a COMMIT writes its WAL frames but does not
 * fsync; checkpoints still sync the WAL first and the database after), and store_sync makes the
 * commits durable with fdatasync on the WAL file through a descriptor of the store's own.
 * The file is created mode 0600 before SQLite opens it; SQLite gives -wal and -shm the same
 * mode. Schema version lives in PRAGMA user_version (STORE_SQLITE_SCHEMA_VERSION). */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define STORE_SQLITE_SCHEMA_VERSION 4
#define STORE_SQLITE_BUSY_MS 5000
#define STORE_SQLITE_ERRMSG_MAX 512

/* The schema of version 4. orders.line_count/total make ORDERS one indexed range scan.
 * buy_requests.outcome holds an outcome_t value (core/outcome.h: explicit values, 0 = bought);
 * stock_left the units left when an INSUFFICIENT_STOCK refusal was decided (NULL otherwise), so
 * a repeat answers the same text. buy_requests_refused lists refused outcomes by age for
 * store_requests_prune; a partial index, so a purchase (outcome 0) adds no index entry. */
static const char schema_v4[] =
    "CREATE TABLE settings("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE categories("
    "  number INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE"
    ") STRICT;"
    "CREATE TABLE items("
    "  sno INTEGER PRIMARY KEY,"
    "  category INTEGER NOT NULL REFERENCES categories(number),"
    "  name TEXT NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0),"
    "  stock INTEGER NOT NULL CHECK (stock >= 0),"
    "  initial_stock INTEGER NOT NULL CHECK (initial_stock >= 0)"
    ") STRICT;"
    "CREATE TABLE users("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  pwhash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE orders("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  opened_at INTEGER NOT NULL,"
    "  closed_at INTEGER,"
    "  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),"
    "  line_count INTEGER NOT NULL DEFAULT 0 CHECK (line_count >= 0),"
    "  total INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),"
    "  last_line_id INTEGER,"
    "  CHECK ((status = 'open') = (closed_at IS NULL))"
    ") STRICT;"
    "CREATE INDEX orders_by_user ON orders(user_id, id);"
    "CREATE INDEX orders_open ON orders(id) WHERE status = 'open';"
    "CREATE TABLE order_lines("
    "  id INTEGER PRIMARY KEY,"
    "  order_id INTEGER NOT NULL REFERENCES orders(id),"
    "  sno INTEGER NOT NULL REFERENCES items(sno),"
    "  name TEXT NOT NULL,"
    "  qty INTEGER NOT NULL CHECK (qty > 0),"
    "  unit_price INTEGER NOT NULL CHECK (unit_price >= 0),"
    "  line_total INTEGER NOT NULL CHECK (line_total >= 0),"
    "  prev_line_id INTEGER"
    ") STRICT;"
    "CREATE TABLE buy_requests("
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  request_id TEXT NOT NULL,"
    "  sno INTEGER NOT NULL,"
    "  qty INTEGER NOT NULL,"
    "  outcome INTEGER NOT NULL,"
    "  line_id INTEGER REFERENCES order_lines(id),"
    "  created_at INTEGER NOT NULL DEFAULT 0,"
    "  stock_left INTEGER,"
    "  PRIMARY KEY (user_id, request_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX buy_requests_refused ON buy_requests(created_at) WHERE outcome != 0;"
    "PRAGMA user_version = 4;";

/* Version 1 to 2: lines chained per order instead of indexed by order (invariant 5). */
static const char migrate_v1_to_v2[] =
    "ALTER TABLE orders ADD COLUMN last_line_id INTEGER;"
    "ALTER TABLE order_lines ADD COLUMN prev_line_id INTEGER;"
    "UPDATE order_lines SET prev_line_id = (SELECT max(p.id) FROM order_lines AS p"
    "  WHERE p.order_id = order_lines.order_id AND p.id < order_lines.id);"
    "UPDATE orders SET last_line_id = (SELECT max(l.id) FROM order_lines AS l"
    "  WHERE l.order_id = orders.id);"
    "DROP INDEX order_lines_by_order;"
    "PRAGMA user_version = 2;";

/* Version 2 to 3: request records get their time, so refused ones can expire; the records
 * already there count from the upgrade. */
static const char migrate_v2_to_v3[] =
    "ALTER TABLE buy_requests ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE buy_requests SET created_at = CAST(strftime('%s', 'now') AS INTEGER);"
    "CREATE INDEX buy_requests_refused ON buy_requests(created_at) WHERE result != 0;"
    "PRAGMA user_version = 3;";

/* Version 3 to 4: records hold the shop's outcome codes instead of the wire's (shop1_error_t,
 * whose implicit values were SHOP1_OK 0, NO_SUCH_ITEM 7, BAD_QUANTITY 10, INSUFFICIENT_STOCK 11,
 * LIMIT 13; nothing else was recorded). A value outside those fails the NOT NULL constraint and
 * with it the upgrade: better than a guess. The stock left at a refusal was not kept: NULL. The
 * rename also rewrites the partial index. */
static const char migrate_v3_to_v4[] =
    "ALTER TABLE buy_requests RENAME COLUMN result TO outcome;"
    "UPDATE buy_requests SET outcome = CASE outcome"
    "  WHEN 0 THEN 0 WHEN 7 THEN 1 WHEN 11 THEN 2 WHEN 10 THEN 3 WHEN 13 THEN 4 END;"
    "ALTER TABLE buy_requests ADD COLUMN stock_left INTEGER;"
    "PRAGMA user_version = 4;";

/* Every statement the store runs after open, prepared once. */
typedef enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q_ITEMS_ANY,
    Q_CATEGORY_INSERT,
    Q_ITEM_INSERT,
    Q_CATEGORIES_ALL,
    Q_ITEMS_ALL,
    Q_STOCK_ALL,
    Q_SETTING_GET,
    Q_SETTING_SET,
    Q_USER_INSERT,
    Q_USER_GET,
    Q_ORDER_INSERT,
    Q_ORDER_CLOSE,
    Q_ORDERS_CLOSE_ALL,
    Q_STOCK_TAKE,
    Q_ITEM_EXISTS,
    Q_STOCK_RETURN,
    Q_ORDER_ADD_LINE,
    Q_ORDER_IS_OPEN,
    Q_LINE_APPEND,
    Q_LINE_GET,
    Q_REQUEST_GET,
    Q_REQUEST_PUT,
    Q_REQUEST_PRUNE,
    Q_REQUEST_FORGET,
    Q_ORDER_WITH_LINES,
    Q_ORDERS_OF_USER,
    Q_COUNT
} query_t;

static const char *const query_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT store_step",
    [Q_RELEASE] = "RELEASE store_step",
    [Q_ROLLBACK_TO] = "ROLLBACK TO store_step",
    [Q_ITEMS_ANY] = "SELECT EXISTS (SELECT 1 FROM items)",
    [Q_CATEGORY_INSERT] = "INSERT INTO categories (number, name) VALUES (?1, ?2)",
    [Q_ITEM_INSERT] = "INSERT INTO items (sno, category, name, price, stock, initial_stock)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [Q_CATEGORIES_ALL] = "SELECT number, name FROM categories ORDER BY number",
    [Q_ITEMS_ALL] = "SELECT sno, category, name, price, stock FROM items ORDER BY sno",
    [Q_STOCK_ALL] = "SELECT sno, stock, initial_stock FROM items ORDER BY sno",
    [Q_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [Q_SETTING_SET] = "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                      " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [Q_USER_INSERT] = "INSERT INTO users (name, pwhash, created_at) VALUES (?1, ?2, ?3)",
    [Q_USER_GET] = "SELECT id, pwhash FROM users WHERE name = ?1",
    [Q_ORDER_INSERT] = "INSERT INTO orders (user_id, opened_at, status) VALUES (?1, ?2, 'open')",
    [Q_ORDER_CLOSE] = "UPDATE orders SET status = 'closed', closed_at = ?2"
                      " WHERE id = ?1 AND status = 'open'",
    [Q_ORDERS_CLOSE_ALL] = "UPDATE orders SET status = 'closed', closed_at = ?1"
                           " WHERE status = 'open'",
    [Q_STOCK_TAKE] = "UPDATE items SET stock = stock - ?2 WHERE sno = ?1 AND stock >= ?2",
    [Q_ITEM_EXISTS] = "SELECT EXISTS (SELECT 1 FROM items WHERE sno = ?1)",
    [Q_STOCK_RETURN] = "UPDATE items SET stock = stock + ?2 WHERE sno = ?1",
    [Q_ORDER_ADD_LINE] = "UPDATE orders SET line_count = line_count + 1, total = total + ?2,"
                         " last_line_id = ?3 WHERE id = ?1",
    [Q_ORDER_IS_OPEN] = "SELECT EXISTS (SELECT 1 FROM orders WHERE id = ?1 AND status = 'open')",
    /* Appends only to an open order whose total stays representable; links the chain. */
    [Q_LINE_APPEND] = "INSERT INTO order_lines"
                      " (order_id, prev_line_id, sno, name, qty, unit_price, line_total)"
                      " SELECT id, last_line_id, ?2, ?3, ?4, ?5, ?6 FROM orders"
                      " WHERE id = ?1 AND status = 'open' AND total <= 9223372036854775807 - ?6",
    [Q_LINE_GET] = "SELECT id, order_id, sno, name, qty, unit_price, line_total"
                   " FROM order_lines WHERE id = ?1",
    [Q_REQUEST_GET] = "SELECT sno, qty, outcome, line_id, stock_left, created_at FROM buy_requests"
                      " WHERE user_id = ?1 AND request_id = ?2",
    [Q_REQUEST_PUT] = "INSERT INTO buy_requests"
                      " (user_id, request_id, sno, qty, outcome, line_id, created_at, stock_left)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_REQUEST_PRUNE] = "DELETE FROM buy_requests WHERE (user_id, request_id) IN ("
                        " SELECT user_id, request_id FROM buy_requests"
                        " WHERE outcome != 0 AND created_at < ?1 ORDER BY created_at LIMIT ?2)",
    [Q_REQUEST_FORGET] = "DELETE FROM buy_requests WHERE user_id = ?1 AND request_id = ?2 AND outcome != 0",
    /* One statement, so header and lines come from one snapshot even while the committer
     * writes through another connection. */
    [Q_ORDER_WITH_LINES] = "WITH RECURSIVE chain(id) AS ("
                           "  SELECT last_line_id FROM orders"
                           "  WHERE id = ?1 AND user_id = ?2 AND last_line_id IS NOT NULL"
                           "  UNION ALL"
                           "  SELECT l.prev_line_id FROM order_lines AS l JOIN chain ON l.id = chain.id"
                           "  WHERE l.prev_line_id IS NOT NULL)"
                           " SELECT o.opened_at, o.closed_at, o.status, o.line_count, o.total,"
                           " l.id, l.sno, l.name, l.qty, l.unit_price, l.line_total"
                           " FROM orders AS o LEFT JOIN (SELECT ol.* FROM chain"
                           "  JOIN order_lines AS ol ON ol.id = chain.id) AS l ON 1"
                           " WHERE o.id = ?1 AND o.user_id = ?2 ORDER BY l.id",
    [Q_ORDERS_OF_USER] = "SELECT id, opened_at, closed_at, status, line_count, total"
                         " FROM orders WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    char errmsg[STORE_SQLITE_ERRMSG_MAX];
    int wal_fd; /* the WAL file, for store_sync; -1 until store_defer_sync */
};

/* How a multi-statement write was entered: its own transaction, or a savepoint inside the
 * caller's (the committer's store_begin .. store_commit). */
typedef enum { TX_TOP, TX_SAVEPOINT } tx_kind_t;

/* ---- Error messages. ---- */

/* Writes a printf-style message into buf; a message that does not fit ends in "...". */
static void format_message(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void format_message(char *buf, size_t cap, const char *fmt, va_list ap)
{
    if (buf == NULL || cap == 0)
        return;
    int n = vsnprintf(buf, cap, fmt, ap);
    if (n < 0) {
        buf[0] = '\0';
    } else if ((size_t)n >= cap && cap >= 4) {
        memcpy(buf + cap - 4, "...", 4);
    }
}

/* Writes a message for the caller of store_open. */
static void open_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void open_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_message(err, errlen, fmt, ap);
    va_end(ap);
}

/* Records a message for store_errmsg and returns status (so callers can `return note(...)`). */
static store_status_t note(store_t *st, store_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static store_status_t note(store_t *st, store_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    format_message(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

/* Records "<what>: <sqlite message>" for a failed SQLite call and returns STORE_ERROR. */
static store_status_t sql_error(store_t *st, const char *what)
{
    return note(st, STORE_ERROR, "%s: %s (code %d)", what, sqlite3_errmsg(st->db),
                sqlite3_extended_errcode(st->db));
}

static bool is_unique_violation(int rc)
{
    return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

/* ---- Statement helpers. ---- */

/* Makes a statement ready for its next use: resets it and drops its bindings (so no bound
 * pointer outlives the call that bound it). */
static void finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static bool bind_i64(sqlite3_stmt *s, int index, int64_t value)
{
    return sqlite3_bind_int64(s, index, value) == SQLITE_OK;
}

/* Binds a C string without copying: the string must stay valid until finish(s). */
static bool bind_text(sqlite3_stmt *s, int index, const char *value)
{
    return sqlite3_bind_text(s, index, value, -1, SQLITE_STATIC) == SQLITE_OK;
}

static store_status_t bind_error(store_t *st, sqlite3_stmt *s, const char *what)
{
    store_status_t status = sql_error(st, what);
    finish(s);
    return status;
}

/* Runs a bound statement that returns no rows. Returns the sqlite3_step code (SQLITE_DONE
 * on success); on failure the message is recorded with `what`. The statement is finished. */
static int run(store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = SQLITE_DONE; /* statements run this way ignore any rows */
    if (rc != SQLITE_DONE)
        sql_error(st, what);
    finish(s);
    return rc;
}

/* Runs a bound one-row, one-integer-column query (SELECT EXISTS ...). On STORE_OK *value
 * holds the integer. The statement is finished. */
static store_status_t query_i64(store_t *st, sqlite3_stmt *s, const char *what, int64_t *value)
{
    int rc = sqlite3_step(s);
    store_status_t status = STORE_OK;
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(s, 0);
    else
        status = sql_error(st, what);
    finish(s);
    return status;
}

/* Copies text column col into buf (cap bytes with the NUL). False when it does not fit. */
static bool column_text(sqlite3_stmt *s, int col, char *buf, size_t cap)
{
    const unsigned char *text = sqlite3_column_text(s, col);
    int len = sqlite3_column_bytes(s, col);
    if (text == NULL || len < 0 || (size_t)len >= cap)
        return false;
    memcpy(buf, text, (size_t)len);
    buf[len] = '\0';
    return true;
}

/* Makes room for entry number `used` in array (elem-sized entries, *cap of them), doubling
 * it when full. Returns the array to use from now on, or NULL when out of memory (the old
 * array is then untouched and still owned by the caller). */
static void *grow(void *array, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap)
        return array;
    size_t next = *cap == 0 ? 8 : *cap * 2;
    if (next < *cap)
        return NULL;
    void *bigger = reallocarray(array, next, elem);
    if (bigger != NULL)
        *cap = next;
    return bigger;
}

/* ---- Transactions. ---- */

/* Enters a write scope for a multi-statement change: BEGIN IMMEDIATE when the connection is
 * in autocommit mode, else a savepoint inside the caller's transaction. */
static store_status_t tx_enter(store_t *st, tx_kind_t *kind, const char *what)
{
    *kind = sqlite3_get_autocommit(st->db) ? TX_TOP : TX_SAVEPOINT;
    query_t q = *kind == TX_TOP ? Q_BEGIN : Q_SAVEPOINT;
    return run(st, st->q[q], what) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* Leaves the scope tx_enter opened: keeps its changes when status is STORE_OK, else undoes
 * them (and only them). Returns status, or STORE_ERROR when keeping the changes failed. */
static store_status_t tx_leave(store_t *st, tx_kind_t kind, store_status_t status,
                               const char *what)
{
    if (status == STORE_OK) {
        query_t q = kind == TX_TOP ? Q_COMMIT : Q_RELEASE;
        if (run(st, st->q[q], what) == SQLITE_DONE)
            return STORE_OK;
        status = STORE_ERROR;
    }
    /* Undo; errors are ignored so the first message stays (SQLite may already have rolled
     * the whole transaction back after an I/O error). */
    if (kind == TX_TOP) {
        sqlite3_step(st->q[Q_ROLLBACK]);
        finish(st->q[Q_ROLLBACK]);
    } else {
        sqlite3_step(st->q[Q_ROLLBACK_TO]);
        finish(st->q[Q_ROLLBACK_TO]);
        sqlite3_step(st->q[Q_RELEASE]);
        finish(st->q[Q_RELEASE]);
    }
    return status;
}

store_status_t store_begin(store_t *st)
{
    return run(st, st->q[Q_BEGIN], "begin") == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

store_status_t store_commit(store_t *st)
{
    return run(st, st->q[Q_COMMIT], "commit") == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

store_status_t store_defer_sync(store_t *st)
{
    if (st->wal_fd >= 0)
        return STORE_OK;
    /* In WAL mode the -wal file exists from the first read on: read, then open it. A POSIX lock
     * is not released by closing this descriptor, because SQLite locks the database and -shm
     * files, never the WAL. */
    int64_t any = 0;
    if (query_i64(st, st->q[Q_ITEMS_ANY], "reading items", &any) != STORE_OK)
        return STORE_ERROR;
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(st->db, "main"));
    int fd = wal ? open(wal, O_RDWR | O_CLOEXEC) : -1;
    if (fd < 0)
        return note(st, STORE_ERROR, "opening the WAL file %s: %s", wal ? wal : "(none)",
                    strerror(errno));
    if (sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        close(fd);
        return sql_error(st, "deferring sync");
    }
    st->wal_fd = fd;
    return STORE_OK;
}

store_status_t store_defer_checkpoints(store_t *st)
{
    if (sqlite3_wal_autocheckpoint(st->db, STORE_DEFERRED_CHECKPOINT_PAGES) != SQLITE_OK)
        return sql_error(st, "deferring checkpoints");
    return STORE_OK;
}

store_status_t store_checkpoint(store_t *st)
{
    if (sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) !=
        SQLITE_OK)
        return sql_error(st, "checkpoint");
    return STORE_OK;
}

store_status_t store_sync(store_t *st, char *err, size_t errlen)
{
    if (st->wal_fd < 0 || fdatasync(st->wal_fd) == 0)
        return STORE_OK; /* without deferral every COMMIT synced itself */
    snprintf(err, errlen, "fdatasync of the WAL file: %s", strerror(errno));
    return STORE_ERROR;
}

void store_rollback(store_t *st)
{
    sqlite3_step(st->q[Q_ROLLBACK]);
    finish(st->q[Q_ROLLBACK]);
}

/* ---- Open and close. ---- */

/* Makes sure `path` is a regular file reached without a symbolic link, with no group or other
 * permissions: a missing file is created with mode 0600 (exactly, whatever the umask) when
 * `create`, else *absent is set; an existing one loses its group and other bits. An existing file
 * is never opened here: this process may already hold SQLite's POSIX locks on it through another
 * connection, and closing any descriptor of a file drops all of them. Returns true, or false with
 * err filled (a symbolic link, not a regular file, or a failed call). */
static bool private_file(const char *path, bool create, bool *absent, char *err, size_t errlen)
{
    *absent = false;
    if (create) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            bool ok = fchmod(fd, 0600) == 0; /* the umask may have cleared bits */
            if (!ok)
                open_error(err, errlen, "chmod 0600 %s: %s", path, strerror(errno));
            close(fd);
            return ok;
        }
        if (errno != EEXIST) {
            open_error(err, errlen, "creating %s: %s", path, strerror(errno));
            return false;
        }
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT && !create) {
            *absent = true;
            return true;
        }
        open_error(err, errlen, "checking %s: %s", path, strerror(errno));
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        open_error(err, errlen, "%s is a symbolic link; refusing to follow it", path);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        open_error(err, errlen, "%s is not a regular file", path);
        return false;
    }
    mode_t want = st.st_mode & 07700;
    /* AT_SYMLINK_NOFOLLOW: should a link replace the file meanwhile, this fails, never follows. */
    if ((st.st_mode & 07777) != want && fchmodat(AT_FDCWD, path, want, AT_SYMLINK_NOFOLLOW) != 0) {
        open_error(err, errlen, "chmod %04o %s: %s", (unsigned)want, path, strerror(errno));
        return false;
    }
    return true;
}

/* Makes sure the database file exists as a regular file of mode 0600 (or narrower), created so
 * before SQLite sees it: SQLite gives its -wal and -shm files the database's mode. Existing
 * -wal/-shm files are checked the same way. Nothing here follows a symbolic link: a link in
 * place of any of the three files is refused, so the password hashes are never written where
 * one points. */
static bool prepare_files(const char *path, char *err, size_t errlen)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    bool absent;
    if (!private_file(path, true, &absent, err, errlen))
        return false;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char aux[PATH_MAX];
        int n = snprintf(aux, sizeof aux, "%s%s", path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof aux) {
            open_error(err, errlen, "database path too long: %s", path);
            return false;
        }
        if (!private_file(aux, false, &absent, err, errlen))
            return false;
    }
    return true;
}

/* Runs a PRAGMA that returns one row and copies its first column into buf. */
static store_status_t pragma_text(store_t *st, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_error(st, sql);
    store_status_t status = STORE_OK;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        status = sql_error(st, sql);
    else if (!column_text(s, 0, buf, cap))
        status = note(st, STORE_ERROR, "%s: unexpected answer", sql);
    sqlite3_finalize(s);
    return status;
}

static store_status_t schema_version(store_t *st, long *version)
{
    char text[32];
    store_status_t status = pragma_text(st, "PRAGMA user_version", text, sizeof text);
    if (status == STORE_OK)
        *version = strtol(text, NULL, 10);
    return status;
}

/* Creates the schema when the file has none (user_version 0), or upgrades an older one,
 * inside one IMMEDIATE transaction that re-checks the version, so two processes opening the
 * file at once do not both do it. Refuses a schema newer than this build knows. */
static store_status_t ensure_schema(store_t *st)
{
    long version = 0;
    if (schema_version(st, &version) != STORE_OK)
        return STORE_ERROR;
    if (version < STORE_SQLITE_SCHEMA_VERSION) {
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return sql_error(st, "creating schema");
        store_status_t status = schema_version(st, &version);
        /* A new file gets the schema; an old one each upgrade step from its version on. */
        const char *steps[] = {version == 0 ? schema_v4 : NULL,
                               version == 1 ? migrate_v1_to_v2 : NULL,
                               version == 1 || version == 2 ? migrate_v2_to_v3 : NULL,
                               version >= 1 && version <= 3 ? migrate_v3_to_v4 : NULL};
        bool known = version >= 0 && version <= 3;
        for (size_t i = 0; known && status == STORE_OK && i < sizeof steps / sizeof steps[0]; i++) {
            if (steps[i] && sqlite3_exec(st->db, steps[i], NULL, NULL, NULL) != SQLITE_OK)
                status = sql_error(st, version == 0 ? "creating schema" : "upgrading schema");
        }
        if (known && status == STORE_OK)
            version = STORE_SQLITE_SCHEMA_VERSION;
        if (status == STORE_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            status = sql_error(st, "creating schema");
        if (status != STORE_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return status;
        }
    }
    if (version != STORE_SQLITE_SCHEMA_VERSION)
        return note(st, STORE_ERROR, "schema version %ld, this build reads version %d",
                    version, STORE_SQLITE_SCHEMA_VERSION);
    return STORE_OK;
}

static store_status_t configure(store_t *st)
{
    /* The busy timeout (what PRAGMA busy_timeout sets) first: switching to WAL may wait
     * for a lock. */
    if (sqlite3_busy_timeout(st->db, STORE_SQLITE_BUSY_MS) != SQLITE_OK ||
        sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
        return sql_error(st, "configuring connection");
    char mode[16];
    if (pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof mode) != STORE_OK)
        return STORE_ERROR;
    if (strcmp(mode, "wal") != 0)
        return note(st, STORE_ERROR, "journal_mode is %s, WAL is required", mode);
    if (sqlite3_exec(st->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
        return sql_error(st, "configuring connection");
    return STORE_OK;
}

static store_status_t prepare_all(store_t *st)
{
    for (size_t i = 0; i < Q_COUNT; i++) {
        if (query_sql[i] == NULL)
            return note(st, STORE_ERROR, "internal: query %zu has no SQL", i);
        if (sqlite3_prepare_v3(st->db, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i],
                               NULL) != SQLITE_OK)
            return sql_error(st, query_sql[i]);
    }
    return STORE_OK;
}

store_t *store_open(const char *path, char *err, size_t errlen)
{
    char scratch[1];
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        open_error(err, errlen, "no database path");
        return NULL;
    }
    if (!prepare_files(path, err, errlen))
        return NULL;
    store_t *st = calloc(1, sizeof *st);
    if (st == NULL) {
        open_error(err, errlen, "out of memory");
        return NULL;
    }
    st->wal_fd = -1;
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                             NULL);
    if (rc != SQLITE_OK) {
        open_error(err, errlen, "opening %s: %s", path,
                 st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return NULL;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (configure(st) != STORE_OK || ensure_schema(st) != STORE_OK ||
        prepare_all(st) != STORE_OK) {
        open_error(err, errlen, "%s: %s", path, st->errmsg);
        store_close(st);
        return NULL;
    }
    st->errmsg[0] = '\0';
    return st;
}

store_status_t store_read_only(store_t *st)
{
    if (sqlite3_exec(st->db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK)
        return sql_error(st, "making the connection read-only");
    return STORE_OK;
}

void store_close(store_t *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]); /* NULL is a harmless no-op */
    sqlite3_close(st->db);            /* rolls back an unfinished transaction */
    if (st->wal_fd >= 0)
        close(st->wal_fd); /* after SQLite: it may sync the WAL while closing */
    free(st);
}

const char *store_errmsg(const store_t *st)
{
    return st->errmsg;
}

/* ---- Catalog. ---- */

/* Returns false also when the store cannot be read (store_errmsg says why), so a failing
 * store is never mistaken for an empty one that needs importing. */
bool store_catalog_empty(store_t *st)
{
    int64_t any = 1;
    if (query_i64(st, st->q[Q_ITEMS_ANY], "checking for items", &any) != STORE_OK)
        return false;
    return any == 0;
}

static store_status_t import_category(store_t *st, const catalog_category_t *c)
{
    sqlite3_stmt *s = st->q[Q_CATEGORY_INSERT];
    if (!(bind_i64(s, 1, c->number) && bind_text(s, 2, c->name)))
        return bind_error(st, s, "importing category");
    int rc = run(st, s, "importing category");
    if (is_unique_violation(rc))
        return note(st, STORE_EXISTS, "category %d (%s) already exists", c->number, c->name);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static store_status_t import_item(store_t *st, const catalog_item_t *item)
{
    sqlite3_stmt *s = st->q[Q_ITEM_INSERT];
    int sno = catalog_item_sno(item);
    if (!(bind_i64(s, 1, sno) && bind_i64(s, 2, catalog_item_category(item)) &&
          bind_text(s, 3, catalog_item_name(item)) &&
          bind_i64(s, 4, catalog_item_price(item)) && bind_i64(s, 5, catalog_item_stock(item))))
        return bind_error(st, s, "importing item");
    int rc = run(st, s, "importing item");
    if (is_unique_violation(rc))
        return note(st, STORE_EXISTS, "item %d already exists", sno);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

store_status_t store_catalog_import(store_t *st, const catalog_t *cat)
{
    if (cat == NULL)
        return note(st, STORE_ERROR, "importing catalog: no catalog");
    tx_kind_t kind;
    if (tx_enter(st, &kind, "importing catalog") != STORE_OK)
        return STORE_ERROR;
    int64_t any = 0;
    store_status_t status = query_i64(st, st->q[Q_ITEMS_ANY], "checking for items", &any);
    if (status == STORE_OK && any != 0)
        status = note(st, STORE_EXISTS, "the store already has a catalog");
    for (size_t i = 0; status == STORE_OK && i < catalog_category_count(cat); i++)
        status = import_category(st, catalog_category_at(cat, i));
    for (size_t i = 0; status == STORE_OK && i < catalog_item_count(cat); i++)
        status = import_item(st, catalog_item_at(cat, i));
    return tx_leave(st, kind, status, "committing catalog");
}

static store_status_t load_categories(store_t *st, catalog_t *cat)
{
    sqlite3_stmt *s = st->q[Q_CATEGORIES_ALL];
    store_status_t status = STORE_OK;
    int rc = SQLITE_DONE;
    while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t number = sqlite3_column_int64(s, 0);
        char name[CATALOG_NAME_MAX + 1];
        if (number < INT_MIN || number > INT_MAX || !column_text(s, 1, name, sizeof name)) {
            status = note(st, STORE_ERROR, "category %lld: bad number or name",
                          (long long)number);
            break;
        }
        catalog_result_t r = catalog_add_category(cat, (int)number, name);
        if (r != CATALOG_OK)
            status = note(st, STORE_ERROR, "category %lld (%s) rejected by the catalog (%d)",
                          (long long)number, name, (int)r);
    }
    if (status == STORE_OK && rc != SQLITE_DONE)
        status = sql_error(st, "loading categories");
    finish(s);
    return status;
}

static store_status_t load_items(store_t *st, catalog_t *cat)
{
    sqlite3_stmt *s = st->q[Q_ITEMS_ALL];
    store_status_t status = STORE_OK;
    int rc = SQLITE_DONE;
    while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t sno = sqlite3_column_int64(s, 0);
        int64_t category = sqlite3_column_int64(s, 1);
        char name[CATALOG_NAME_MAX + 1];
        if (sno < INT_MIN || sno > INT_MAX || category < INT_MIN || category > INT_MAX ||
            !column_text(s, 2, name, sizeof name)) {
            status = note(st, STORE_ERROR, "item %lld: bad number, category or name",
                          (long long)sno);
            break;
        }
        catalog_result_t r = catalog_add_item(cat, (int)sno, (int)category, name,
                                              sqlite3_column_int64(s, 3),
                                              sqlite3_column_int64(s, 4));
        if (r != CATALOG_OK)
            status = note(st, STORE_ERROR, "item %lld (%s) rejected by the catalog (%d)",
                          (long long)sno, name, (int)r);
    }
    if (status == STORE_OK && rc != SQLITE_DONE)
        status = sql_error(st, "loading items");
    finish(s);
    return status;
}

store_status_t store_catalog_load(store_t *st, catalog_t **out)
{
    *out = NULL;
    catalog_t *cat = catalog_new();
    if (cat == NULL)
        return note(st, STORE_ERROR, "loading catalog: out of memory");
    store_status_t status = load_categories(st, cat);
    if (status == STORE_OK)
        status = load_items(st, cat);
    if (status != STORE_OK) {
        catalog_free(cat);
        return status;
    }
    catalog_freeze(cat);
    *out = cat;
    return STORE_OK;
}

store_status_t store_stock_each(store_t *st,
                                void (*fn)(void *ctx, int sno, int64_t stock, int64_t initial),
                                void *ctx)
{
    /* fn runs while the query is active: it must not use st. */
    sqlite3_stmt *s = st->q[Q_STOCK_ALL];
    store_status_t status = STORE_OK;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t sno = sqlite3_column_int64(s, 0);
        if (sno < INT_MIN || sno > INT_MAX) {
            status = note(st, STORE_ERROR, "item %lld: serial number out of range",
                          (long long)sno);
            break;
        }
        fn(ctx, (int)sno, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
    }
    if (status == STORE_OK && rc != SQLITE_DONE)
        status = sql_error(st, "reading stock");
    finish(s);
    return status;
}

/* ---- Settings. ---- */

store_status_t store_setting_get(store_t *st, const char *key, char *value, size_t cap)
{
    sqlite3_stmt *s = st->q[Q_SETTING_GET];
    if (!bind_text(s, 1, key))
        return bind_error(st, s, "reading setting");
    store_status_t status = STORE_OK;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        status = note(st, STORE_NOT_FOUND, "no setting %s", key);
    else if (rc != SQLITE_ROW)
        status = sql_error(st, "reading setting");
    else if (!column_text(s, 0, value, cap))
        status = note(st, STORE_ERROR, "setting %s: value longer than %zu bytes", key,
                      cap > 0 ? cap - 1 : 0);
    finish(s);
    return status;
}

store_status_t store_setting_set(store_t *st, const char *key, const char *value)
{
    sqlite3_stmt *s = st->q[Q_SETTING_SET];
    if (!(bind_text(s, 1, key) && bind_text(s, 2, value)))
        return bind_error(st, s, "writing setting");
    return run(st, s, "writing setting") == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* ---- Users. ---- */

store_status_t store_user_add(store_t *st, const char *name, const char *pwhash)
{
    if (strlen(pwhash) >= STORE_PWHASH_MAX)
        return note(st, STORE_ERROR, "user %s: password hash longer than %d bytes", name,
                    STORE_PWHASH_MAX - 1);
    sqlite3_stmt *s = st->q[Q_USER_INSERT];
    if (!(bind_text(s, 1, name) && bind_text(s, 2, pwhash) && bind_i64(s, 3, time(NULL))))
        return bind_error(st, s, "adding user");
    int rc = run(st, s, "adding user");
    if (is_unique_violation(rc))
        return note(st, STORE_EXISTS, "user %s already exists", name);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

store_status_t store_user_get(store_t *st, const char *name, int64_t *user_id,
                              char *pwhash, size_t cap)
{
    sqlite3_stmt *s = st->q[Q_USER_GET];
    if (!bind_text(s, 1, name))
        return bind_error(st, s, "looking up user");
    store_status_t status = STORE_OK;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        status = note(st, STORE_NOT_FOUND, "no user %s", name);
    } else if (rc != SQLITE_ROW) {
        status = sql_error(st, "looking up user");
    } else if (!column_text(s, 1, pwhash, cap)) {
        status = note(st, STORE_ERROR, "user %s: password hash does not fit %zu bytes", name,
                      cap);
    } else {
        *user_id = sqlite3_column_int64(s, 0);
    }
    finish(s);
    return status;
}

/* ---- Orders (writes). ---- */

store_status_t store_order_open(store_t *st, int64_t user_id, int64_t now, int64_t *order_id)
{
    sqlite3_stmt *s = st->q[Q_ORDER_INSERT];
    if (!(bind_i64(s, 1, user_id) && bind_i64(s, 2, now)))
        return bind_error(st, s, "opening order");
    int rc = run(st, s, "opening order");
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return note(st, STORE_NOT_FOUND, "opening order: no user %lld", (long long)user_id);
    if (rc != SQLITE_DONE)
        return STORE_ERROR;
    *order_id = sqlite3_last_insert_rowid(st->db);
    return STORE_OK;
}

store_status_t store_order_close(store_t *st, int64_t order_id, int64_t now)
{
    sqlite3_stmt *s = st->q[Q_ORDER_CLOSE];
    if (!(bind_i64(s, 1, order_id) && bind_i64(s, 2, now)))
        return bind_error(st, s, "closing order");
    if (run(st, s, "closing order") != SQLITE_DONE)
        return STORE_ERROR;
    if (sqlite3_changes(st->db) != 1)
        return note(st, STORE_NOT_FOUND, "no open order %lld", (long long)order_id);
    return STORE_OK;
}

store_status_t store_orders_close_all(store_t *st, int64_t now)
{
    sqlite3_stmt *s = st->q[Q_ORDERS_CLOSE_ALL];
    if (!bind_i64(s, 1, now))
        return bind_error(st, s, "closing open orders");
    return run(st, s, "closing open orders") == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* Checks a line before it is written: positive quantity, non-negative price, a total that is
 * exactly unit_price * qty, and a name that fits. */
static store_status_t line_check(store_t *st, const store_line_t *line)
{
    money_t total = 0;
    if (line->qty <= 0)
        return note(st, STORE_ERROR, "line: quantity %lld is not positive",
                    (long long)line->qty);
    if (line->unit_price < 0)
        return note(st, STORE_ERROR, "line: negative unit price %lld",
                    (long long)line->unit_price);
    if (!money_mul(line->unit_price, line->qty, &total) || total != line->line_total)
        return note(st, STORE_ERROR, "line: total %lld is not %lld x %lld",
                    (long long)line->line_total, (long long)line->unit_price,
                    (long long)line->qty);
    if (strnlen(line->name, sizeof line->name) >= sizeof line->name)
        return note(st, STORE_ERROR, "line: name not terminated");
    return STORE_OK;
}

/* Why no line could be appended to order_id: not open (STORE_NOT_FOUND) or its total would
 * overflow (STORE_ERROR). */
static store_status_t line_refusal(store_t *st, int64_t order_id)
{
    int64_t open = 0;
    sqlite3_stmt *s = st->q[Q_ORDER_IS_OPEN];
    if (!bind_i64(s, 1, order_id))
        return bind_error(st, s, "looking up order");
    if (query_i64(st, s, "looking up order", &open) != STORE_OK)
        return STORE_ERROR;
    if (open == 0)
        return note(st, STORE_NOT_FOUND, "no open order %lld", (long long)order_id);
    return note(st, STORE_ERROR, "order %lld: total would overflow", (long long)order_id);
}

/* The writes of store_line_add, without a savepoint: each step that may refuse writes nothing
 * when it does, and a refusal after the stock was taken gives the stock back. Only a
 * STORE_ERROR can leave part of the line written (the caller's transaction rolls back). */
static store_status_t line_write(store_t *st, store_line_t *line)
{
    /* 1. Take the stock, only if enough remains. */
    sqlite3_stmt *s = st->q[Q_STOCK_TAKE];
    if (!(bind_i64(s, 1, line->sno) && bind_i64(s, 2, line->qty)))
        return bind_error(st, s, "taking stock");
    if (run(st, s, "taking stock") != SQLITE_DONE)
        return STORE_ERROR;
    if (sqlite3_changes(st->db) != 1) {
        int64_t exists = 0;
        s = st->q[Q_ITEM_EXISTS];
        if (!bind_i64(s, 1, line->sno))
            return bind_error(st, s, "looking up item");
        if (query_i64(st, s, "looking up item", &exists) != STORE_OK)
            return STORE_ERROR;
        if (exists == 0)
            return note(st, STORE_NOT_FOUND, "no item %d", line->sno);
        return note(st, STORE_NO_STOCK, "item %d: fewer than %lld in stock", line->sno,
                    (long long)line->qty);
    }

    /* 2. The line, with the name and price as they are now, appended to its order's chain
     *    only if the order is open and its total stays representable. */
    s = st->q[Q_LINE_APPEND];
    if (!(bind_i64(s, 1, line->order_id) && bind_i64(s, 2, line->sno) &&
          bind_text(s, 3, line->name) && bind_i64(s, 4, line->qty) &&
          bind_i64(s, 5, line->unit_price) && bind_i64(s, 6, line->line_total)))
        return bind_error(st, s, "inserting line");
    if (run(st, s, "inserting line") != SQLITE_DONE)
        return STORE_ERROR;
    if (sqlite3_changes(st->db) != 1) {
        store_status_t refusal = line_refusal(st, line->order_id);
        s = st->q[Q_STOCK_RETURN];
        if (!(bind_i64(s, 1, line->sno) && bind_i64(s, 2, line->qty)))
            return bind_error(st, s, "giving stock back");
        if (run(st, s, "giving stock back") != SQLITE_DONE)
            return STORE_ERROR;
        return refusal;
    }
    line->line_id = sqlite3_last_insert_rowid(st->db);

    /* 3. Count it in the order's header and make it the chain's newest line. */
    s = st->q[Q_ORDER_ADD_LINE];
    if (!(bind_i64(s, 1, line->order_id) && bind_i64(s, 2, line->line_total) &&
          bind_i64(s, 3, line->line_id)))
        return bind_error(st, s, "adding line to order");
    if (run(st, s, "adding line to order") != SQLITE_DONE)
        return STORE_ERROR;
    if (sqlite3_changes(st->db) != 1)
        return note(st, STORE_ERROR, "order %lld vanished while adding a line",
                    (long long)line->order_id);
    return STORE_OK;
}

/* On a refusal (any status but STORE_OK and STORE_ERROR) neither stock, order nor lines
 * changed. Alone, it is its own transaction (all or nothing); inside the committer's it adds
 * to that transaction without a savepoint, and a STORE_ERROR means the caller rolls back.
 * STORE_NOT_FOUND: no such item, or the order is not open. */
store_status_t store_line_add(store_t *st, store_line_t *line)
{
    store_status_t status = line_check(st, line);
    if (status != STORE_OK)
        return status;
    if (!sqlite3_get_autocommit(st->db))
        return line_write(st, line);
    tx_kind_t kind; /* TX_TOP: not in a transaction */
    if (tx_enter(st, &kind, "adding line") != STORE_OK)
        return STORE_ERROR;
    return tx_leave(st, kind, line_write(st, line), "adding line");
}

/* Fills *out from a row whose columns start at `first` in the order: id, order_id, sno,
 * name, qty, unit_price, line_total. False when a value is out of range. */
static bool line_from_row(sqlite3_stmt *s, int first, store_line_t *out)
{
    int64_t sno = sqlite3_column_int64(s, first + 2);
    if (sno < INT_MIN || sno > INT_MAX)
        return false;
    out->line_id = sqlite3_column_int64(s, first);
    out->order_id = sqlite3_column_int64(s, first + 1);
    out->sno = (int)sno;
    out->qty = sqlite3_column_int64(s, first + 4);
    out->unit_price = sqlite3_column_int64(s, first + 5);
    out->line_total = sqlite3_column_int64(s, first + 6);
    return column_text(s, first + 3, out->name, sizeof out->name);
}

store_status_t store_line_get(store_t *st, int64_t line_id, store_line_t *out)
{
    sqlite3_stmt *s = st->q[Q_LINE_GET];
    if (!bind_i64(s, 1, line_id))
        return bind_error(st, s, "reading line");
    store_status_t status = STORE_OK;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        status = note(st, STORE_NOT_FOUND, "no line %lld", (long long)line_id);
    else if (rc != SQLITE_ROW)
        status = sql_error(st, "reading line");
    else if (!line_from_row(s, 0, out))
        status = note(st, STORE_ERROR, "line %lld: bad stored value", (long long)line_id);
    finish(s);
    return status;
}

/* ---- Idempotent BUY records. ---- */

store_status_t store_request_get(store_t *st, int64_t user_id, const char *request_id,
                                 store_request_t *out)
{
    sqlite3_stmt *s = st->q[Q_REQUEST_GET];
    if (!(bind_i64(s, 1, user_id) && bind_text(s, 2, request_id)))
        return bind_error(st, s, "reading request");
    store_status_t status = STORE_OK;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        status = note(st, STORE_NOT_FOUND, "no request %s", request_id);
    } else if (rc != SQLITE_ROW) {
        status = sql_error(st, "reading request");
    } else {
        int64_t sno = sqlite3_column_int64(s, 0);
        int64_t outcome = sqlite3_column_int64(s, 2);
        if (sno < INT_MIN || sno > INT_MAX || !outcome_known(outcome)) {
            status = note(st, STORE_ERROR, "request %s: bad stored value", request_id);
        } else {
            out->sno = (int)sno;
            out->qty = sqlite3_column_int64(s, 1);
            out->outcome = (outcome_t)outcome;
            out->line_id = sqlite3_column_int64(s, 3); /* NULL reads as 0 */
            out->stock_left = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 4);
            out->created_at = sqlite3_column_int64(s, 5);
        }
    }
    finish(s);
    return status;
}

/* STORE_EXISTS when (user, request id) is already recorded; STORE_NOT_FOUND when the user
 * or the line (if line_id != 0) does not exist. */
store_status_t store_request_put(store_t *st, int64_t user_id, const char *request_id,
                                 const store_request_t *req)
{
    sqlite3_stmt *s = st->q[Q_REQUEST_PUT];
    bool bound = bind_i64(s, 1, user_id) && bind_text(s, 2, request_id) &&
                 bind_i64(s, 3, req->sno) && bind_i64(s, 4, req->qty) &&
                 bind_i64(s, 5, req->outcome) &&
                 (req->line_id == 0 ? sqlite3_bind_null(s, 6) == SQLITE_OK
                                    : bind_i64(s, 6, req->line_id)) &&
                 bind_i64(s, 7, req->created_at) &&
                 (req->outcome != OUTCOME_INSUFFICIENT_STOCK || req->stock_left < 0
                      ? sqlite3_bind_null(s, 8) == SQLITE_OK
                      : bind_i64(s, 8, req->stock_left));
    if (!bound)
        return bind_error(st, s, "recording request");
    int rc = run(st, s, "recording request");
    if (is_unique_violation(rc))
        return note(st, STORE_EXISTS, "request %s already recorded", request_id);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return note(st, STORE_NOT_FOUND, "request %s: no user %lld or line %lld", request_id,
                    (long long)user_id, (long long)req->line_id);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

store_status_t store_request_forget(store_t *st, int64_t user_id, const char *request_id)
{
    sqlite3_stmt *s = st->q[Q_REQUEST_FORGET];
    if (!(bind_i64(s, 1, user_id) && bind_text(s, 2, request_id)))
        return bind_error(st, s, "forgetting request");
    if (run(st, s, "forgetting request") != SQLITE_DONE)
        return STORE_ERROR;
    return sqlite3_changes64(st->db) == 1 ? STORE_OK
                                          : note(st, STORE_NOT_FOUND, "no refused request %s", request_id);
}

store_status_t store_requests_prune(store_t *st, int64_t before, int64_t limit, int64_t *deleted)
{
    sqlite3_stmt *s = st->q[Q_REQUEST_PRUNE];
    if (!(bind_i64(s, 1, before) && bind_i64(s, 2, limit)))
        return bind_error(st, s, "pruning requests");
    int rc = run(st, s, "pruning requests");
    if (rc != SQLITE_DONE)
        return STORE_ERROR;
    *deleted = sqlite3_changes64(st->db);
    return STORE_OK;
}

/* ---- Orders (reads). ---- */

/* Fills the header fields common to both order queries from columns opened_at, closed_at,
 * status, line_count, total starting at `first`. */
static void order_from_row(sqlite3_stmt *s, int first, store_order_t *hdr)
{
    const unsigned char *status = sqlite3_column_text(s, first + 2);
    hdr->opened_at = sqlite3_column_int64(s, first);
    hdr->closed_at = sqlite3_column_int64(s, first + 1); /* NULL while open reads as 0 */
    hdr->open = status != NULL && strcmp((const char *)status, "open") == 0;
    int64_t count = sqlite3_column_int64(s, first + 3);
    hdr->lines = count < 0 ? 0 : (size_t)count;
    hdr->total = sqlite3_column_int64(s, first + 4);
}

/* Reads every row of the bound Q_ORDER_WITH_LINES query into hdr and a growing line array.
 * Checks that the stored count and total match the lines (overflow-checked sum). */
static store_status_t order_read(store_t *st, sqlite3_stmt *s, int64_t order_id,
                                 store_order_t *hdr, store_line_t **lines, size_t *nlines)
{
    size_t cap = 0;
    money_t sum = 0;
    bool found = false;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!found) {
            found = true;
            hdr->order_id = order_id;
            order_from_row(s, 0, hdr);
        }
        if (sqlite3_column_type(s, 5) == SQLITE_NULL)
            continue; /* LEFT JOIN row of an order without lines */
        store_line_t *room = grow(*lines, &cap, *nlines, sizeof **lines);
        if (room == NULL)
            return note(st, STORE_ERROR, "order %lld: out of memory", (long long)order_id);
        *lines = room;
        store_line_t *line = &(*lines)[*nlines];
        line->order_id = order_id;
        int64_t line_id = sqlite3_column_int64(s, 5);
        int64_t sno = sqlite3_column_int64(s, 6);
        if (sno < INT_MIN || sno > INT_MAX || !column_text(s, 7, line->name, sizeof line->name))
            return note(st, STORE_ERROR, "line %lld: bad stored value", (long long)line_id);
        line->line_id = line_id;
        line->sno = (int)sno;
        line->qty = sqlite3_column_int64(s, 8);
        line->unit_price = sqlite3_column_int64(s, 9);
        line->line_total = sqlite3_column_int64(s, 10);
        (*nlines)++;
        if (!money_add(sum, line->line_total, &sum))
            return note(st, STORE_ERROR, "order %lld: total overflows", (long long)order_id);
    }
    if (rc != SQLITE_DONE)
        return sql_error(st, "reading order");
    if (!found)
        return note(st, STORE_NOT_FOUND, "no order %lld for this user", (long long)order_id);
    if (hdr->lines != *nlines || hdr->total != sum)
        return note(st, STORE_ERROR, "order %lld: header says %zu lines totalling %lld, lines"
                    " say %zu totalling %lld", (long long)order_id, hdr->lines,
                    (long long)hdr->total, *nlines, (long long)sum);
    return STORE_OK;
}

store_status_t store_order_get(store_t *st, int64_t order_id, int64_t user_id,
                               store_order_t *hdr, store_line_t **lines, size_t *nlines)
{
    *lines = NULL;
    *nlines = 0;
    sqlite3_stmt *s = st->q[Q_ORDER_WITH_LINES];
    if (!(bind_i64(s, 1, order_id) && bind_i64(s, 2, user_id)))
        return bind_error(st, s, "reading order");
    store_order_t got = {0};
    store_status_t status = order_read(st, s, order_id, &got, lines, nlines);
    finish(s);
    if (status != STORE_OK) {
        free(*lines);
        *lines = NULL;
        *nlines = 0;
        return status;
    }
    *hdr = got;
    return STORE_OK;
}

store_status_t store_orders_list(store_t *st, int64_t user_id, size_t limit,
                                 store_order_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = st->q[Q_ORDERS_OF_USER];
    int64_t sql_limit = limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
    if (!(bind_i64(s, 1, user_id) && bind_i64(s, 2, sql_limit)))
        return bind_error(st, s, "listing orders");
    store_order_t *list = NULL;
    size_t count = 0, cap = 0;
    store_status_t status = STORE_OK;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_order_t *room = grow(list, &cap, count, sizeof *list);
        if (room == NULL) {
            status = note(st, STORE_ERROR, "listing orders: out of memory");
            break;
        }
        list = room;
        list[count].order_id = sqlite3_column_int64(s, 0);
        order_from_row(s, 1, &list[count]);
        count++;
    }
    if (status == STORE_OK && rc != SQLITE_DONE)
        status = sql_error(st, "listing orders");
    finish(s);
    if (status != STORE_OK) {
        free(list);
        return status;
    }
    *out = list;
    *n = count;
    return STORE_OK;
}

/* ---- Consistency check (store_check). ---- */

/* The check's statements: prepared when a check starts and finalized when it ends, since no
 * server connection ever runs them. The two scans of order_lines sort the whole table (there
 * is no index on order_id or sno, invariant 5): fine for an offline check, and it lets each
 * invariant be checked by merging two sorted streams in one pass. */
typedef enum {
    C_INTEGRITY,
    C_ITEMS,
    C_LINES_BY_SNO,
    C_ORDERS,
    C_LINES_BY_ORDER,
    C_LINE,
    C_BOUGHT,
    C_COUNT
} check_query_t;

static const char *const check_sql[C_COUNT] = {
    [C_INTEGRITY] = "PRAGMA integrity_check(100)",
    [C_ITEMS] = "SELECT sno, stock, initial_stock FROM items ORDER BY sno",
    [C_LINES_BY_SNO] = "SELECT sno, qty, id, order_id FROM order_lines ORDER BY sno, id",
    [C_ORDERS] = "SELECT id, line_count, total, last_line_id FROM orders ORDER BY id",
    [C_LINES_BY_ORDER] = "SELECT order_id, line_total, id, sno FROM order_lines"
                         " ORDER BY order_id, id",
    [C_LINE] = "SELECT order_id, prev_line_id FROM order_lines WHERE id = ?1",
    [C_BOUGHT] = "SELECT r.user_id, r.request_id, r.sno, r.qty, r.line_id,"
                 " l.id, l.sno, l.qty, o.user_id"
                 " FROM buy_requests AS r LEFT JOIN order_lines AS l ON l.id = r.line_id"
                 " LEFT JOIN orders AS o ON o.id = l.order_id"
                 " WHERE r.outcome = ?1 ORDER BY r.user_id, r.request_id",
};

typedef struct {
    store_t *st;
    sqlite3_stmt *q[C_COUNT];
    void (*fn)(void *ctx, const store_problem_t *p);
    void *ctx;
    store_check_summary_t *sum;
} check_t;

static void check_report(check_t *ck, const store_problem_t *p)
{
    ck->sum->problems++;
    ck->fn(ck->ctx, p);
}

/* Steps s: *row is true with a row, false at its end. STORE_ERROR (with `what`) on failure. */
static store_status_t check_step(check_t *ck, sqlite3_stmt *s, const char *what, bool *row)
{
    int rc = sqlite3_step(s);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return STORE_OK;
    return sql_error(ck->st, what);
}

static store_status_t check_integrity(check_t *ck)
{
    sqlite3_stmt *s = ck->q[C_INTEGRITY];
    bool row = false;
    store_status_t status;
    while ((status = check_step(ck, s, "integrity check", &row)) == STORE_OK && row) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        if (text != NULL && strcmp(text, "ok") == 0)
            continue;
        store_problem_t p = {.kind = STORE_PROBLEM_INTEGRITY};
        p.u.integrity.text = text != NULL ? text : "(no message)";
        check_report(ck, &p);
    }
    return status;
}

/* A line whose order (no_order) or item does not exist. */
static void report_orphan(check_t *ck, int64_t line_id, int64_t order_id, int64_t sno,
                          bool no_order)
{
    store_problem_t p = {.kind = STORE_PROBLEM_ORPHAN};
    p.u.orphan.line_id = line_id;
    p.u.orphan.order_id = order_id;
    p.u.orphan.sno = sno;
    p.u.orphan.no_order = no_order;
    p.u.orphan.no_item = !no_order;
    check_report(ck, &p);
}

/* Invariant 2, merging items and their lines, both by sno. */
static store_status_t check_stock(check_t *ck)
{
    sqlite3_stmt *items = ck->q[C_ITEMS], *lines = ck->q[C_LINES_BY_SNO];
    bool item_row = false, line_row = false;
    store_status_t status = check_step(ck, items, "reading items", &item_row);
    if (status == STORE_OK)
        status = check_step(ck, lines, "reading order lines", &line_row);
    while (status == STORE_OK && (item_row || line_row)) {
        int64_t sno = item_row ? sqlite3_column_int64(items, 0) : INT64_MAX;
        if (line_row && (!item_row || sqlite3_column_int64(lines, 0) < sno)) {
            report_orphan(ck, sqlite3_column_int64(lines, 2),
                          sqlite3_column_int64(lines, 3), sqlite3_column_int64(lines, 0), false);
            status = check_step(ck, lines, "reading order lines", &line_row);
            continue;
        }
        int64_t sold = 0;
        bool overflow = false;
        while (status == STORE_OK && line_row && sqlite3_column_int64(lines, 0) == sno) {
            if (!overflow && __builtin_add_overflow(sold, sqlite3_column_int64(lines, 1), &sold))
                overflow = true;
            status = check_step(ck, lines, "reading order lines", &line_row);
        }
        if (status != STORE_OK)
            break;
        ck->sum->items++;
        /* Stock moves only by sales today, so initial_stock = stock + sold. Restocks and
         * returns, when they come, join this formula (initial_stock + restocked = stock + sold
         * - returned), each summed from its own table like sold here. */
        int64_t stock = sqlite3_column_int64(items, 1);
        int64_t initial = sqlite3_column_int64(items, 2);
        int64_t expected = 0;
        if (overflow || __builtin_add_overflow(stock, sold, &expected) || expected != initial) {
            store_problem_t p = {.kind = STORE_PROBLEM_STOCK};
            p.u.stock.sno = sno;
            p.u.stock.initial_stock = initial;
            p.u.stock.stock = stock;
            p.u.stock.sold = overflow ? 0 : sold;
            p.u.stock.sold_overflow = overflow;
            check_report(ck, &p);
        }
        status = check_step(ck, items, "reading items", &item_row);
    }
    return status;
}

/* Invariant 5 for one order: walks its chain from next (when has_next) and reports the first
 * fault. `lines` is the number of lines that name the order: a walk that ends after exactly
 * that many steps, each on a line of this order, has reached each of them once (a line met
 * twice would loop, never reaching the end). */
static store_status_t check_chain(check_t *ck, int64_t order_id, bool has_next, int64_t next,
                                  int64_t lines)
{
    sqlite3_stmt *s = ck->q[C_LINE];
    store_problem_t p = {.kind = STORE_PROBLEM_CHAIN};
    p.u.chain.order_id = order_id;
    p.u.chain.lines = lines;
    int64_t reached = 0;
    bool fault = false;
    while (has_next && !fault) {
        if (!bind_i64(s, 1, next))
            return bind_error(ck->st, s, "reading an order line");
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return bind_error(ck->st, s, "reading an order line");
        if (rc == SQLITE_DONE) {
            p.u.chain.fault = STORE_CHAIN_MISSING;
            p.u.chain.line_id = next;
            fault = true;
        } else if (sqlite3_column_int64(s, 0) != order_id) {
            p.u.chain.fault = STORE_CHAIN_FOREIGN;
            p.u.chain.line_id = next;
            p.u.chain.other_order = sqlite3_column_int64(s, 0);
            fault = true;
        } else if (reached == lines) {
            p.u.chain.fault = STORE_CHAIN_LOOP;
            fault = true;
        } else {
            reached++;
            has_next = sqlite3_column_type(s, 1) != SQLITE_NULL;
            next = sqlite3_column_int64(s, 1);
        }
        finish(s);
    }
    if (!fault && reached < lines) {
        p.u.chain.fault = STORE_CHAIN_SHORT;
        fault = true;
    }
    if (fault) {
        p.u.chain.reached = reached;
        check_report(ck, &p);
    }
    return STORE_OK;
}

/* Invariants 3 and 5, merging orders and their lines, both by order id. */
static store_status_t check_orders(check_t *ck)
{
    sqlite3_stmt *orders = ck->q[C_ORDERS], *lines = ck->q[C_LINES_BY_ORDER];
    bool order_row = false, line_row = false;
    store_status_t status = check_step(ck, orders, "reading orders", &order_row);
    if (status == STORE_OK)
        status = check_step(ck, lines, "reading order lines", &line_row);
    while (status == STORE_OK && (order_row || line_row)) {
        int64_t id = order_row ? sqlite3_column_int64(orders, 0) : INT64_MAX;
        if (line_row && (!order_row || sqlite3_column_int64(lines, 0) < id)) {
            ck->sum->lines++;
            report_orphan(ck, sqlite3_column_int64(lines, 2),
                          sqlite3_column_int64(lines, 0), sqlite3_column_int64(lines, 3), true);
            status = check_step(ck, lines, "reading order lines", &line_row);
            continue;
        }
        int64_t count = 0;
        money_t total = 0;
        bool overflow = false;
        while (status == STORE_OK && line_row && sqlite3_column_int64(lines, 0) == id) {
            count++;
            if (!overflow && !money_add(total, sqlite3_column_int64(lines, 1), &total))
                overflow = true;
            status = check_step(ck, lines, "reading order lines", &line_row);
        }
        if (status != STORE_OK)
            break;
        ck->sum->orders++;
        ck->sum->lines += count;
        int64_t recorded_count = sqlite3_column_int64(orders, 1);
        money_t recorded_total = sqlite3_column_int64(orders, 2);
        if (recorded_count != count) {
            store_problem_t p = {.kind = STORE_PROBLEM_LINE_COUNT};
            p.u.line_count.order_id = id;
            p.u.line_count.recorded = recorded_count;
            p.u.line_count.counted = count;
            check_report(ck, &p);
        }
        if (overflow || recorded_total != total) {
            store_problem_t p = {.kind = STORE_PROBLEM_TOTAL};
            p.u.total.order_id = id;
            p.u.total.recorded = recorded_total;
            p.u.total.counted = overflow ? 0 : total;
            p.u.total.overflow = overflow;
            check_report(ck, &p);
        }
        status = check_chain(ck, id, sqlite3_column_type(orders, 3) != SQLITE_NULL,
                             sqlite3_column_int64(orders, 3), count);
        if (status == STORE_OK)
            status = check_step(ck, orders, "reading orders", &order_row);
    }
    return status;
}

/* Every record of a purchase points at a line of the same item, quantity and user. */
static store_status_t check_bought(check_t *ck)
{
    sqlite3_stmt *s = ck->q[C_BOUGHT];
    if (!bind_i64(s, 1, OUTCOME_BOUGHT))
        return sql_error(ck->st, "reading purchase records");
    bool row = false;
    store_status_t status;
    while ((status = check_step(ck, s, "reading purchase records", &row)) == STORE_OK && row) {
        ck->sum->bought++;
        store_problem_t p = {.kind = STORE_PROBLEM_REQUEST};
        p.u.request.user_id = sqlite3_column_int64(s, 0);
        p.u.request.request_id = (const char *)sqlite3_column_text(s, 1);
        if (p.u.request.request_id == NULL)
            p.u.request.request_id = "";
        p.u.request.sno = sqlite3_column_int64(s, 2);
        p.u.request.qty = sqlite3_column_int64(s, 3);
        p.u.request.line_id = sqlite3_column_int64(s, 4);
        p.u.request.line_found = sqlite3_column_type(s, 5) != SQLITE_NULL;
        p.u.request.line_sno = sqlite3_column_int64(s, 6);
        p.u.request.line_qty = sqlite3_column_int64(s, 7);
        p.u.request.line_user = sqlite3_column_int64(s, 8);
        if (!p.u.request.line_found || p.u.request.line_sno != p.u.request.sno ||
            p.u.request.line_qty != p.u.request.qty ||
            p.u.request.line_user != p.u.request.user_id)
            check_report(ck, &p);
    }
    return status;
}

store_status_t store_check(store_t *st, void (*fn)(void *ctx, const store_problem_t *p),
                           void *ctx, store_check_summary_t *summary)
{
    *summary = (store_check_summary_t){0};
    if (!sqlite3_get_autocommit(st->db))
        return note(st, STORE_ERROR, "store_check inside a transaction");
    check_t ck = {.st = st, .fn = fn, .ctx = ctx, .sum = summary};
    store_status_t status = STORE_OK;
    for (size_t i = 0; i < C_COUNT && status == STORE_OK; i++)
        if (sqlite3_prepare_v2(st->db, check_sql[i], -1, &ck.q[i], NULL) != SQLITE_OK)
            status = sql_error(st, check_sql[i]);
    /* One read transaction (deferred: no lock until the first read, and never the write
     * lock), so every query sees the same snapshot whatever a running server commits
     * meanwhile: in WAL mode neither waits for the other. */
    bool began = false;
    if (status == STORE_OK) {
        if (sqlite3_exec(st->db, "BEGIN DEFERRED", NULL, NULL, NULL) == SQLITE_OK)
            began = true;
        else
            status = sql_error(st, "starting the check");
    }
    if (status == STORE_OK)
        status = check_integrity(&ck);
    if (status == STORE_OK)
        status = check_stock(&ck);
    if (status == STORE_OK)
        status = check_orders(&ck);
    if (status == STORE_OK)
        status = check_bought(&ck);
    for (size_t i = 0; i < C_COUNT; i++)
        sqlite3_finalize(ck.q[i]); /* NULL is a harmless no-op */
    if (began)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* it only read */
    return status;
}
