/* Unit tests of pwtime: the padding that makes a cheap password check (user add --hash-cost
 * minimal) take as long as an unknown user's dummy check (audit finding 10). Wall time is not
 * measured here: the arithmetic is. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/pwtime.h"

#define MS 1000000LL

static void test_regression_cheap_check_is_padded_to_the_dummy_time(void **state)
{
    (void)state;
    pwtime_t pt;
    pwtime_init(&pt, 55 * MS);                 /* the dummy check measured at start-up */
    /* A minimal-cost hash checked in 0.3 ms sleeps the rest of the 55 ms. */
    assert_int_equal(pwtime_pad_ns(&pt, 300000), 55 * MS - 300000);
    assert_int_equal(pwtime_pad_ns(&pt, 0), 55 * MS);
    assert_int_equal(pwtime_pad_ns(&pt, -5), 55 * MS);  /* a clock oddity: never more */
    /* An interactive check that took as long or longer is not padded. */
    assert_int_equal(pwtime_pad_ns(&pt, 55 * MS), 0);
    assert_int_equal(pwtime_pad_ns(&pt, 70 * MS), 0);
}

static void test_target_follows_interactive_checks(void **state)
{
    (void)state;
    pwtime_t pt;
    pwtime_init(&pt, 80 * MS);
    pwtime_observe(&pt, 160 * MS);             /* the machine got busier */
    assert_int_equal(pt.target_ns, 90 * MS);   /* 80 + (160 - 80) / 8 */
    for (int i = 0; i < 200; i++)
        pwtime_observe(&pt, 40 * MS);
    assert_true(pt.target_ns >= 40 * MS && pt.target_ns < 41 * MS);
}

static void test_outliers_move_the_target_little(void **state)
{
    (void)state;
    pwtime_t pt;
    pwtime_init(&pt, 80 * MS);
    pwtime_observe(&pt, 10000 * MS);           /* a stalled thread: counted as 2 x 80 */
    assert_int_equal(pt.target_ns, 90 * MS);
    pwtime_init(&pt, 80 * MS);
    pwtime_observe(&pt, 0);                    /* counted as 80 / 2 */
    assert_int_equal(pt.target_ns, 75 * MS);
    pwtime_init(&pt, 0);
    assert_int_equal(pt.target_ns, 1);
    pwtime_observe(&pt, 0);
    assert_true(pt.target_ns >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_cheap_check_is_padded_to_the_dummy_time),
        cmocka_unit_test(test_target_follows_interactive_checks),
        cmocka_unit_test(test_outliers_move_the_target_little),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
