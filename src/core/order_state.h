/* order_state: the life of an order — its four states, the words that name them (on disk and on
 * the wire), and which changes are allowed. docs/PROTOCOL.md §4 ("Orders") is the specification.
 *
 *   open ──► placed ──► fulfilled
 *     │        │
 *     └────────┴──► cancelled
 *
 * open: the login session's order that BUYs add lines to; placed: closed (the session ended, or
 * made whole by CHECKOUT); cancelled: its units went back to stock; fulfilled: an administrator
 * marked it shipped. Nothing leaves cancelled or fulfilled. The values are explicit and are
 * never renumbered or reused. Pure: no I/O, no state. */
#ifndef NETSHOP_ORDER_STATE_H
#define NETSHOP_ORDER_STATE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ORDER_OPEN = 0,
    ORDER_PLACED = 1,
    ORDER_CANCELLED = 2,
    ORDER_FULFILLED = 3,
} order_state_t;

/* "open", "placed", "cancelled", "fulfilled"; "unknown" for any other value. */
const char *order_state_word(order_state_t s);
/* The state named by word[0..len) (exactly, lower case); false when none is. */
bool order_state_from_word(const char *word, size_t len, order_state_t *out);
/* True when an order in state `from` may become `to` (the arrows above). */
bool order_state_can(order_state_t from, order_state_t to);

#endif
