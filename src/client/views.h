/* views: the human forms of the shop's replies — aligned tables of categories, items, orders
 * and receipts, the purchase sentence — shared by one-shot commands and the menu. Text from the
 * server is written terminal-safe (output_text). */
#ifndef NETSHOP_VIEWS_H
#define NETSHOP_VIEWS_H

#include <stdio.h>

#include "client/replies.h"

/* The currency named in purchase sentences: BUY's reply does not carry it (only RECEIPT's
 * does), and the shop's currency is INR (docs/PROTOCOL.md). */
#define VIEW_CURRENCY "INR"

void view_categories(FILE *out, const reply_category_t *cats, size_t n);
void view_items(FILE *out, const reply_item_t *items, size_t n);
void view_item_detail(FILE *out, const reply_item_detail_t *d);
/* "Bought <qty> x <name> for <total> INR (order <id>)." */
void view_purchase(FILE *out, const reply_purchase_t *p);
/* Lines table and "Total: <amount> <currency>"; a heading names the order and its status
 * when with_heading is set. */
void view_receipt(FILE *out, const reply_receipt_t *r, bool with_heading);
void view_orders(FILE *out, const reply_order_t *orders, size_t n);

#endif
