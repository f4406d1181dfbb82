/* invariant: the end-of-run check of a purchase run against the server —
 *   acknowledged units (OK BUY replies seen) = units recorded in the run's orders (their
 *   receipts) = stock before - stock after, for every item bought —
 * valid when no other client buys those items meanwhile. */
#ifndef NETSHOP_BENCH_INVARIANT_H
#define NETSHOP_BENCH_INVARIANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/bench.h"
#include "bench/control.h"

#define INVARIANT_PROBLEM_MAX 320

typedef struct {
    bool checked;               /* the check ran to the end */
    bool ok;                    /* ... and every item agreed */
    uint64_t acked_units;       /* sums over the run's items */
    uint64_t recorded_units;
    int64_t stock_sold;         /* stock before - stock after */
    size_t orders;              /* receipts read */
    uint64_t foreign_units;     /* units of other items in those orders (should be 0) */
    size_t mismatched_items;
    char problem[INVARIANT_PROBLEM_MAX]; /* the first disagreement or failure, for people */
} invariant_t;

/* Reads the receipt of every order in orders (logging in as each order's user on ctl), fills
 * items[].recorded, and compares with items[].acked and the stock (stock_before/stock_after
 * must be filled). Fills *inv. Returns false (with inv->problem) when it could not check. */
bool invariant_check(bench_run_t *run, control_t *ctl, const bench_orders_t *orders, invariant_t *inv);

#endif
