/* Unit tests of token_bucket: burst, refill by elapsed time, cap, and a clock that goes back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/token_bucket.h"

#define SEC 1000000000LL

static int takes(token_bucket_t *b, double rate, double burst, int64_t now, int tries)
{
    int ok = 0;
    for (int i = 0; i < tries; i++)
        ok += token_bucket_take(b, rate, burst, now);
    return ok;
}

static void test_a_new_bucket_allows_its_burst_then_refuses(void **state)
{
    (void)state;
    token_bucket_t b = {0};
    assert_true(token_bucket_full(&b, 10, 10, 5 * SEC));
    assert_int_equal(takes(&b, 10, 10, 5 * SEC, 25), 10);
    assert_false(token_bucket_full(&b, 10, 10, 5 * SEC));
}

static void test_it_refills_at_its_rate_up_to_the_burst(void **state)
{
    (void)state;
    token_bucket_t b = {0};
    assert_int_equal(takes(&b, 10, 10, 1 * SEC, 10), 10);
    assert_int_equal(takes(&b, 10, 10, 1 * SEC + SEC / 2, 100), 5);   /* half a second: 5 */
    assert_int_equal(takes(&b, 10, 10, 100 * SEC, 100), 10);          /* never more than the burst */
    assert_true(token_bucket_full(&b, 10, 10, 102 * SEC));
}

static void test_a_clock_going_back_gives_nothing(void **state)
{
    (void)state;
    token_bucket_t b = {0};
    assert_int_equal(takes(&b, 10, 10, 50 * SEC, 10), 10);
    assert_int_equal(takes(&b, 10, 10, 40 * SEC, 10), 0);
    assert_int_equal(takes(&b, 10, 10, 50 * SEC + SEC / 10, 10), 1);  /* counted from 50 s */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_bucket_allows_its_burst_then_refuses),
        cmocka_unit_test(test_it_refills_at_its_rate_up_to_the_burst),
        cmocka_unit_test(test_a_clock_going_back_gives_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
