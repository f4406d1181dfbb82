/* page_cache: one worker's rendered replies to anonymous catalog reads (CATEGORIES, BROWSE,
 * ITEM), reused for as long as every stock value they show is still the catalog's current one.
 *
 * A reply is rendered by the caller's function (the same commands_execute every transport uses,
 * so the text is byte-for-byte what a fresh render gives) and kept with the stock value of each
 * item it shows. A later request for the same category or item compares those values with the
 * catalog's (one atomic load per item) and gets the kept text while they are equal, a fresh
 * render as soon as one differs: the reply is never staler than a fresh render would be, and is
 * always one render (one consistent snapshot). Owned by one worker thread: no locks. */
#ifndef NETSHOP_PAGE_CACHE_H
#define NETSHOP_PAGE_CACHE_H

#include "core/catalog.h"
#include "proto/shop1.h"

typedef struct page_cache page_cache_t;

/* A cache over a frozen catalog; NULL when out of memory. */
page_cache_t *page_cache_new(const catalog_t *cat);
void page_cache_free(page_cache_t *pc);

/* Renders the reply to the request into out (empty on entry). */
typedef void (*page_cache_render_t)(void *arg, shop1_buf_t *out);

/* The reply text to an anonymous request of a SHOP1_VERB_CACHEABLE verb (CATEGORIES, BROWSE,
 * ITEM): the kept one when it is current, else rendered now by render(arg, ...) and kept. NULL
 * for any other request, and for
 * a BROWSE or ITEM that names no category or item (the caller renders those itself). The text
 * stays valid until the next call. */
const shop1_buf_t *page_cache_reply(page_cache_t *pc, const shop1_request_t *req, page_cache_render_t render,
                                    void *arg);

#endif
