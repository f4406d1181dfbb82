/* outcome: what the shop decided for one idempotent request (BUY, CHECKOUT, CANCEL), and the
 * kinds of those requests. The shop's own codes, not the wire's:
 * the store keeps them on disk (the first outcome of an idempotent request, PROTOCOL.md §4), so
 * every value is explicit and is never renumbered or reused; a new outcome takes a new number.
 * The server maps them to SHOP/1 error codes in one place (commands.c, buy_reply).
 * Only decisions are outcomes: "nothing was decided" (queue full, store failure) is not one,
 * and is never recorded. Pure: no I/O, no state. */
#ifndef NETSHOP_OUTCOME_H
#define NETSHOP_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    OUTCOME_BOUGHT = 0,              /* bought (0 also on disk: "not refused") */
    OUTCOME_NO_SUCH_ITEM = 1,        /* no item with that serial number */
    OUTCOME_INSUFFICIENT_STOCK = 2,  /* fewer units in stock than asked (the number left is kept) */
    OUTCOME_BAD_QUANTITY = 3,        /* quantity outside 1..ORDER_QTY_MAX */
    OUTCOME_ORDER_FULL = 4,          /* the order has its maximum number of lines */
    OUTCOME_ORDER_TOTAL_TOO_LARGE = 5, /* the line or order total would overflow */
    OUTCOME_NOT_SOLD = 6,            /* the item is retired (or, in a cart, gone): no longer sold */
    OUTCOME_CANCELLED = 7,           /* CANCEL: the order is cancelled, its units back in stock */
    OUTCOME_NO_SUCH_ORDER = 8,       /* CANCEL: no such order of this user's */
    OUTCOME_ORDER_STATE = 9,         /* CANCEL: the order's state does not allow it */
} outcome_t;

/* What an idempotent request was (recorded with its outcome; explicit values, never reused). */
typedef enum {
    REQUEST_BUY = 0,      /* BUY <sno> <qty> <id>: bought is OUTCOME_BOUGHT */
    REQUEST_CHECKOUT = 1, /* CHECKOUT <id>: the order placed is OUTCOME_BOUGHT */
    REQUEST_CANCEL = 2,   /* CANCEL <order-id> <id> */
} request_kind_t;

static inline bool request_kind_known(int64_t v)
{
    return v >= REQUEST_BUY && v <= REQUEST_CANCEL;
}

/* True when v is one of the values above (for values read back from disk). */
static inline bool outcome_known(int64_t v)
{
    return v >= OUTCOME_BOUGHT && v <= OUTCOME_ORDER_STATE;
}

#endif
