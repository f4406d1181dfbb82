/* token_bucket: the classic rate limiter — a bucket holds up to `burst` tokens, refills at
 * `rate` tokens a second, and each event takes one. Pure: the caller passes the time (any
 * monotonic clock, in nanoseconds) and does any locking. A zeroed bucket is a full one. */
#ifndef NETSHOP_TOKEN_BUCKET_H
#define NETSHOP_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double tokens;
    int64_t last_ns;   /* 0: never used (full) */
} token_bucket_t;

/* Refills b up to now, then takes one token: true when there was one. */
bool token_bucket_take(token_bucket_t *b, double rate, double burst, int64_t now_ns);

/* True when b, refilled up to now, would be full: forgetting it loses nothing. */
bool token_bucket_full(const token_bucket_t *b, double rate, double burst, int64_t now_ns);

#endif
