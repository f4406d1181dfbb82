/* Unit tests of the client's output module: what text from a server can turn into on the
 * terminal (output_text, tables) and in --json (json_write_string). Captures the output with
 * open_memstream. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/output.h"

/* What write(out, s) writes, as a malloc'd string the caller frees. */
static char *capture(void (*write)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    write(out, s);
    assert_int_equal(fclose(out), 0);
    return buf;
}

static void expect_json(const char *s, const char *want)
{
    char *got = capture(json_write_string, s);
    assert_string_equal(got, want);
    free(got);
}

static void expect_text(const char *s, const char *want)
{
    char *got = capture(output_text, s);
    assert_string_equal(got, want);
    free(got);
}

static void test_json_escapes_c0_quote_backslash(void **state)
{
    (void)state;
    expect_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_json("\x01\t\n\x1b[31m", "\"\\u0001\\u0009\\u000a\\u001b[31m\"");
    expect_json("", "\"\"");
}

/* Audit finding 13a: DEL and the C1 controls (U+0080..U+009F, C2 80..C2 9F in UTF-8; C2 9B is
 * CSI to a terminal) were written raw. */
static void test_json_escapes_del_and_c1_controls(void **state)
{
    (void)state;
    expect_json("x\x7fy", "\"x\\u007fy\"");
    expect_json("\xc2\x80", "\"\\u0080\"");
    expect_json("\xc2\x9b" "2J", "\"\\u009b2J\"");
    expect_json("a\xc2\x85\xc2\x9f" "b", "\"a\\u0085\\u009fb\"");
}

static void test_json_keeps_other_utf8_and_replaces_invalid_bytes(void **state)
{
    (void)state;
    /* NBSP (U+00A0, just after C1), e-acute, euro sign, an emoji: kept as they are. */
    expect_json("\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                "\"\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* A stray byte, an overlong '/', a lone C2 before the end: U+FFFD each. */
    expect_json("a\xff" "b", "\"a\xef\xbf\xbd" "b\"");
    expect_json("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    expect_json("z\xc2", "\"z\xef\xbf\xbd\"");
}

/* The human output: every control character (C0, DEL, C1) and every invalid byte is one '?'. */
static void test_text_shows_controls_and_invalid_bytes_as_question_marks(void **state)
{
    (void)state;
    expect_text("Evil\x1b]0;title\x07" "x", "Evil?]0;title?x");
    expect_text("a\xc2\x9b" "31mb\x7f", "a?31mb?");
    expect_text("\xc2\x80\xc2\x9f\xff\xc2", "????");
    expect_text("caf\xc3\xa9\xc2\xa0!", "caf\xc3\xa9\xc2\xa0!");
}

static void test_width_counts_what_is_shown(void **state)
{
    (void)state;
    assert_int_equal(output_width(""), 0);
    assert_int_equal(output_width("caf\xc3\xa9"), 4);
    assert_int_equal(output_width("a\xc2\x9b" "b"), 3);    /* a ? b */
    assert_int_equal(output_width("\xff\xfe" "x"), 3);     /* ? ? x */
}

static void test_table_cells_are_shown_safely(void **state)
{
    (void)state;
    table_col_t cols[] = {{"Sno", true, 0}, {"Item", false, 0}};
    const char *cells[] = {"101", "ph\xc2\x9b" "2Jone"};
    table_init(cols, 2);
    table_widen(cols, 2, cells);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    table_print_row(out, cols, 2, cells);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(buf, "101  ph?2Jone\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes_c0_quote_backslash),
        cmocka_unit_test(test_json_escapes_del_and_c1_controls),
        cmocka_unit_test(test_json_keeps_other_utf8_and_replaces_invalid_bytes),
        cmocka_unit_test(test_text_shows_controls_and_invalid_bytes_as_question_marks),
        cmocka_unit_test(test_width_counts_what_is_shown),
        cmocka_unit_test(test_table_cells_are_shown_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
