/* order_state: the order state machine's words and allowed changes (order_state.h). */
#include "core/order_state.h"

#include <string.h>

static const char *const words[] = {
    [ORDER_OPEN] = "open",
    [ORDER_PLACED] = "placed",
    [ORDER_CANCELLED] = "cancelled",
    [ORDER_FULFILLED] = "fulfilled",
};
#define NSTATES (sizeof words / sizeof words[0])

const char *order_state_word(order_state_t s)
{
    return (unsigned)s < NSTATES ? words[s] : "unknown";
}

bool order_state_from_word(const char *word, size_t len, order_state_t *out)
{
    for (size_t i = 0; i < NSTATES; i++) {
        if (strlen(words[i]) == len && memcmp(words[i], word, len) == 0) {
            *out = (order_state_t)i;
            return true;
        }
    }
    return false;
}

bool order_state_can(order_state_t from, order_state_t to)
{
    switch (from) {
    case ORDER_OPEN:
        return to == ORDER_PLACED || to == ORDER_CANCELLED;
    case ORDER_PLACED:
        return to == ORDER_CANCELLED || to == ORDER_FULFILLED;
    case ORDER_CANCELLED:
    case ORDER_FULFILLED:
        return false;
    }
    return false;
}
