/* udp_rate: token buckets per source prefix, shared by the workers, in set-associative slots. */
#include "server/udp_rate.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_bucket.h"

#define UDP_RATE_LOCKS 64   /* stripes: set i is guarded by lock i % UDP_RATE_LOCKS */

typedef struct {
    netaddr_prefix_t prefix;   /* len 0: unused */
    token_bucket_t bucket;
} rate_slot_t;

struct udp_rate {
    double rate;
    unsigned char key[crypto_shorthash_KEYBYTES];
    pthread_mutex_t locks[UDP_RATE_LOCKS];
    rate_slot_t slots[UDP_RATE_SETS][UDP_RATE_WAYS];
};

udp_rate_t *udp_rate_new(double rate)
{
    udp_rate_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rate = rate;
    crypto_shorthash_keygen(r->key);
    for (int i = 0; i < UDP_RATE_LOCKS; i++)
        pthread_mutex_init(&r->locks[i], NULL);
    return r;
}

void udp_rate_free(udp_rate_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < UDP_RATE_LOCKS; i++)
        pthread_mutex_destroy(&r->locks[i]);
    free(r);
}

/* The slot of p in its set: its own, else the one to reuse (see udp_rate.h). */
static rate_slot_t *slot_for(udp_rate_t *r, rate_slot_t *set, const netaddr_prefix_t *p, int64_t now_ns)
{
    for (int i = 0; i < UDP_RATE_WAYS; i++) {
        if (netaddr_prefix_equal(&set[i].prefix, p))
            return &set[i];
    }
    rate_slot_t *reuse = NULL;
    for (int i = 0; i < UDP_RATE_WAYS && !reuse; i++) {
        if (set[i].prefix.len == 0 || token_bucket_full(&set[i].bucket, r->rate, r->rate, now_ns))
            reuse = &set[i];
    }
    if (!reuse) { /* every way busy: the least recently used */
        reuse = &set[0];
        for (int i = 1; i < UDP_RATE_WAYS; i++) {
            if (set[i].bucket.last_ns < reuse->bucket.last_ns)
                reuse = &set[i];
        }
    }
    reuse->prefix = *p;
    reuse->bucket = (token_bucket_t){0};
    return reuse;
}

bool udp_rate_allow(udp_rate_t *r, const netaddr_prefix_t *p, int64_t now_ns)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)p, sizeof *p, r->key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    size_t set = (size_t)(v % UDP_RATE_SETS);
    pthread_mutex_t *lock = &r->locks[set % UDP_RATE_LOCKS];
    pthread_mutex_lock(lock);
    rate_slot_t *s = slot_for(r, r->slots[set], p, now_ns);
    bool ok = token_bucket_take(&s->bucket, r->rate, r->rate, now_ns);
    pthread_mutex_unlock(lock);
    return ok;
}
