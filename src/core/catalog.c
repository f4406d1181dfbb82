/* catalog: owns the in-memory catalog — categories, items, their look-ups and the live stock
 * values that the committer publishes and every worker reads without locks.
 *
 * Invariants:
 *   1. Every category and every item is allocated on its own and never moves, so a pointer
 *      returned by any function here stays valid until catalog_free (before and after freeze).
 *   2. Only stock changes after catalog_freeze; everything else is immutable, so readers need no
 *      lock. Stock is an _Atomic int64_t: stored with release by the committer, loaded with
 *      acquire by readers.
 *   3. Serial numbers and category numbers are unique (presence bitmaps, O(1) per add);
 *      category names are unique after normalisation, so a name query never matches two exactly.
 *   4. After freeze: categories are sorted by number, `items` by (category, sno), `by_sno` by sno,
 *      and each category's first_item/item_count describe its run in `items`.
 *
 * Before freeze (the start-up build phase): every accessor and look-up already works, in
 * insertion order and by linear search, but categories report first_item = item_count = 0
 * until catalog_freeze computes them. catalog_freeze allocates nothing, so it cannot fail. */
#include "core/catalog.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Category numbers are 1..9999, so that the default category of every serial number
 * (sno / 100) is a valid category number. */
#define CATEGORY_NUMBER_MAX (CATALOG_SNO_MAX / 100)

struct catalog_item {
    int sno;
    int category;
    money_t price;
    bool retired;     /* no longer sold: hidden from browsing, refused by purchases */
    _Atomic int64_t stock;
    char name[CATALOG_NAME_MAX + 1];
};

/* A category as stored: the public part that look-ups return, plus its name normalised for
 * matching (ASCII lower case, without spaces, '-' and '_'). */
typedef struct {
    catalog_category_t pub;
    char key[CATALOG_NAME_MAX + 1];
} category_entry_t;

struct catalog {
    bool frozen;
    category_entry_t **categories;
    size_t category_count;
    size_t category_cap;
    catalog_item_t **items;  /* after freeze: sorted by (category, sno) */
    catalog_item_t **by_sno; /* after freeze: sorted by sno */
    size_t item_count;
    size_t item_cap;         /* capacity of both items and by_sno */
    unsigned char sno_used[CATALOG_SNO_MAX / 8 + 1];
    unsigned char category_used[CATEGORY_NUMBER_MAX / 8 + 1];
};

static bool bit_get(const unsigned char *bits, int n)
{
    return (bits[n / 8] >> (n % 8)) & 1u;
}

static void bit_set(unsigned char *bits, int n)
{
    bits[n / 8] = (unsigned char)(bits[n / 8] | (1u << (n % 8)));
}

/* True for a storable name: 1..CATALOG_NAME_MAX bytes, no control character (which includes
 * TAB, CR and LF, the protocol's separators) and no DEL. */
static bool name_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t len = strnlen(name, CATALOG_NAME_MAX + 1);
    if (len == 0 || len > CATALOG_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* Writes the normalised form of s (ASCII lower case; ' ', '-' and '_' dropped) into
 * key[0..cap). Returns false when it does not fit (key is then unusable). */
static bool normalise(const char *s, char *key, size_t cap)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        char c = *s;
        if (c == ' ' || c == '-' || c == '_')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (n + 1 >= cap)
            return false;
        key[n++] = c;
    }
    key[n] = '\0';
    return true;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

catalog_t *catalog_new(void)
{
    return calloc(1, sizeof(catalog_t));
}

void catalog_free(catalog_t *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i < cat->category_count; i++)
        free(cat->categories[i]);
    for (size_t i = 0; i < cat->item_count; i++)
        free(cat->items[i]);
    free(cat->categories);
    free(cat->items);
    free(cat->by_sno);
    free(cat);
}

/* Contract: number must be 1..9999 (CATALOG_SNO_MAX / 100) and name a valid name whose
 * normalised form is neither empty nor only digits (a digits-only query means a number, so
 * such a name could never be found). CATALOG_DUPLICATE when the number is taken or the
 * normalised name equals an existing one ("House-hold items" vs "household items"). The name
 * is copied. */
catalog_result_t catalog_add_category(catalog_t *cat, int number, const char *name)
{
    if (cat->frozen)
        return CATALOG_FROZEN;
    if (number < 1 || number > CATEGORY_NUMBER_MAX || !name_valid(name))
        return CATALOG_BAD_VALUE;

    char key[CATALOG_NAME_MAX + 1];
    if (!normalise(name, key, sizeof key) || key[0] == '\0' || all_digits(key))
        return CATALOG_BAD_VALUE;

    if (bit_get(cat->category_used, number))
        return CATALOG_DUPLICATE;
    for (size_t i = 0; i < cat->category_count; i++)
        if (strcmp(cat->categories[i]->key, key) == 0)
            return CATALOG_DUPLICATE;

    if (cat->category_count == cat->category_cap) {
        size_t cap = cat->category_cap == 0 ? 8 : cat->category_cap * 2;
        category_entry_t **grown = realloc(cat->categories, cap * sizeof *grown);
        if (grown == NULL)
            return CATALOG_NO_MEMORY;
        cat->categories = grown;
        cat->category_cap = cap;
    }
    category_entry_t *entry = calloc(1, sizeof *entry);
    if (entry == NULL)
        return CATALOG_NO_MEMORY;
    entry->pub.number = number;
    memcpy(entry->pub.name, name, strlen(name) + 1); /* fits: name_valid */
    memcpy(entry->key, key, strlen(key) + 1);
    cat->categories[cat->category_count++] = entry;
    bit_set(cat->category_used, number);
    return CATALOG_OK;
}

/* Contract: sno in CATALOG_SNO_MIN..CATALOG_SNO_MAX, a valid name (see name_valid), price >= 0,
 * stock 0..CATALOG_STOCK_MAX, else CATALOG_BAD_VALUE; the category must have been added
 * (CATALOG_NO_CATEGORY); the sno must be new (CATALOG_DUPLICATE). Checked in that order, after
 * CATALOG_FROZEN. The name is copied. */
catalog_result_t catalog_add_item(catalog_t *cat, int sno, int category, const char *name,
                                  money_t price, int64_t stock)
{
    if (cat->frozen)
        return CATALOG_FROZEN;
    if (sno < CATALOG_SNO_MIN || sno > CATALOG_SNO_MAX || !name_valid(name) || price < 0 ||
        stock < 0 || stock > CATALOG_STOCK_MAX)
        return CATALOG_BAD_VALUE;
    if (category < 1 || category > CATEGORY_NUMBER_MAX || !bit_get(cat->category_used, category))
        return CATALOG_NO_CATEGORY;
    if (bit_get(cat->sno_used, sno))
        return CATALOG_DUPLICATE;

    if (cat->item_count == cat->item_cap) {
        size_t cap = cat->item_cap == 0 ? 32 : cat->item_cap * 2;
        catalog_item_t **grown_items = realloc(cat->items, cap * sizeof *grown_items);
        if (grown_items == NULL)
            return CATALOG_NO_MEMORY;
        cat->items = grown_items;
        catalog_item_t **grown_index = realloc(cat->by_sno, cap * sizeof *grown_index);
        if (grown_index == NULL)
            return CATALOG_NO_MEMORY; /* items is merely larger than item_cap: harmless */
        cat->by_sno = grown_index;
        cat->item_cap = cap;
    }
    catalog_item_t *item = calloc(1, sizeof *item);
    if (item == NULL)
        return CATALOG_NO_MEMORY;
    item->sno = sno;
    item->category = category;
    item->price = price;
    atomic_init(&item->stock, stock);
    memcpy(item->name, name, strlen(name) + 1); /* fits: name_valid */
    cat->items[cat->item_count] = item;
    cat->by_sno[cat->item_count] = item;
    cat->item_count++;
    bit_set(cat->sno_used, sno);
    return CATALOG_OK;
}

static int compare_category_number(const void *a, const void *b)
{
    const category_entry_t *x = *(const category_entry_t *const *)a;
    const category_entry_t *y = *(const category_entry_t *const *)b;
    return (x->pub.number > y->pub.number) - (x->pub.number < y->pub.number);
}

static int compare_item_sno(const void *a, const void *b)
{
    const catalog_item_t *x = *(const catalog_item_t *const *)a;
    const catalog_item_t *y = *(const catalog_item_t *const *)b;
    return (x->sno > y->sno) - (x->sno < y->sno);
}

static int compare_item_category_sno(const void *a, const void *b)
{
    const catalog_item_t *x = *(const catalog_item_t *const *)a;
    const catalog_item_t *y = *(const catalog_item_t *const *)b;
    if (x->category != y->category)
        return (x->category > y->category) - (x->category < y->category);
    return compare_item_sno(a, b);
}

/* Sorts, computes each category's item run and forbids further additions. Calling it again
 * does nothing. Allocates nothing. */
void catalog_freeze(catalog_t *cat)
{
    if (cat->frozen)
        return;
    if (cat->category_count > 1)
        qsort(cat->categories, cat->category_count, sizeof *cat->categories,
              compare_category_number);
    if (cat->item_count > 1) {
        qsort(cat->items, cat->item_count, sizeof *cat->items, compare_item_category_sno);
        qsort(cat->by_sno, cat->item_count, sizeof *cat->by_sno, compare_item_sno);
    }

    /* Both lists are sorted by category number and every item's category exists, so one
     * merge-like walk finds each category's run. */
    size_t i = 0;
    for (size_t c = 0; c < cat->category_count; c++) {
        catalog_category_t *pub = &cat->categories[c]->pub;
        assert(i == cat->item_count || cat->items[i]->category >= pub->number);
        pub->first_item = i;
        while (i < cat->item_count && cat->items[i]->category == pub->number)
            i++;
        pub->item_count = i - pub->first_item;
    }
    assert(i == cat->item_count);
    cat->frozen = true;
}

size_t catalog_category_count(const catalog_t *cat)
{
    return cat->category_count;
}

/* NULL when index is out of range. */
const catalog_category_t *catalog_category_at(const catalog_t *cat, size_t index)
{
    return index < cat->category_count ? &cat->categories[index]->pub : NULL;
}

const catalog_category_t *catalog_category_by_number(const catalog_t *cat, int number)
{
    if (!cat->frozen) {
        for (size_t i = 0; i < cat->category_count; i++)
            if (cat->categories[i]->pub.number == number)
                return &cat->categories[i]->pub;
        return NULL;
    }
    size_t lo = 0, hi = cat->category_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int here = cat->categories[mid]->pub.number;
        if (here == number)
            return &cat->categories[mid]->pub;
        if (here < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Contract (beyond the header): a query of only ASCII digits is a category number (leading
 * zeros allowed, "01" is 1); anything else is a name. A name matches by equal normalised form
 * first; failing that, a normalised query of at least 3 characters that is a prefix of exactly
 * one normalised name matches that category; two or more prefix matches give NULL. NULL for a
 * NULL or empty query. */
const catalog_category_t *catalog_find_category(const catalog_t *cat, const char *query)
{
    if (query == NULL || query[0] == '\0')
        return NULL;

    if (all_digits(query)) {
        int number = 0;
        for (const char *p = query; *p != '\0'; p++) {
            number = number * 10 + (*p - '0');
            if (number > CATEGORY_NUMBER_MAX)
                return NULL;
        }
        return catalog_category_by_number(cat, number);
    }

    char key[CATALOG_NAME_MAX + 1];
    if (!normalise(query, key, sizeof key) || key[0] == '\0')
        return NULL; /* longer than any name could be, or nothing left to match */

    size_t key_len = strlen(key);
    const catalog_category_t *prefix_match = NULL;
    size_t prefix_matches = 0;
    for (size_t i = 0; i < cat->category_count; i++) {
        const category_entry_t *entry = cat->categories[i];
        if (strcmp(entry->key, key) == 0)
            return &entry->pub;
        if (key_len >= 3 && strncmp(entry->key, key, key_len) == 0) {
            prefix_match = &entry->pub;
            prefix_matches++;
        }
    }
    return prefix_matches == 1 ? prefix_match : NULL;
}

size_t catalog_item_count(const catalog_t *cat)
{
    return cat->item_count;
}

/* NULL when index is out of range. */
const catalog_item_t *catalog_item_at(const catalog_t *cat, size_t index)
{
    return index < cat->item_count ? cat->items[index] : NULL;
}

const catalog_item_t *catalog_find_item(const catalog_t *cat, int sno)
{
    if (sno < CATALOG_SNO_MIN || sno > CATALOG_SNO_MAX || !bit_get(cat->sno_used, sno))
        return NULL;
    if (!cat->frozen) {
        for (size_t i = 0; i < cat->item_count; i++)
            if (cat->items[i]->sno == sno)
                return cat->items[i];
        return NULL;
    }
    size_t lo = 0, hi = cat->item_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int here = cat->by_sno[mid]->sno;
        if (here == sno)
            return cat->by_sno[mid];
        if (here < sno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int catalog_item_sno(const catalog_item_t *item)
{
    return item->sno;
}

int catalog_item_category(const catalog_item_t *item)
{
    return item->category;
}

const char *catalog_item_name(const catalog_item_t *item)
{
    return item->name;
}

money_t catalog_item_price(const catalog_item_t *item)
{
    return item->price;
}

int64_t catalog_item_stock(const catalog_item_t *item)
{
    return atomic_load_explicit(&item->stock, memory_order_acquire);
}

/* Committer thread only. The item is const for readers; it was allocated mutable by
 * catalog_add_item, so writing its stock through a cast is well defined. A negative stock is a
 * broken committer invariant (asserted). */
void catalog_publish_stock(const catalog_item_t *item, int64_t stock)
{
    assert(stock >= 0);
    catalog_item_t *mutable_item = (catalog_item_t *)item;
    atomic_store_explicit(&mutable_item->stock, stock, memory_order_release);
}

const char *catalog_default_category_name(int number)
{
    static const char *const names[] = {
        "Electronics", "Cosmetics", "Clothes", "Shoes", "House-hold items",
    };
    if (number < 1 || number > (int)(sizeof names / sizeof names[0]))
        return NULL;
    return names[number - 1];
}

catalog_result_t catalog_set_retired(catalog_t *cat, int sno, bool retired)
{
    if (cat->frozen)
        return CATALOG_FROZEN;
    const catalog_item_t *item = catalog_find_item(cat, sno);
    if (item == NULL)
        return CATALOG_BAD_VALUE;
    ((catalog_item_t *)item)->retired = retired; /* owned by cat, which is not frozen */
    return CATALOG_OK;
}

bool catalog_item_retired(const catalog_item_t *item)
{
    return item->retired;
}
