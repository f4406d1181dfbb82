/* Unit tests for core/order_state: words and the allowed changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/order_state.h"

static void test_words_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {"open", "placed", "cancelled", "fulfilled"};
    for (int s = ORDER_OPEN; s <= ORDER_FULFILLED; s++) {
        assert_string_equal(order_state_word((order_state_t)s), names[s]);
        order_state_t back = ORDER_FULFILLED;
        assert_true(order_state_from_word(names[s], strlen(names[s]), &back));
        assert_int_equal(back, s);
    }
    order_state_t x;
    assert_false(order_state_from_word("closed", 6, &x));
    assert_false(order_state_from_word("Open", 4, &x));
    assert_false(order_state_from_word("ope", 3, &x));
    assert_string_equal(order_state_word((order_state_t)4), "unknown");
    assert_string_equal(order_state_word((order_state_t)-1), "unknown");
}

static void test_transitions(void **state)
{
    (void)state;
    /* from x to: open placed cancelled fulfilled */
    static const bool allowed[4][4] = {
        [ORDER_OPEN] = {false, true, true, false},
        [ORDER_PLACED] = {false, false, true, true},
        [ORDER_CANCELLED] = {false, false, false, false},
        [ORDER_FULFILLED] = {false, false, false, false},
    };
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++)
            assert_int_equal(order_state_can((order_state_t)f, (order_state_t)t), allowed[f][t]);
    assert_false(order_state_can((order_state_t)7, ORDER_CANCELLED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_round_trip),
        cmocka_unit_test(test_transitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
