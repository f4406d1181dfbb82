/* Unit tests of order_ids: a bijection of 1..2^53 both ways, keyed, hiding the store's order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "server/order_ids.h"

static order_ids_t key_of(unsigned char fill)
{
    order_ids_t k;
    memset(k.key, fill, sizeof k.key);
    return k;
}

static void test_round_trip_and_range(void **state)
{
    (void)state;
    order_ids_t k = key_of(7);
    int64_t samples[] = {1, 2, 3, 1000, 123456789, ORDER_IDS_MAX - 1, ORDER_IDS_MAX};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t w = order_ids_to_wire(&k, samples[i]);
        assert_true(w >= 1 && w <= ORDER_IDS_MAX);
        assert_int_equal(order_ids_from_wire(&k, w), samples[i]);
    }
    for (int64_t id = 1; id <= 20000; id++)
        assert_int_equal(order_ids_from_wire(&k, order_ids_to_wire(&k, id)), id);
}

static void test_out_of_range_maps_to_nothing(void **state)
{
    (void)state;
    order_ids_t k = key_of(7);
    assert_int_equal(order_ids_to_wire(&k, 0), 0);
    assert_int_equal(order_ids_to_wire(&k, -5), 0);
    assert_int_equal(order_ids_to_wire(&k, ORDER_IDS_MAX + 1), 0);
    assert_int_equal(order_ids_from_wire(&k, 0), 0);
    assert_int_equal(order_ids_from_wire(&k, ORDER_IDS_MAX + 1), 0);
    assert_int_equal(order_ids_from_wire(&k, INT64_MAX), 0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Regression (audit finding 14): order ids were the store's 1, 2, 3 ... and told every customer
 * the shop's order volume. Consecutive orders now get unrelated ids: distinct (a bijection),
 * not increasing, spread over the range, and different under another key. */
static void test_consecutive_orders_get_unrelated_ids(void **state)
{
    (void)state;
    order_ids_t k = key_of(7), other = key_of(8);
    enum { N = 4096 };
    int64_t *w = malloc(N * sizeof *w);
    int increasing = 0, small = 0, same_under_other_key = 0;
    for (int64_t id = 1; id <= N; id++) {
        w[id - 1] = order_ids_to_wire(&k, id);
        if (id > 1 && w[id - 1] > w[id - 2])
            increasing++;
        if (w[id - 1] <= 1000000)
            small++;
        if (order_ids_to_wire(&other, id) == w[id - 1])
            same_under_other_key++;
    }
    assert_true(increasing > N / 2 - N / 10 && increasing < N / 2 + N / 10); /* a coin toss */
    assert_true(small < 3);              /* 1e6 of 2^53: almost never */
    assert_int_equal(same_under_other_key, 0);
    qsort(w, N, sizeof *w, cmp_i64);
    for (int i = 1; i < N; i++)
        assert_true(w[i] != w[i - 1]);
    free(w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_range),
        cmocka_unit_test(test_out_of_range_maps_to_nothing),
        cmocka_unit_test(test_consecutive_orders_get_unrelated_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
