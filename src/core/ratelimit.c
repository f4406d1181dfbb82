/* ratelimit: a small open table of failure counters with a fixed window per key.
 * The window starts at a key's first failure; once it has passed the count starts again. */
#include "core/ratelimit.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[RATELIMIT_KEY_MAX + 1];
    int64_t window_start; /* time of the first failure counted */
    int64_t last_fail;
    unsigned failures;    /* 0: the slot is free */
} rl_slot_t;

struct ratelimit {
    rl_slot_t *slots;
    size_t nslots;
    unsigned max_failures;
    int64_t window;
};

ratelimit_t *ratelimit_new(size_t slots, unsigned max_failures, int64_t window_secs)
{
    if (slots == 0 || max_failures == 0 || window_secs <= 0)
        return NULL;
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->slots = calloc(slots, sizeof *rl->slots);
    if (!rl->slots) {
        free(rl);
        return NULL;
    }
    rl->nslots = slots;
    rl->max_failures = max_failures;
    rl->window = window_secs;
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl)
        return;
    free(rl->slots);
    free(rl);
}

static void copy_key(char dst[static RATELIMIT_KEY_MAX + 1], const char *key)
{
    size_t n = strnlen(key, RATELIMIT_KEY_MAX);
    memcpy(dst, key, n);
    dst[n] = '\0';
}

static rl_slot_t *find(const ratelimit_t *rl, const char *key)
{
    char k[RATELIMIT_KEY_MAX + 1];
    copy_key(k, key);
    for (size_t i = 0; i < rl->nslots; i++)
        if (rl->slots[i].failures && strcmp(rl->slots[i].key, k) == 0)
            return &rl->slots[i];
    return NULL;
}

bool ratelimit_blocked(const ratelimit_t *rl, const char *key, int64_t now)
{
    const rl_slot_t *s = find(rl, key);
    if (!s || now - s->window_start >= rl->window)
        return false;
    return s->failures >= rl->max_failures;
}

void ratelimit_fail(ratelimit_t *rl, const char *key, int64_t now)
{
    rl_slot_t *s = find(rl, key);
    if (!s) {
        /* A free slot, else the one whose last failure is oldest. */
        s = &rl->slots[0];
        for (size_t i = 0; i < rl->nslots; i++) {
            if (!rl->slots[i].failures) {
                s = &rl->slots[i];
                break;
            }
            if (rl->slots[i].last_fail < s->last_fail)
                s = &rl->slots[i];
        }
        copy_key(s->key, key);
        s->failures = 0;
    }
    if (s->failures == 0 || now - s->window_start >= rl->window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    s->last_fail = now;
}

void ratelimit_reset(ratelimit_t *rl, const char *key)
{
    rl_slot_t *s = find(rl, key);
    if (s)
        memset(s, 0, sizeof *s);
}
