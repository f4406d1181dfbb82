/* views: aligned tables and sentences for the shop's replies, for people. */
#include "client/views.h"

#include <inttypes.h>
#include <stdlib.h>

#include "client/output.h"
#include "client/receipt_merge.h"

#define NUM_MAX 24 /* an int64 in decimal with sign and NUL */

static void num(char buf[static NUM_MAX], int64_t v)
{
    snprintf(buf, NUM_MAX, "%" PRId64, v);
}

void view_categories(FILE *out, const reply_category_t *cats, size_t n)
{
    table_col_t cols[] = {{"No", true, 0}, {"Category", false, 0}, {"Items", true, 0}};
    size_t ncols = sizeof cols / sizeof cols[0];
    char number[NUM_MAX], items[NUM_MAX];
    table_init(cols, ncols);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            table_print_header(out, cols, ncols);
        for (size_t i = 0; i < n; i++) {
            num(number, cats[i].number);
            num(items, cats[i].items);
            const char *cells[] = {number, cats[i].name, items};
            if (pass == 0)
                table_widen(cols, ncols, cells);
            else
                table_print_row(out, cols, ncols, cells);
        }
    }
}

void view_items(FILE *out, const reply_item_t *items, size_t n)
{
    table_col_t cols[] = {
        {"Sno", true, 0}, {"Item", false, 0}, {"Quantity", true, 0}, {"Price", true, 0}};
    size_t ncols = sizeof cols / sizeof cols[0];
    char sno[NUM_MAX], qty[NUM_MAX];
    table_init(cols, ncols);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            table_print_header(out, cols, ncols);
        for (size_t i = 0; i < n; i++) {
            num(sno, items[i].sno);
            num(qty, items[i].quantity);
            const char *cells[] = {sno, items[i].name, qty, items[i].price};
            if (pass == 0)
                table_widen(cols, ncols, cells);
            else
                table_print_row(out, cols, ncols, cells);
        }
    }
    if (n == 0)
        fputs("(no items)\n", out);
}

void view_item_detail(FILE *out, const reply_item_detail_t *d)
{
    fprintf(out, "Sno:       %" PRId64 "\nItem:      ", d->item.sno);
    output_text(out, d->item.name);
    fprintf(out, "\nCategory:  %" PRId64 " ", d->category);
    output_text(out, d->category_name);
    fprintf(out, "\nIn stock:  %" PRId64 "\nPrice:     ", d->item.quantity);
    output_text(out, d->item.price);
    fputs(" " VIEW_CURRENCY "\n", out);
}

void view_purchase(FILE *out, const reply_purchase_t *p)
{
    fprintf(out, "Bought %" PRId64 " x ", p->quantity);
    output_text(out, p->name);
    fputs(" for ", out);
    output_text(out, p->total);
    fprintf(out, " " VIEW_CURRENCY " (order %" PRId64 ").\n", p->order);
}

void view_receipt(FILE *out, const reply_receipt_t *r, bool with_heading)
{
    if (with_heading && r->has_order)
        fprintf(out, "Receipt for order %" PRId64 " (%s)\n", r->order, r->status);
    table_col_t cols[] = {{"Sno", true, 0},
                          {"Item", false, 0},
                          {"Qty", true, 0},
                          {"Unit price", true, 0},
                          {"Total", true, 0}};
    size_t ncols = sizeof cols / sizeof cols[0];
    char sno[NUM_MAX], qty[NUM_MAX];
    /* Repeated purchases of one item show as one line; without memory, as the server sent them. */
    receipt_merged_line_t *merged = NULL;
    size_t n = 0;
    if (r->nlines > 0 && (merged = calloc(r->nlines, sizeof *merged)) != NULL)
        n = receipt_merge(r->lines, r->nlines, merged);
    table_init(cols, ncols);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            table_print_header(out, cols, ncols);
        for (size_t i = 0; i < (merged != NULL ? n : r->nlines); i++) {
            receipt_merged_line_t as_sent;
            const receipt_merged_line_t *l = &as_sent;
            if (merged != NULL)
                l = &merged[i];
            else
                receipt_merge(&r->lines[i], 1, &as_sent);
            num(sno, l->sno);
            num(qty, l->quantity);
            const char *cells[] = {sno, l->name, qty, l->unit_price, receipt_merged_total(l)};
            if (pass == 0)
                table_widen(cols, ncols, cells);
            else
                table_print_row(out, cols, ncols, cells);
        }
    }
    free(merged);
    fprintf(out, "Total: %s %s\n", r->total, r->currency);
}

void view_orders(FILE *out, const reply_order_t *orders, size_t n)
{
    if (n == 0) {
        fputs("No orders yet.\n", out);
        return;
    }
    table_col_t cols[] = {{"Order", true, 0},
                          {"Opened", false, 0},
                          {"Status", false, 0},
                          {"Lines", true, 0},
                          {"Total", true, 0}};
    size_t ncols = sizeof cols / sizeof cols[0];
    char id[NUM_MAX], lines[NUM_MAX];
    table_init(cols, ncols);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            table_print_header(out, cols, ncols);
        for (size_t i = 0; i < n; i++) {
            num(id, orders[i].order);
            num(lines, orders[i].lines);
            const char *cells[] = {id, orders[i].opened, orders[i].status, lines,
                                   orders[i].total};
            if (pass == 0)
                table_widen(cols, ncols, cells);
            else
                table_print_row(out, cols, ncols, cells);
        }
    }
}
