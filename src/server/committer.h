/* committer: the one thread that writes purchases. Workers submit jobs to its queue; it takes
 * everything queued (up to a batch limit), decides each purchase in order against the
 * authoritative stock and writes the whole batch in one store transaction; its sync thread makes
 * committed batches durable (one fsync for all committed since the last, while the next batch is
 * being written), publishes the new stock to the catalog, and only then posts each outcome back
 * to its worker's mailbox.
 * Overselling is impossible by construction: one thread decides, in order, with a conditional
 * decrement in the store as a second guard. No outcome leaves before its batch is durable. */
#ifndef NETSHOP_COMMITTER_H
#define NETSHOP_COMMITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/order.h"
#include "core/outcome.h"
#include "server/mailbox.h"
#include "store/store.h"

typedef struct committer committer_t;

typedef enum {
    COMMIT_BUY,         /* buy qty of sno into the session's order (opened if order_id == 0) */
    COMMIT_CLOSE_ORDER, /* close order_id (session ended) */
} commit_kind_t;

/* What became of a COMMIT_BUY. */
typedef enum {
    COMMIT_FAILED = 0, /* nothing bought, nothing recorded: a store failure, or the order is no
                          longer open (a retry may succeed) */
    COMMIT_DECIDED,    /* outcome holds the shop's decision (recorded under the request id) */
    COMMIT_CONFLICT,   /* the request id is recorded for another sno or qty: nothing decided */
} commit_status_t;

typedef struct commit_job {
    mailbox_msg_t msg;          /* posted to reply_to when done; msg.deliver is the submitter's */
    mailbox_t *reply_to;        /* NULL: nobody waits, the committer frees the job with free() */
    struct commit_job *qnext;   /* committer queue link */
    commit_kind_t kind;
    void *ctx;                  /* the submitter's (its connection); untouched by the committer */

    /* in */
    int64_t user_id;
    uint64_t session_id;        /* the session it was made in (the submitter's; not used here) */
    int64_t order_id;           /* the session's order, 0 before its first purchase */
    size_t order_lines;         /* lines and total of the session's order so far */
    money_t order_total;
    int sno;
    int64_t qty;
    char request_id[ORDER_REQUEST_ID_MAX + 1]; /* "" for none */

    /* out (COMMIT_BUY) */
    commit_status_t status;
    outcome_t outcome;          /* on COMMIT_DECIDED */
    store_line_t line;          /* on OUTCOME_BOUGHT: the line bought (line.order_id is its order) */
    int64_t stock_left;         /* on OUTCOME_INSUFFICIENT_STOCK: units that were left when it was
                                   decided (a replay: as recorded); on a purchase made: units left
                                   after it */
    bool replayed;              /* the outcome is a recorded one (idempotent retry) */
} commit_job_t;

/* Opens its own store on db_path, closes orders left open by an earlier run, and starts the
 * thread. The catalog must be frozen; the committer becomes the only writer of its stock.
 * An order holds at most order_lines_max lines. A refused BUY's outcome is kept for its request
 * id request_retention seconds, then forgotten. Returns NULL with err filled on failure. */
committer_t *committer_start(const char *db_path, const catalog_t *cat, size_t queue_max,
                             size_t batch_max, size_t order_lines_max, int64_t request_retention,
                             char *err, size_t errlen);

/* Queues a job (any thread). Returns false, and keeps nothing, when the queue is full or the
 * committer is stopping: the caller answers BUSY and still owns job. */
bool committer_submit(committer_t *cm, commit_job_t *job);

/* Finishes every queued job, stops the thread, closes its store and frees cm. */
void committer_stop(committer_t *cm);

/* Counters since start, for logs and benchmarks. */
typedef struct {
    uint64_t batches;
    uint64_t jobs;
    uint64_t largest_batch;
    uint64_t syncs;             /* fsyncs that made batches durable (one may cover several) */
} committer_stats_t;
void committer_get_stats(committer_t *cm, committer_stats_t *out);

#endif
