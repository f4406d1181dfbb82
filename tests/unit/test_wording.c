/* Unit tests of the menu's wording of the server's refusals (issue 9): sold out instead of
 * "only 0 left", no protocol verbs, the server's text otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "client/wording.h"

static void expect(const char *code, const char *text, const char *want)
{
    char buf[256];
    wording_refusal(code, text, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_parse_stock(void **state)
{
    (void)state;
    int64_t left = -1;
    const char *name = NULL;
    size_t len = 0;
    assert_true(wording_parse_stock("only 0 left of phone (asked 5)", &left, &name, &len));
    assert_int_equal(left, 0);
    assert_int_equal(len, 5);
    assert_memory_equal(name, "phone", 5);
    assert_true(wording_parse_stock("only 12 left of face wash (asked) (asked 13)", &left, &name,
                                    &len));
    assert_int_equal(left, 12);
    assert_int_equal(len, strlen("face wash (asked)"));
    assert_false(wording_parse_stock("only left of phone (asked 5)", &left, &name, &len));
    assert_false(wording_parse_stock("only 1 left of  (asked 5)x", &left, &name, &len));
    assert_false(wording_parse_stock("only 1 left of phone", &left, &name, &len));
    assert_false(wording_parse_stock("only 1 left of (asked 5)", &left, &name, &len));
    assert_false(wording_parse_stock("", &left, &name, &len));
}

static void test_sold_out(void **state)
{
    (void)state;
    expect("INSUFFICIENT_STOCK", "only 0 left of phone (asked 5)", "phone is sold out");
    expect("INSUFFICIENT_STOCK", "only 1 left of phone (asked 5)",
           "only 1 left of phone (asked 5)");
    expect("INSUFFICIENT_STOCK", "only 0 of them", "only 0 of them"); /* another form: as sent */
}

static void test_no_protocol_verbs(void **state)
{
    (void)state;
    expect("NO_SUCH_CATEGORY", "no category 'toys' (see CATEGORIES)",
           "no category 'toys'; choose a number or a name from the list");
    expect("LIMIT",
           "this order is full (100 lines or the largest total); LOGOUT and LOGIN for a new one",
           "this order is full; Exit and start netshop again for a new order");
    expect("AUTH_REQUIRED", "log in first (LOGIN <user> <password>)", "you are not logged in");
    expect("BUSY", "something odd (see HELP)", "something odd");
    expect("BUSY", "keep (see the manual)", "keep (see the manual)");
}

static void test_other_texts_as_sent(void **state)
{
    (void)state;
    expect("NO_SUCH_ITEM", "no item 999", "no item 999");
    expect("BAD_QUANTITY", "", "refused");
    char small[8];
    wording_refusal("INSUFFICIENT_STOCK", "only 0 left of television (asked 1)", small,
                    sizeof small);
    assert_string_equal(small, "televis"); /* cut to fit, NUL-terminated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stock),
        cmocka_unit_test(test_sold_out),
        cmocka_unit_test(test_no_protocol_verbs),
        cmocka_unit_test(test_other_texts_as_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
