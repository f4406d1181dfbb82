/* auth: the password-checking pool. argon2id verification is slow on purpose, so it never runs
 * on an event loop: workers submit LOGIN jobs to a bounded queue served by a few threads, each
 * with its own store connection, and get the outcome back through their mailbox.
 * Failed logins are rate-limited (a refused attempt gets RATE_LIMITED without spending a hash):
 * a source (IPv4 address, IPv6 /64) that has logged in to an account within 30 days is "known"
 * for it and answers only to that pair's own failure count; any other attempt answers to the
 * source's count (one source guessing many accounts) and the account's count for unknown
 * sources (many sources guessing one account; its window backs off). So nobody can lock an owner
 * out of the places they log in from. Attempts are reserved before hashing, so concurrent
 * checks cannot add guesses. Unknown users cost the same hash as known ones, and the reply to a
 * check of a cheaper hash is held back (by the pool's delay thread, not a hashing thread) until
 * an interactive check would have answered. */
#ifndef NETSHOP_AUTH_H
#define NETSHOP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/shop1.h"
#include "server/mailbox.h"

typedef struct auth_pool auth_pool_t;

typedef struct auth_job {
    mailbox_msg_t msg;        /* posted to reply_to when done; msg.deliver is the submitter's */
    mailbox_t *reply_to;
    struct auth_job *qnext;
    int64_t due_ns;           /* the pool's: when a padded reply may be posted (monotonic) */
    void *ctx;                /* the submitter's (its connection) */
    /* in */
    char user[SHOP1_USER_MAX + 1];
    char password[SHOP1_PASSWORD_MAX + 1]; /* zeroed by the pool once checked */
    char peer[64];            /* source address (inet_ntop text): the rate-limit source */
    /* out */
    shop1_error_t result;     /* SHOP1_OK, AUTH_FAILED, RATE_LIMITED or INTERNAL */
    int64_t user_id;
} auth_job_t;

/* Starts `threads` hashing threads, each with its own store on db_path. NULL with err on
 * failure. */
auth_pool_t *auth_pool_start(const char *db_path, int threads, size_t queue_max,
                             unsigned max_failures, int window_secs, char *err, size_t errlen);
/* Queues a job (any thread). False when the queue is full: the caller answers BUSY and keeps
 * the job (and must zero its password). */
bool auth_submit(auth_pool_t *ap, auth_job_t *job);
/* Finishes queued jobs, joins the threads, frees everything. */
void auth_pool_stop(auth_pool_t *ap);

/* Hashes a password for storage (argon2id, libsodium's interactive limits). Returns 0, or -1
 * when out of memory. out must hold crypto_pwhash_STRBYTES (128) bytes. */
int auth_hash_password(const char *password, char *out, size_t cap);

#endif
