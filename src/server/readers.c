/* readers: the reader threads and their queue (see readers.h). A job's life:
 *   worker: reader_submit (bounded queue; full -> the worker answers BUSY)
 *   reader: takes it, reads (its own read-only store connection), posts it to job->reply_to
 *   worker: job->msg.deliver formats the reply, resumes the request, read_job_free */
#include "server/readers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/log.h"

#define READER_THREADS_MAX 64

struct reader_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    read_job_t *head, *tail;
    size_t queued, queue_max;
    bool stopping;               /* no new jobs; threads finish the queue and exit */
    int nthreads;
    pthread_t threads[READER_THREADS_MAX];
    store_t *stores[READER_THREADS_MAX];
};

typedef struct {
    reader_pool_t *rp;
    store_t *store;
} reader_arg_t;

/* Fills job's outcome from st. Errors are logged here, where the store's message is. */
static void read_one(store_t *st, read_job_t *job)
{
    switch (job->kind) {
    case READ_RECEIPT:
        job->status = store_order_get(st, job->order_id, job->user_id, &job->order, &job->lines, &job->n);
        if (job->status != STORE_OK && job->status != STORE_NOT_FOUND) {
            log_error("receipt: %s", store_errmsg(st));
            job->status = STORE_ERROR;
        }
        return;
    case READ_ORDERS:
        job->status = store_orders_list(st, job->user_id, job->limit, &job->orders, &job->n);
        if (job->status != STORE_OK) {
            log_error("orders: %s", store_errmsg(st));
            job->status = STORE_ERROR;
        }
        return;
    }
    job->status = STORE_ERROR; /* not reached: submitters set a kind */
}

static void *reader_main(void *arg)
{
    reader_arg_t a = *(reader_arg_t *)arg;
    free(arg);
    reader_pool_t *rp = a.rp;
    for (;;) {
        pthread_mutex_lock(&rp->lock);
        while (!rp->head && !rp->stopping)
            pthread_cond_wait(&rp->wake, &rp->lock);
        read_job_t *job = rp->head;
        if (!job) {
            pthread_mutex_unlock(&rp->lock);
            break;
        }
        rp->head = job->qnext;
        if (!rp->head)
            rp->tail = NULL;
        rp->queued--;
        pthread_mutex_unlock(&rp->lock);
        job->qnext = NULL;
        read_one(a.store, job);
        mailbox_post(job->reply_to, &job->msg);
    }
    return NULL;
}

static void reader_pool_free(reader_pool_t *rp)
{
    for (int i = 0; i < READER_THREADS_MAX; i++)
        store_close(rp->stores[i]);
    pthread_cond_destroy(&rp->wake);
    pthread_mutex_destroy(&rp->lock);
    free(rp);
}

reader_pool_t *reader_pool_start(const char *db_path, int threads, size_t queue_max, char *err,
                                 size_t errlen)
{
    if (threads < 1 || threads > READER_THREADS_MAX) {
        snprintf(err, errlen, "reader threads must be 1..%d", READER_THREADS_MAX);
        return NULL;
    }
    reader_pool_t *rp = calloc(1, sizeof *rp);
    if (!rp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&rp->lock, NULL);
    pthread_cond_init(&rp->wake, NULL);
    rp->queue_max = queue_max;
    for (int i = 0; i < threads; i++) {
        rp->stores[i] = store_open(db_path, err, errlen);
        if (!rp->stores[i])
            goto fail;
        if (store_read_only(rp->stores[i]) != STORE_OK) {
            snprintf(err, errlen, "%s", store_errmsg(rp->stores[i]));
            goto fail;
        }
    }
    for (int i = 0; i < threads; i++) {
        reader_arg_t *a = malloc(sizeof *a);
        if (a)
            *a = (reader_arg_t){.rp = rp, .store = rp->stores[i]};
        if (!a || pthread_create(&rp->threads[i], NULL, reader_main, a) != 0) {
            free(a);
            snprintf(err, errlen, "cannot start the reader threads");
            rp->nthreads = i;
            reader_pool_stop(rp);
            return NULL;
        }
        char name[16];
        snprintf(name, sizeof name, "reader-%d", i);
        pthread_setname_np(rp->threads[i], name); /* for top -H, perf and gdb */
    }
    rp->nthreads = threads;
    return rp;
fail:
    reader_pool_free(rp);
    return NULL;
}

bool reader_submit(reader_pool_t *rp, read_job_t *job)
{
    job->qnext = NULL;
    pthread_mutex_lock(&rp->lock);
    if (rp->stopping || rp->queued >= rp->queue_max) {
        pthread_mutex_unlock(&rp->lock);
        return false;
    }
    if (rp->tail)
        rp->tail->qnext = job;
    else
        rp->head = job;
    rp->tail = job;
    rp->queued++;
    pthread_cond_signal(&rp->wake);
    pthread_mutex_unlock(&rp->lock);
    return true;
}

void reader_pool_stop(reader_pool_t *rp)
{
    if (!rp)
        return;
    pthread_mutex_lock(&rp->lock);
    rp->stopping = true;
    pthread_cond_broadcast(&rp->wake);
    pthread_mutex_unlock(&rp->lock);
    for (int i = 0; i < rp->nthreads; i++)
        pthread_join(rp->threads[i], NULL);
    reader_pool_free(rp);
}

void read_job_free(read_job_t *job)
{
    if (!job)
        return;
    free(job->lines);
    free(job->orders);
    free(job);
}
