/* ratelimit: the failed-login limiter's pure parts.
 *
 *  - ratelimit_t counts failures per key (a source prefix, an account name, an account+source
 *    pair) in a window that starts at a key's first failure. A key with max_failures failures in
 *    its window is blocked until the window ends. With backoff, a window that ended blocked
 *    doubles the length of the next one if failures go on right after it (up to 2^backoff_max
 *    windows), so a steady stream of guesses gets slower and slower.
 *    Attempts are reserved before they are checked (ratelimit_reserve) and settled afterwards
 *    (ratelimit_settle): a reservation is a failure that has not happened yet, so however many
 *    threads check at once, no more than max_failures attempts are ever let through per window.
 *  - ratelimit_known_t remembers keys (account+source pairs that logged in) for a time to live.
 *
 * Both are fixed-size hash tables of buckets of RATELIMIT_WAYS entries: a look-up hashes the key
 * once and compares at most RATELIMIT_WAYS keys. The hash is the caller's (give it a secret key,
 * e.g. crypto_shorthash) so that nobody outside can aim keys at one bucket. A full bucket makes
 * room by forgetting, in order: an entry that no longer counts for anything (window over, no
 * backoff pending), else the entry with the fewest failures (blocked ones last), the oldest first.
 * So spraying new keys cheaply evicts only entries that matter least; pushing out a blocked key
 * needs a bucket full of keys at least as blocked.
 *
 * Pure: no I/O, no clock, no locks. The caller passes the time and serialises access. */
#ifndef NETSHOP_RATELIMIT_H
#define NETSHOP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 80   /* longer keys are truncated (consistently) */
#define RATELIMIT_WAYS 8       /* entries per bucket */
#define RATELIMIT_BACKOFF_MAX 10
#define RATELIMIT_SOURCE_MAX 48 /* ratelimit_source_key's output, including the NUL */

/* The table's hash of a key (len bytes, not NUL-terminated). */
typedef uint64_t (*ratelimit_hash_fn)(const void *key, size_t len, void *arg);

typedef struct {
    size_t slots;            /* entries; rounded up to a power-of-two number of buckets */
    unsigned max_failures;   /* failures in a window that block the key */
    int64_t window_secs;
    unsigned backoff_max;    /* 0: every window is window_secs; else up to window << backoff_max */
    ratelimit_hash_fn hash;
    void *hash_arg;          /* given to hash; must outlive the table */
} ratelimit_params_t;

typedef struct ratelimit ratelimit_t;

typedef enum {
    RATELIMIT_ALLOW,   /* not blocked, and room for one more attempt */
    RATELIMIT_WAIT,    /* not blocked yet, but reserved attempts could use up what is left:
                          ask again once one of them is settled */
    RATELIMIT_BLOCKED, /* max_failures failures in the current window */
} ratelimit_verdict_t;

/* A table as described by p. NULL when a parameter is 0 (slots, max_failures, window_secs,
 * hash), backoff_max > RATELIMIT_BACKOFF_MAX, or out of memory. Free with ratelimit_free. */
ratelimit_t *ratelimit_new(const ratelimit_params_t *p);
void ratelimit_free(ratelimit_t *rl);

/* What an attempt by key at now may do (see the verdicts). Changes nothing. */
ratelimit_verdict_t ratelimit_check(const ratelimit_t *rl, const char *key, int64_t now);
/* True when key has had max_failures or more failures in its window at now. */
bool ratelimit_blocked(const ratelimit_t *rl, const char *key, int64_t now);

/* Reserves an attempt by key: counts it as pending until ratelimit_settle. Call only after
 * ratelimit_check said RATELIMIT_ALLOW, under the same lock. */
void ratelimit_reserve(ratelimit_t *rl, const char *key, int64_t now);
/* Check and reserve in one step: reserves and returns RATELIMIT_ALLOW, or returns the verdict
 * that refused it and changes nothing. */
ratelimit_verdict_t ratelimit_try_reserve(ratelimit_t *rl, const char *key, int64_t now);
/* Ends a reservation of key: a failure at now when failed, else nothing is counted. */
void ratelimit_settle(ratelimit_t *rl, const char *key, bool failed, int64_t now);

/* Records one failure of key at now (no reservation). */
void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now);
/* Forgets key's failures and backoff (its pending reservations stay). */
void ratelimit_reset(ratelimit_t *rl, const char *key);

/* The window length now in force for key (window_secs when unknown or without backoff). */
int64_t ratelimit_window_of(const ratelimit_t *rl, const char *key);

typedef struct ratelimit_known ratelimit_known_t;

/* A set of at most `slots` keys, each remembered for ttl_secs after it was last added. NULL on
 * a zero parameter or out of memory. hash_arg must outlive the set. */
ratelimit_known_t *ratelimit_known_new(size_t slots, int64_t ttl_secs, ratelimit_hash_fn hash,
                                       void *hash_arg);
void ratelimit_known_free(ratelimit_known_t *k);
/* Adds key (or refreshes it) at now. A full bucket forgets an expired key, else the one added
 * longest ago. */
void ratelimit_known_add(ratelimit_known_t *k, const char *key, int64_t now);
/* True when key was added less than ttl_secs before now. */
bool ratelimit_known_has(const ratelimit_known_t *k, const char *key, int64_t now);

/* The rate-limit key of a source address given as text (inet_ntop's form): an IPv4 address
 * as it is ("192.0.2.1"), an IPv4-mapped IPv6 address as its IPv4 address, any other IPv6
 * address as its /64 prefix ("2001:db8:1:2::/64"), since one subscriber typically holds a whole
 * /64. Text that is no address is used as it is (truncated). Returns true when it was an
 * address. */
bool ratelimit_source_key(const char *addr, char out[static RATELIMIT_SOURCE_MAX]);

#endif
