/* ratelimit: set-associative hash tables of failure counters and of known keys.
 *
 * An entry's window starts at its first failure and lasts window << strikes. When a failure comes
 * after the window is over, a new window starts; if the old one ended blocked and the failure
 * comes within one old window length of its end (the guessing goes on), strikes grows (backoff),
 * else it drops to 0. An entry is stale, and forgetting it changes nothing, when it has no pending
 * reservation and its window is over, unless that window ended blocked with backoff on and its
 * carry-over time has not passed. */
#include "core/ratelimit.h"

#include "core/netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    int64_t window_start; /* limiter: time of the first failure of the window */
    int64_t last;         /* limiter: last failure or reservation; known: last added */
    unsigned failures;    /* in the window that starts at window_start */
    unsigned pending;     /* reserved attempts not settled yet */
    unsigned strikes;     /* backoff: the window is window << strikes */
    bool used;
    char key[RATELIMIT_KEY_MAX + 1];
} rl_entry_t;

typedef struct {
    rl_entry_t *entries;  /* nbuckets * RATELIMIT_WAYS */
    size_t mask;          /* nbuckets - 1 */
    ratelimit_hash_fn hash;
    void *hash_arg;
} rl_table_t;

struct ratelimit {
    rl_table_t t;
    unsigned max_failures;
    int64_t window;
    unsigned backoff_max;
};

struct ratelimit_known {
    rl_table_t t;
    int64_t ttl;
};

/* --- the table ------------------------------------------------------------------------------ */

static int table_init(rl_table_t *t, size_t slots, ratelimit_hash_fn hash, void *arg)
{
    size_t buckets = 1;
    while (buckets * RATELIMIT_WAYS < slots) {
        if (buckets > SIZE_MAX / 2 / RATELIMIT_WAYS / sizeof(rl_entry_t))
            return -1;
        buckets *= 2;
    }
    t->entries = calloc(buckets * RATELIMIT_WAYS, sizeof *t->entries);
    if (!t->entries)
        return -1;
    t->mask = buckets - 1;
    t->hash = hash;
    t->hash_arg = arg;
    return 0;
}

/* The key as stored (truncated) and its hash. */
static uint64_t table_key(const rl_table_t *t, const char *key, char k[static RATELIMIT_KEY_MAX + 1])
{
    size_t n = strnlen(key, RATELIMIT_KEY_MAX);
    memcpy(k, key, n);
    k[n] = '\0';
    return t->hash(k, n, t->hash_arg);
}

static rl_entry_t *bucket_of(const rl_table_t *t, uint64_t h)
{
    return &t->entries[(h & t->mask) * RATELIMIT_WAYS];
}

static rl_entry_t *table_find(const rl_table_t *t, const char *key)
{
    char k[RATELIMIT_KEY_MAX + 1];
    uint64_t h = table_key(t, key, k);
    rl_entry_t *b = bucket_of(t, h);
    for (size_t i = 0; i < RATELIMIT_WAYS; i++)
        if (b[i].used && b[i].hash == h && strcmp(b[i].key, k) == 0)
            return &b[i];
    return NULL;
}

/* key's entry, made (in the slot `victim` picks from its full bucket) if it has none. */
static rl_entry_t *table_get(rl_table_t *t, const char *key,
                             rl_entry_t *(*victim)(const void *owner, rl_entry_t *bucket, int64_t now),
                             const void *owner, int64_t now)
{
    char k[RATELIMIT_KEY_MAX + 1];
    uint64_t h = table_key(t, key, k);
    rl_entry_t *b = bucket_of(t, h), *e = NULL;
    for (size_t i = 0; i < RATELIMIT_WAYS; i++)
        if (b[i].used && b[i].hash == h && strcmp(b[i].key, k) == 0)
            return &b[i];
    for (size_t i = 0; i < RATELIMIT_WAYS && !e; i++)
        if (!b[i].used)
            e = &b[i];
    if (!e)
        e = victim(owner, b, now);
    memset(e, 0, sizeof *e);
    e->used = true;
    e->hash = h;
    memcpy(e->key, k, sizeof k);
    return e;
}

/* --- the limiter ---------------------------------------------------------------------------- */

static int64_t window_len(const ratelimit_t *rl, const rl_entry_t *e)
{
    return rl->window << e->strikes;
}

/* Failures counted in the window in force at now. */
static unsigned current_failures(const ratelimit_t *rl, const rl_entry_t *e, int64_t now)
{
    if (e->failures == 0 || now - e->window_start >= window_len(rl, e))
        return 0;
    return e->failures;
}

static bool stale(const ratelimit_t *rl, const rl_entry_t *e, int64_t now)
{
    if (e->pending)
        return false;
    if (e->failures == 0)
        return true;
    int64_t age = now - e->window_start, len = window_len(rl, e);
    if (age < len)
        return false;
    return e->failures < rl->max_failures || rl->backoff_max == 0 || age >= 2 * len;
}

/* Orders entries by how much forgetting them would cost: pending ones are kept if at all
 * possible, then blocked, then more strikes, more failures, a more recent failure. */
static bool cheaper(const ratelimit_t *rl, const rl_entry_t *a, const rl_entry_t *b, int64_t now)
{
    if ((a->pending > 0) != (b->pending > 0))
        return b->pending > 0;
    unsigned fa = current_failures(rl, a, now), fb = current_failures(rl, b, now);
    bool ba = fa >= rl->max_failures, bb = fb >= rl->max_failures;
    if (ba != bb)
        return bb;
    if (a->strikes != b->strikes)
        return a->strikes < b->strikes;
    if (fa != fb)
        return fa < fb;
    return a->last < b->last;
}

static rl_entry_t *limiter_victim(const void *owner, rl_entry_t *b, int64_t now)
{
    const ratelimit_t *rl = owner;
    rl_entry_t *v = &b[0];
    for (size_t i = 0; i < RATELIMIT_WAYS; i++) {
        if (stale(rl, &b[i], now))
            return &b[i];
        if (cheaper(rl, &b[i], v, now))
            v = &b[i];
    }
    return v;
}

ratelimit_t *ratelimit_new(const ratelimit_params_t *p)
{
    if (!p || p->slots == 0 || p->max_failures == 0 || p->window_secs <= 0 || !p->hash ||
        p->backoff_max > RATELIMIT_BACKOFF_MAX || p->window_secs > (INT64_MAX >> (RATELIMIT_BACKOFF_MAX + 2)))
        return NULL;
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    if (table_init(&rl->t, p->slots, p->hash, p->hash_arg) != 0) {
        free(rl);
        return NULL;
    }
    rl->max_failures = p->max_failures;
    rl->window = p->window_secs;
    rl->backoff_max = p->backoff_max;
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl)
        return;
    free(rl->t.entries);
    free(rl);
}

ratelimit_verdict_t ratelimit_check(const ratelimit_t *rl, const char *key, int64_t now)
{
    const rl_entry_t *e = table_find(&rl->t, key);
    if (!e)
        return RATELIMIT_ALLOW;
    unsigned f = current_failures(rl, e, now);
    if (f >= rl->max_failures)
        return RATELIMIT_BLOCKED;
    if (e->pending >= rl->max_failures - f)
        return RATELIMIT_WAIT;
    return RATELIMIT_ALLOW;
}

bool ratelimit_blocked(const ratelimit_t *rl, const char *key, int64_t now)
{
    return ratelimit_check(rl, key, now) == RATELIMIT_BLOCKED;
}

void ratelimit_reserve(ratelimit_t *rl, const char *key, int64_t now)
{
    rl_entry_t *e = table_get(&rl->t, key, limiter_victim, rl, now);
    e->pending++;
    if (now > e->last)
        e->last = now;
}

ratelimit_verdict_t ratelimit_try_reserve(ratelimit_t *rl, const char *key, int64_t now)
{
    ratelimit_verdict_t v = ratelimit_check(rl, key, now);
    if (v == RATELIMIT_ALLOW)
        ratelimit_reserve(rl, key, now);
    return v;
}

static void count_failure(const ratelimit_t *rl, rl_entry_t *e, int64_t now)
{
    if (e->failures == 0) {
        e->window_start = now;
        e->strikes = 0;
    } else {
        int64_t age = now - e->window_start, len = window_len(rl, e);
        if (age >= len) {
            bool carry = rl->backoff_max > 0 && e->failures >= rl->max_failures && age < 2 * len;
            e->strikes = carry ? (e->strikes < rl->backoff_max ? e->strikes + 1 : e->strikes) : 0;
            e->window_start = now;
            e->failures = 0;
        }
    }
    e->failures++;
    e->last = now;
}

void ratelimit_settle(ratelimit_t *rl, const char *key, bool failed, int64_t now)
{
    rl_entry_t *e = table_find(&rl->t, key);
    if (e && e->pending > 0)
        e->pending--;
    if (failed)
        ratelimit_fail(rl, key, now);
}

void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now)
{
    count_failure(rl, table_get(&rl->t, key, limiter_victim, rl, now), now);
}

void ratelimit_reset(ratelimit_t *rl, const char *key)
{
    rl_entry_t *e = table_find(&rl->t, key);
    if (!e)
        return;
    e->failures = 0;
    e->strikes = 0;
    e->window_start = 0;
    if (e->pending == 0)
        memset(e, 0, sizeof *e);
}

int64_t ratelimit_window_of(const ratelimit_t *rl, const char *key)
{
    const rl_entry_t *e = table_find(&rl->t, key);
    return e ? window_len(rl, e) : rl->window;
}

/* --- known keys ----------------------------------------------------------------------------- */

static rl_entry_t *known_victim(const void *owner, rl_entry_t *b, int64_t now)
{
    const ratelimit_known_t *k = owner;
    rl_entry_t *v = &b[0];
    for (size_t i = 0; i < RATELIMIT_WAYS; i++) {
        if (now - b[i].last >= k->ttl)
            return &b[i];
        if (b[i].last < v->last)
            v = &b[i];
    }
    return v;
}

ratelimit_known_t *ratelimit_known_new(size_t slots, int64_t ttl_secs, ratelimit_hash_fn hash,
                                       void *hash_arg)
{
    if (slots == 0 || ttl_secs <= 0 || !hash)
        return NULL;
    ratelimit_known_t *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    if (table_init(&k->t, slots, hash, hash_arg) != 0) {
        free(k);
        return NULL;
    }
    k->ttl = ttl_secs;
    return k;
}

void ratelimit_known_free(ratelimit_known_t *k)
{
    if (!k)
        return;
    free(k->t.entries);
    free(k);
}

void ratelimit_known_add(ratelimit_known_t *k, const char *key, int64_t now)
{
    table_get(&k->t, key, known_victim, k, now)->last = now;
}

bool ratelimit_known_has(const ratelimit_known_t *k, const char *key, int64_t now)
{
    const rl_entry_t *e = table_find(&k->t, key);
    return e && now - e->last < k->ttl;
}

/* --- source keys ---------------------------------------------------------------------------- */

bool ratelimit_source_key(const char *addr, char out[static RATELIMIT_SOURCE_MAX])
{
    /* The prefix rules (/32, /64, IPv4-mapped) are netaddr's; this only renders the prefix. */
    struct sockaddr_in sin = {.sin_family = AF_INET};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    netaddr_prefix_t p;
    bool ok = inet_pton(AF_INET, addr, &sin.sin_addr) == 1
                  ? netaddr_prefix_of((const struct sockaddr *)&sin, &p)
                  : inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1 &&
                        netaddr_prefix_of((const struct sockaddr *)&sin6, &p);
    if (!ok) {
        size_t n = strnlen(addr, RATELIMIT_SOURCE_MAX - 1);
        memcpy(out, addr, n);
        out[n] = '\0';
        return false;
    }
    if (p.len == 4) {
        inet_ntop(AF_INET, p.bytes, out, RATELIMIT_SOURCE_MAX);
        return true;
    }
    unsigned char a[16] = {0};
    memcpy(a, p.bytes, p.len);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a, text, sizeof text);
    size_t n = strlen(text);
    memcpy(out, text, n);
    memcpy(out + n, "/64", 4);
    return true;
}
