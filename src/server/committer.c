/* committer: queue, batch loop and purchase decisions of the committer thread, the sync
 * thread that makes committed batches durable, and the checkpointer thread.
 *
 * Pipelined group commit: the committer thread commits a batch with the store's sync deferred
 * (store_defer_sync) and hands it to the sync thread, then goes on with the next batch while the
 * sync thread runs one store_sync (fsync) for every batch committed so far. Outcomes and stock
 * are released only after that sync, batch by batch in commit order. The checkpointer copies
 * committed pages into the database file every CHECKPOINT_EVERY_MS on its own connection, so
 * the committer's own (rarer, store_defer_checkpoints) checkpoints find little left to do.
 *
 * Invariants:
 *   1. Only the committer thread writes stock, orders, lines and purchase records.
 *   2. committed[i] is item i's stock as committed in the store; tentative[i] is that stock minus
 *      what the batch being built has sold. The catalog shows item i's stock only once durable
 *      (published by the sync thread).
 *   3. An outcome is posted only after the transaction holding it committed and a store_sync
 *      that began after that commit returned, or after it rolled back and the job was
 *      rewritten to COMMIT_FAILED (nothing bought, answered INTERNAL). If a sync fails, nothing
 *      after it is posted: the process stops (the durability of those commits is unknown; a
 *      restart recovers the truth).
 *   4. Batches are released in the order they committed.
 */
#include "server/committer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"

#define CHECKPOINT_EVERY_MS 100
#define PRUNE_PER_BATCH 1000     /* refused request records forgotten per batch, at most */
#define PRUNE_EVERY_SECS 60      /* how often a batch looks for expired ones (shorter retentions:
                                    half the retention) */

typedef struct {
    int sno;
    size_t index; /* into the catalog's item order */
} sno_index_t;

struct committer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    commit_job_t *head, *tail; /* queue, guarded by lock */
    size_t queued;
    bool stopping;
    committer_stats_t stats;   /* guarded by lock */

    pthread_t sync_thread;
    bool sync_started;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_wake;
    commit_job_t *sync_head, *sync_tail; /* committed batches, in order; guarded by sync_lock */
    bool sync_stopping;                  /* guarded by sync_lock */

    pthread_t checkpoint_thread;
    bool checkpoint_started;
    pthread_cond_t checkpoint_wake;      /* with lock; signalled on stop */
    store_t *checkpoint_store;           /* the checkpointer's own connection */

    size_t queue_max, batch_max, order_lines_max;
    int64_t request_retention; /* seconds a refused BUY's outcome is kept for its request id */
    int64_t next_prune_at;     /* Unix seconds: the first batch at or after it prunes */
    store_t *store;            /* this thread's own connection */
    const catalog_t *cat;
    size_t nitems;
    sno_index_t *by_sno;       /* sorted by sno */
    int64_t *committed;        /* invariant 2 */
    int64_t *tentative;
    size_t *touched;           /* item indexes changed in the current batch */
    size_t ntouched;
    bool *is_touched;
};

static int cmp_sno(const void *a, const void *b)
{
    const sno_index_t *x = a, *y = b;
    return (x->sno > y->sno) - (x->sno < y->sno);
}

/* The catalog index of sno, or -1. */
static long item_index(const committer_t *cm, int sno)
{
    sno_index_t key = {.sno = sno};
    const sno_index_t *hit = bsearch(&key, cm->by_sno, cm->nitems, sizeof key, cmp_sno);
    return hit ? (long)hit->index : -1;
}

static void touch(committer_t *cm, size_t i)
{
    if (!cm->is_touched[i]) {
        cm->is_touched[i] = true;
        cm->touched[cm->ntouched++] = i;
    }
}

/* Ends a batch: keeps (after commit) or forgets (after rollback) the tentative stock. */
static void end_batch(committer_t *cm, bool committed)
{
    for (size_t k = 0; k < cm->ntouched; k++) {
        size_t i = cm->touched[k];
        if (committed)
            cm->committed[i] = cm->tentative[i];
        else
            cm->tentative[i] = cm->committed[i];
        cm->is_touched[i] = false;
    }
    cm->ntouched = 0;
}

/* Makes every commit so far durable, or stops the process: after a failed fsync the state of
 * those commits on disk is unknown, and no outcome may be posted on a guess. */
static void sync_or_die(committer_t *cm)
{
    char err[256];
    if (store_sync(cm->store, err, sizeof err) != STORE_OK) {
        log_error("committer: %s; stopping (nothing unsynced was acknowledged)", err);
        abort();
    }
}

/* Releases durable jobs in commit order: a purchase made publishes the stock it left (so the
 * catalog ends at the newest durable value), then every outcome is posted. */
static void release(committer_t *cm, commit_job_t *jobs)
{
    for (commit_job_t *j = jobs; j;) {
        commit_job_t *next = j->qnext;
        j->qnext = NULL;
        if (j->kind == COMMIT_BUY && j->status == COMMIT_DECIDED && j->outcome == OUTCOME_BOUGHT &&
            !j->replayed)
            catalog_publish_stock(catalog_find_item(cm->cat, j->sno), j->stock_left);
        if (j->reply_to)
            mailbox_post(j->reply_to, &j->msg);
        else
            free(j);
        j = next;
    }
}

/* The sync thread: one store_sync for every batch committed since the last, then release. */
static void *sync_main(void *arg)
{
    committer_t *cm = arg;
    for (;;) {
        pthread_mutex_lock(&cm->sync_lock);
        while (!cm->sync_head && !cm->sync_stopping)
            pthread_cond_wait(&cm->sync_wake, &cm->sync_lock);
        commit_job_t *jobs = cm->sync_head;
        cm->sync_head = cm->sync_tail = NULL;
        pthread_mutex_unlock(&cm->sync_lock);
        if (!jobs)
            break; /* stopping, and nothing left */

        sync_or_die(cm);
        pthread_mutex_lock(&cm->lock);
        cm->stats.syncs++;
        pthread_mutex_unlock(&cm->lock);
        release(cm, jobs);
    }
    return NULL;
}

/* Appends a finished batch (first..last) to the sync thread's queue. */
static void hand_to_sync(committer_t *cm, commit_job_t *first, commit_job_t *last)
{
    pthread_mutex_lock(&cm->sync_lock);
    if (cm->sync_tail)
        cm->sync_tail->qnext = first;
    else
        cm->sync_head = first;
    cm->sync_tail = last;
    pthread_cond_signal(&cm->sync_wake);
    pthread_mutex_unlock(&cm->sync_lock);
}

static outcome_t decision_outcome(buy_decision_t d)
{
    switch (d) {
    case BUY_ALLOWED: return OUTCOME_BOUGHT;
    case BUY_INSUFFICIENT_STOCK: return OUTCOME_INSUFFICIENT_STOCK;
    case BUY_BAD_QUANTITY: return OUTCOME_BAD_QUANTITY;
    case BUY_ORDER_FULL: return OUTCOME_ORDER_FULL;
    case BUY_TOTAL_OVERFLOW: return OUTCOME_ORDER_TOTAL_TOO_LARGE;
    }
    log_error("committer: unknown purchase decision %d", (int)d);
    abort(); /* a broken invariant: order_decide_buy returns one of the above */
}

/* Applies one BUY inside the open transaction. Returns false on a store error (the batch must
 * roll back); otherwise job->status (and job->outcome) say what happened. With a request id,
 * every decision is recorded, a refusal as much as a purchase, with what its reply needs (the
 * stock left), so that a repeat answers the same bytes whatever happened since. */
static bool apply_buy(committer_t *cm, commit_job_t *job, int64_t now)
{
    bool has_rid = job->request_id[0] != '\0';
    if (has_rid) {
        store_request_t rec;
        store_status_t s = store_request_get(cm->store, job->user_id, job->request_id, &rec);
        if (s == STORE_OK && rec.outcome != OUTCOME_BOUGHT && rec.created_at < now - cm->request_retention) {
            /* A refusal past its retention is forgotten now, even before a prune reaches it:
             * the id is a new request (PROTOCOL.md, BUY). */
            if (store_request_forget(cm->store, job->user_id, job->request_id) != STORE_OK)
                return false;
            s = STORE_NOT_FOUND;
        }
        if (s == STORE_OK) {
            if (rec.sno != job->sno || rec.qty != job->qty) {
                job->status = COMMIT_CONFLICT;
                return true;
            }
            job->status = COMMIT_DECIDED;
            job->replayed = true;
            job->outcome = rec.outcome;
            if (rec.outcome == OUTCOME_BOUGHT)
                return store_line_get(cm->store, rec.line_id, &job->line) == STORE_OK;
            /* A refusal recorded before schema version 4 did not keep the stock left: those
             * (kept at most --request-retention after the upgrade) answer the stock now. */
            long i = item_index(cm, job->sno);
            job->stock_left = rec.stock_left >= 0 ? rec.stock_left : i >= 0 ? cm->tentative[i] : 0;
            return true;
        }
        if (s != STORE_NOT_FOUND)
            return false;
    }

    store_request_t rec = {.sno = job->sno, .qty = job->qty, .outcome = OUTCOME_BOUGHT,
                           .stock_left = -1};
    long i = item_index(cm, job->sno);
    job->status = COMMIT_DECIDED;
    if (i < 0) {
        job->outcome = OUTCOME_NO_SUCH_ITEM;
    } else {
        const catalog_item_t *item = catalog_item_at(cm->cat, (size_t)i);
        money_t line_total = 0;
        buy_decision_t d = order_decide_buy(cm->tentative[i], job->qty, catalog_item_price(item),
                                            job->order_lines, cm->order_lines_max, job->order_total,
                                            &line_total);
        job->outcome = decision_outcome(d);
        job->stock_left = cm->tentative[i];
        if (d == BUY_ALLOWED) {
            int64_t order_id = job->order_id;
            if (order_id == 0 && store_order_open(cm->store, job->user_id, now, &order_id) != STORE_OK)
                return false;
            store_line_t *line = &job->line;
            memset(line, 0, sizeof *line);
            line->order_id = order_id;
            line->sno = job->sno;
            snprintf(line->name, sizeof line->name, "%s", catalog_item_name(item));
            line->qty = job->qty;
            line->unit_price = catalog_item_price(item);
            line->line_total = line_total;
            store_status_t s = store_line_add(cm->store, line);
            if (s == STORE_NO_STOCK) {
                /* Invariant 2 broken: memory and store disagree. Trust the store. */
                log_error("committer: store refused stock for item %d that memory allowed", job->sno);
                job->outcome = OUTCOME_INSUFFICIENT_STOCK;
            } else if (s == STORE_NOT_FOUND) {
                /* The order is no longer open: this purchase alone fails (the store undid it). */
                log_error("committer: order %" PRId64 " is not open; purchase of item %d refused",
                          line->order_id, job->sno);
                job->status = COMMIT_FAILED;
            } else if (s != STORE_OK) {
                return false;
            } else {
                cm->tentative[i] -= job->qty;
                job->stock_left = cm->tentative[i];
                touch(cm, (size_t)i);
                rec.line_id = line->line_id;
            }
        }
    }
    /* A recorded outcome is final for its request id: record only decisions, never a failure
     * that a retry could get past. */
    if (!has_rid || job->status != COMMIT_DECIDED)
        return true;
    rec.outcome = job->outcome;
    if (job->outcome == OUTCOME_INSUFFICIENT_STOCK)
        rec.stock_left = job->stock_left;
    rec.created_at = now;
    return store_request_put(cm->store, job->user_id, job->request_id, &rec) == STORE_OK;
}

/* Runs one batch in one transaction; on any store failure every BUY in it answers INTERNAL. */
static void run_batch(committer_t *cm, commit_job_t *batch)
{
    int64_t now = (int64_t)time(NULL);
    bool ok = store_begin(cm->store) == STORE_OK;
    for (commit_job_t *j = batch; ok && j; j = j->qnext) {
        switch (j->kind) { /* no default: -Wswitch names a new kind left unhandled */
        case COMMIT_BUY:
            ok = apply_buy(cm, j, now);
            break;
        case COMMIT_CLOSE_ORDER:
            ok = store_order_close(cm->store, j->order_id, now) != STORE_ERROR;
            break;
        }
    }
    /* Refused outcomes expire (PROTOCOL.md, BUY): a few at a time, in the batch's transaction. */
    if (ok && now >= cm->next_prune_at) {
        int64_t deleted = 0;
        ok = store_requests_prune(cm->store, now - cm->request_retention, PRUNE_PER_BATCH, &deleted) == STORE_OK;
        int64_t every = cm->request_retention / 2 < PRUNE_EVERY_SECS ? cm->request_retention / 2 : PRUNE_EVERY_SECS;
        cm->next_prune_at = deleted == PRUNE_PER_BATCH ? now : now + (every > 0 ? every : 1);
    }
    if (ok)
        ok = store_commit(cm->store) == STORE_OK;
    if (!ok) {
        log_error("committer: batch failed, nothing in it was applied: %s", store_errmsg(cm->store));
        store_rollback(cm->store);
        for (commit_job_t *j = batch; j; j = j->qnext) {
            j->status = COMMIT_FAILED;
            j->replayed = false;
        }
    }
    end_batch(cm, ok);
    commit_job_t *last = batch;
    while (last->qnext)
        last = last->qnext;
    hand_to_sync(cm, batch, last);
}

/* The checkpointer thread: a passive checkpoint every CHECKPOINT_EVERY_MS while batches come. */
static void *checkpoint_main(void *arg)
{
    committer_t *cm = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&cm->lock);
    while (!cm->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += CHECKPOINT_EVERY_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cm->checkpoint_wake, &cm->lock, &until);
        if (cm->stopping || cm->stats.batches == seen)
            continue;
        seen = cm->stats.batches;
        pthread_mutex_unlock(&cm->lock);
        if (store_checkpoint(cm->checkpoint_store) != STORE_OK)
            log_error("checkpointer: %s", store_errmsg(cm->checkpoint_store));
        pthread_mutex_lock(&cm->lock);
    }
    pthread_mutex_unlock(&cm->lock);
    return NULL;
}

static void *committer_main(void *arg)
{
    committer_t *cm = arg;
    for (;;) {
        pthread_mutex_lock(&cm->lock);
        while (!cm->head && !cm->stopping)
            pthread_cond_wait(&cm->wake, &cm->lock);
        if (!cm->head) {
            pthread_mutex_unlock(&cm->lock);
            break;
        }
        /* Take up to batch_max jobs: everything that queued while the last batch was syncing. */
        commit_job_t *batch = cm->head, *last = cm->head;
        size_t n = 1;
        while (last->qnext && n < cm->batch_max) {
            last = last->qnext;
            n++;
        }
        cm->head = last->qnext;
        if (!cm->head)
            cm->tail = NULL;
        last->qnext = NULL;
        cm->queued -= n;
        cm->stats.batches++;
        cm->stats.jobs += n;
        if (n > cm->stats.largest_batch)
            cm->stats.largest_batch = n;
        pthread_mutex_unlock(&cm->lock);

        run_batch(cm, batch);
    }
    return NULL;
}

static void committer_free(committer_t *cm)
{
    if (!cm)
        return;
    if (cm->checkpoint_started) {
        pthread_mutex_lock(&cm->lock);
        cm->stopping = true;
        pthread_cond_signal(&cm->checkpoint_wake);
        pthread_mutex_unlock(&cm->lock);
        pthread_join(cm->checkpoint_thread, NULL);
    }
    store_close(cm->checkpoint_store);
    if (cm->sync_started) {
        pthread_mutex_lock(&cm->sync_lock);
        cm->sync_stopping = true;
        pthread_cond_signal(&cm->sync_wake);
        pthread_mutex_unlock(&cm->sync_lock);
        pthread_join(cm->sync_thread, NULL); /* it releases whatever is still queued first */
    }
    store_close(cm->store);
    free(cm->by_sno);
    free(cm->committed);
    free(cm->tentative);
    free(cm->touched);
    free(cm->is_touched);
    pthread_cond_destroy(&cm->wake);
    pthread_mutex_destroy(&cm->lock);
    pthread_cond_destroy(&cm->sync_wake);
    pthread_cond_destroy(&cm->checkpoint_wake);
    pthread_mutex_destroy(&cm->sync_lock);
    free(cm);
}

committer_t *committer_start(const char *db_path, const catalog_t *cat, size_t queue_max,
                             size_t batch_max, size_t order_lines_max, int64_t request_retention,
                             char *err, size_t errlen)
{
    committer_t *cm = calloc(1, sizeof *cm);
    if (!cm) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cm->request_retention = request_retention;
    pthread_mutex_init(&cm->lock, NULL);
    pthread_cond_init(&cm->wake, NULL);
    pthread_mutex_init(&cm->sync_lock, NULL);
    pthread_cond_init(&cm->sync_wake, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&cm->checkpoint_wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    cm->queue_max = queue_max;
    cm->batch_max = batch_max ? batch_max : 1;
    cm->order_lines_max = order_lines_max;
    cm->cat = cat;
    cm->nitems = catalog_item_count(cat);
    size_t n = cm->nitems ? cm->nitems : 1;
    cm->by_sno = calloc(n, sizeof *cm->by_sno);
    cm->committed = calloc(n, sizeof *cm->committed);
    cm->tentative = calloc(n, sizeof *cm->tentative);
    cm->touched = calloc(n, sizeof *cm->touched);
    cm->is_touched = calloc(n, sizeof *cm->is_touched);
    if (!cm->by_sno || !cm->committed || !cm->tentative || !cm->touched || !cm->is_touched) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cm->nitems; i++) {
        const catalog_item_t *item = catalog_item_at(cat, i);
        cm->by_sno[i] = (sno_index_t){.sno = catalog_item_sno(item), .index = i};
        cm->committed[i] = cm->tentative[i] = catalog_item_stock(item);
    }
    qsort(cm->by_sno, cm->nitems, sizeof *cm->by_sno, cmp_sno);

    cm->store = store_open(db_path, err, errlen);
    if (!cm->store)
        goto fail;
    if (store_orders_close_all(cm->store, (int64_t)time(NULL)) != STORE_OK) {
        snprintf(err, errlen, "closing orders of ended sessions: %s", store_errmsg(cm->store));
        goto fail;
    }
    if (store_defer_sync(cm->store) != STORE_OK || store_defer_checkpoints(cm->store) != STORE_OK) {
        snprintf(err, errlen, "%s", store_errmsg(cm->store));
        goto fail;
    }
    if (!(cm->checkpoint_store = store_open(db_path, err, errlen)))
        goto fail;
    if (pthread_create(&cm->sync_thread, NULL, sync_main, cm) != 0) {
        snprintf(err, errlen, "cannot start the committer's sync thread");
        goto fail;
    }
    cm->sync_started = true;
    pthread_setname_np(cm->sync_thread, "committer-sync"); /* 15 characters at most */
    if (pthread_create(&cm->checkpoint_thread, NULL, checkpoint_main, cm) != 0) {
        snprintf(err, errlen, "cannot start the checkpointer thread");
        goto fail;
    }
    cm->checkpoint_started = true;
    pthread_setname_np(cm->checkpoint_thread, "checkpointer");
    if (pthread_create(&cm->thread, NULL, committer_main, cm) != 0) {
        snprintf(err, errlen, "cannot start the committer thread");
        goto fail;
    }
    pthread_setname_np(cm->thread, "committer"); /* for top -H, perf and gdb */
    return cm;
fail:
    committer_free(cm);
    return NULL;
}

bool committer_submit(committer_t *cm, commit_job_t *job)
{
    job->qnext = NULL;
    pthread_mutex_lock(&cm->lock);
    if (cm->stopping || cm->queued >= cm->queue_max) {
        pthread_mutex_unlock(&cm->lock);
        return false;
    }
    if (cm->tail)
        cm->tail->qnext = job;
    else
        cm->head = job;
    cm->tail = job;
    cm->queued++;
    pthread_cond_signal(&cm->wake);
    pthread_mutex_unlock(&cm->lock);
    return true;
}

void committer_stop(committer_t *cm)
{
    if (!cm)
        return;
    pthread_mutex_lock(&cm->lock);
    cm->stopping = true;
    pthread_cond_signal(&cm->wake);
    pthread_mutex_unlock(&cm->lock);
    pthread_join(cm->thread, NULL);
    committer_free(cm);
}

void committer_get_stats(committer_t *cm, committer_stats_t *out)
{
    pthread_mutex_lock(&cm->lock);
    *out = cm->stats;
    pthread_mutex_unlock(&cm->lock);
}
