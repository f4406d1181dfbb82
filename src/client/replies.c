/* replies: checks the data rows and final lines of SHOP/1 replies and gives them types. */
#include "client/replies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool reply_parse_count(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || len > 18 || strspn(s, "0123456789") != len)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    *out = v;
    return true;
}

bool reply_money_valid(const char *s)
{
    if (*s == '-')
        s++;
    size_t whole = strspn(s, "0123456789");
    if (whole == 0 || whole > 20)
        return false;
    s += whole;
    if (*s == '\0')
        return true;
    if (*s != '.')
        return false;
    s++;
    size_t frac = strspn(s, "0123456789");
    return frac > 0 && frac <= 6 && s[frac] == '\0';
}

/* Allocates a zeroed array of n rows of `size` bytes: NULL when n == 0 or out of memory
 * (alloc_failed tells the two apart). */
static void *alloc_rows(size_t n, size_t size)
{
    return n == 0 ? NULL : calloc(n, size);
}

static bool alloc_failed(const void *p, size_t n)
{
    return n > 0 && p == NULL;
}

/* The fields of row i when it has at least `want` of them, else NULL. */
static const char *const *row_fields(const conn_reply_t *r, size_t i, size_t want)
{
    const shop1_reply_line_t *row = &r->rows[i];
    return row->kind == SHOP1_LINE_DATA && row->nfields >= want ? row->fields : NULL;
}

/* sno, name, quantity, price starting at f[0]. */
static bool parse_item_fields(const char *const *f, reply_item_t *item)
{
    item->name = f[1];
    item->price = f[3];
    return reply_parse_count(f[0], &item->sno) && reply_parse_count(f[2], &item->quantity) &&
           reply_money_valid(item->price);
}

bool reply_categories(const conn_reply_t *r, reply_category_t **out, size_t *n)
{
    reply_category_t *cats;
    *out = NULL;
    *n = 0;
    cats = alloc_rows(r->nrows, sizeof *cats);
    if (alloc_failed(cats, r->nrows))
        return false;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *const *f = row_fields(r, i, 3);
        if (f == NULL || !reply_parse_count(f[0], &cats[i].number) ||
            !reply_parse_count(f[2], &cats[i].items)) {
            free(cats);
            return false;
        }
        cats[i].name = f[1];
    }
    *out = cats;
    *n = r->nrows;
    return true;
}

bool reply_items(const conn_reply_t *r, reply_item_t **out, size_t *n)
{
    reply_item_t *items;
    *out = NULL;
    *n = 0;
    items = alloc_rows(r->nrows, sizeof *items);
    if (alloc_failed(items, r->nrows))
        return false;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *const *f = row_fields(r, i, 4);
        if (f == NULL || !parse_item_fields(f, &items[i])) {
            free(items);
            return false;
        }
    }
    *out = items;
    *n = r->nrows;
    return true;
}

bool reply_item_detail(const conn_reply_t *r, reply_item_detail_t *out)
{
    if (r->nrows != 1)
        return false;
    const char *const *f = row_fields(r, 0, 6);
    if (f == NULL || !parse_item_fields(f, &out->item) ||
        !reply_parse_count(f[4], &out->category))
        return false;
    out->category_name = f[5];
    return true;
}

bool reply_purchase(const conn_reply_t *r, reply_purchase_t *out)
{
    if (r->nrows != 1)
        return false;
    const char *const *f = row_fields(r, 0, 6);
    if (f == NULL)
        return false;
    out->name = f[2];
    out->unit_price = f[4];
    out->total = f[5];
    return reply_parse_count(f[0], &out->order) && reply_parse_count(f[1], &out->sno) &&
           reply_parse_count(f[3], &out->quantity) && reply_money_valid(out->unit_price) &&
           reply_money_valid(out->total);
}

bool reply_orders(const conn_reply_t *r, reply_order_t **out, size_t *n)
{
    reply_order_t *orders;
    *out = NULL;
    *n = 0;
    orders = alloc_rows(r->nrows, sizeof *orders);
    if (alloc_failed(orders, r->nrows))
        return false;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *const *f = row_fields(r, i, 5);
        bool ok = f != NULL;
        if (ok) {
            orders[i].opened = f[1];
            orders[i].status = f[2];
            orders[i].total = f[4];
            ok = reply_parse_count(f[0], &orders[i].order) &&
                 reply_parse_count(f[3], &orders[i].lines) && reply_money_valid(f[4]);
        }
        if (!ok) {
            free(orders);
            return false;
        }
    }
    *out = orders;
    *n = r->nrows;
    return true;
}

/* Parses RECEIPT's final text `order <id|none> <open|closed> total <amount> <currency>`. */
static bool parse_receipt_final(const char *text, reply_receipt_t *out)
{
    char copy[256];
    if (strlen(text) >= sizeof copy)
        return false;
    memcpy(copy, text, strlen(text) + 1);
    char *words[7];
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (n == 7)
            return false;
        words[n++] = w;
    }
    if (n != 6 || strcmp(words[0], "order") != 0 || strcmp(words[3], "total") != 0)
        return false;
    if (strcmp(words[1], "none") == 0)
        out->has_order = false;
    else if (reply_parse_count(words[1], &out->order) && out->order > 0)
        out->has_order = true;
    else
        return false;
    if ((strcmp(words[2], "open") != 0 && strcmp(words[2], "closed") != 0) ||
        !reply_money_valid(words[4]) || strlen(words[4]) >= sizeof out->total ||
        strlen(words[5]) >= sizeof out->currency ||
        strspn(words[5], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(words[5]))
        return false;
    snprintf(out->status, sizeof out->status, "%s", words[2]);
    snprintf(out->total, sizeof out->total, "%s", words[4]);
    snprintf(out->currency, sizeof out->currency, "%s", words[5]);
    return true;
}

bool reply_receipt(const conn_reply_t *r, reply_receipt_t *out)
{
    memset(out, 0, sizeof *out);
    if (r->final.kind != SHOP1_LINE_OK || !parse_receipt_final(r->final.text, out))
        return false;
    out->lines = alloc_rows(r->nrows, sizeof *out->lines);
    if (alloc_failed(out->lines, r->nrows))
        return false;
    for (size_t i = 0; i < r->nrows; i++) {
        const char *const *f = row_fields(r, i, 5);
        reply_receipt_line_t *line = &out->lines[i];
        bool ok = f != NULL;
        if (ok) {
            line->name = f[1];
            line->unit_price = f[3];
            line->total = f[4];
            ok = reply_parse_count(f[0], &line->sno) &&
                 reply_parse_count(f[2], &line->quantity) && reply_money_valid(f[3]) &&
                 reply_money_valid(f[4]);
        }
        if (!ok) {
            reply_receipt_free(out);
            return false;
        }
    }
    out->nlines = r->nrows;
    return true;
}

void reply_receipt_free(reply_receipt_t *receipt)
{
    free(receipt->lines);
    receipt->lines = NULL;
    receipt->nlines = 0;
}

const char *reply_browse_category(const conn_reply_t *r, const char *fallback)
{
    const char *text = r->final.kind == SHOP1_LINE_OK ? r->final.text : "";
    const char *in = strstr(text, " in ");
    return in != NULL && in[4] != '\0' ? in + 4 : fallback;
}
