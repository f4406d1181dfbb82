/* page_cache: a worker's kept replies to anonymous catalog reads, checked against the live
 * stock on every use.
 *
 * Invariants:
 *   1. An entry with `valid` set holds in `text` the reply that rendering it now would give, as
 *      long as each item it shows still has the stock recorded in stock[] (everything else a
 *      CATEGORIES, BROWSE or ITEM reply shows is immutable after catalog_freeze).
 *   2. `valid` is set only when the stock values loaded before the render equal those loaded
 *      after it. The render loads each item's stock once, in between; the committer publishes
 *      an item's stock only after a purchase, in commit order, so an item's published stock never
 *      rises, and equal values before and after mean the render read exactly them. (Were stock
 *      ever to rise — restocking — a value could change and come back during a render, and this
 *      check would need a catalog-wide publish counter instead.)
 *   3. Entries never move (arrays allocated once), and belong to one worker thread.
 *
 * Memory: one entry per category and ITEM_SLOTS entries for ITEM replies (direct-mapped by
 * serial number; a collision re-renders), each with its reply text and stock values, allocated
 * at its first render: bounded by the catalog's size. */
#include "server/page_cache.h"

#include <stdlib.h>

#define ITEM_SLOTS 1024

typedef struct {
    bool valid;                 /* see invariant 1 */
    const catalog_item_t *item; /* ITEM: the one item shown; else NULL */
    size_t first, count;        /* BROWSE: shows catalog_item_at(first .. first+count-1); ITEM: 1 */
    int64_t *stock;             /* count values: the stock each showed; allocated at first use */
    shop1_buf_t text;
} entry_t;

struct page_cache {
    const catalog_t *cat;
    entry_t categories;         /* CATEGORIES: shows no stock, so once rendered it stays */
    size_t ncategories;
    entry_t *browse;            /* one per category, in catalog order (by number) */
    entry_t items[ITEM_SLOTS];
};

page_cache_t *page_cache_new(const catalog_t *cat)
{
    page_cache_t *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->cat = cat;
    pc->ncategories = catalog_category_count(cat);
    pc->browse = calloc(pc->ncategories ? pc->ncategories : 1, sizeof *pc->browse);
    if (!pc->browse) {
        free(pc);
        return NULL;
    }
    shop1_buf_init(&pc->categories.text);
    for (size_t i = 0; i < pc->ncategories; i++) {
        const catalog_category_t *k = catalog_category_at(cat, i);
        pc->browse[i].first = k->first_item;
        pc->browse[i].count = k->item_count;
        shop1_buf_init(&pc->browse[i].text);
    }
    for (size_t i = 0; i < ITEM_SLOTS; i++)
        shop1_buf_init(&pc->items[i].text);
    return pc;
}

static void entry_free(entry_t *e)
{
    free(e->stock);
    shop1_buf_free(&e->text);
}

void page_cache_free(page_cache_t *pc)
{
    if (!pc)
        return;
    entry_free(&pc->categories);
    for (size_t i = 0; i < pc->ncategories; i++)
        entry_free(&pc->browse[i]);
    for (size_t i = 0; i < ITEM_SLOTS; i++)
        entry_free(&pc->items[i]);
    free(pc->browse);
    free(pc);
}

static const catalog_item_t *shown(const page_cache_t *pc, const entry_t *e, size_t i)
{
    return e->item ? e->item : catalog_item_at(pc->cat, e->first + i);
}

/* True when every item e shows still has the stock recorded for it. */
static bool current(const page_cache_t *pc, const entry_t *e)
{
    for (size_t i = 0; i < e->count; i++)
        if (catalog_item_stock(shown(pc, e, i)) != e->stock[i])
            return false;
    return true;
}

/* The entry's text, rendered afresh unless it is current. NULL when out of memory. */
static const shop1_buf_t *serve(page_cache_t *pc, entry_t *e, page_cache_render_t render, void *arg)
{
    if (e->valid && current(pc, e))
        return &e->text;
    e->valid = false;
    if (e->count > 0 && !e->stock) {
        e->stock = malloc(e->count * sizeof *e->stock);
        if (!e->stock)
            return NULL;
    }
    for (size_t i = 0; i < e->count; i++)
        e->stock[i] = catalog_item_stock(shown(pc, e, i));
    shop1_buf_reset(&e->text);
    render(arg, &e->text);
    e->valid = !e->text.failed && current(pc, e); /* invariant 2 */
    return &e->text;
}

/* The catalog index of category k (categories are sorted by number after freeze). */
static size_t category_index(const page_cache_t *pc, const catalog_category_t *k)
{
    size_t lo = 0, hi = pc->ncategories;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const catalog_category_t *here = catalog_category_at(pc->cat, mid);
        if (here == k)
            return mid;
        if (here->number < k->number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return pc->ncategories; /* not reached: k came from this catalog */
}

/* Which verbs may be kept is the command table's SHOP1_VERB_CACHEABLE; how each one's reply is
 * keyed (which entry, which items it shows) is this cache's, below. A cacheable verb without a
 * key here is rendered every time, as any other request. */
const shop1_buf_t *page_cache_reply(page_cache_t *pc, const shop1_request_t *req, page_cache_render_t render,
                                    void *arg)
{
    if (!shop1_verb_has(req->verb, SHOP1_VERB_CACHEABLE))
        return NULL;
    switch (req->verb) {
    case SHOP1_CATEGORIES:
        return serve(pc, &pc->categories, render, arg);
    case SHOP1_BROWSE: {
        const catalog_category_t *k = catalog_find_category(pc->cat, req->category);
        size_t i = k ? category_index(pc, k) : pc->ncategories;
        return i < pc->ncategories ? serve(pc, &pc->browse[i], render, arg) : NULL;
    }
    case SHOP1_ITEM: {
        const catalog_item_t *item = catalog_find_item(pc->cat, req->sno);
        if (!item)
            return NULL;
        entry_t *e = &pc->items[(unsigned)req->sno % ITEM_SLOTS];
        if (e->item != item) {
            e->item = item;
            e->count = 1;
            e->valid = false;
        }
        return serve(pc, e, render, arg);
    }
    default: /* cacheable, but no key here: rendered afresh */
        return NULL;
    }
}
