/* peer_limit: connections per source prefix, in a chained hash table under one mutex. */
#include "server/peer_limit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PEER_BUCKETS 4096

typedef struct peer_entry {
    struct peer_entry *next;
    netaddr_prefix_t prefix;
    unsigned count;
} peer_entry_t;

struct peer_limit {
    pthread_mutex_t lock;
    unsigned per_prefix_max;
    unsigned char key[crypto_shorthash_KEYBYTES];
    peer_entry_t *buckets[PEER_BUCKETS];
};

peer_limit_t *peer_limit_new(unsigned per_prefix_max)
{
    peer_limit_t *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pthread_mutex_init(&pl->lock, NULL);
    pl->per_prefix_max = per_prefix_max;
    crypto_shorthash_keygen(pl->key);
    return pl;
}

void peer_limit_free(peer_limit_t *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < PEER_BUCKETS; i++) {
        for (peer_entry_t *e = pl->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&pl->lock);
    free(pl);
}

static peer_entry_t **slot_of(peer_limit_t *pl, const netaddr_prefix_t *p)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)p, sizeof *p, pl->key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    peer_entry_t **at = &pl->buckets[v % PEER_BUCKETS];
    while (*at && !netaddr_prefix_equal(&(*at)->prefix, p))
        at = &(*at)->next;
    return at; /* the entry's link, or the NULL link at the end of the chain */
}

bool peer_limit_acquire(peer_limit_t *pl, const netaddr_prefix_t *p)
{
    bool ok = false;
    pthread_mutex_lock(&pl->lock);
    peer_entry_t **at = slot_of(pl, p);
    if (*at) {
        if ((*at)->count < pl->per_prefix_max) {
            (*at)->count++;
            ok = true;
        }
    } else if (pl->per_prefix_max > 0) {
        peer_entry_t *e = calloc(1, sizeof *e);
        if (e) {
            e->prefix = *p;
            e->count = 1;
            *at = e;
            ok = true;
        }
    }
    pthread_mutex_unlock(&pl->lock);
    return ok;
}

void peer_limit_release(peer_limit_t *pl, const netaddr_prefix_t *p)
{
    pthread_mutex_lock(&pl->lock);
    peer_entry_t **at = slot_of(pl, p);
    peer_entry_t *e = *at;
    if (e && --e->count == 0) {
        *at = e->next;
        free(e);
    }
    pthread_mutex_unlock(&pl->lock);
}
