/* cmd_check: `netshopd check --data DIR` — an offline consistency check of a data directory,
 * safe beside a running server: it opens the store read-only and reads one snapshot (SQLite's
 * WAL lets it read while the server writes), and never takes the data directory's lock, which
 * the server holds. Prints each problem on its own line and exits 1, or one summary line and
 * exits 0; exits 2 when it cannot check (usage, an unsafe or missing data directory, a store
 * that cannot be read). */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/money.h"
#include "server/cmd.h"
#include "server/datadir.h"
#include "server/paths.h"
#include "store/store.h"

static const char USAGE[] =
    "usage: netshopd check --data DIR [--allow-root]\n"
    "  Checks the data directory's database (the server may be running): stock against the\n"
    "  lines sold, order totals and line chains, purchase records, SQLite's integrity check.\n"
    "  Exit status: 0 consistent, 1 problems found (one line each), 2 could not check.\n";

/* What the problem printer needs: the currency's minor digits, for amounts. */
typedef struct {
    int minor_digits;
} check_ctx_t;

static const char *chain_fault_text(store_chain_fault_t fault)
{
    switch (fault) {
    case STORE_CHAIN_SHORT: return "ends early";
    case STORE_CHAIN_LOOP: return "loops";
    case STORE_CHAIN_MISSING: return "points at a missing line";
    case STORE_CHAIN_FOREIGN: return "points at another order's line";
    }
    return "is broken";
}

/* Prints one problem on one line of stdout, naming the item, order or record and the numbers. */
static void print_problem(void *vctx, const store_problem_t *p)
{
    const check_ctx_t *ctx = vctx;
    char a[MONEY_FORMAT_MAX], b[MONEY_FORMAT_MAX];
    switch (p->kind) {
    case STORE_PROBLEM_INTEGRITY:
        printf("database: integrity check: %s\n", p->u.integrity.text);
        break;
    case STORE_PROBLEM_STOCK:
        if (p->u.stock.sold_overflow)
            printf("item %" PRId64 ": initial stock %" PRId64 ", stock %" PRId64
                   ", units sold overflow 64 bits\n",
                   p->u.stock.sno, p->u.stock.initial_stock, p->u.stock.stock);
        else
            printf("item %" PRId64 ": initial stock %" PRId64 " != stock %" PRId64
                   " + sold %" PRId64 "\n",
                   p->u.stock.sno, p->u.stock.initial_stock, p->u.stock.stock, p->u.stock.sold);
        break;
    case STORE_PROBLEM_LINE_COUNT:
        printf("order %" PRId64 ": line_count %" PRId64 " but %" PRId64 " lines\n",
               p->u.line_count.order_id, p->u.line_count.recorded, p->u.line_count.counted);
        break;
    case STORE_PROBLEM_TOTAL:
        money_format(p->u.total.recorded, ctx->minor_digits, a, sizeof a);
        if (p->u.total.overflow) {
            printf("order %" PRId64 ": total %s but its lines' totals overflow\n",
                   p->u.total.order_id, a);
        } else {
            money_format(p->u.total.counted, ctx->minor_digits, b, sizeof b);
            printf("order %" PRId64 ": total %s but its lines sum to %s\n", p->u.total.order_id,
                   a, b);
        }
        break;
    case STORE_PROBLEM_CHAIN:
        printf("order %" PRId64 ": line chain %s after %" PRId64 " of %" PRId64 " lines",
               p->u.chain.order_id, chain_fault_text(p->u.chain.fault), p->u.chain.reached,
               p->u.chain.lines);
        if (p->u.chain.fault == STORE_CHAIN_MISSING)
            printf(" (line %" PRId64 ")", p->u.chain.line_id);
        else if (p->u.chain.fault == STORE_CHAIN_FOREIGN)
            printf(" (line %" PRId64 " of order %" PRId64 ")", p->u.chain.line_id,
                   p->u.chain.other_order);
        putchar('\n');
        break;
    case STORE_PROBLEM_ORPHAN:
        if (p->u.orphan.no_order)
            printf("line %" PRId64 ": its order %" PRId64 " does not exist\n",
                   p->u.orphan.line_id, p->u.orphan.order_id);
        else
            printf("line %" PRId64 " of order %" PRId64 ": its item %" PRId64 " does not exist\n",
                   p->u.orphan.line_id, p->u.orphan.order_id, p->u.orphan.sno);
        break;
    case STORE_PROBLEM_REQUEST:
        printf("purchase record (user %" PRId64 ", request '%s'): item %" PRId64 " qty %" PRId64
               " line %" PRId64,
               p->u.request.user_id, p->u.request.request_id, p->u.request.sno, p->u.request.qty,
               p->u.request.line_id);
        if (!p->u.request.line_found)
            printf(", but that line does not exist\n");
        else
            printf(", but the line is item %" PRId64 " qty %" PRId64 " of user %" PRId64 "\n",
                   p->u.request.line_sno, p->u.request.line_qty, p->u.request.line_user);
        break;
    }
}

/* The currency's minor digits from the store's settings (2 when unset or unreadable: the
 * amounts are then still printed, possibly scaled wrong, and the check goes on). */
static int minor_digits_of(store_t *st)
{
    char text[16];
    if (store_setting_get(st, "minor_digits", text, sizeof text) != STORE_OK)
        return CURRENCY_DEFAULT.minor_digits;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > 6)
        return CURRENCY_DEFAULT.minor_digits;
    return (int)v;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"allow-root", no_argument, NULL, 'R'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    bool allow_root = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'R') {
            allow_root = true;
        } else {
            fputs(USAGE, stderr);
            return 2;
        }
    }
    if (!dir || optind != argc) {
        fputs(USAGE, stderr);
        return 2;
    }
    char err[512];
    /* As root with --allow-root: the data directory must then be root's (checked next). */
    if (datadir_check_user(allow_root, "check a data directory", err, sizeof err) < 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 2;
    }
    if (datadir_check(dir, err, sizeof err) != 0) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 2;
    }
    char db_path[PATH_MAX];
    if (paths_join(db_path, sizeof db_path, dir, PATHS_DB) != 0) {
        fprintf(stderr, "netshopd: data directory path too long\n");
        return 2;
    }
    /* Never let store_open create a database where there was none. */
    int exists = datadir_check_file(dir, PATHS_DB, DATADIR_FILE_ANY_MODE, err, sizeof err);
    if (exists != 0) {
        if (exists > 0)
            fprintf(stderr, "netshopd: %s does not exist; run 'netshopd init --data %s' first\n",
                    db_path, dir);
        else
            fprintf(stderr, "netshopd: %s\n", err);
        return 2;
    }
    store_t *st = store_open(db_path, err, sizeof err);
    if (!st) {
        fprintf(stderr, "netshopd: %s\n", err);
        return 2;
    }
    int rc = 2;
    if (store_read_only(st) != STORE_OK) {
        fprintf(stderr, "netshopd: %s\n", store_errmsg(st));
        goto out;
    }
    check_ctx_t ctx = {.minor_digits = minor_digits_of(st)};
    store_check_summary_t sum;
    store_status_t s = store_check(st, print_problem, &ctx, &sum);
    fflush(stdout);
    if (s != STORE_OK) {
        fprintf(stderr, "netshopd: cannot check %s: %s\n", db_path, store_errmsg(st));
        goto out;
    }
    if (sum.problems > 0) {
        fprintf(stderr, "netshopd: %s: %" PRId64 " problem%s found\n", db_path, sum.problems,
                sum.problems == 1 ? "" : "s");
        rc = 1;
    } else {
        printf("netshopd: %s is consistent: %" PRId64 " items, %" PRId64 " orders, %" PRId64
               " lines, %" PRId64 " purchase records\n",
               db_path, sum.items, sum.orders, sum.lines, sum.bought);
        rc = 0;
    }
out:
    store_close(st);
    return rc;
}
