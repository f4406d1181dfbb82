/* token_bucket: refill by elapsed time, take one token per event. */
#include "core/token_bucket.h"

static double refilled(const token_bucket_t *b, double rate, double burst, int64_t now_ns)
{
    if (b->last_ns == 0)
        return burst;
    double t = b->tokens;
    if (now_ns > b->last_ns)
        t += rate * (double)(now_ns - b->last_ns) / 1e9;
    return t > burst ? burst : t;
}

bool token_bucket_take(token_bucket_t *b, double rate, double burst, int64_t now_ns)
{
    b->tokens = refilled(b, rate, burst, now_ns);
    if (now_ns > b->last_ns || b->last_ns == 0)
        b->last_ns = now_ns;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

bool token_bucket_full(const token_bucket_t *b, double rate, double burst, int64_t now_ns)
{
    return refilled(b, rate, burst, now_ns) >= burst;
}
