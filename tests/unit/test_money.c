/* Unit tests for src/core/money.c: overflow-checked add and mul at the int64 boundaries,
 * money_parse's accepted forms and every error, money_format for every minor-digit count
 * (INT64_MIN included), and parse/format round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/money.h"

#define SENTINEL ((money_t)-424242) /* what *out holds when a function must not write it */

/* Parses s[0..len) and checks the result and value; *out must be untouched on error. */
static void check_parse_len(const char *s, size_t len, int digits, money_parse_result_t want_rc,
                            money_t want_value)
{
    money_t out = SENTINEL;
    money_parse_result_t rc = money_parse(s, len, digits, &out);
    money_t want_out = want_rc == MONEY_OK ? want_value : SENTINEL;
    if (rc != want_rc || out != want_out)
        print_error("money_parse(\"%.*s\", %zu, %d)\n", (int)len, s ? s : "(null)", len, digits);
    assert_int_equal(rc, want_rc);
    assert_int_equal(out, want_out);
}

static void check_parse(const char *s, int digits, money_parse_result_t want_rc,
                        money_t want_value)
{
    check_parse_len(s, strlen(s), digits, want_rc, want_value);
}

static void check_format(money_t amount, int digits, const char *want)
{
    char buf[MONEY_FORMAT_MAX];
    memset(buf, 'x', sizeof buf);
    size_t n = money_format(amount, digits, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        print_error("money_format(%lld, %d)\n", (long long)amount, digits);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_currency_default_is_inr_with_two_digits(void **state)
{
    (void)state;
    assert_string_equal(CURRENCY_DEFAULT.code, "INR");
    assert_int_equal(CURRENCY_DEFAULT.minor_digits, 2);
}

static void test_add_ordinary_values(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_add(10000000, 7000000, &out));
    assert_int_equal(out, 17000000);
    assert_true(money_add(-5, 3, &out));
    assert_int_equal(out, -2);
    assert_true(money_add(0, 0, &out));
    assert_int_equal(out, 0);
}

static void test_add_at_int64_max_boundary(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_add(INT64_MAX - 1, 1, &out));
    assert_int_equal(out, INT64_MAX);
    assert_true(money_add(INT64_MAX, 0, &out));
    assert_int_equal(out, INT64_MAX);
    assert_true(money_add(INT64_MAX, -1, &out));
    assert_int_equal(out, INT64_MAX - 1);

    out = SENTINEL;
    assert_false(money_add(INT64_MAX, 1, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_add(1, INT64_MAX, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_add(INT64_MAX, INT64_MAX, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_add(INT64_MAX / 2 + 1, INT64_MAX / 2 + 1, &out));
    assert_int_equal(out, SENTINEL);
}

static void test_add_at_int64_min_boundary(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_add(INT64_MIN + 1, -1, &out));
    assert_int_equal(out, INT64_MIN);
    assert_true(money_add(INT64_MIN, INT64_MAX, &out));
    assert_int_equal(out, -1);

    out = SENTINEL;
    assert_false(money_add(INT64_MIN, -1, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_add(-1, INT64_MIN, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_add(INT64_MIN, INT64_MIN, &out));
    assert_int_equal(out, SENTINEL);
}

static void test_mul_ordinary_values(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_mul(10000000, 3, &out));
    assert_int_equal(out, 30000000);
    assert_true(money_mul(10000000, 0, &out));
    assert_int_equal(out, 0);
    assert_true(money_mul(0, 10000, &out));
    assert_int_equal(out, 0);
    assert_true(money_mul(-250, 4, &out));
    assert_int_equal(out, -1000);
}

static void test_mul_at_int64_max_boundary(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_mul(INT64_MAX, 1, &out));
    assert_int_equal(out, INT64_MAX);
    assert_true(money_mul(INT64_MAX / 2, 2, &out));
    assert_int_equal(out, INT64_MAX - 1);
    assert_true(money_mul(1, INT64_MAX, &out));
    assert_int_equal(out, INT64_MAX);
    /* floor(sqrt(2^63 - 1)) = 3037000499 */
    assert_true(money_mul(3037000499LL, 3037000499LL, &out));
    assert_int_equal(out, 9223372030926249001LL);
    assert_true(money_mul(INT64_MAX, 0, &out));
    assert_int_equal(out, 0);

    out = SENTINEL;
    assert_false(money_mul(INT64_MAX, 2, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(INT64_MAX / 2 + 1, 2, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(2, INT64_MAX / 2 + 1, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(3037000500LL, 3037000500LL, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(INT64_MAX, INT64_MAX, &out));
    assert_int_equal(out, SENTINEL);
}

static void test_mul_at_int64_min_boundary(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_true(money_mul(INT64_MIN, 1, &out));
    assert_int_equal(out, INT64_MIN);
    assert_true(money_mul(INT64_MIN / 2, 2, &out));
    assert_int_equal(out, INT64_MIN);

    out = SENTINEL;
    assert_false(money_mul(INT64_MIN / 2 - 1, 2, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(INT64_MIN, 2, &out));
    assert_int_equal(out, SENTINEL);
}

static void test_mul_rejects_negative_quantity(void **state)
{
    (void)state;
    money_t out = SENTINEL;
    assert_false(money_mul(100, -1, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(0, -1, &out));
    assert_int_equal(out, SENTINEL);
    assert_false(money_mul(100, INT64_MIN, &out));
    assert_int_equal(out, SENTINEL);
}

static void test_parse_accepts_whole_and_decimal_amounts(void **state)
{
    (void)state;
    check_parse("100000", 2, MONEY_OK, 10000000);
    check_parse("100000.5", 2, MONEY_OK, 10000050);
    check_parse("100000.00", 2, MONEY_OK, 10000000);
    check_parse("100000.05", 2, MONEY_OK, 10000005);
    check_parse("0.05", 2, MONEY_OK, 5);
    check_parse("0", 2, MONEY_OK, 0);
    check_parse("0.0", 2, MONEY_OK, 0);
    check_parse("007.50", 2, MONEY_OK, 750);
    check_parse("42", 0, MONEY_OK, 42);
    check_parse("1.5", 1, MONEY_OK, 15);
    check_parse("1.000001", 6, MONEY_OK, 1000001);
    check_parse("2", 6, MONEY_OK, 2000000);
}

static void test_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    check_parse_len("12x", 2, 2, MONEY_OK, 1200);
    check_parse_len("100000.00,17", 9, 2, MONEY_OK, 10000000);
    check_parse_len("1\0", 2, 2, MONEY_BAD_SYNTAX, 0);
    check_parse_len("5", 0, 2, MONEY_BAD_SYNTAX, 0);
}

static void test_parse_rejects_bad_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", ".", "1.", ".5", "+1", "1e3", " 1", "1 ", "1.2.3", "1,5", "abc", "-", "-x", "--1",
        "-.5", "0x10", "1.-5", "1..5", "\xd9\xa1", "1_000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_parse(bad[i], 2, MONEY_BAD_SYNTAX, 0);
    check_parse_len(NULL, 0, 2, MONEY_BAD_SYNTAX, 0);
}

static void test_parse_rejects_minor_digits_outside_0_to_6(void **state)
{
    (void)state;
    check_parse("1", 7, MONEY_BAD_SYNTAX, 0);
    check_parse("1", -1, MONEY_BAD_SYNTAX, 0);
}

static void test_parse_rejects_negative(void **state)
{
    (void)state;
    check_parse("-1", 2, MONEY_NEGATIVE, 0);
    check_parse("-0", 2, MONEY_NEGATIVE, 0);
    check_parse("-0.05", 2, MONEY_NEGATIVE, 0);
    check_parse("-1.234", 2, MONEY_NEGATIVE, 0);
    check_parse("-99999999999999999999999", 2, MONEY_NEGATIVE, 0);
}

static void test_parse_rejects_too_many_decimals(void **state)
{
    (void)state;
    check_parse("1.234", 2, MONEY_TOO_MANY_DIGITS, 0);
    check_parse("100000.000", 2, MONEY_TOO_MANY_DIGITS, 0);
    check_parse("1.0", 0, MONEY_TOO_MANY_DIGITS, 0);
    check_parse("1.0000000", 6, MONEY_TOO_MANY_DIGITS, 0);
    /* decimals are counted before size: a huge amount with too many decimals */
    check_parse("99999999999999999999999.999", 2, MONEY_TOO_MANY_DIGITS, 0);
}

static void test_parse_overflow_at_int64_max(void **state)
{
    (void)state;
    check_parse("92233720368547758.07", 2, MONEY_OK, INT64_MAX);
    check_parse("92233720368547758.08", 2, MONEY_OVERFLOW, 0);
    check_parse("92233720368547758", 2, MONEY_OK, 9223372036854775800LL);
    check_parse("92233720368547759", 2, MONEY_OVERFLOW, 0); /* overflows while scaling */
    check_parse("92233720368547758.1", 2, MONEY_OVERFLOW, 0);
    check_parse("9223372036854775807", 0, MONEY_OK, INT64_MAX);
    check_parse("9223372036854775808", 0, MONEY_OVERFLOW, 0);
    check_parse("9223372036854.775807", 6, MONEY_OK, INT64_MAX);
    check_parse("9223372036854.775808", 6, MONEY_OVERFLOW, 0);
    check_parse("99999999999999999999999", 2, MONEY_OVERFLOW, 0);
    check_parse("000000000000000000000000001.00", 2, MONEY_OK, 100);
}

static void test_format_two_digits(void **state)
{
    (void)state;
    check_format(10000000, 2, "100000.00");
    check_format(10000050, 2, "100000.50");
    check_format(5, 2, "0.05");
    check_format(-5, 2, "-0.05");
    check_format(0, 2, "0.00");
    check_format(-100, 2, "-1.00");
    check_format(INT64_MAX, 2, "92233720368547758.07");
    check_format(INT64_MIN, 2, "-92233720368547758.08");
}

static void test_format_every_minor_digit_count(void **state)
{
    (void)state;
    check_format(42, 0, "42");
    check_format(0, 0, "0");
    check_format(-7, 0, "-7");
    check_format(INT64_MAX, 0, "9223372036854775807");
    check_format(INT64_MIN, 0, "-9223372036854775808");
    check_format(123, 1, "12.3");
    check_format(-3, 1, "-0.3");
    check_format(1234, 3, "1.234");
    check_format(5, 3, "0.005");
    check_format(12345678, 4, "1234.5678");
    check_format(1, 5, "0.00001");
    check_format(1, 6, "0.000001");
    check_format(-1, 6, "-0.000001");
    check_format(INT64_MAX, 6, "9223372036854.775807");
    check_format(INT64_MIN, 6, "-9223372036854.775808");
}

static void test_format_extremes_fit_money_format_max(void **state)
{
    (void)state;
    for (int digits = 0; digits <= 6; digits++) {
        char buf[MONEY_FORMAT_MAX];
        size_t n = money_format(INT64_MIN, digits, buf, sizeof buf);
        assert_int_equal(n, strlen(buf));
        assert_in_range(n, 20, MONEY_FORMAT_MAX - 1);
        assert_int_equal(buf[0], '-');
    }
}

static void test_format_too_small_buffer_writes_empty_string(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(money_format(10000000, 2, buf, 10), 9); /* "100000.00" + NUL fits */
    assert_string_equal(buf, "100000.00");

    memset(buf, 'x', sizeof buf);
    assert_int_equal(money_format(10000000, 2, buf, 9), 0); /* no room for the NUL */
    assert_string_equal(buf, "");

    memset(buf, 'x', sizeof buf);
    assert_int_equal(money_format(10000000, 2, buf, 0), 0);
    assert_int_equal(buf[0], 'x'); /* cap 0: nothing written at all */
}

static void test_format_rejects_minor_digits_outside_0_to_6(void **state)
{
    (void)state;
    char buf[MONEY_FORMAT_MAX] = "unchanged";
    assert_int_equal(money_format(100, 7, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    strcpy(buf, "unchanged");
    assert_int_equal(money_format(100, -1, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

static void test_format_then_parse_round_trips(void **state)
{
    (void)state;
    static const money_t values[] = {
        0, 1, 5, 9, 10, 99, 100, 101, 10000000, 10000050, 123456789, 999999999999LL,
        INT64_MAX / 10, INT64_MAX - 1, INT64_MAX,
    };
    for (int digits = 0; digits <= 6; digits++) {
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            char buf[MONEY_FORMAT_MAX];
            size_t n = money_format(values[i], digits, buf, sizeof buf);
            assert_int_not_equal(n, 0);
            check_parse_len(buf, n, digits, MONEY_OK, values[i]);
        }
    }
}

static void test_parse_then_format_round_trips(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "0.00", "0.05", "1.00", "100000.00", "70000.50", "92233720368547758.07",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        money_t value = 0;
        assert_int_equal(money_parse(texts[i], strlen(texts[i]), 2, &value), MONEY_OK);
        char buf[MONEY_FORMAT_MAX];
        money_format(value, 2, buf, sizeof buf);
        assert_string_equal(buf, texts[i]);
    }
}

static void test_negative_formatted_amount_parses_as_negative(void **state)
{
    (void)state;
    char buf[MONEY_FORMAT_MAX];
    size_t n = money_format(INT64_MIN, 2, buf, sizeof buf);
    check_parse_len(buf, n, 2, MONEY_NEGATIVE, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_currency_default_is_inr_with_two_digits),
        cmocka_unit_test(test_add_ordinary_values),
        cmocka_unit_test(test_add_at_int64_max_boundary),
        cmocka_unit_test(test_add_at_int64_min_boundary),
        cmocka_unit_test(test_mul_ordinary_values),
        cmocka_unit_test(test_mul_at_int64_max_boundary),
        cmocka_unit_test(test_mul_at_int64_min_boundary),
        cmocka_unit_test(test_mul_rejects_negative_quantity),
        cmocka_unit_test(test_parse_accepts_whole_and_decimal_amounts),
        cmocka_unit_test(test_parse_reads_only_len_bytes),
        cmocka_unit_test(test_parse_rejects_bad_syntax),
        cmocka_unit_test(test_parse_rejects_minor_digits_outside_0_to_6),
        cmocka_unit_test(test_parse_rejects_negative),
        cmocka_unit_test(test_parse_rejects_too_many_decimals),
        cmocka_unit_test(test_parse_overflow_at_int64_max),
        cmocka_unit_test(test_format_two_digits),
        cmocka_unit_test(test_format_every_minor_digit_count),
        cmocka_unit_test(test_format_extremes_fit_money_format_max),
        cmocka_unit_test(test_format_too_small_buffer_writes_empty_string),
        cmocka_unit_test(test_format_rejects_minor_digits_outside_0_to_6),
        cmocka_unit_test(test_format_then_parse_round_trips),
        cmocka_unit_test(test_parse_then_format_round_trips),
        cmocka_unit_test(test_negative_formatted_amount_parses_as_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
