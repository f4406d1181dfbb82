/* ratelimit: counts failures per key (an account name, a source address) in a sliding window and
 * says when a key has had too many. A fixed-size table: when full, the entry that failed longest
 * ago is forgotten, so memory stays bounded under attack. Pure: the caller passes the time and
 * provides locking if it shares the table between threads. */
#ifndef NETSHOP_RATELIMIT_H
#define NETSHOP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 80

typedef struct ratelimit ratelimit_t;

/* A table of `slots` keys, each allowed `max_failures` failures per `window_secs`.
 * NULL when out of memory. Free with ratelimit_free. */
ratelimit_t *ratelimit_new(size_t slots, unsigned max_failures, int64_t window_secs);
void ratelimit_free(ratelimit_t *rl);

/* True when key has had max_failures or more failures in the window ending at now. */
bool ratelimit_blocked(const ratelimit_t *rl, const char *key, int64_t now);
/* Records one failure of key at now (keys longer than RATELIMIT_KEY_MAX are truncated). */
void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now);
/* Forgets key's failures (after a success). */
void ratelimit_reset(ratelimit_t *rl, const char *key);

#endif
