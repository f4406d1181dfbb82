/* order_ids: a keyed permutation of 1..2^53 (Feistel on 54 bits, cycle-walked). */
#include "server/order_ids.h"

#include <sodium.h>
#include <string.h>

#define HALF_BITS 27
#define HALF_MASK ((UINT64_C(1) << HALF_BITS) - 1)
#define ROUNDS 8

_Static_assert(ORDER_IDS_KEY_LEN == crypto_shorthash_KEYBYTES, "the key is a SipHash key");

/* The round function: SipHash-2-4 of (round, half) under the key, cut to HALF_BITS. */
static uint64_t round_fn(const order_ids_t *k, int round, uint64_t half)
{
    unsigned char in[9], out[crypto_shorthash_BYTES];
    in[0] = (unsigned char)round;
    for (int i = 0; i < 8; i++)
        in[1 + i] = (unsigned char)(half >> (8 * i));
    crypto_shorthash(out, in, sizeof in, k->key);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)out[i] << (8 * i);
    return v & HALF_MASK;
}

/* One pass of the 54-bit permutation (forward) or its inverse. */
static uint64_t feistel(const order_ids_t *k, uint64_t x, int inverse)
{
    uint64_t left = x >> HALF_BITS, right = x & HALF_MASK;
    if (!inverse) {
        for (int r = 0; r < ROUNDS; r++) {
            uint64_t next = left ^ round_fn(k, r, right);
            left = right;
            right = next;
        }
    } else {
        for (int r = ROUNDS - 1; r >= 0; r--) {
            uint64_t prev = right ^ round_fn(k, r, left);
            right = left;
            left = prev;
        }
    }
    return (left << HALF_BITS) | right;
}

/* Maps 1..2^53 onto itself: values are taken to 0..2^53-1, permuted on 54 bits, and permuted
 * again while they land outside (cycle walking: on average twice). */
static int64_t walk(const order_ids_t *k, int64_t v, int inverse)
{
    if (v < 1 || v > ORDER_IDS_MAX)
        return 0;
    uint64_t x = (uint64_t)(v - 1);
    do
        x = feistel(k, x, inverse);
    while (x >= (uint64_t)ORDER_IDS_MAX);
    return (int64_t)x + 1;
}

int64_t order_ids_to_wire(const order_ids_t *k, int64_t id) { return walk(k, id, 0); }

int64_t order_ids_from_wire(const order_ids_t *k, int64_t wire) { return walk(k, wire, 1); }
