/* invariant: reads the receipts of the run's orders (RECEIPT <order-id>, logged in as their user)
 * and compares acknowledged, recorded and sold units per item. */
#include "bench/invariant.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bench_run_t *run;
    uint64_t foreign;
    bool bad_row;
} receipt_sum_t;

static int sno_cmp(const void *key, const void *elem)
{
    int k = *(const int *)key, s = ((const bench_item_t *)elem)->sno;
    return (k > s) - (k < s);
}

/* A RECEIPT row: `* <sno>\t<name>\t<qty>\t<unit price>\t<line total>`. */
static bool add_receipt_row(void *arg, const shop1_reply_line_t *row)
{
    receipt_sum_t *sum = arg;
    char *end;
    long sno, qty;
    if (row->nfields < 3) {
        sum->bad_row = true;
        return false;
    }
    sno = strtol(row->fields[0], &end, 10);
    if (*end != '\0' || end == row->fields[0]) {
        sum->bad_row = true;
        return false;
    }
    qty = strtol(row->fields[2], &end, 10);
    if (*end != '\0' || end == row->fields[2] || qty <= 0) {
        sum->bad_row = true;
        return false;
    }
    int key = (int)sno;
    bench_item_t *item = bsearch(&key, sum->run->items, sum->run->nitems, sizeof *sum->run->items, sno_cmp);
    if (item != NULL)
        item->recorded += (uint64_t)qty;
    else
        sum->foreign += (uint64_t)qty;
    return true;
}

/* Logs ctl in as user (after LOGOUT of any previous one). */
static bool login_as(control_t *ctl, const bench_user_t *u, bool logged_in, invariant_t *inv)
{
    char err[TC_ERR_MAX];
    control_final_t final;
    if (logged_in && !control_request(ctl, "LOGOUT", NULL, NULL, &final, err, sizeof err)) {
        snprintf(inv->problem, sizeof inv->problem, "cannot check the receipts: %s", err);
        return false;
    }
    char line[SHOP1_LINE_MAX];
    snprintf(line, sizeof line, "LOGIN %s %s", u->name, u->password);
    if (!control_request(ctl, line, NULL, NULL, &final, err, sizeof err)) {
        snprintf(inv->problem, sizeof inv->problem, "cannot check the receipts: %s", err);
        return false;
    }
    if (final.kind != SHOP1_LINE_OK) {
        snprintf(inv->problem, sizeof inv->problem, "cannot check the receipts: LOGIN %s: ERR %s", u->name, final.text);
        return false;
    }
    return true;
}

static bool read_receipts(bench_run_t *run, control_t *ctl, const bench_orders_t *orders, invariant_t *inv)
{
    receipt_sum_t sum = {.run = run};
    int user = -1;
    for (size_t i = 0; i < orders->n; i++) {
        const bench_order_t *o = &orders->v[i];
        if (o->user != user) {
            if (!login_as(ctl, &run->opt->users[o->user], user >= 0, inv))
                return false;
            user = o->user;
        }
        char line[64], err[TC_ERR_MAX];
        snprintf(line, sizeof line, "RECEIPT %" PRId64, o->order_id);
        control_final_t final;
        if (!control_request(ctl, line, add_receipt_row, &sum, &final, err, sizeof err)) {
            snprintf(inv->problem, sizeof inv->problem, "cannot read the receipt of order %" PRId64 ": %s",
                     o->order_id, err);
            return false;
        }
        if (final.kind != SHOP1_LINE_OK || sum.bad_row) {
            snprintf(inv->problem, sizeof inv->problem, "RECEIPT %" PRId64 " of user %s: %s", o->order_id,
                     run->opt->users[o->user].name, sum.bad_row ? "malformed row" : final.text);
            return false;
        }
        inv->orders++;
    }
    inv->foreign_units = sum.foreign;
    return true;
}

bool invariant_check(bench_run_t *run, control_t *ctl, const bench_orders_t *orders, invariant_t *inv)
{
    memset(inv, 0, sizeof *inv);
    for (size_t i = 0; i < run->nitems; i++)
        run->items[i].recorded = 0;
    if (!read_receipts(run, ctl, orders, inv))
        return false;
    inv->checked = true;
    inv->ok = true;
    for (size_t i = 0; i < run->nitems; i++) {
        const bench_item_t *it = &run->items[i];
        int64_t sold = it->stock_before - it->stock_after;
        inv->acked_units += it->acked;
        inv->recorded_units += it->recorded;
        inv->stock_sold += sold;
        if (sold < 0 || it->acked != it->recorded || it->recorded != (uint64_t)sold) {
            if (inv->mismatched_items == 0)
                snprintf(inv->problem, sizeof inv->problem,
                         "item %d: acknowledged %" PRIu64 ", recorded in orders %" PRIu64 ", stock %" PRId64
                         " -> %" PRId64 " (sold %" PRId64 ")",
                         it->sno, it->acked, it->recorded, it->stock_before, it->stock_after, sold);
            inv->mismatched_items++;
            inv->ok = false;
        }
    }
    if (inv->foreign_units > 0) {
        if (inv->ok)
            snprintf(inv->problem, sizeof inv->problem, "the run's orders hold %" PRIu64 " units of other items",
                     inv->foreign_units);
        inv->ok = false;
    }
    return true;
}
