/* views_json: writes the shop's replies as the JSON documents of --json. */
#include "client/views_json.h"

#include "client/output.h"

void json_view_categories(FILE *out, const reply_category_t *cats, size_t n)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "categories");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(&j);
        json_key(&j, "number");
        json_int(&j, cats[i].number);
        json_key(&j, "name");
        json_string(&j, cats[i].name);
        json_key(&j, "items");
        json_int(&j, cats[i].items);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

/* The members of one item: sno, name, quantity, price. */
static void item_members(json_t *j, const reply_item_t *item)
{
    json_key(j, "sno");
    json_int(j, item->sno);
    json_key(j, "name");
    json_string(j, item->name);
    json_key(j, "quantity");
    json_int(j, item->quantity);
    json_key(j, "price");
    json_string(j, item->price);
}

void json_view_browse(FILE *out, const char *category, const reply_item_t *items, size_t n)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "category");
    json_string(&j, category);
    json_key(&j, "items");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(&j);
        item_members(&j, &items[i]);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

void json_view_item(FILE *out, const reply_item_detail_t *d)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    item_members(&j, &d->item);
    json_key(&j, "category");
    json_int(&j, d->category);
    json_key(&j, "category_name");
    json_string(&j, d->category_name);
    json_object_end(&j);
    json_finish(&j);
}

void json_view_purchase(FILE *out, const reply_purchase_t *p)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "order");
    json_int(&j, p->order);
    json_key(&j, "sno");
    json_int(&j, p->sno);
    json_key(&j, "name");
    json_string(&j, p->name);
    json_key(&j, "quantity");
    json_int(&j, p->quantity);
    json_key(&j, "unit_price");
    json_string(&j, p->unit_price);
    json_key(&j, "total");
    json_string(&j, p->total);
    json_object_end(&j);
    json_finish(&j);
}

void json_view_receipt(FILE *out, const reply_receipt_t *r)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "order");
    if (r->has_order)
        json_int(&j, r->order);
    else
        json_null(&j);
    json_key(&j, "status");
    if (r->has_order)
        json_string(&j, r->status);
    else
        json_null(&j);
    json_key(&j, "currency");
    json_string(&j, r->currency);
    json_key(&j, "total");
    json_string(&j, r->total);
    json_key(&j, "lines");
    json_array_begin(&j);
    for (size_t i = 0; i < r->nlines; i++) {
        const reply_receipt_line_t *l = &r->lines[i];
        json_object_begin(&j);
        json_key(&j, "sno");
        json_int(&j, l->sno);
        json_key(&j, "name");
        json_string(&j, l->name);
        json_key(&j, "quantity");
        json_int(&j, l->quantity);
        json_key(&j, "unit_price");
        json_string(&j, l->unit_price);
        json_key(&j, "total");
        json_string(&j, l->total);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

void json_view_orders(FILE *out, const reply_order_t *orders, size_t n)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "orders");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(&j);
        json_key(&j, "order");
        json_int(&j, orders[i].order);
        json_key(&j, "opened");
        json_string(&j, orders[i].opened);
        json_key(&j, "status");
        json_string(&j, orders[i].status);
        json_key(&j, "lines");
        json_int(&j, orders[i].lines);
        json_key(&j, "total");
        json_string(&j, orders[i].total);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

void json_view_pong(FILE *out)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_key(&j, "pong");
    json_bool(&j, true);
    json_object_end(&j);
    json_finish(&j);
}
