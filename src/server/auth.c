/* auth: the hashing threads, their queue and the shared failed-login limiter.
 *
 * A LOGIN job, on a hashing thread:
 *   limiter_reserve (under the lock; waits while attempts in flight could use up the limit)
 *     -> RATE_LIMITED, no hash spent
 *     -> look-up, argon2id verify (unknown user: the dummy hash) -> limiter_settle (the lock)
 *        -> the reply, or, when it came sooner than an interactive check would (pwtime), the
 *           delay list, from which the delay thread posts it when due */
#include "server/auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pwtime.h"
#include "core/ratelimit.h"
#include "server/log.h"
#include "store/store.h"

#define AUTH_THREADS_MAX 64

/* The login limiter's sizes (see ARCHITECTURE.md "Login" and PROTOCOL.md LOGIN). */
#define AUTH_SOURCE_SLOTS 4096            /* failure counters per source prefix */
#define AUTH_ACCOUNT_SLOTS 4096           /* failure counters per account (unknown sources) */
#define AUTH_PAIR_SLOTS 4096              /* failure counters per account from a known source */
#define AUTH_KNOWN_SLOTS 16384            /* account+source pairs that logged in */
#define AUTH_KNOWN_TTL (30 * 24 * 3600)   /* a known source is forgotten 30 days after its last login */
#define AUTH_ACCOUNT_BACKOFF 5            /* an account's window doubles up to 32 times (32 min) */

struct auth_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t settled;      /* a limiter reservation was settled */
    pthread_cond_t delay_wake;   /* the delay list changed (CLOCK_MONOTONIC) */
    auth_job_t *delayed;         /* replies held back, by due_ns */
    bool delay_stopping;         /* the hashing threads are gone: post what is left, exit */
    bool delay_started;
    pthread_t delay_thread;
    auth_job_t *head, *tail;
    size_t queued, queue_max;
    bool stopping;
    /* The limiter, guarded by lock. A source is a prefix (IPv4 /32, IPv6 /64); a pair is an
     * account and a source; a known pair has logged in within AUTH_KNOWN_TTL. */
    ratelimit_t *sources;        /* every failure from an unknown pair, per source */
    ratelimit_t *accounts;       /* every failure from an unknown pair, per account, backoff */
    ratelimit_t *pairs;          /* failures of known pairs */
    ratelimit_known_t *known;
    pwtime_t pwtime;             /* the wall time a check must seem to take */
    unsigned char hash_key[crypto_shorthash_KEYBYTES]; /* the tables' secret hash key */
    char dummy_hash[crypto_pwhash_STRBYTES]; /* verified for unknown users: equal cost */
    int nthreads;
    pthread_t threads[AUTH_THREADS_MAX];
    store_t *stores[AUTH_THREADS_MAX];
};

typedef struct {
    auth_pool_t *ap;
    store_t *store;
} auth_thread_arg_t;

int auth_hash_password(const char *password, char *out, size_t cap)
{
    if (cap < crypto_pwhash_STRBYTES)
        return -1;
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* The limiter tables' hash: SipHash-2-4 under the pool's random key, so bucket placement
 * cannot be predicted from outside. */
static uint64_t limiter_hash(const void *key, size_t len, void *arg)
{
    const auth_pool_t *ap = arg;
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, key, len, ap->hash_key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ratelimit_verdict_t worse(ratelimit_verdict_t a, ratelimit_verdict_t b)
{
    return a > b ? a : b;
}

/* The limiter's keys of a job. */
typedef struct {
    char source[RATELIMIT_SOURCE_MAX];
    char pair[RATELIMIT_KEY_MAX + 1];
    const char *account;
    bool known;              /* decided when the attempt was reserved */
} limiter_keys_t;

/* Waits until the job's attempt is either refused (RATELIMIT_BLOCKED) or reserved
 * (RATELIMIT_ALLOW) on the counters that apply to it. A known pair answers to its own counter
 * only; anything else to its source's and its account's. Called with ap->lock held. */
static ratelimit_verdict_t limiter_reserve(auth_pool_t *ap, limiter_keys_t *k)
{
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        k->known = ratelimit_known_has(ap->known, k->pair, now);
        ratelimit_verdict_t v = k->known ? ratelimit_check(ap->pairs, k->pair, now)
                                         : worse(ratelimit_check(ap->sources, k->source, now),
                                                 ratelimit_check(ap->accounts, k->account, now));
        if (v == RATELIMIT_BLOCKED)
            return v;
        if (v == RATELIMIT_ALLOW) {
            if (k->known) {
                ratelimit_reserve(ap->pairs, k->pair, now);
            } else {
                ratelimit_reserve(ap->sources, k->source, now);
                ratelimit_reserve(ap->accounts, k->account, now);
            }
            return v;
        }
        /* Attempts in flight could use up what is left: their outcome decides ours. */
        pthread_cond_wait(&ap->settled, &ap->lock);
    }
}

/* Settles the reservation of limiter_reserve: a failure unless ok; a success makes the pair
 * known and clears its own counter. Called with ap->lock held. */
static void limiter_settle(auth_pool_t *ap, const limiter_keys_t *k, bool attempted, bool ok)
{
    int64_t now = (int64_t)time(NULL);
    bool failed = attempted && !ok;
    if (k->known) {
        ratelimit_settle(ap->pairs, k->pair, failed, now);
    } else {
        ratelimit_settle(ap->sources, k->source, failed, now);
        ratelimit_settle(ap->accounts, k->account, failed, now);
    }
    if (ok) {
        ratelimit_reset(ap->pairs, k->pair);
        ratelimit_known_add(ap->known, k->pair, now);
    }
    pthread_cond_broadcast(&ap->settled);
}

/* Checks job; returns how long its reply must be held back (ns, 0: post it now). */
static int64_t check_login(auth_pool_t *ap, store_t *st, auth_job_t *job)
{
    limiter_keys_t k = {.account = job->user};
    ratelimit_source_key(job->peer, k.source);
    snprintf(k.pair, sizeof k.pair, "%s %s", job->user, k.source);

    pthread_mutex_lock(&ap->lock);
    ratelimit_verdict_t v = limiter_reserve(ap, &k);
    pthread_mutex_unlock(&ap->lock);
    if (v == RATELIMIT_BLOCKED) {
        job->result = SHOP1_ERR_RATE_LIMITED;
        return 0;
    }

    int64_t t0 = monotonic_ns();
    char hash[STORE_PWHASH_MAX];
    int64_t user_id = 0;
    store_status_t s = store_user_get(st, job->user, &user_id, hash, sizeof hash);
    if (s == STORE_ERROR) {
        log_error("login: user look-up failed: %s", store_errmsg(st));
        pthread_mutex_lock(&ap->lock);
        limiter_settle(ap, &k, false, false);
        pthread_mutex_unlock(&ap->lock);
        job->result = SHOP1_ERR_INTERNAL;
        return 0;
    }
    const char *against = s == STORE_OK ? hash : ap->dummy_hash;
    bool match = crypto_pwhash_str_verify(against, job->password, strlen(job->password)) == 0;
    bool ok = match && s == STORE_OK;
    int64_t elapsed = monotonic_ns() - t0;
    /* Exactly interactive cost: a sample of what every check must seem to cost. */
    bool interactive = crypto_pwhash_str_needs_rehash(against, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                      crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;

    pthread_mutex_lock(&ap->lock);
    limiter_settle(ap, &k, true, ok);
    if (interactive)
        pwtime_observe(&ap->pwtime, elapsed);
    int64_t pad = pwtime_pad_ns(&ap->pwtime, elapsed);
    pthread_mutex_unlock(&ap->lock);

    job->result = ok ? SHOP1_OK : SHOP1_ERR_AUTH_FAILED;
    job->user_id = ok ? user_id : 0;
    sodium_memzero(hash, sizeof hash);
    /* A cheaper hash (user add --hash-cost minimal) answers no sooner than an unknown user. */
    job->due_ns = t0 + elapsed + pad;
    return pad;
}

/* Holds job's reply back until job->due_ns (the list is kept in due order). */
static void delay_reply(auth_pool_t *ap, auth_job_t *job)
{
    pthread_mutex_lock(&ap->lock);
    auth_job_t **pp = &ap->delayed;
    while (*pp && (*pp)->due_ns <= job->due_ns)
        pp = &(*pp)->qnext;
    job->qnext = *pp;
    *pp = job;
    if (ap->delayed == job)
        pthread_cond_signal(&ap->delay_wake);
    pthread_mutex_unlock(&ap->lock);
}

/* The delay thread: posts each held-back reply when it is due; once the hashing threads have
 * stopped, posts what is left at once and exits. */
static void *delay_main(void *arg)
{
    auth_pool_t *ap = arg;
    pthread_mutex_lock(&ap->lock);
    for (;;) {
        auth_job_t *job = ap->delayed;
        if (!job) {
            if (ap->delay_stopping)
                break;
            pthread_cond_wait(&ap->delay_wake, &ap->lock);
            continue;
        }
        if (!ap->delay_stopping && monotonic_ns() < job->due_ns) {
            struct timespec until = {.tv_sec = job->due_ns / 1000000000,
                                     .tv_nsec = job->due_ns % 1000000000};
            pthread_cond_timedwait(&ap->delay_wake, &ap->lock, &until);
            continue;
        }
        ap->delayed = job->qnext;
        job->qnext = NULL;
        pthread_mutex_unlock(&ap->lock);
        mailbox_post(job->reply_to, &job->msg);
        pthread_mutex_lock(&ap->lock);
    }
    pthread_mutex_unlock(&ap->lock);
    return NULL;
}

static void *auth_main(void *arg)
{
    auth_thread_arg_t a = *(auth_thread_arg_t *)arg;
    free(arg);
    auth_pool_t *ap = a.ap;
    for (;;) {
        pthread_mutex_lock(&ap->lock);
        while (!ap->head && !ap->stopping)
            pthread_cond_wait(&ap->wake, &ap->lock);
        auth_job_t *job = ap->head;
        if (!job) {
            pthread_mutex_unlock(&ap->lock);
            break;
        }
        ap->head = job->qnext;
        if (!ap->head)
            ap->tail = NULL;
        ap->queued--;
        pthread_mutex_unlock(&ap->lock);

        job->qnext = NULL;
        int64_t hold = check_login(ap, a.store, job);
        sodium_memzero(job->password, sizeof job->password);
        if (hold > 0)
            delay_reply(ap, job);
        else
            mailbox_post(job->reply_to, &job->msg);
    }
    return NULL;
}

static void auth_pool_free(auth_pool_t *ap);

static void auth_pool_free_tables(auth_pool_t *ap)
{
    for (int i = 0; i < AUTH_THREADS_MAX; i++)
        store_close(ap->stores[i]);
    ratelimit_free(ap->sources);
    ratelimit_free(ap->accounts);
    ratelimit_free(ap->pairs);
    ratelimit_known_free(ap->known);
    sodium_memzero(ap->hash_key, sizeof ap->hash_key);
    pthread_cond_destroy(&ap->delay_wake);
    pthread_cond_destroy(&ap->settled);
    pthread_cond_destroy(&ap->wake);
    pthread_mutex_destroy(&ap->lock);
    free(ap);
}

auth_pool_t *auth_pool_start(const char *db_path, int threads, size_t queue_max,
                             unsigned max_failures, int window_secs, char *err, size_t errlen)
{
    if (threads < 1 || threads > AUTH_THREADS_MAX) {
        snprintf(err, errlen, "auth threads must be 1..%d", AUTH_THREADS_MAX);
        return NULL;
    }
    auth_pool_t *ap = calloc(1, sizeof *ap);
    if (!ap) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ap->lock, NULL);
    pthread_cond_init(&ap->wake, NULL);
    pthread_cond_init(&ap->settled, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ap->delay_wake, &ca);
    pthread_condattr_destroy(&ca);
    ap->queue_max = queue_max;
    crypto_shorthash_keygen(ap->hash_key);
    ratelimit_params_t p = {.max_failures = max_failures, .window_secs = window_secs,
                            .hash = limiter_hash, .hash_arg = ap};
    p.slots = AUTH_SOURCE_SLOTS;
    ap->sources = ratelimit_new(&p);
    p.slots = AUTH_PAIR_SLOTS;
    ap->pairs = ratelimit_new(&p);
    p.slots = AUTH_ACCOUNT_SLOTS;
    p.backoff_max = AUTH_ACCOUNT_BACKOFF;
    ap->accounts = ratelimit_new(&p);
    ap->known = ratelimit_known_new(AUTH_KNOWN_SLOTS, AUTH_KNOWN_TTL, limiter_hash, ap);
    if (!ap->sources || !ap->pairs || !ap->accounts || !ap->known) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* A hash of random bytes: no password matches it, and checking it costs a real hash. */
    unsigned char junk[32];
    randombytes_buf(junk, sizeof junk);
    if (crypto_pwhash_str(ap->dummy_hash, (const char *)junk, sizeof junk,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf(err, errlen, "cannot hash (out of memory?)");
        goto fail;
    }
    /* What checking the dummy costs on this machine: the least of two (the first warms up). */
    int64_t best = INT64_MAX;
    for (int i = 0; i < 2; i++) {
        int64_t t0 = monotonic_ns();
        int rc = crypto_pwhash_str_verify(ap->dummy_hash, "-", 1);
        int64_t t = monotonic_ns() - t0;
        (void)rc; /* no password matches the dummy */
        best = t < best ? t : best;
    }
    pwtime_init(&ap->pwtime, best);
    for (int i = 0; i < threads; i++) {
        ap->stores[i] = store_open(db_path, err, errlen);
        if (!ap->stores[i])
            goto fail;
    }
    if (pthread_create(&ap->delay_thread, NULL, delay_main, ap) != 0) {
        snprintf(err, errlen, "cannot start the auth threads");
        goto fail;
    }
    ap->delay_started = true;
    pthread_setname_np(ap->delay_thread, "auth-delay");
    for (int i = 0; i < threads; i++) {
        auth_thread_arg_t *a = malloc(sizeof *a);
        if (a)
            *a = (auth_thread_arg_t){.ap = ap, .store = ap->stores[i]};
        if (!a || pthread_create(&ap->threads[i], NULL, auth_main, a) != 0) {
            free(a);
            snprintf(err, errlen, "cannot start the auth threads");
            ap->nthreads = i;
            auth_pool_stop(ap);
            return NULL;
        }
        char name[16];
        snprintf(name, sizeof name, "auth-%d", i);
        pthread_setname_np(ap->threads[i], name); /* for top -H, perf and gdb */
    }
    ap->nthreads = threads;
    return ap;
fail:
    auth_pool_free(ap);
    return NULL;
}

bool auth_submit(auth_pool_t *ap, auth_job_t *job)
{
    job->qnext = NULL;
    pthread_mutex_lock(&ap->lock);
    if (ap->stopping || ap->queued >= ap->queue_max) {
        pthread_mutex_unlock(&ap->lock);
        return false;
    }
    if (ap->tail)
        ap->tail->qnext = job;
    else
        ap->head = job;
    ap->tail = job;
    ap->queued++;
    pthread_cond_signal(&ap->wake);
    pthread_mutex_unlock(&ap->lock);
    return true;
}

void auth_pool_stop(auth_pool_t *ap)
{
    if (!ap)
        return;
    pthread_mutex_lock(&ap->lock);
    ap->stopping = true;
    pthread_cond_broadcast(&ap->wake);
    pthread_mutex_unlock(&ap->lock);
    for (int i = 0; i < ap->nthreads; i++)
        pthread_join(ap->threads[i], NULL);
    auth_pool_free(ap);
}

static void auth_pool_free(auth_pool_t *ap)
{
    if (ap->delay_started) {
        pthread_mutex_lock(&ap->lock);
        ap->delay_stopping = true;
        pthread_cond_broadcast(&ap->delay_wake);
        pthread_mutex_unlock(&ap->lock);
        pthread_join(ap->delay_thread, NULL);
    }
    auth_pool_free_tables(ap);
}
