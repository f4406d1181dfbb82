/* views_json: the --json forms of the shop's replies (docs/CLIENT.md and docs/cli.md give the
 * exact keys): integer fields as JSON numbers, money as strings exactly as the server sent them.
 * Each function writes one whole document, newline-terminated. */
#ifndef NETSHOP_VIEWS_JSON_H
#define NETSHOP_VIEWS_JSON_H

#include <stdio.h>

#include "client/replies.h"

void json_view_categories(FILE *out, const reply_category_t *cats, size_t n);
void json_view_browse(FILE *out, const char *category, const reply_item_t *items, size_t n);
void json_view_item(FILE *out, const reply_item_detail_t *d);
void json_view_purchase(FILE *out, const reply_purchase_t *p);
/* {"order":null,...,"lines":[]} when the receipt has no order. */
void json_view_receipt(FILE *out, const reply_receipt_t *r);
void json_view_orders(FILE *out, const reply_order_t *orders, size_t n);
void json_view_pong(FILE *out);

#endif
