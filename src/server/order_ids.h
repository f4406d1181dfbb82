/* order_ids: what order ids look like to clients. Orders are numbered 1, 2, 3 ... in the store;
 * shown as they are, every customer's receipt would tell them how many orders the shop takes.
 * On the wire an order id is instead a keyed permutation of the store's id over the protocol's
 * range 1..2^53 (PROTOCOL.md §4): an 8-round Feistel network on 54 bits with SipHash-2-4 as the
 * round function, cycle-walked back into the range. Without the key, ids say nothing about each
 * other; with it, the mapping is exact both ways. The key is a shop setting (settings table,
 * "order_id_key"), made once at the first start, so ids stay valid across restarts. */
#ifndef NETSHOP_ORDER_IDS_H
#define NETSHOP_ORDER_IDS_H

#include <stdint.h>

#define ORDER_IDS_KEY_LEN 16
#define ORDER_IDS_MAX (INT64_C(1) << 53)   /* the largest order id on the wire (and in the store) */

typedef struct {
    unsigned char key[ORDER_IDS_KEY_LEN];
} order_ids_t;

/* The id clients see for store id `id` (1..ORDER_IDS_MAX); 0 when id is out of that range. */
int64_t order_ids_to_wire(const order_ids_t *k, int64_t id);
/* The store id for a client's id (1..ORDER_IDS_MAX); 0 when wire is out of that range. */
int64_t order_ids_from_wire(const order_ids_t *k, int64_t wire);

#endif
