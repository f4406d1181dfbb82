/* catalog: the shop's categories and items in memory — names, prices and live stock.
 * Built once at start-up (catalog_add_*, then catalog_freeze), then read by every worker
 * thread without locks. Only the committer changes stock, through catalog_publish_stock;
 * readers see each item's stock atomically (a value at most a few milliseconds stale).
 * Pure: no I/O. */
#ifndef NETSHOP_CATALOG_H
#define NETSHOP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/money.h"

#define CATALOG_NAME_MAX 64   /* bytes of an item or category name, excluding the NUL */
#define CATALOG_SNO_MIN 1
#define CATALOG_SNO_MAX 999999
#define CATALOG_STOCK_MAX 1000000000LL

typedef struct catalog catalog_t;

typedef struct {
    int number;                      /* 1, 2, ... */
    char name[CATALOG_NAME_MAX + 1]; /* "Electronics" */
    size_t first_item;               /* index of its first item (catalog_item_at) */
    size_t item_count;               /* its items are first_item .. first_item+item_count-1 */
} catalog_category_t;

typedef struct catalog_item catalog_item_t; /* opaque: use the accessors below */

typedef enum {
    CATALOG_OK = 0,
    CATALOG_DUPLICATE,   /* sno or category number or category name already present */
    CATALOG_BAD_VALUE,   /* out-of-range number, empty or over-long name, negative price/stock */
    CATALOG_NO_CATEGORY, /* item names a category that was not added */
    CATALOG_FROZEN,      /* catalog_add_* after catalog_freeze */
    CATALOG_NO_MEMORY,
} catalog_result_t;

/* A new, empty catalog; NULL when out of memory. Free with catalog_free. */
catalog_t *catalog_new(void);
void catalog_free(catalog_t *cat);

catalog_result_t catalog_add_category(catalog_t *cat, int number, const char *name);
catalog_result_t catalog_add_item(catalog_t *cat, int sno, int category, const char *name,
                                  money_t price, int64_t stock);

/* Marks an item retired (no longer sold) or back on sale; before catalog_freeze only.
 * CATALOG_BAD_VALUE when there is no item sno. */
catalog_result_t catalog_set_retired(catalog_t *cat, int sno, bool retired);

/* Sorts categories by number and items by (category, sno) and forbids further additions.
 * Pointers returned by the look-ups below stay valid until catalog_free. */
void catalog_freeze(catalog_t *cat);

size_t catalog_category_count(const catalog_t *cat);
const catalog_category_t *catalog_category_at(const catalog_t *cat, size_t index);

/* Finds a category by its number ("1") or its name, case-insensitively and ignoring spaces,
 * '-' and '_' ("house-hold items", "HouseHold Items"), or by an unambiguous prefix of the
 * name of at least 3 characters ("elec"). NULL when none matches. */
const catalog_category_t *catalog_find_category(const catalog_t *cat, const char *query);

/* The category with this number, or NULL (binary search after freeze). */
const catalog_category_t *catalog_category_by_number(const catalog_t *cat, int number);

size_t catalog_item_count(const catalog_t *cat);
const catalog_item_t *catalog_item_at(const catalog_t *cat, size_t index);
/* The item with this serial number, or NULL. Binary search after freeze. */
const catalog_item_t *catalog_find_item(const catalog_t *cat, int sno);

int catalog_item_sno(const catalog_item_t *item);
int catalog_item_category(const catalog_item_t *item);
const char *catalog_item_name(const catalog_item_t *item);
money_t catalog_item_price(const catalog_item_t *item);
/* True for an item that is no longer sold (hidden from BROWSE, refused by purchases). */
bool catalog_item_retired(const catalog_item_t *item);
/* The last stock value the committer published (atomic load, acquire). */
int64_t catalog_item_stock(const catalog_item_t *item);
/* Publishes a new stock value (atomic store, release). Committer thread only. */
void catalog_publish_stock(const catalog_item_t *item, int64_t stock);

/* The course project's category names for numbers 1..5 ("Electronics", "Cosmetics", "Clothes",
 * "Shoes", "House-hold items"); NULL for any other number. */
const char *catalog_default_category_name(int number);

#endif
