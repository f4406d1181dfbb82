/* order: the shop's purchase rules — what a valid quantity and request id are, whether stock
 * allows a purchase, and overflow-checked line and order totals. Pure: no I/O, no state. */
#ifndef NETSHOP_ORDER_H
#define NETSHOP_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"

#define ORDER_QTY_MAX 10000        /* largest quantity in one BUY */
#define ORDER_REQUEST_ID_MAX 64    /* bytes of an idempotency request id */
#define ORDER_LINES_DEFAULT 1000      /* lines in one order unless the server is told otherwise */
#define ORDER_LINES_LIMIT 100000000   /* the most an order may ever be allowed to hold */

typedef enum {
    QTY_OK = 0,
    QTY_NOT_A_NUMBER, /* empty, sign other than a leading '-', non-digits, "1.5" */
    QTY_NOT_POSITIVE, /* 0 or negative */
    QTY_TOO_LARGE,    /* above ORDER_QTY_MAX (including values that overflow int64) */
} qty_result_t;

/* Parses a quantity: decimal digits only (a leading '-' is recognised to report
 * QTY_NOT_POSITIVE). */
qty_result_t order_parse_quantity(const char *s, int64_t *out);

/* True when s is 1..ORDER_REQUEST_ID_MAX characters of [A-Za-z0-9._:-]. */
bool order_request_id_valid(const char *s);

typedef enum {
    BUY_ALLOWED = 0,
    BUY_INSUFFICIENT_STOCK, /* stock < qty; buying the last unit (stock == qty) is allowed */
    BUY_BAD_QUANTITY,       /* qty outside 1..ORDER_QTY_MAX */
    BUY_ORDER_FULL,         /* the order already has its maximum number of lines */
    BUY_TOTAL_OVERFLOW,     /* the line total or the order total would overflow */
} buy_decision_t;

/* Decides one purchase of qty units at unit_price against the current stock and an order that
 * has order_lines lines (at most lines_max) totalling order_total.
 * On BUY_ALLOWED, *line_total is unit_price * qty. */
buy_decision_t order_decide_buy(int64_t stock, int64_t qty, money_t unit_price, size_t order_lines,
                                size_t lines_max, money_t order_total, money_t *line_total);

#endif
