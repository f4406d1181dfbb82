/* Unit tests of the receipt view's folding of repeated purchases (issue 9, item 5): one line per
 * Sno, name and unit price, quantities and totals summed, kept apart when a sum would overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "client/receipt_merge.h"

#define L(sno, name, qty, unit, total) {(sno), (name), (qty), (unit), (total)}

static void test_two_purchases_become_one_line(void **state)
{
    (void)state;
    reply_receipt_line_t in[] = {L(104, "usb", 3, "500.00", "1500.00"),
                                 L(104, "usb", 2, "500.00", "1000.00")};
    receipt_merged_line_t out[2];
    assert_int_equal(receipt_merge(in, 2, out), 1);
    assert_int_equal(out[0].sno, 104);
    assert_string_equal(out[0].name, "usb");
    assert_int_equal(out[0].quantity, 5);
    assert_string_equal(out[0].unit_price, "500.00");
    assert_string_equal(receipt_merged_total(&out[0]), "2500.00");
}

static void test_order_of_first_occurrence_kept(void **state)
{
    (void)state;
    reply_receipt_line_t in[] = {L(104, "usb", 1, "500.00", "500.00"),
                                 L(101, "phone", 1, "100000.00", "100000.00"),
                                 L(104, "usb", 1, "500.00", "500.00"),
                                 L(101, "phone", 2, "100000.00", "200000.00"),
                                 L(102, "laptop", 1, "70000.00", "70000.00")};
    receipt_merged_line_t out[5];
    assert_int_equal(receipt_merge(in, 5, out), 3);
    assert_int_equal(out[0].sno, 104);
    assert_int_equal(out[0].quantity, 2);
    assert_string_equal(receipt_merged_total(&out[0]), "1000.00");
    assert_int_equal(out[1].sno, 101);
    assert_int_equal(out[1].quantity, 3);
    assert_string_equal(receipt_merged_total(&out[1]), "300000.00");
    assert_int_equal(out[2].sno, 102);
    assert_string_equal(receipt_merged_total(&out[2]), "70000.00");
}

static void test_different_price_or_name_kept_apart(void **state)
{
    (void)state;
    reply_receipt_line_t in[] = {L(104, "usb", 1, "500.00", "500.00"),
                                 L(104, "usb", 1, "450.00", "450.00"),  /* price changed */
                                 L(104, "usb-c", 1, "500.00", "500.00"), /* renamed */
                                 L(105, "usb", 1, "500.00", "500.00")};  /* another Sno */
    receipt_merged_line_t out[4];
    assert_int_equal(receipt_merge(in, 4, out), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(out[i].quantity, 1);
        assert_string_equal(receipt_merged_total(&out[i]), in[i].total);
    }
}

static void test_overflow_kept_apart(void **state)
{
    (void)state;
    /* INT64_MAX paise is 92233720368547758.07: two halves-and-a-bit do not fit. */
    reply_receipt_line_t in[] = {L(1, "gold", 1, "50000000000000000.00", "50000000000000000.00"),
                                 L(1, "gold", 1, "50000000000000000.00", "50000000000000000.00"),
                                 L(1, "gold", 1, "50000000000000000.00", "50000000000000000.00")};
    receipt_merged_line_t out[3];
    assert_int_equal(receipt_merge(in, 3, out), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out[i].quantity, 1);
        assert_string_equal(receipt_merged_total(&out[i]), "50000000000000000.00");
    }

    /* A quantity sum that overflows keeps the lines apart too. */
    reply_receipt_line_t q[] = {L(2, "pin", INT64_MAX, "0.00", "0.00"),
                                L(2, "pin", 1, "0.00", "0.00")};
    assert_int_equal(receipt_merge(q, 2, out), 2);
    assert_int_equal(out[0].quantity, INT64_MAX);
    assert_int_equal(out[1].quantity, 1);

    /* A line that does not fit starts a line of its own, and later ones fold into that. */
    reply_receipt_line_t r[] = {L(3, "gem", 1, "1.00", "92233720368547758.00"),
                                L(3, "gem", 1, "1.00", "1.00"), L(3, "gem", 1, "1.00", "1.00")};
    assert_int_equal(receipt_merge(r, 3, out), 2);
    assert_string_equal(receipt_merged_total(&out[0]), "92233720368547758.00");
    assert_int_equal(out[1].quantity, 2);
    assert_string_equal(receipt_merged_total(&out[1]), "2.00");
}

static void test_unparsable_totals_kept_as_sent(void **state)
{
    (void)state;
    reply_receipt_line_t in[] = {L(7, "x", 1, "1.0", "1.0"), L(7, "x", 1, "1.0", "1.00"),
                                 L(8, "y", 1, "1", "-1"), L(8, "y", 1, "1", "-1")};
    receipt_merged_line_t out[4];
    assert_int_equal(receipt_merge(in, 4, out), 4); /* different decimals; negative */
    assert_string_equal(receipt_merged_total(&out[0]), "1.0");
    assert_string_equal(receipt_merged_total(&out[1]), "1.00");
    assert_string_equal(receipt_merged_total(&out[2]), "-1");
    assert_int_equal(receipt_merge(in, 0, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_purchases_become_one_line),
        cmocka_unit_test(test_order_of_first_occurrence_kept),
        cmocka_unit_test(test_different_price_or_name_kept_apart),
        cmocka_unit_test(test_overflow_kept_apart),
        cmocka_unit_test(test_unparsable_totals_kept_as_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
