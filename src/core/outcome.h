/* outcome: what the shop decided for one purchase (BUY). The shop's own codes, not the wire's:
 * the store keeps them on disk (the first outcome of an idempotent BUY, PROTOCOL.md §4), so
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
} outcome_t;

/* True when v is one of the values above (for values read back from disk). */
static inline bool outcome_known(int64_t v)
{
    return v >= OUTCOME_BOUGHT && v <= OUTCOME_ORDER_TOTAL_TOO_LARGE;
}

#endif
