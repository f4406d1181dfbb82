/* replies: typed views of SHOP/1 replies — the data rows of CATEGORIES, BROWSE, ITEM, BUY,
 * RECEIPT and ORDERS, and RECEIPT's fixed final line — checked against docs/PROTOCOL.md
 * (field count, integers, money syntax). Strings point into the conn_reply_t and live as long
 * as it does; arrays are allocated here and freed with free(). Extra trailing fields are
 * ignored, so a server may add fields without breaking this client. */
#ifndef NETSHOP_REPLIES_H
#define NETSHOP_REPLIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/conn_common.h"

#define REPLY_STATUS_MAX 8   /* "closed" */
#define REPLY_MONEY_MAX 32   /* a money string as sent */
#define REPLY_CURRENCY_MAX 8 /* "INR" */

typedef struct {
    int64_t number;
    const char *name;
    int64_t items;
} reply_category_t;

typedef struct {
    int64_t sno;
    const char *name;
    int64_t quantity;
    const char *price;
} reply_item_t;

typedef struct {
    reply_item_t item;
    int64_t category;
    const char *category_name;
} reply_item_detail_t;

typedef struct {
    int64_t order;
    int64_t sno;
    const char *name;
    int64_t quantity;
    const char *unit_price;
    const char *total;
} reply_purchase_t;

typedef struct {
    int64_t sno;
    const char *name;
    int64_t quantity;
    const char *unit_price;
    const char *total;
} reply_receipt_line_t;

typedef struct {
    bool has_order;                      /* false: "order none" (no purchase yet) */
    int64_t order;                       /* valid when has_order */
    char status[REPLY_STATUS_MAX];       /* "open" or "closed" */
    char total[REPLY_MONEY_MAX];
    char currency[REPLY_CURRENCY_MAX];
    size_t nlines;
    reply_receipt_line_t *lines;         /* owned: free with reply_receipt_free */
} reply_receipt_t;

typedef struct {
    int64_t order;
    const char *opened; /* "2026-11-28T03:40:00Z" */
    const char *status;
    int64_t lines;
    const char *total;
} reply_order_t;

/* Each parser reads an OK reply. Returns true and fills its outputs (arrays owned by the
 * caller, NULL when empty), or false when a row does not have the documented form (or memory
 * ran out). */
bool reply_categories(const conn_reply_t *r, reply_category_t **out, size_t *n);
bool reply_items(const conn_reply_t *r, reply_item_t **out, size_t *n);
bool reply_item_detail(const conn_reply_t *r, reply_item_detail_t *out);
bool reply_purchase(const conn_reply_t *r, reply_purchase_t *out);
bool reply_orders(const conn_reply_t *r, reply_order_t **out, size_t *n);
bool reply_receipt(const conn_reply_t *r, reply_receipt_t *out);
void reply_receipt_free(reply_receipt_t *receipt);

/* The category name in BROWSE's final line `OK <n> items in <name>`, or fallback when the line
 * has another form. */
const char *reply_browse_category(const conn_reply_t *r, const char *fallback);

/* Parses a non-negative decimal integer of at most 18 digits. */
bool reply_parse_count(const char *s, int64_t *out);
/* True for a money string: digits, optionally a point and digits (an optional leading '-'). */
bool reply_money_valid(const char *s);

#endif
