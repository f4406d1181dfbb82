/* histogram: a log-linear latency histogram in the style of HdrHistogram — exact below 128,
 * then 128 linear sub-buckets per power of two (relative precision better than 0.8%) up to
 * HIST_VALUE_MAX (60 s in microseconds). Values above the range are counted in the last bucket
 * (the exact maximum is kept apart). One histogram per thread, merged at the end. Pure: no I/O,
 * no clocks, no locks. */
#ifndef NETSHOP_BENCH_HISTOGRAM_H
#define NETSHOP_BENCH_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7                      /* 128 sub-buckets per power of two */
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_VALUE_MAX 60000000ULL           /* 60 s in microseconds: the top of the range */
#define HIST_BUCKETS 2560                    /* enough for HIST_VALUE_MAX (< 2^26) */

typedef struct hist hist_t;

/* A new, empty histogram; NULL when out of memory. Free with hist_free (NULL allowed). */
hist_t *hist_new(void);
void hist_free(hist_t *h);
/* Forgets every recorded value. */
void hist_reset(hist_t *h);

/* Records one value (microseconds). Values above HIST_VALUE_MAX land in the last bucket;
 * hist_max still reports them exactly. */
void hist_record(hist_t *h, uint64_t value);
/* Adds every count of src to dst (min, max and sum too). src is unchanged. */
void hist_merge(hist_t *dst, const hist_t *src);

uint64_t hist_count(const hist_t *h);
/* The exact smallest / largest recorded value; 0 when empty. */
uint64_t hist_min(const hist_t *h);
uint64_t hist_max(const hist_t *h);
/* The exact mean of the recorded values; 0 when empty. */
double hist_mean(const hist_t *h);

/* The pct-th percentile (0 < pct <= 100, to 0.001): the highest value of the bucket holding the
 * ceil(pct/100 * count)-th smallest value, never above hist_max. 0 when empty. */
uint64_t hist_percentile(const hist_t *h, double pct);

/* The bucket a value falls in, and the smallest and largest value of a bucket (for tests and
 * for readers who want to know the precision). */
size_t hist_bucket_of(uint64_t value);
uint64_t hist_bucket_low(size_t bucket);
uint64_t hist_bucket_high(size_t bucket);

#endif
