/* Unit tests for src/core/catalog_csv.c: the course project's catalog.csv (embedded, and the
 * repository's data/catalog.csv when it can be found), the optional Category column, the
 * accepted variations (CR LF, blank lines, spaces, BOM, decimals) and the exact error message
 * for every kind of malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog_csv.h"

/* A copy of data/catalog.csv, the course project's default catalog. */
static const char COURSE_CSV[] =
    "Sno,Name,Quantity,Price\n"
    "101,phone,1,100000\n"
    "102,laptop,17,70000\n"
    "103,tv,19,150000\n"
    "104,usb,17,500\n"
    "105,ps4,21,40000\n"
    "201,earrings,35,150\n"
    "202,nailpolish,42,350\n"
    "203,bracelete,84,900\n"
    "204,lipstick,21,600\n"
    "205,eyeliner,1,150\n"
    "301,shirts,62,2000\n"
    "302,pants,78,2500\n"
    "303,skirts,39,1500\n"
    "304,kurtas,93,750\n"
    "305,hoodies,148,1000\n"
    "401,sneakers,58,3500\n"
    "402,heels,57,4000\n"
    "403,sandals,50,400\n"
    "404,walking/running-shoes,98,1000\n"
    "405,boots,29,5000\n"
    "501,crockery,94,2500\n"
    "502,storagecontainer,172,500\n"
    "503,carpets,95,800\n"
    "504,bedsheets,161,850\n"
    "505,shoerack,41,1000\n";

#define HEADER_HINT "(want Sno,Name,Quantity,Price with an optional ,Category)"

static int setup(void **state)
{
    catalog_t *cat = catalog_new();
    if (cat == NULL)
        return -1;
    *state = cat;
    return 0;
}

static int teardown(void **state)
{
    catalog_free(*state);
    return 0;
}

/* Parses text (NUL-terminated) with 2 minor digits and expects success. */
static void parse_ok(catalog_t *cat, const char *text)
{
    char err[256] = "";
    int rc = catalog_csv_parse(text, strlen(text), 2, cat, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
}

/* Parses text[0..len) with the given minor digits and expects failure with exactly want. */
static void parse_fails_len(const char *text, size_t len, int digits, const char *want)
{
    catalog_t *cat = catalog_new();
    assert_non_null(cat);
    char err[256] = "unchanged";
    int rc = catalog_csv_parse(text, len, digits, cat, err, sizeof err);
    catalog_free(cat);
    assert_int_equal(rc, -1);
    assert_string_equal(err, want);
}

static void parse_fails(const char *text, const char *want)
{
    parse_fails_len(text, strlen(text), 2, want);
}

/* The checks every load of the course catalog must pass, whatever the file's form. */
static void check_course_catalog(catalog_t *cat)
{
    catalog_freeze(cat);
    assert_int_equal(catalog_category_count(cat), 5);
    assert_int_equal(catalog_item_count(cat), 25);
    static const char *const names[] = {
        "Electronics", "Cosmetics", "Clothes", "Shoes", "House-hold items",
    };
    for (size_t i = 0; i < 5; i++) {
        const catalog_category_t *c = catalog_category_at(cat, i);
        assert_int_equal(c->number, (int)i + 1);
        assert_string_equal(c->name, names[i]);
        assert_int_equal(c->first_item, 5 * i);
        assert_int_equal(c->item_count, 5);
        for (size_t k = 0; k < 5; k++) {
            const catalog_item_t *item = catalog_item_at(cat, c->first_item + k);
            assert_int_equal(catalog_item_sno(item), (int)((i + 1) * 100 + k + 1));
            assert_int_equal(catalog_item_category(item), (int)i + 1);
        }
    }

    const catalog_item_t *phone = catalog_find_item(cat, 101);
    assert_non_null(phone);
    assert_string_equal(catalog_item_name(phone), "phone");
    assert_int_equal(catalog_item_stock(phone), 1);
    assert_int_equal(catalog_item_price(phone), 10000000);

    const catalog_item_t *shoes = catalog_find_item(cat, 404);
    assert_string_equal(catalog_item_name(shoes), "walking/running-shoes");
    assert_int_equal(catalog_item_stock(shoes), 98);
    assert_int_equal(catalog_item_price(shoes), 100000);

    const catalog_item_t *rack = catalog_find_item(cat, 505);
    assert_string_equal(catalog_item_name(rack), "shoerack");
    assert_int_equal(catalog_item_stock(rack), 41);
    assert_int_equal(catalog_item_price(rack), 100000);

    int64_t total_stock = 0;
    for (size_t i = 0; i < catalog_item_count(cat); i++)
        total_stock += catalog_item_stock(catalog_item_at(cat, i));
    assert_int_equal(total_stock, 1533);
}

static void test_course_catalog_full(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, COURSE_CSV);
    check_course_catalog(cat);
}

/* The repository's own data/catalog.csv, found from the working directory (the repository
 * root under make) or $NETSHOP_SOURCE_DIR; skipped when neither has it. */
static void test_course_catalog_from_repository_file(void **state)
{
    catalog_t *cat = *state;
    char path[4096] = "data/catalog.csv";
    const char *dir = getenv("NETSHOP_SOURCE_DIR");
    if (dir != NULL)
        snprintf(path, sizeof path, "%s/data/catalog.csv", dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_message("skipping: %s not found (run from the repository root)\n", path);
        skip();
    }
    static char text[65536];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    assert_in_range(len, 1, sizeof text - 1);

    char err[256] = "";
    int rc = catalog_csv_parse(text, len, 2, cat, err, sizeof err);
    assert_string_equal(err, "");
    assert_int_equal(rc, 0);
    check_course_catalog(cat);
}

static void test_first_lines_of_course_catalog(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat,
             "Sno,Name,Quantity,Price\n"
             "101,phone,1,100000\n"
             "102,laptop,17,70000\n"
             "201,earrings,35,150\n");
    assert_int_equal(catalog_category_count(cat), 2);
    assert_int_equal(catalog_item_count(cat), 3);
    catalog_freeze(cat);
    assert_string_equal(catalog_category_at(cat, 0)->name, "Electronics");
    assert_int_equal(catalog_category_at(cat, 0)->item_count, 2);
    assert_string_equal(catalog_category_at(cat, 1)->name, "Cosmetics");
    const catalog_item_t *laptop = catalog_find_item(cat, 102);
    assert_string_equal(catalog_item_name(laptop), "laptop");
    assert_int_equal(catalog_item_stock(laptop), 17);
    assert_int_equal(catalog_item_price(laptop), 7000000);
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 201)), 15000);
}

static void test_parse_does_not_freeze(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "Sno,Name,Quantity,Price\n101,phone,1,100000\n");
    assert_int_equal(catalog_add_item(cat, 102, 1, "laptop", 1, 1), CATALOG_OK);
}

static void test_header_only_is_an_empty_catalog(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "Sno,Name,Quantity,Price\n");
    assert_int_equal(catalog_item_count(cat), 0);
    assert_int_equal(catalog_category_count(cat), 0);
}

static void test_crlf_blank_lines_spaces_and_no_final_newline(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat,
             "\r\n"
             "  sno , NAME ,quantity, Price \r\n"
             "\r\n"
             "   \r\n"
             " 101 ,  phone case , 3 , 199.99 \r\n"
             "\t102\t,laptop,0,70000.5");
    assert_int_equal(catalog_item_count(cat), 2);
    const catalog_item_t *item = catalog_find_item(cat, 101);
    assert_string_equal(catalog_item_name(item), "phone case");
    assert_int_equal(catalog_item_stock(item), 3);
    assert_int_equal(catalog_item_price(item), 19999);
    item = catalog_find_item(cat, 102);
    assert_int_equal(catalog_item_stock(item), 0);
    assert_int_equal(catalog_item_price(item), 7000050);
}

static void test_utf8_bom_is_skipped(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "\xEF\xBB\xBFSno,Name,Quantity,Price\n101,phone,1,100000\n");
    assert_int_equal(catalog_item_count(cat), 1);
}

static void test_decimal_prices_and_minor_digits(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "Sno,Name,Quantity,Price\n101,phone,1,100000.00\n102,pen,5,0.5\n"
                  "103,gum,5,0.05\n104,free sample,5,0\n");
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 101)), 10000000);
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 102)), 50);
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 103)), 5);
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 104)), 0);

    catalog_t *yen = catalog_new();
    char err[128] = "";
    const char *text = "Sno,Name,Quantity,Price\n101,phone,1,100000\n";
    assert_int_equal(catalog_csv_parse(text, strlen(text), 0, yen, err, sizeof err), 0);
    assert_int_equal(catalog_item_price(catalog_find_item(yen, 101)), 100000);
    catalog_free(yen);

    const char *decimals = "Sno,Name,Quantity,Price\n101,phone,1,100000.00\n";
    parse_fails_len(decimals, strlen(decimals), 0,
                    "line 2: bad price '100000.00' (at most 0 decimals)");
}

static void test_quantity_limits(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "Sno,Name,Quantity,Price\n101,a,0,1\n102,b,1000000000,1\n103,c,007,1\n");
    assert_int_equal(catalog_item_stock(catalog_find_item(cat, 101)), 0);
    assert_int_equal(catalog_item_stock(catalog_find_item(cat, 102)), CATALOG_STOCK_MAX);
    assert_int_equal(catalog_item_stock(catalog_find_item(cat, 103)), 7);
}

static void test_default_category_beyond_course_numbers(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat, "Sno,Name,Quantity,Price\n1234,widget,1,10\n1299,gadget,1,10\n999999,x,1,1\n");
    catalog_freeze(cat);
    assert_int_equal(catalog_category_count(cat), 2);
    const catalog_category_t *c = catalog_find_category(cat, "12");
    assert_non_null(c);
    assert_string_equal(c->name, "Category 12");
    assert_int_equal(c->item_count, 2);
    assert_string_equal(catalog_find_category(cat, "9999")->name, "Category 9999");
}

static void test_existing_default_category_is_reused(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 1, "Gadgets"), CATALOG_OK);
    parse_ok(cat, "Sno,Name,Quantity,Price\n101,phone,1,100000\n");
    assert_int_equal(catalog_category_count(cat), 1);
    assert_int_equal(catalog_item_category(catalog_find_item(cat, 101)), 1);
    assert_string_equal(catalog_category_at(cat, 0)->name, "Gadgets");
}

static void test_category_column_numbers_in_order_of_first_use(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat,
             "Sno,Name,Quantity,Price,Category\n"
             "7,rake,3,250,Garden\n"
             "12,atlas,2,900.50,Books\n"
             "8,hose,4,300,Garden\n"
             "13,novel,9,450,books\n"            /* same category after normalisation */
             "101,phone,1,100000,House-hold items\n"
             "102,kettle,6,1200,household items\n");
    catalog_freeze(cat);
    assert_int_equal(catalog_category_count(cat), 3);
    const catalog_category_t *garden = catalog_category_at(cat, 0);
    assert_int_equal(garden->number, 1);
    assert_string_equal(garden->name, "Garden");
    assert_int_equal(garden->item_count, 2);
    const catalog_category_t *books = catalog_category_at(cat, 1);
    assert_int_equal(books->number, 2);
    assert_string_equal(books->name, "Books"); /* first spelling wins */
    assert_int_equal(books->item_count, 2);
    const catalog_category_t *house = catalog_category_at(cat, 2);
    assert_int_equal(house->number, 3);
    assert_int_equal(house->item_count, 2);
    assert_int_equal(catalog_item_category(catalog_find_item(cat, 13)), 2);
    assert_int_equal(catalog_item_price(catalog_find_item(cat, 12)), 90050);
}

/* "Elec" is a prefix of "Electronics" but, in the file, a category of its own. */
static void test_category_column_prefix_is_a_new_category(void **state)
{
    catalog_t *cat = *state;
    parse_ok(cat,
             "Sno,Name,Quantity,Price,Category\n"
             "1,phone,1,100,Electronics\n"
             "2,wire,1,100,Elec\n");
    assert_int_equal(catalog_category_count(cat), 2);
    assert_int_equal(catalog_item_category(catalog_find_item(cat, 2)), 2);
}

static void test_category_column_continues_after_existing_numbers(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 5, "Shoes"), CATALOG_OK);
    parse_ok(cat,
             "Sno,Name,Quantity,Price,Category\n"
             "1,boots,1,100,shoes\n"
             "2,rake,1,100,Garden\n");
    assert_int_equal(catalog_item_category(catalog_find_item(cat, 1)), 5);
    assert_int_equal(catalog_item_category(catalog_find_item(cat, 2)), 6);
}

static void test_error_missing_header(void **state)
{
    (void)state;
    parse_fails("", "line 1: missing header " HEADER_HINT);
    parse_fails("\n\n  \r\n", "line 1: missing header " HEADER_HINT);
    parse_fails("101,phone,1,100000\n", "line 1: bad header '101,phone,1,100000' " HEADER_HINT);
    parse_fails("\n101,phone,1,100000\n",
                "line 2: bad header '101,phone,1,100000' " HEADER_HINT);
}

static void test_error_bad_header(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Qty,Price\n", "line 1: bad header 'Sno,Name,Qty,Price' " HEADER_HINT);
    parse_fails("Sno,Name,Quantity\n", "line 1: bad header 'Sno,Name,Quantity' " HEADER_HINT);
    parse_fails("Name,Sno,Quantity,Price\n",
                "line 1: bad header 'Name,Sno,Quantity,Price' " HEADER_HINT);
    parse_fails("Sno,Name,Quantity,Price,Colour\n",
                "line 1: bad header 'Sno,Name,Quantity,Price,Colour' " HEADER_HINT);
    parse_fails("Sno,Name,Quantity,Price,Category,Extra\n",
                "line 1: bad header 'Sno,Name,Quantity,Price,Category,Extra' " HEADER_HINT);
}

static void test_error_wrong_column_count(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000\n102,laptop,17\n",
                "line 3: expected 4 fields, found 3 '102,laptop,17'");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000,Electronics\n",
                "line 2: expected 4 fields, found 5 '101,phone,1,100000,Electronics'");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000,\n",
                "line 2: expected 4 fields, found 5 '101,phone,1,100000,'");
    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000\n",
                "line 2: expected 5 fields, found 4 '101,phone,1,100000'");
    parse_fails("Sno,Name,Quantity,Price\n101,a,b,c,d,e,f,g\n",
                "line 2: expected 4 fields, found 8 '101,a,b,c,d,e,f,g'");
}

static void test_error_bad_sno(void **state)
{
    (void)state;
    static const char hint[] = " (want a whole number from 1 to 999999)";
    char want[128];
    static const char *const bad[] = {"abc", "0", "-101", "1000000", "10 1", "", "1.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "Sno,Name,Quantity,Price\n%s,phone,1,100000\n", bad[i]);
        snprintf(want, sizeof want, "line 2: bad sno '%s'%s", bad[i], hint);
        parse_fails(text, want);
    }
}

static void test_error_sno_without_default_category(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n42,phone,1,100000\n",
                "line 2: no category for sno '42' (sno / 100 is 0: use 100 or more, or add a "
                "Category column)");
}

static void test_error_bad_quantity(void **state)
{
    (void)state;
    static const char hint[] = " (want a whole number from 0 to 1000000000)";
    char want[128];
    static const char *const bad[] = {"abc", "-1", "-0", "1.5", "", "1000000001",
                                      "99999999999999999999999", "1e3", "+1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "Sno,Name,Quantity,Price\n101,phone,%s,100000\n", bad[i]);
        snprintf(want, sizeof want, "line 2: bad quantity '%s'%s", bad[i], hint);
        parse_fails(text, want);
    }
    parse_fails("Sno,Name,Quantity,Price\n\n\n101,phone,1,100000\n102,x,abc,1\n",
                "line 5: bad quantity 'abc' (want a whole number from 0 to 1000000000)");
}

static void test_error_bad_price(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,abc\n",
                "line 2: bad price 'abc' (want an amount like 100000 or 100000.00)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,\n",
                "line 2: bad price '' (want an amount like 100000 or 100000.00)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,1e5\n",
                "line 2: bad price '1e5' (want an amount like 100000 or 100000.00)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000.\n",
                "line 2: bad price '100000.' (want an amount like 100000 or 100000.00)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,1.234\n",
                "line 2: bad price '1.234' (at most 2 decimals)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,-5\n",
                "line 2: bad price '-5' (negative)");
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,92233720368547758.08\n",
                "line 2: bad price '92233720368547758.08' (too large)");
}

static void test_error_duplicate_sno(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000\n102,laptop,17,70000\n"
                "101,phone again,1,5\n",
                "line 4: duplicate sno '101'");
}

static void test_error_names(void **state)
{
    (void)state;
    char name64[65], name65[66], text[256], want[256];
    memset(name64, 'a', 64);
    name64[64] = '\0';
    memset(name65, 'a', 65);
    name65[65] = '\0';

    snprintf(text, sizeof text, "Sno,Name,Quantity,Price\n101,%s,1,100000\n", name65);
    snprintf(want, sizeof want, "line 2: name too long '%s...' (65 bytes, at most 64)", name64);
    parse_fails(text, want);

    parse_fails("Sno,Name,Quantity,Price\n101,,1,100000\n", "line 2: empty name");
    parse_fails("Sno,Name,Quantity,Price\n101,   ,1,100000\n", "line 2: empty name");
    parse_fails("Sno,Name,Quantity,Price\n101,ph\tone,1,100000\n",
                "line 2: bad name 'ph?one' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price\n101,ph\rone,1,100000\n",
                "line 2: bad name 'ph?one' (contains a control character)");
    static const char with_nul[] = "Sno,Name,Quantity,Price\n101,ph\0one,1,100000\n";
    parse_fails_len(with_nul, sizeof with_nul - 1, 2,
                    "line 2: bad name 'ph?one' (contains a control character)");
}

/* Audit finding 13b: C1 controls (C2 80..C2 9F; C2 9B is a terminal's CSI) and bytes that are
 * not UTF-8 were accepted in names; they are refused, quoted safely, with the line number. */
static void test_error_c1_controls_and_invalid_utf8_in_names(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n101,phone,1,100000\n102,ph\xc2\x9b" "31mone,1,100000\n",
                "line 3: bad name 'ph?31mone' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price\n101,a\xc2\x80,1,100000\n",
                "line 2: bad name 'a?' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price\n101,\xc2\x9fz,1,100000\n",
                "line 2: bad name '?z' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price\n101,ph\x7fone,1,100000\n",
                "line 2: bad name 'ph?one' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price\n\n101,caf\xe9,1,100000\n",
                "line 3: bad name 'caf?' (not valid UTF-8: byte 0xe9)");
    parse_fails("Sno,Name,Quantity,Price\n101,\xc0\xaf" "etc,1,100000\n",
                "line 2: bad name '?" "?etc' (not valid UTF-8: byte 0xc0)");
    parse_fails("Sno,Name,Quantity,Price\n101,x\xed\xa0\x80,1,100000\n",
                "line 2: bad name 'x?" "?" "?' (not valid UTF-8: byte 0xed)");
    parse_fails("Sno,Name,Quantity,Price\n101,cut\xe2\x82,1,100000\n",
                "line 2: bad name 'cut?" "?' (not valid UTF-8: byte 0xe2)");
    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000,Elec\xc2\x9b" "tronics\n",
                "line 2: bad category 'Elec?tronics' (contains a control character)");
    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000,Elec\xff" "tronics\n",
                "line 2: bad category 'Elec?tronics' (not valid UTF-8: byte 0xff)");
}

static void test_names_in_any_script_are_accepted(void **state)
{
    catalog_t *cat = *state;
    /* NBSP (C2 A0, the first code point after C1), e-acute, euro sign, an emoji. */
    parse_ok(cat, "Sno,Name,Quantity,Price,Category\n"
                  "101,caf\xc3\xa9\xc2\xa0\xe2\x82\xac,1,100000,Kaffee \xf0\x9f\x98\x80\n");
    assert_string_equal(catalog_item_name(catalog_find_item(cat, 101)),
                        "caf\xc3\xa9\xc2\xa0\xe2\x82\xac");
}

static void test_name_of_exactly_64_bytes_is_accepted(void **state)
{
    catalog_t *cat = *state;
    char name64[65], text[256];
    memset(name64, 'a', 64);
    name64[64] = '\0';
    snprintf(text, sizeof text, "Sno,Name,Quantity,Price\n101,%s,1,100000\n", name64);
    parse_ok(cat, text);
    assert_string_equal(catalog_item_name(catalog_find_item(cat, 101)), name64);
}

static void test_error_quoted_field(void **state)
{
    (void)state;
    parse_fails("Sno,Name,Quantity,Price\n101,\"phone, black\",1,100000\n",
                "line 2: quoted fields are not supported '101,\"phone, black\",1,100000'");
    parse_fails("Sno,Name,Quantity,Price\n101,6\" ruler,1,100\n",
                "line 2: quoted fields are not supported '101,6\" ruler,1,100'");
}

static void test_error_bad_category_column(void **state)
{
    (void)state;
    char name65[66], text[256], want[256];
    memset(name65, 'c', 65);
    name65[65] = '\0';

    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000,\n",
                "line 2: empty category");
    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000,123\n",
                "line 2: bad category '123' (a name needs a letter; it cannot be only digits, "
                "spaces, '-' and '_')");
    parse_fails("Sno,Name,Quantity,Price,Category\n101,phone,1,100000,--\n",
                "line 2: bad category '--' (a name needs a letter; it cannot be only digits, "
                "spaces, '-' and '_')");
    snprintf(text, sizeof text, "Sno,Name,Quantity,Price,Category\n101,phone,1,1,%s\n", name65);
    snprintf(want, sizeof want, "line 2: category too long '%.64s...' (65 bytes, at most 64)",
             name65);
    parse_fails(text, want);
}

static void test_error_frozen_catalog(void **state)
{
    catalog_t *cat = *state;
    catalog_freeze(cat);
    char err[128] = "";
    const char *text = "Sno,Name,Quantity,Price\n101,phone,1,100000\n";
    assert_int_equal(catalog_csv_parse(text, strlen(text), 2, cat, err, sizeof err), -1);
    assert_string_equal(err, "line 2: the catalog is already frozen");
    assert_int_equal(catalog_item_count(cat), 0);
}

static void test_error_message_is_truncated_to_errlen(void **state)
{
    catalog_t *cat = *state;
    const char *text = "Sno,Name,Quantity,Price\n101,phone,abc,100000\n";
    char err[10];
    memset(err, 'x', sizeof err);
    assert_int_equal(catalog_csv_parse(text, strlen(text), 2, cat, err, sizeof err), -1);
    assert_string_equal(err, "line 2: b");
}

static void test_error_without_err_buffer(void **state)
{
    catalog_t *cat = *state;
    const char *text = "Sno,Name,Quantity,Price\n101,phone,abc,100000\n";
    assert_int_equal(catalog_csv_parse(text, strlen(text), 2, cat, NULL, 0), -1);
}

static void test_long_bad_value_is_cut_in_the_message(void **state)
{
    (void)state;
    char text[512], want[256], price[201];
    memset(price, '9', 200);
    price[200] = '\0';
    snprintf(text, sizeof text, "Sno,Name,Quantity,Price\n101,phone,1,%s\n", price);
    snprintf(want, sizeof want, "line 2: bad price '%.64s...' (too large)", price);
    parse_fails(text, want);
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_course_catalog_full),
        T(test_course_catalog_from_repository_file),
        T(test_first_lines_of_course_catalog),
        T(test_parse_does_not_freeze),
        T(test_header_only_is_an_empty_catalog),
        T(test_crlf_blank_lines_spaces_and_no_final_newline),
        T(test_utf8_bom_is_skipped),
        T(test_decimal_prices_and_minor_digits),
        T(test_quantity_limits),
        T(test_default_category_beyond_course_numbers),
        T(test_existing_default_category_is_reused),
        T(test_category_column_numbers_in_order_of_first_use),
        T(test_category_column_prefix_is_a_new_category),
        T(test_category_column_continues_after_existing_numbers),
        T(test_error_missing_header),
        T(test_error_bad_header),
        T(test_error_wrong_column_count),
        T(test_error_bad_sno),
        T(test_error_sno_without_default_category),
        T(test_error_bad_quantity),
        T(test_error_bad_price),
        T(test_error_duplicate_sno),
        T(test_error_names),
        T(test_error_c1_controls_and_invalid_utf8_in_names),
        T(test_names_in_any_script_are_accepted),
        T(test_name_of_exactly_64_bytes_is_accepted),
        T(test_error_quoted_field),
        T(test_error_bad_category_column),
        T(test_error_frozen_catalog),
        T(test_error_message_is_truncated_to_errlen),
        T(test_error_without_err_buffer),
        T(test_long_bad_value_is_cut_in_the_message),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
