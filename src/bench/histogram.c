/* histogram: the log-linear latency histogram (see histogram.h for the bucket layout).
 *
 * Layout: values 0..127 have a bucket each. A value v >= 128 with highest set bit e (e >= 7) is
 * shifted right by s = e - 7, leaving a number in 128..255; its bucket is 128 * (s + 1) + that
 * number - 128. So each power of two [2^e, 2^(e+1)) is split into 128 equal buckets of width 2^s. */
#include "bench/histogram.h"

#include <stdlib.h>
#include <string.h>

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
    long double sum;
};

hist_t *hist_new(void)
{
    hist_t *h = malloc(sizeof *h);
    if (h)
        hist_reset(h);
    return h;
}

void hist_free(hist_t *h)
{
    free(h);
}

void hist_reset(hist_t *h)
{
    memset(h->counts, 0, sizeof h->counts);
    h->total = 0;
    h->min = 0;
    h->max = 0;
    h->sum = 0;
}

size_t hist_bucket_of(uint64_t value)
{
    if (value > HIST_VALUE_MAX)
        value = HIST_VALUE_MAX;
    if (value < HIST_SUB_COUNT)
        return (size_t)value;
    unsigned e = 63u - (unsigned)__builtin_clzll(value);
    unsigned s = e - HIST_SUB_BITS;
    return (size_t)HIST_SUB_COUNT * (s + 1) + (size_t)((value >> s) - HIST_SUB_COUNT);
}

uint64_t hist_bucket_low(size_t bucket)
{
    if (bucket < HIST_SUB_COUNT)
        return bucket;
    size_t s = bucket / HIST_SUB_COUNT - 1;
    uint64_t sub = bucket % HIST_SUB_COUNT;
    return (HIST_SUB_COUNT + sub) << s;
}

uint64_t hist_bucket_high(size_t bucket)
{
    if (bucket < HIST_SUB_COUNT)
        return bucket;
    size_t s = bucket / HIST_SUB_COUNT - 1;
    return hist_bucket_low(bucket) + (((uint64_t)1 << s) - 1);
}

void hist_record(hist_t *h, uint64_t value)
{
    h->counts[hist_bucket_of(value)]++;
    if (h->total == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->total++;
    h->sum += (long double)value;
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->total == 0)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->total += src->total;
    dst->sum += src->sum;
}

uint64_t hist_count(const hist_t *h)
{
    return h->total;
}

uint64_t hist_min(const hist_t *h)
{
    return h->min;
}

uint64_t hist_max(const hist_t *h)
{
    return h->max;
}

double hist_mean(const hist_t *h)
{
    return h->total ? (double)(h->sum / (long double)h->total) : 0.0;
}

uint64_t hist_percentile(const hist_t *h, double pct)
{
    if (h->total == 0)
        return 0;
    if (pct > 100.0)
        pct = 100.0;
    if (pct < 0.0)
        pct = 0.0;
    /* Integer arithmetic in thousandths of a percent, so 90% of 100 values is rank 90, not 91. */
    uint64_t milli = (uint64_t)(pct * 1000.0 + 0.5);
    uint64_t rank;
    if (h->total <= UINT64_MAX / 100000)
        rank = (h->total * milli + 99999) / 100000;
    else
        rank = (uint64_t)((long double)h->total * milli / 100000.0L);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
