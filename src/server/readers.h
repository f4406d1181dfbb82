/* readers: the store-reading pool. RECEIPT and ORDERS read SQLite, and a slow disk or a lock
 * must not stall every connection of a worker, so they never read on an event loop: workers
 * submit read jobs to a bounded queue served by a few threads, each with its own read-only
 * store connection, and get the rows back through their mailbox. A reader only reads: it
 * renders nothing; the owning worker formats the reply (commands.c). */
#ifndef NETSHOP_READERS_H
#define NETSHOP_READERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/mailbox.h"
#include "store/store.h"

typedef struct reader_pool reader_pool_t;

typedef enum {
    READ_RECEIPT = 1, /* one order of the user, with its lines */
    READ_ORDERS,      /* the user's orders, newest first, at most `limit` */
} read_kind_t;

typedef struct read_job {
    mailbox_msg_t msg;        /* posted to reply_to when done; msg.deliver is the submitter's */
    mailbox_t *reply_to;
    struct read_job *qnext;   /* the pool's */
    void *ctx;                /* the submitter's (its request) */
    /* in */
    read_kind_t kind;
    uint64_t session_id;      /* the session that asked: the submitter checks it is still there */
    int64_t user_id;          /* whose orders: a job reads only this user's */
    int64_t order_id;         /* READ_RECEIPT: the store's order id (not the wire id) */
    int64_t wire_order_id;    /* READ_RECEIPT: the id as the client wrote it (0: the session's) */
    size_t limit;             /* READ_ORDERS: rows at most */
    /* out, owned by the job: free with read_job_free */
    store_status_t status;    /* STORE_OK, STORE_NOT_FOUND (RECEIPT) or STORE_ERROR (logged) */
    store_order_t order;      /* READ_RECEIPT: the header */
    store_line_t *lines;      /* READ_RECEIPT: its lines, in purchase order */
    store_order_t *orders;    /* READ_ORDERS */
    size_t n;                 /* lines or orders */
} read_job_t;

/* Starts `threads` reader threads, each with its own read-only store on db_path, and a queue of
 * at most queue_max jobs. NULL with err on failure. */
reader_pool_t *reader_pool_start(const char *db_path, int threads, size_t queue_max, char *err,
                                 size_t errlen);
/* Queues a job (any thread). False when the queue is full or the pool is stopping: the caller
 * answers BUSY and keeps the job. Otherwise the job comes back, read, through reply_to; the
 * pool never frees it. */
bool reader_submit(reader_pool_t *rp, read_job_t *job);
/* Reads every job still queued and posts it back, joins the threads, frees everything. Call
 * while every reply_to mailbox is still alive (after the workers stopped, before they are
 * freed). NULL is a no-op. */
void reader_pool_stop(reader_pool_t *rp);
/* Frees the job's rows and the job. */
void read_job_free(read_job_t *job);

#endif
