/* Unit tests for src/core/catalog.c: adding categories and items (every result code), name
 * validation and copying, freeze ordering and category runs, look-ups by sno and by category
 * number, name, normalised name and prefix, and publishing / reading stock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"

typedef struct {
    int sno;
    const char *name;
    int64_t stock;
    money_t price;
} item_row_t;

/* The course project's 25 items (prices in paise), in file order. */
static const item_row_t COURSE_ITEMS[] = {
    {101, "phone", 1, 10000000},         {102, "laptop", 17, 7000000},
    {103, "tv", 19, 15000000},           {104, "usb", 17, 50000},
    {105, "ps4", 21, 4000000},           {201, "earrings", 35, 15000},
    {202, "nailpolish", 42, 35000},      {203, "bracelete", 84, 90000},
    {204, "lipstick", 21, 60000},        {205, "eyeliner", 1, 15000},
    {301, "shirts", 62, 200000},         {302, "pants", 78, 250000},
    {303, "skirts", 39, 150000},         {304, "kurtas", 93, 75000},
    {305, "hoodies", 148, 100000},       {401, "sneakers", 58, 350000},
    {402, "heels", 57, 400000},          {403, "sandals", 50, 40000},
    {404, "walking/running-shoes", 98, 100000}, {405, "boots", 29, 500000},
    {501, "crockery", 94, 250000},       {502, "storagecontainer", 172, 50000},
    {503, "carpets", 95, 80000},         {504, "bedsheets", 161, 85000},
    {505, "shoerack", 41, 100000},
};
#define COURSE_ITEM_COUNT (sizeof COURSE_ITEMS / sizeof COURSE_ITEMS[0])

/* Adds the course catalog with categories in the order 5,3,1,4,2 and items in reverse, so
 * that catalog_freeze has to sort both. */
static void add_course_catalog(catalog_t *cat)
{
    static const int category_order[] = {5, 3, 1, 4, 2};
    for (size_t i = 0; i < 5; i++) {
        int n = category_order[i];
        assert_int_equal(catalog_add_category(cat, n, catalog_default_category_name(n)),
                         CATALOG_OK);
    }
    for (size_t i = COURSE_ITEM_COUNT; i-- > 0;) {
        const item_row_t *row = &COURSE_ITEMS[i];
        assert_int_equal(catalog_add_item(cat, row->sno, row->sno / 100, row->name, row->price,
                                          row->stock),
                         CATALOG_OK);
    }
}

static int setup_empty(void **state)
{
    catalog_t *cat = catalog_new();
    if (cat == NULL)
        return -1;
    *state = cat;
    return 0;
}

static int setup_course_frozen(void **state)
{
    catalog_t *cat = catalog_new();
    if (cat == NULL)
        return -1;
    add_course_catalog(cat);
    catalog_freeze(cat);
    *state = cat;
    return 0;
}

static int teardown(void **state)
{
    catalog_free(*state);
    return 0;
}

static void test_default_category_names(void **state)
{
    (void)state;
    assert_string_equal(catalog_default_category_name(1), "Electronics");
    assert_string_equal(catalog_default_category_name(2), "Cosmetics");
    assert_string_equal(catalog_default_category_name(3), "Clothes");
    assert_string_equal(catalog_default_category_name(4), "Shoes");
    assert_string_equal(catalog_default_category_name(5), "House-hold items");
    assert_null(catalog_default_category_name(0));
    assert_null(catalog_default_category_name(6));
    assert_null(catalog_default_category_name(-1));
}

static void test_new_catalog_is_empty(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_category_count(cat), 0);
    assert_int_equal(catalog_item_count(cat), 0);
    assert_null(catalog_category_at(cat, 0));
    assert_null(catalog_item_at(cat, 0));
    assert_null(catalog_find_item(cat, 101));
    assert_null(catalog_find_category(cat, "1"));
    assert_null(catalog_find_category(cat, "electronics"));
    catalog_freeze(cat);
    assert_int_equal(catalog_item_count(cat), 0);
    assert_null(catalog_find_item(cat, 101));
}

static void test_free_null_is_harmless(void **state)
{
    (void)state;
    catalog_free(NULL);
}

static void test_add_category_rejects_bad_values(void **state)
{
    catalog_t *cat = *state;
    char long_name[CATALOG_NAME_MAX + 2];
    memset(long_name, 'a', CATALOG_NAME_MAX + 1);
    long_name[CATALOG_NAME_MAX + 1] = '\0';

    assert_int_equal(catalog_add_category(cat, 0, "Zero"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, -1, "Minus"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 10000, "Too big"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, NULL), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, ""), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, long_name), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "Tab\there"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "Line\nbreak"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "Bell\a"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "Del\x7f"), CATALOG_BAD_VALUE);
    /* names a query could never find: digits only, or nothing left after normalising */
    assert_int_equal(catalog_add_category(cat, 1, "123"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "1-2 3"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_category(cat, 1, "- _"), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_category_count(cat), 0);
}

static void test_add_category_accepts_limits(void **state)
{
    catalog_t *cat = *state;
    char max_name[CATALOG_NAME_MAX + 1];
    memset(max_name, 'b', CATALOG_NAME_MAX);
    max_name[CATALOG_NAME_MAX] = '\0';

    assert_int_equal(catalog_add_category(cat, 1, max_name), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 9999, "Last"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 7, "Caf\xc3\xa9 2"), CATALOG_OK); /* UTF-8 */
    assert_int_equal(catalog_category_count(cat), 3);
    assert_string_equal(catalog_category_at(cat, 0)->name, max_name);
    assert_int_equal(catalog_category_at(cat, 1)->number, 9999);
}

static void test_add_category_rejects_duplicates(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 5, "House-hold items"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 5, "Garden"), CATALOG_DUPLICATE);
    assert_int_equal(catalog_add_category(cat, 6, "House-hold items"), CATALOG_DUPLICATE);
    /* equal after normalisation, so no query could tell them apart */
    assert_int_equal(catalog_add_category(cat, 6, "household items"), CATALOG_DUPLICATE);
    assert_int_equal(catalog_add_category(cat, 6, "HOUSE_HOLD-ITEMS"), CATALOG_DUPLICATE);
    /* a longer name that merely starts the same way is a different category */
    assert_int_equal(catalog_add_category(cat, 6, "House-hold items extra"), CATALOG_OK);
    assert_int_equal(catalog_category_count(cat), 2);
}

static void test_add_item_result_codes(void **state)
{
    catalog_t *cat = *state;
    char long_name[CATALOG_NAME_MAX + 2];
    memset(long_name, 'n', CATALOG_NAME_MAX + 1);
    long_name[CATALOG_NAME_MAX + 1] = '\0';
    char max_name[CATALOG_NAME_MAX + 1];
    memset(max_name, 'm', CATALOG_NAME_MAX);
    max_name[CATALOG_NAME_MAX] = '\0';

    assert_int_equal(catalog_add_category(cat, 1, "Electronics"), CATALOG_OK);

    assert_int_equal(catalog_add_item(cat, 0, 1, "zero", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, -5, 1, "neg", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 1000000, 1, "big", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, NULL, 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, long_name, 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "ph\tone", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "ph\rone", 100, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "phone", -1, 1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "phone", 100, -1), CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 1, "phone", 100, CATALOG_STOCK_MAX + 1),
                     CATALOG_BAD_VALUE);
    assert_int_equal(catalog_add_item(cat, 101, 2, "phone", 100, 1), CATALOG_NO_CATEGORY);
    assert_int_equal(catalog_add_item(cat, 101, 0, "phone", 100, 1), CATALOG_NO_CATEGORY);
    assert_int_equal(catalog_item_count(cat), 0);

    assert_int_equal(catalog_add_item(cat, 101, 1, "phone", 10000000, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 101, 1, "phone again", 1, 1), CATALOG_DUPLICATE);
    assert_int_equal(catalog_add_item(cat, CATALOG_SNO_MIN, 1, max_name, 0, 0), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, CATALOG_SNO_MAX, 1, "last", INT64_MAX,
                                      CATALOG_STOCK_MAX),
                     CATALOG_OK);
    assert_int_equal(catalog_item_count(cat), 3);

    catalog_freeze(cat);
    assert_int_equal(catalog_add_item(cat, 102, 1, "laptop", 100, 1), CATALOG_FROZEN);
    assert_int_equal(catalog_add_category(cat, 2, "Cosmetics"), CATALOG_FROZEN);
    assert_int_equal(catalog_item_count(cat), 3);
    assert_int_equal(catalog_category_count(cat), 1);
}

static void test_duplicate_sno_rejected_across_categories(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 1, "Electronics"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 2, "Cosmetics"), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 150, 1, "radio", 100, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 150, 2, "lipstick", 100, 1), CATALOG_DUPLICATE);
    assert_int_equal(catalog_item_count(cat), 1);
    assert_string_equal(catalog_item_name(catalog_find_item(cat, 150)), "radio");
}

static void test_names_are_copied(void **state)
{
    catalog_t *cat = *state;
    char category[] = "Electronics";
    char item[] = "phone";
    assert_int_equal(catalog_add_category(cat, 1, category), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 101, 1, item, 100, 1), CATALOG_OK);
    strcpy(category, "Overwritten");
    strcpy(item, "xxxxx");
    catalog_freeze(cat);
    assert_string_equal(catalog_category_at(cat, 0)->name, "Electronics");
    assert_string_equal(catalog_item_name(catalog_find_item(cat, 101)), "phone");
}

static void test_item_accessors(void **state)
{
    catalog_t *cat = *state;
    const catalog_item_t *phone = catalog_find_item(cat, 101);
    assert_non_null(phone);
    assert_int_equal(catalog_item_sno(phone), 101);
    assert_int_equal(catalog_item_category(phone), 1);
    assert_string_equal(catalog_item_name(phone), "phone");
    assert_int_equal(catalog_item_price(phone), 10000000);
    assert_int_equal(catalog_item_stock(phone), 1);

    const catalog_item_t *shoes = catalog_find_item(cat, 404);
    assert_non_null(shoes);
    assert_string_equal(catalog_item_name(shoes), "walking/running-shoes");
    assert_int_equal(catalog_item_category(shoes), 4);
    assert_int_equal(catalog_item_price(shoes), 100000);
    assert_int_equal(catalog_item_stock(shoes), 98);
}

static void test_freeze_sorts_categories_by_number(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_category_count(cat), 5);
    static const char *const names[] = {
        "Electronics", "Cosmetics", "Clothes", "Shoes", "House-hold items",
    };
    for (size_t i = 0; i < 5; i++) {
        const catalog_category_t *c = catalog_category_at(cat, i);
        assert_non_null(c);
        assert_int_equal(c->number, (int)i + 1);
        assert_string_equal(c->name, names[i]);
        assert_int_equal(c->first_item, i * 5);
        assert_int_equal(c->item_count, 5);
    }
    assert_null(catalog_category_at(cat, 5));
}

static void test_freeze_sorts_items_by_category_then_sno(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_item_count(cat), COURSE_ITEM_COUNT);
    for (size_t i = 0; i < COURSE_ITEM_COUNT; i++) {
        const catalog_item_t *item = catalog_item_at(cat, i);
        assert_non_null(item);
        assert_int_equal(catalog_item_sno(item), COURSE_ITEMS[i].sno);
        assert_string_equal(catalog_item_name(item), COURSE_ITEMS[i].name);
    }
    assert_null(catalog_item_at(cat, COURSE_ITEM_COUNT));
}

/* Category numbers order the items, not serial numbers: a low sno in a high category sorts
 * after a high sno in a low category; empty categories get an empty run. */
static void test_freeze_orders_by_category_before_sno(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 9, "Garden"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 2, "Books"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 4, "Empty shelf"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 3, "Toys"), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 5, 9, "rake", 100, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 900, 2, "atlas", 100, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 7, 9, "hose", 100, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 800, 2, "novel", 100, 1), CATALOG_OK);
    assert_int_equal(catalog_add_item(cat, 1, 3, "ball", 100, 1), CATALOG_OK);

    /* before freeze: insertion order, runs not computed yet */
    assert_int_equal(catalog_category_at(cat, 0)->number, 9);
    assert_int_equal(catalog_category_at(cat, 0)->item_count, 0);
    assert_int_equal(catalog_item_sno(catalog_item_at(cat, 0)), 5);

    catalog_freeze(cat);
    static const int want_sno[] = {800, 900, 1, 5, 7};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(catalog_item_sno(catalog_item_at(cat, i)), want_sno[i]);

    static const struct {
        int number;
        size_t first, count;
    } want[] = {{2, 0, 2}, {3, 2, 1}, {4, 3, 0}, {9, 3, 2}};
    for (size_t i = 0; i < 4; i++) {
        const catalog_category_t *c = catalog_category_at(cat, i);
        assert_int_equal(c->number, want[i].number);
        assert_int_equal(c->first_item, want[i].first);
        assert_int_equal(c->item_count, want[i].count);
    }
}

static void test_freeze_twice_changes_nothing(void **state)
{
    catalog_t *cat = *state;
    const catalog_item_t *before = catalog_item_at(cat, 7);
    catalog_freeze(cat);
    assert_ptr_equal(catalog_item_at(cat, 7), before);
    assert_int_equal(catalog_category_at(cat, 2)->first_item, 10);
    assert_int_equal(catalog_category_at(cat, 2)->item_count, 5);
}

static void test_pointers_survive_freeze(void **state)
{
    catalog_t *cat = *state;
    add_course_catalog(cat);
    const catalog_item_t *phone = catalog_find_item(cat, 101);
    const catalog_category_t *shoes = catalog_find_category(cat, "shoes");
    assert_non_null(phone);
    assert_non_null(shoes);
    catalog_freeze(cat);
    assert_ptr_equal(catalog_find_item(cat, 101), phone);
    assert_ptr_equal(catalog_find_category(cat, "4"), shoes);
    assert_string_equal(shoes->name, "Shoes");
    assert_int_equal(shoes->first_item, 15);
}

static void test_find_item_by_sno(void **state)
{
    catalog_t *cat = *state;
    for (size_t i = 0; i < COURSE_ITEM_COUNT; i++) {
        const catalog_item_t *item = catalog_find_item(cat, COURSE_ITEMS[i].sno);
        assert_non_null(item);
        assert_int_equal(catalog_item_sno(item), COURSE_ITEMS[i].sno);
    }
    assert_null(catalog_find_item(cat, 100));
    assert_null(catalog_find_item(cat, 106));
    assert_null(catalog_find_item(cat, 600));
    assert_null(catalog_find_item(cat, 0));
    assert_null(catalog_find_item(cat, -101));
    assert_null(catalog_find_item(cat, CATALOG_SNO_MAX + 1));
    assert_null(catalog_find_item(cat, INT32_MAX));
}

static void test_find_item_works_before_freeze(void **state)
{
    catalog_t *cat = *state;
    add_course_catalog(cat);
    assert_string_equal(catalog_item_name(catalog_find_item(cat, 303)), "skirts");
    assert_null(catalog_find_item(cat, 306));
}

/* Many items added in a scrambled order: every one is found by binary search after freeze,
 * and every gap between them is not. */
static void test_find_item_binary_search_on_many_items(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 1, "Bulk"), CATALOG_OK);
    const int count = 3001;
    for (int i = 0; i < count; i++) {
        int sno = 1 + ((i * 1237) % count) * 3; /* 1237 is coprime with 3001 */
        assert_int_equal(catalog_add_item(cat, sno, 1, "bulk", 1, i), CATALOG_OK);
    }
    catalog_freeze(cat);
    assert_int_equal(catalog_item_count(cat), (size_t)count);
    for (int k = 0; k < count; k++) {
        int sno = 1 + k * 3;
        const catalog_item_t *item = catalog_find_item(cat, sno);
        assert_non_null(item);
        assert_int_equal(catalog_item_sno(item), sno);
        assert_int_equal(catalog_item_sno(catalog_item_at(cat, (size_t)k)), sno);
        assert_null(catalog_find_item(cat, sno + 1));
        assert_null(catalog_find_item(cat, sno + 2));
    }
}

static void check_category(const catalog_t *cat, const char *query, int want_number)
{
    const catalog_category_t *c = catalog_find_category(cat, query);
    if (c == NULL || c->number != want_number)
        print_error("catalog_find_category(\"%s\")\n", query);
    assert_non_null(c);
    assert_int_equal(c->number, want_number);
}

static void check_no_category(const catalog_t *cat, const char *query)
{
    const catalog_category_t *c = catalog_find_category(cat, query);
    if (c != NULL)
        print_error("catalog_find_category(\"%s\") found %d\n", query, c->number);
    assert_null(c);
}

static void test_find_category_by_number(void **state)
{
    catalog_t *cat = *state;
    for (int n = 1; n <= 5; n++) {
        char query[8];
        snprintf(query, sizeof query, "%d", n);
        check_category(cat, query, n);
    }
    check_category(cat, "01", 1);
    check_category(cat, "0005", 5);
    check_no_category(cat, "0");
    check_no_category(cat, "6");
    check_no_category(cat, "9999");
    check_no_category(cat, "10000");
    check_no_category(cat, "99999999999999999999999");
    check_no_category(cat, "-1");
    check_no_category(cat, "+1");
    check_no_category(cat, "1.0");
    for (int n = 1; n <= 5; n++)
        assert_int_equal(catalog_category_by_number(cat, n)->number, n);
    assert_null(catalog_category_by_number(cat, 0));
    assert_null(catalog_category_by_number(cat, 6));
}

static void test_find_category_by_name_ignoring_case_spaces_and_hyphens(void **state)
{
    catalog_t *cat = *state;
    check_category(cat, "Electronics", 1);
    check_category(cat, "electronics", 1);
    check_category(cat, "ELECTRONICS", 1);
    check_category(cat, "eLeCtRoNiCs", 1);
    check_category(cat, "Cosmetics", 2);
    check_category(cat, "clothes", 3);
    check_category(cat, "Shoes", 4);
    check_category(cat, "House-hold items", 5);
    check_category(cat, "house-hold items", 5);
    check_category(cat, "HouseHold Items", 5);
    check_category(cat, "HOUSEHOLD ITEMS", 5);
    check_category(cat, "household items", 5);
    check_category(cat, "householditems", 5);
    check_category(cat, "house_hold_items", 5);
    check_category(cat, " house - hold  items ", 5);
}

static void test_find_category_by_unambiguous_prefix(void **state)
{
    catalog_t *cat = *state;
    check_category(cat, "elec", 1);
    check_category(cat, "ele", 1);
    check_category(cat, "cos", 2);
    check_category(cat, "clo", 3);
    check_category(cat, "sho", 4);
    check_category(cat, "hou", 5);
    check_category(cat, "house-h", 5);
    check_category(cat, "HOUSE HOLD", 5);
    /* at least 3 normalised characters */
    check_no_category(cat, "el");
    check_no_category(cat, "e");
    check_no_category(cat, "e-l");
    check_no_category(cat, "co");
}

static void test_find_category_unknown(void **state)
{
    catalog_t *cat = *state;
    check_no_category(cat, "toys");
    check_no_category(cat, "electronicsx");
    check_no_category(cat, "lectronics");
    check_no_category(cat, "");
    check_no_category(cat, "   ");
    check_no_category(cat, "-_-");
    check_no_category(cat, "elec\ttronics");
    assert_null(catalog_find_category(cat, NULL));

    char long_query[300];
    memset(long_query, 'e', sizeof long_query - 1);
    long_query[sizeof long_query - 1] = '\0';
    check_no_category(cat, long_query);
}

static void test_find_category_ambiguous_prefix_is_null(void **state)
{
    catalog_t *cat = *state;
    assert_int_equal(catalog_add_category(cat, 1, "Shoes"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 2, "Shoes-Kids"), CATALOG_OK);
    assert_int_equal(catalog_add_category(cat, 3, "Shorts"), CATALOG_OK);
    catalog_freeze(cat);

    check_no_category(cat, "sho");   /* shoes, shoeskids, shorts */
    check_no_category(cat, "shoe");  /* shoes, shoeskids */
    check_category(cat, "shoes", 1); /* exact beats the longer name it is a prefix of */
    check_category(cat, "SHOES", 1);
    check_category(cat, "shoes k", 2);
    check_category(cat, "shoes_kids", 2);
    check_category(cat, "shor", 3);
}

static void test_find_category_works_before_freeze(void **state)
{
    catalog_t *cat = *state;
    add_course_catalog(cat);
    check_category(cat, "3", 3);
    check_category(cat, "household items", 5);
    check_category(cat, "elec", 1);
    check_no_category(cat, "7");
}

static void test_stock_publish_and_read(void **state)
{
    catalog_t *cat = *state;
    const catalog_item_t *laptop = catalog_find_item(cat, 102);
    const catalog_item_t *tv = catalog_find_item(cat, 103);
    assert_int_equal(catalog_item_stock(laptop), 17);

    catalog_publish_stock(laptop, 16);
    assert_int_equal(catalog_item_stock(laptop), 16);
    assert_int_equal(catalog_item_stock(tv), 19); /* other items untouched */

    catalog_publish_stock(laptop, 0);
    assert_int_equal(catalog_item_stock(laptop), 0);

    catalog_publish_stock(laptop, CATALOG_STOCK_MAX);
    assert_int_equal(catalog_item_stock(laptop), CATALOG_STOCK_MAX);

    /* the same item reached through every look-up shows the published value */
    catalog_publish_stock(laptop, 5);
    assert_int_equal(catalog_item_stock(catalog_item_at(cat, 1)), 5);
    const catalog_category_t *electronics = catalog_find_category(cat, "electronics");
    assert_int_equal(catalog_item_stock(catalog_item_at(cat, electronics->first_item + 1)), 5);
}

static void test_stock_initial_values(void **state)
{
    catalog_t *cat = *state;
    for (size_t i = 0; i < COURSE_ITEM_COUNT; i++)
        assert_int_equal(catalog_item_stock(catalog_find_item(cat, COURSE_ITEMS[i].sno)),
                         COURSE_ITEMS[i].stock);
}

int main(void)
{
#define EMPTY(test) cmocka_unit_test_setup_teardown(test, setup_empty, teardown)
#define COURSE(test) cmocka_unit_test_setup_teardown(test, setup_course_frozen, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_category_names),
        EMPTY(test_new_catalog_is_empty),
        cmocka_unit_test(test_free_null_is_harmless),
        EMPTY(test_add_category_rejects_bad_values),
        EMPTY(test_add_category_accepts_limits),
        EMPTY(test_add_category_rejects_duplicates),
        EMPTY(test_add_item_result_codes),
        EMPTY(test_duplicate_sno_rejected_across_categories),
        EMPTY(test_names_are_copied),
        COURSE(test_item_accessors),
        COURSE(test_freeze_sorts_categories_by_number),
        COURSE(test_freeze_sorts_items_by_category_then_sno),
        EMPTY(test_freeze_orders_by_category_before_sno),
        COURSE(test_freeze_twice_changes_nothing),
        EMPTY(test_pointers_survive_freeze),
        COURSE(test_find_item_by_sno),
        EMPTY(test_find_item_works_before_freeze),
        EMPTY(test_find_item_binary_search_on_many_items),
        COURSE(test_find_category_by_number),
        COURSE(test_find_category_by_name_ignoring_case_spaces_and_hyphens),
        COURSE(test_find_category_by_unambiguous_prefix),
        COURSE(test_find_category_unknown),
        EMPTY(test_find_category_ambiguous_prefix_is_null),
        EMPTY(test_find_category_works_before_freeze),
        COURSE(test_stock_publish_and_read),
        COURSE(test_stock_initial_values),
    };
#undef EMPTY
#undef COURSE
    return cmocka_run_group_tests(tests, NULL, NULL);
}
