/* auth: the hashing threads, their queue and the shared failed-login limiter. */
#include "server/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ratelimit.h"
#include "server/log.h"
#include "store/store.h"

#define AUTH_THREADS_MAX 64
#define RATELIMIT_SLOTS 4096

struct auth_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    auth_job_t *head, *tail;
    size_t queued, queue_max;
    bool stopping;
    ratelimit_t *limiter;        /* guarded by lock */
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

static void limiter_keys(const auth_job_t *job, char user_key[static RATELIMIT_KEY_MAX + 1],
                         char addr_key[static RATELIMIT_KEY_MAX + 1])
{
    snprintf(user_key, RATELIMIT_KEY_MAX + 1, "u:%s", job->user);
    snprintf(addr_key, RATELIMIT_KEY_MAX + 1, "a:%s", job->peer);
}

static void check_login(auth_pool_t *ap, store_t *st, auth_job_t *job)
{
    char ukey[RATELIMIT_KEY_MAX + 1], akey[RATELIMIT_KEY_MAX + 1];
    limiter_keys(job, ukey, akey);
    int64_t now = (int64_t)time(NULL);

    pthread_mutex_lock(&ap->lock);
    bool blocked = ratelimit_blocked(ap->limiter, ukey, now) || ratelimit_blocked(ap->limiter, akey, now);
    pthread_mutex_unlock(&ap->lock);
    if (blocked) {
        job->result = SHOP1_ERR_RATE_LIMITED;
        return;
    }

    char hash[STORE_PWHASH_MAX];
    int64_t user_id = 0;
    store_status_t s = store_user_get(st, job->user, &user_id, hash, sizeof hash);
    if (s == STORE_ERROR) {
        log_error("login: user look-up failed: %s", store_errmsg(st));
        job->result = SHOP1_ERR_INTERNAL;
        return;
    }
    const char *against = s == STORE_OK ? hash : ap->dummy_hash;
    bool match = crypto_pwhash_str_verify(against, job->password, strlen(job->password)) == 0;
    bool ok = match && s == STORE_OK;

    pthread_mutex_lock(&ap->lock);
    if (ok) {
        ratelimit_reset(ap->limiter, ukey);
    } else {
        ratelimit_fail(ap->limiter, ukey, now);
        ratelimit_fail(ap->limiter, akey, now);
    }
    pthread_mutex_unlock(&ap->lock);

    job->result = ok ? SHOP1_OK : SHOP1_ERR_AUTH_FAILED;
    job->user_id = ok ? user_id : 0;
    sodium_memzero(hash, sizeof hash);
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
        check_login(ap, a.store, job);
        sodium_memzero(job->password, sizeof job->password);
        mailbox_post(job->reply_to, &job->msg);
    }
    return NULL;
}

static void auth_pool_free(auth_pool_t *ap)
{
    for (int i = 0; i < AUTH_THREADS_MAX; i++)
        store_close(ap->stores[i]);
    ratelimit_free(ap->limiter);
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
    ap->queue_max = queue_max;
    ap->limiter = ratelimit_new(RATELIMIT_SLOTS, max_failures, window_secs);
    if (!ap->limiter) {
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
    for (int i = 0; i < threads; i++) {
        ap->stores[i] = store_open(db_path, err, errlen);
        if (!ap->stores[i])
            goto fail;
    }
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
