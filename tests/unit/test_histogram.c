/* test_histogram: unit tests of src/bench/histogram.c — the bucket layout (exact below 128,
 * 128 sub-buckets per power of two above), precision over the whole range, percentiles by rank
 * (including the rounding traps of 90% and 99.9%), clamping above 60 s, min/max/mean, and merging. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bench/histogram.h"

static void test_small_values_have_exact_buckets(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 128; v++) {
        assert_int_equal(hist_bucket_of(v), v);
        assert_int_equal(hist_bucket_low(v), v);
        assert_int_equal(hist_bucket_high(v), v);
    }
}

static void test_bucket_layout_above_128(void **state)
{
    (void)state;
    /* 128..255: still width 1. */
    assert_int_equal(hist_bucket_of(128), 128);
    assert_int_equal(hist_bucket_of(255), 255);
    /* 256..511: width 2. */
    assert_int_equal(hist_bucket_of(256), 256);
    assert_int_equal(hist_bucket_of(257), 256);
    assert_int_equal(hist_bucket_of(258), 257);
    assert_int_equal(hist_bucket_low(256), 256);
    assert_int_equal(hist_bucket_high(256), 257);
    /* 1000 = 250 << 2: bucket 128*3 + 122, values 1000..1003. */
    assert_int_equal(hist_bucket_of(1000), 506);
    assert_int_equal(hist_bucket_of(1003), 506);
    assert_int_equal(hist_bucket_of(1004), 507);
    assert_int_equal(hist_bucket_low(506), 1000);
    assert_int_equal(hist_bucket_high(506), 1003);
    /* 60 s: the top of the range, still inside the table. */
    size_t top = hist_bucket_of(HIST_VALUE_MAX);
    assert_true(top < HIST_BUCKETS);
    assert_true(hist_bucket_low(top) <= HIST_VALUE_MAX);
    assert_true(hist_bucket_high(top) >= HIST_VALUE_MAX);
}

/* Every value from 1 us to 60 s lies inside its bucket, and the bucket is narrower than 1/128 of
 * its lowest value (plus one for the exact region): relative precision under 0.8%. */
static void test_precision_over_whole_range(void **state)
{
    (void)state;
    size_t previous = 0;
    for (uint64_t v = 1; v <= HIST_VALUE_MAX; v += 1 + v / 1000) {
        size_t b = hist_bucket_of(v);
        assert_true(b >= previous); /* monotonic */
        previous = b;
        uint64_t lo = hist_bucket_low(b), hi = hist_bucket_high(b);
        assert_true(lo <= v);
        assert_true(v <= hi);
        assert_true(hi - lo <= lo / 128);
    }
}

static void test_percentiles_of_1_to_100(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    assert_non_null(h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(h, v);
    assert_int_equal(hist_count(h), 100);
    assert_int_equal(hist_percentile(h, 50.0), 50);
    assert_int_equal(hist_percentile(h, 90.0), 90); /* 0.9 * 100 in floating point is 90.000...01 */
    assert_int_equal(hist_percentile(h, 99.0), 99);
    assert_int_equal(hist_percentile(h, 99.9), 100);
    assert_int_equal(hist_percentile(h, 100.0), 100);
    assert_int_equal(hist_percentile(h, 0.001), 1);
    assert_int_equal(hist_min(h), 1);
    assert_int_equal(hist_max(h), 100);
    assert_true(hist_mean(h) > 50.49 && hist_mean(h) < 50.51);
    hist_free(h);
}

/* A percentile inside a wide bucket reports the bucket's highest value (HdrHistogram's "highest
 * equivalent value"), but never more than the exact maximum. */
static void test_percentile_reports_bucket_high_capped_by_max(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    for (int i = 0; i < 995; i++)
        hist_record(h, 10);
    for (int i = 0; i < 5; i++)
        hist_record(h, 5000); /* bucket 4992..5023 */
    hist_record(h, 9000);
    assert_int_equal(hist_count(h), 1001);
    assert_int_equal(hist_percentile(h, 99.0), 10);    /* rank ceil(990.99) = 991: a 10 */
    assert_int_equal(hist_percentile(h, 99.5), 5023);  /* rank ceil(995.995) = 996: a 5000 */
    assert_int_equal(hist_percentile(h, 99.9), 5023);  /* rank 1000: the last 5000 */
    assert_int_equal(hist_percentile(h, 100.0), 9000); /* bucket 8960..9023, capped by max */
    assert_int_equal(hist_max(h), 9000);
    hist_free(h);
}

static void test_values_above_range_are_clamped_but_max_is_exact(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    hist_record(h, 120000000); /* two minutes */
    assert_int_equal(hist_count(h), 1);
    assert_int_equal(hist_max(h), 120000000);
    uint64_t p = hist_percentile(h, 50.0);
    assert_int_equal(p, hist_bucket_high(hist_bucket_of(HIST_VALUE_MAX)));
    hist_free(h);
}

static void test_empty_histogram_reports_zero(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_percentile(h, 99.0), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    hist_free(h);
}

static void test_merge_adds_counts_and_extremes(void **state)
{
    (void)state;
    hist_t *a = hist_new(), *b = hist_new(), *sum = hist_new();
    for (uint64_t v = 1; v <= 50; v++)
        hist_record(a, v);
    for (uint64_t v = 51; v <= 100; v++)
        hist_record(b, v);
    hist_merge(sum, a); /* into an empty one: min comes from a */
    hist_merge(sum, b);
    assert_int_equal(hist_count(sum), 100);
    assert_int_equal(hist_min(sum), 1);
    assert_int_equal(hist_max(sum), 100);
    assert_int_equal(hist_percentile(sum, 50.0), 50);
    assert_int_equal(hist_percentile(sum, 75.0), 75);
    /* The sources are unchanged. */
    assert_int_equal(hist_count(a), 50);
    assert_int_equal(hist_max(a), 50);
    /* Merging an empty histogram changes nothing (its min of 0 must not win). */
    hist_t *empty = hist_new();
    hist_merge(sum, empty);
    assert_int_equal(hist_min(sum), 1);
    assert_int_equal(hist_count(sum), 100);
    hist_free(empty);
    hist_free(a);
    hist_free(b);
    hist_free(sum);
}

static void test_reset_forgets_everything(void **state)
{
    (void)state;
    hist_t *h = hist_new();
    hist_record(h, 7);
    hist_record(h, 700);
    hist_reset(h);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_max(h), 0);
    hist_record(h, 3);
    assert_int_equal(hist_min(h), 3);
    assert_int_equal(hist_percentile(h, 100.0), 3);
    hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_have_exact_buckets),
        cmocka_unit_test(test_bucket_layout_above_128),
        cmocka_unit_test(test_precision_over_whole_range),
        cmocka_unit_test(test_percentiles_of_1_to_100),
        cmocka_unit_test(test_percentile_reports_bucket_high_capped_by_max),
        cmocka_unit_test(test_values_above_range_are_clamped_but_max_is_exact),
        cmocka_unit_test(test_empty_histogram_reports_zero),
        cmocka_unit_test(test_merge_adds_counts_and_extremes),
        cmocka_unit_test(test_reset_forgets_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
