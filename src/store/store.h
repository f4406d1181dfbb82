/* store: the only door to durable state — catalog, users, orders and purchase records.
 * One interface, one file per back end (store_sqlite.c today). No SQL outside src/store.
 *
 * Threading: a store_t is one connection and is used by one thread at a time. The server
 * opens one writable store for the committer (the only writer of orders and stock) and one
 * per reader thread. Writes made between store_begin and store_commit become durable
 * together, with one fsync, when store_commit returns STORE_OK. */
#ifndef NETSHOP_STORE_H
#define NETSHOP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/money.h"
#include "core/order.h"
#include "core/outcome.h"

typedef struct store store_t;

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND,     /* no such row */
    STORE_EXISTS,        /* unique key already present (user name, request id) */
    STORE_NO_STOCK,      /* conditional stock decrement found too little stock */
    STORE_ERROR,         /* I/O, corruption, busy past the timeout; see store_errmsg */
} store_status_t;

#define STORE_PWHASH_MAX 256

/* Opens (creating if needed, with its schema) the store at path. Returns NULL and writes a
 * message into err on failure. The caller owns the store; close with store_close. */
store_t *store_open(const char *path, char *err, size_t errlen);
void store_close(store_t *st);
/* Makes this connection refuse every write from now on (a reader's connection). STORE_OK or
 * STORE_ERROR. */
store_status_t store_read_only(store_t *st);
/* The message of the last STORE_ERROR on this store (valid until the next call). */
const char *store_errmsg(const store_t *st);

/* --- Catalog. --- */
/* True when the store holds no items yet. */
bool store_catalog_empty(store_t *st);
/* Writes the catalog's categories and items (stock as both stock and initial stock) in one
 * transaction. STORE_EXISTS when the store already has items. */
store_status_t store_catalog_import(store_t *st, const catalog_t *cat);
/* Builds a frozen catalog from the store, with current stock. The caller owns *out. */
store_status_t store_catalog_load(store_t *st, catalog_t **out);
/* Per-item current and initial stock, for invariant checks. Calls fn for every item. */
store_status_t store_stock_each(store_t *st,
                                void (*fn)(void *ctx, int sno, int64_t stock, int64_t initial),
                                void *ctx);

/* --- Settings (key/value; currency code and digits are "currency", "minor_digits"). --- */
store_status_t store_setting_get(store_t *st, const char *key, char *value, size_t cap);
store_status_t store_setting_set(store_t *st, const char *key, const char *value);

/* --- Users. --- */
/* Adds a user with an argon2id hash string (crypto_pwhash_str). STORE_EXISTS if taken. */
store_status_t store_user_add(store_t *st, const char *name, const char *pwhash);
/* Looks a user up; fills *user_id and the hash (NUL-terminated, cap >= STORE_PWHASH_MAX). */
store_status_t store_user_get(store_t *st, const char *name, int64_t *user_id,
                              char *pwhash, size_t cap);

/* --- Write transactions (the committer). --- */
store_status_t store_begin(store_t *st);  /* BEGIN IMMEDIATE */
store_status_t store_commit(store_t *st); /* COMMIT; durable on STORE_OK (see store_defer_sync) */
void store_rollback(store_t *st);

/* Deferred durability, for pipelined group commit. After store_defer_sync, store_commit makes
 * a transaction visible to every connection and safe against the process dying, but not yet
 * against power loss: store_sync makes every transaction committed before it was called
 * durable (one fsync for all of them). store_sync may be called from one other thread while
 * the owning thread goes on using st: it touches nothing but a file descriptor of its own, and
 * reports a failure in err, not in store_errmsg. Its failure leaves the durability of earlier
 * commits unknown: the caller must not acknowledge them, and should stop. */
store_status_t store_defer_sync(store_t *st);
store_status_t store_sync(store_t *st, char *err, size_t errlen);

/* Checkpoints (SQLite WAL: copying committed pages into the database file so the log can be
 * reused). A connection that commits also checkpoints inside a commit now and then: every
 * 1000 log pages by default; after store_defer_checkpoints only once the log is large
 * (STORE_DEFERRED_CHECKPOINT_PAGES), counting on another connection (another thread) calling
 * store_checkpoint meanwhile. That copies what it can without waiting for readers or writers;
 * the committing connection's own checkpoints then find little left to copy, and reset the log. */
#define STORE_DEFERRED_CHECKPOINT_PAGES 16384
store_status_t store_defer_checkpoints(store_t *st);
store_status_t store_checkpoint(store_t *st);

/* Opens a new order for a user at time now (Unix seconds); *order_id receives its id. */
store_status_t store_order_open(store_t *st, int64_t user_id, int64_t now, int64_t *order_id);
/* Closes an open order (status 'closed', closed_at = now). STORE_NOT_FOUND if not open. */
store_status_t store_order_close(store_t *st, int64_t order_id, int64_t now);
/* Closes every order still open (after a restart: their sessions are gone). */
store_status_t store_orders_close_all(store_t *st, int64_t now);

/* One order line as bought: the item's name and unit price as they were then. */
typedef struct {
    int64_t line_id;
    int64_t order_id;
    int sno;
    char name[CATALOG_NAME_MAX + 1];
    int64_t qty;
    money_t unit_price;
    money_t line_total;
} store_line_t;

/* Decrements the item's stock by line->qty only if at least that much remains
 * (STORE_NO_STOCK otherwise, nothing changed) and appends the line to its order;
 * fills line->line_id. A refusal (STORE_NO_STOCK, STORE_NOT_FOUND: no such item or the order
 * is not open) changes nothing. Inside a transaction (store_begin), a STORE_ERROR may leave
 * part of the line written: the caller must roll the transaction back. */
store_status_t store_line_add(store_t *st, store_line_t *line);
store_status_t store_line_get(store_t *st, int64_t line_id, store_line_t *out);

/* The recorded first outcome of an idempotent BUY (user, request id): enough to answer a repeat
 * with the same reply bytes. */
typedef struct {
    int sno;
    int64_t qty;
    outcome_t outcome;  /* the shop's decision (stored as its explicit value) */
    int64_t line_id;    /* the line bought when outcome is OUTCOME_BOUGHT, else 0 */
    int64_t stock_left; /* OUTCOME_INSUFFICIENT_STOCK: the units left when it was refused;
                           -1 when unknown (recorded before schema version 4) or another outcome */
    int64_t created_at; /* Unix seconds when recorded (put writes it, get reads it) */
} store_request_t;

/* STORE_NOT_FOUND when not recorded; STORE_ERROR for a record this build cannot read (an
 * unknown outcome value). */
store_status_t store_request_get(store_t *st, int64_t user_id, const char *request_id,
                                 store_request_t *out);
store_status_t store_request_put(store_t *st, int64_t user_id, const char *request_id,
                                 const store_request_t *req);
/* Forgets one refused outcome (a purchase's record is never forgotten: STORE_NOT_FOUND then). */
store_status_t store_request_forget(store_t *st, int64_t user_id, const char *request_id);
/* Forgets at most `limit` refused outcomes (not OUTCOME_BOUGHT) recorded before `before`, oldest
 * first; *deleted says how many. A purchase's record is kept for good (its line exists). */
store_status_t store_requests_prune(store_t *st, int64_t before, int64_t limit, int64_t *deleted);

/* --- Reads of orders. --- */
typedef struct {
    int64_t order_id;
    int64_t opened_at;  /* Unix seconds */
    int64_t closed_at;  /* 0 while open */
    bool open;
    size_t lines;
    money_t total;
} store_order_t;

/* The order's header and lines, only if it belongs to user_id (else STORE_NOT_FOUND).
 * *lines is allocated (free with free) and holds *nlines lines in purchase order; it is NULL
 * when the order has no lines. */
store_status_t store_order_get(store_t *st, int64_t order_id, int64_t user_id,
                               store_order_t *hdr, store_line_t **lines, size_t *nlines);
/* The user's orders, newest first, at most `limit`. *out is allocated (free with free). */
store_status_t store_orders_list(store_t *st, int64_t user_id, size_t limit,
                                 store_order_t **out, size_t *n);

/* --- Consistency check (`netshopd check`). --- */

/* One inconsistency found by store_check. Only the member of `u` named by kind is set. */
typedef enum {
    STORE_PROBLEM_INTEGRITY,  /* a message of SQLite's integrity check */
    STORE_PROBLEM_STOCK,      /* an item's initial stock is not its stock plus the units sold */
    STORE_PROBLEM_LINE_COUNT, /* an order's line_count is not the number of its lines */
    STORE_PROBLEM_TOTAL,      /* an order's total is not the sum of its lines' totals */
    STORE_PROBLEM_CHAIN,      /* an order's line chain does not reach each of its lines once */
    STORE_PROBLEM_ORPHAN,     /* a line whose order or item does not exist */
    STORE_PROBLEM_REQUEST,    /* a bought record whose line is missing or another purchase */
} store_problem_kind_t;

/* How an order's chain (last_line_id, then each line's prev_line_id) goes wrong. */
typedef enum {
    STORE_CHAIN_SHORT,   /* it ends after `reached` of the order's `lines` lines */
    STORE_CHAIN_LOOP,    /* more than `lines` steps without an end: a line comes back */
    STORE_CHAIN_MISSING, /* it points at line_id, which does not exist */
    STORE_CHAIN_FOREIGN, /* it points at line_id, a line of order other_order */
} store_chain_fault_t;

typedef struct {
    store_problem_kind_t kind;
    union {
        struct {
            const char *text; /* valid during the callback only */
        } integrity;
        struct {
            int64_t sno;
            int64_t initial_stock, stock, sold; /* sold: sum of the qty of its lines */
            bool sold_overflow;                 /* that sum does not fit in 64 bits */
        } stock;
        struct {
            int64_t order_id, recorded, counted;
        } line_count;
        struct {
            int64_t order_id;
            money_t recorded, counted;
            bool overflow; /* the sum of the line totals does not fit in money_t */
        } total;
        struct {
            int64_t order_id;
            store_chain_fault_t fault;
            int64_t lines, reached; /* the order's lines; steps taken before the fault */
            int64_t line_id;        /* MISSING, FOREIGN: where the chain pointed */
            int64_t other_order;    /* FOREIGN: the order line_id belongs to */
        } chain;
        struct {
            int64_t line_id, order_id, sno;
            bool no_order, no_item; /* which of the two is missing (one or both) */
        } orphan;
        struct {
            int64_t user_id;
            const char *request_id; /* valid during the callback only */
            int64_t sno, qty, line_id;
            bool line_found; /* else the fields below are 0 */
            int64_t line_sno, line_qty, line_user; /* line_user: the owner of the line's order (0: none) */
        } request;
    } u;
} store_problem_t;

/* What store_check looked at, for its summary. */
typedef struct {
    int64_t items, orders, lines, bought; /* bought: records with OUTCOME_BOUGHT */
    int64_t problems;
} store_check_summary_t;

/* Checks the store's invariants (store_sqlite.c's list) on one consistent snapshot, so it can
 * run beside a server that is writing: SQLite's integrity check; for every item, initial stock
 * = stock + units sold; for every order, line_count and total equal its lines' count and
 * (overflow-checked) sum, and its chain reaches each of its lines exactly once; every line has
 * its order and item; every record of a purchase (OUTCOME_BOUGHT) points at a line of the same
 * item, quantity and user. Calls fn once for each problem found (fn must not use st) and fills
 * *summary. Only reads: meant for a store_read_only connection; takes no write lock. Must not be
 * called inside a transaction. Returns STORE_OK whether or not problems were found; STORE_ERROR
 * when the store could not be read (store_errmsg says why; fn may have been called already). */
store_status_t store_check(store_t *st, void (*fn)(void *ctx, const store_problem_t *p),
                           void *ctx, store_check_summary_t *summary);

#endif
