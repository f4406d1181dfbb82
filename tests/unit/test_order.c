/* Unit tests for src/core/order.c: quantity parsing (every result), request-id syntax, and
 * order_decide_buy's checks, their order, and the course project's last-unit bug. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/order.h"

#define SENTINEL ((int64_t)-777) /* what an out-parameter holds when it must not be written */
#define LINES ORDER_LINES_DEFAULT /* the order line limit the calls below pass */

static void check_qty(const char *s, qty_result_t want_rc, int64_t want_value)
{
    int64_t out = SENTINEL;
    qty_result_t rc = order_parse_quantity(s, &out);
    int64_t want_out = want_rc == QTY_OK ? want_value : SENTINEL;
    if (rc != want_rc || out != want_out)
        print_error("order_parse_quantity(\"%s\")\n", s ? s : "(null)");
    assert_int_equal(rc, want_rc);
    assert_int_equal(out, want_out);
}

static void test_quantity_ok(void **state)
{
    (void)state;
    check_qty("1", QTY_OK, 1);
    check_qty("17", QTY_OK, 17);
    check_qty("10000", QTY_OK, ORDER_QTY_MAX);
    check_qty("007", QTY_OK, 7);
    check_qty("0010000", QTY_OK, 10000);
}

static void test_quantity_not_positive(void **state)
{
    (void)state;
    check_qty("0", QTY_NOT_POSITIVE, 0);
    check_qty("000", QTY_NOT_POSITIVE, 0);
    check_qty("-5", QTY_NOT_POSITIVE, 0);
    check_qty("-0", QTY_NOT_POSITIVE, 0);
    check_qty("-1", QTY_NOT_POSITIVE, 0);
    check_qty("-99999999999999999999999", QTY_NOT_POSITIVE, 0);
}

static void test_quantity_not_a_number(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc", "", "1.5", "1e3", " 1", "1 ", "+1", "-", "--1", "-x", "1-", "0x10", "1,000",
        "99999x", "\xd9\xa1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_qty(bad[i], QTY_NOT_A_NUMBER, 0);
    check_qty(NULL, QTY_NOT_A_NUMBER, 0);
}

static void test_quantity_too_large(void **state)
{
    (void)state;
    check_qty("10001", QTY_TOO_LARGE, 0);
    check_qty("99999", QTY_TOO_LARGE, 0);
    check_qty("9223372036854775807", QTY_TOO_LARGE, 0);
    check_qty("9223372036854775808", QTY_TOO_LARGE, 0);
    check_qty("99999999999999999999999", QTY_TOO_LARGE, 0);
    check_qty("00000000000000000000010001", QTY_TOO_LARGE, 0);
}

static void test_request_id_valid(void **state)
{
    (void)state;
    char max_id[ORDER_REQUEST_ID_MAX + 1];
    memset(max_id, 'r', ORDER_REQUEST_ID_MAX);
    max_id[ORDER_REQUEST_ID_MAX] = '\0';

    assert_true(order_request_id_valid("a"));
    assert_true(order_request_id_valid("req-42"));
    assert_true(order_request_id_valid("client.7:buy_0001"));
    assert_true(order_request_id_valid("ABCxyz0123456789.-_:"));
    assert_true(order_request_id_valid("550e8400-e29b-41d4-a716-446655440000"));
    assert_true(order_request_id_valid(max_id));
}

static void test_request_id_invalid(void **state)
{
    (void)state;
    char long_id[ORDER_REQUEST_ID_MAX + 2];
    memset(long_id, 'r', ORDER_REQUEST_ID_MAX + 1);
    long_id[ORDER_REQUEST_ID_MAX + 1] = '\0';

    assert_false(order_request_id_valid(NULL));
    assert_false(order_request_id_valid(""));
    assert_false(order_request_id_valid(long_id));
    assert_false(order_request_id_valid("a b"));
    assert_false(order_request_id_valid("a\tb"));
    assert_false(order_request_id_valid("a/b"));
    assert_false(order_request_id_valid("a+b"));
    assert_false(order_request_id_valid("id\n"));
    assert_false(order_request_id_valid("caf\xc3\xa9"));
}

static void test_buy_allowed_sets_line_total(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(17, 3, 7000000, 0, LINES, 0, &line), BUY_ALLOWED);
    assert_int_equal(line, 21000000);
    line = SENTINEL;
    assert_int_equal(order_decide_buy(ORDER_QTY_MAX, ORDER_QTY_MAX, 15000, 5, LINES, 10000000, &line),
                     BUY_ALLOWED);
    assert_int_equal(line, 150000000);
    line = SENTINEL;
    assert_int_equal(order_decide_buy(5, 1, 0, LINES - 1, LINES, 0, &line), BUY_ALLOWED);
    assert_int_equal(line, 0);
    /* line_total may be NULL */
    assert_int_equal(order_decide_buy(5, 1, 100, 0, LINES, 0, NULL), BUY_ALLOWED);
}

/* Regression: the course project checked `qty < stock`, so the last unit in stock (the only
 * phone, stock 1) could never be bought. stock == qty must be allowed. */
static void test_regression_last_unit_in_stock_can_be_bought(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(1, 1, 10000000, 0, LINES, 0, &line), BUY_ALLOWED);
    assert_int_equal(line, 10000000);
    line = SENTINEL;
    assert_int_equal(order_decide_buy(17, 17, 7000000, 0, LINES, 0, &line), BUY_ALLOWED);
    assert_int_equal(line, 119000000);
}

static void test_buy_insufficient_stock(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(1, 2, 10000000, 0, LINES, 0, &line), BUY_INSUFFICIENT_STOCK);
    assert_int_equal(order_decide_buy(0, 1, 10000000, 0, LINES, 0, &line), BUY_INSUFFICIENT_STOCK);
    assert_int_equal(order_decide_buy(16, 17, 100, 0, LINES, 0, &line), BUY_INSUFFICIENT_STOCK);
    assert_int_equal(order_decide_buy(-3, 1, 100, 0, LINES, 0, &line), BUY_INSUFFICIENT_STOCK);
    assert_int_equal(line, SENTINEL);
}

static void test_buy_bad_quantity(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(100, 0, 100, 0, LINES, 0, &line), BUY_BAD_QUANTITY);
    assert_int_equal(order_decide_buy(100, -1, 100, 0, LINES, 0, &line), BUY_BAD_QUANTITY);
    assert_int_equal(order_decide_buy(100000, ORDER_QTY_MAX + 1, 100, 0, LINES, 0, &line),
                     BUY_BAD_QUANTITY);
    assert_int_equal(order_decide_buy(100, INT64_MIN, 100, 0, LINES, 0, &line), BUY_BAD_QUANTITY);
    assert_int_equal(order_decide_buy(100, INT64_MAX, 100, 0, LINES, 0, &line), BUY_BAD_QUANTITY);
    assert_int_equal(line, SENTINEL);
}

static void test_buy_order_full(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(100, 1, 100, LINES, LINES, 0, &line), BUY_ORDER_FULL);
    assert_int_equal(order_decide_buy(100, 1, 100, LINES + 1, LINES, 0, &line),
                     BUY_ORDER_FULL);
    assert_int_equal(order_decide_buy(100, 1, 100, SIZE_MAX, LINES, 0, &line), BUY_ORDER_FULL);
    assert_int_equal(line, SENTINEL);
    /* the limit is the caller's: 3 lines allowed means the 4th is refused, the 3rd is not */
    assert_int_equal(order_decide_buy(100, 1, 100, 2, 3, 0, &line), BUY_ALLOWED);
    assert_int_equal(order_decide_buy(100, 1, 100, 3, 3, 0, &line), BUY_ORDER_FULL);
    assert_int_equal(order_decide_buy(100, 1, 100, ORDER_LINES_LIMIT - 1, ORDER_LINES_LIMIT, 0, &line),
                     BUY_ALLOWED);
}

static void test_buy_line_total_overflow(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(100, 2, INT64_MAX / 2 + 1, 0, LINES, 0, &line),
                     BUY_TOTAL_OVERFLOW);
    assert_int_equal(order_decide_buy(ORDER_QTY_MAX, ORDER_QTY_MAX,
                                      INT64_MAX / ORDER_QTY_MAX + 1, 0, LINES, 0, &line),
                     BUY_TOTAL_OVERFLOW);
    assert_int_equal(line, SENTINEL);
    /* exactly at the limit is fine */
    assert_int_equal(order_decide_buy(100, 2, INT64_MAX / 2, 0, LINES, 0, &line), BUY_ALLOWED);
    assert_int_equal(line, INT64_MAX - 1);
}

static void test_buy_order_total_overflow(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    assert_int_equal(order_decide_buy(100, 1, 2, 3, LINES, INT64_MAX - 1, &line), BUY_TOTAL_OVERFLOW);
    assert_int_equal(order_decide_buy(100, 1, 1, 3, LINES, INT64_MAX, &line), BUY_TOTAL_OVERFLOW);
    assert_int_equal(line, SENTINEL);
    assert_int_equal(order_decide_buy(100, 1, 1, 3, LINES, INT64_MAX - 1, &line), BUY_ALLOWED);
    assert_int_equal(line, 1);
}

/* Checks come in a fixed order: bad quantity, order full, insufficient stock, line total
 * overflow, order total overflow. Each case below fails every later check too. */
static void test_buy_check_order(void **state)
{
    (void)state;
    money_t line = SENTINEL;
    /* bad quantity beats everything */
    assert_int_equal(order_decide_buy(0, 0, INT64_MAX, LINES, LINES, INT64_MAX, &line),
                     BUY_BAD_QUANTITY);
    /* order full beats insufficient stock and overflow */
    assert_int_equal(order_decide_buy(0, 5, INT64_MAX, LINES, LINES, INT64_MAX, &line),
                     BUY_ORDER_FULL);
    /* insufficient stock beats overflow */
    assert_int_equal(order_decide_buy(1, 5, INT64_MAX, 0, LINES, INT64_MAX, &line),
                     BUY_INSUFFICIENT_STOCK);
    /* line overflow and order overflow both give BUY_TOTAL_OVERFLOW */
    assert_int_equal(order_decide_buy(10, 5, INT64_MAX, 0, LINES, INT64_MAX, &line),
                     BUY_TOTAL_OVERFLOW);
    assert_int_equal(line, SENTINEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantity_ok),
        cmocka_unit_test(test_quantity_not_positive),
        cmocka_unit_test(test_quantity_not_a_number),
        cmocka_unit_test(test_quantity_too_large),
        cmocka_unit_test(test_request_id_valid),
        cmocka_unit_test(test_request_id_invalid),
        cmocka_unit_test(test_buy_allowed_sets_line_total),
        cmocka_unit_test(test_regression_last_unit_in_stock_can_be_bought),
        cmocka_unit_test(test_buy_insufficient_stock),
        cmocka_unit_test(test_buy_bad_quantity),
        cmocka_unit_test(test_buy_order_full),
        cmocka_unit_test(test_buy_line_total_overflow),
        cmocka_unit_test(test_buy_order_total_overflow),
        cmocka_unit_test(test_buy_check_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
