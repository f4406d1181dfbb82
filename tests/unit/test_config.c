/* Unit tests of config: the reader pool's options (defaults, parsing, bounds). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "server/config.h"

static int parse(config_t *cfg, int argc, char **argv)
{
    config_defaults(cfg);
    return config_parse_serve(cfg, argc, argv);
}

static void test_reader_defaults(void **state)
{
    (void)state;
    config_t cfg;
    config_defaults(&cfg);
    assert_int_equal(cfg.reader_threads, 2);
    assert_int_equal(cfg.reader_queue_max, 1024);
}

static void test_reader_options_parse(void **state)
{
    (void)state;
    config_t cfg;
    char *argv[] = {"netshopd", "--data", "d", "--reader-threads", "5", "--reader-queue", "7", NULL};
    assert_int_equal(parse(&cfg, 7, argv), 0);
    assert_int_equal(cfg.reader_threads, 5);
    assert_int_equal(cfg.reader_queue_max, 7);
    assert_int_equal(cfg.auth_threads, 2); /* untouched */
}

static void test_reader_options_bounds(void **state)
{
    (void)state;
    config_t cfg;
    char *zero[] = {"netshopd", "--data", "d", "--reader-threads", "0", NULL};
    char *many[] = {"netshopd", "--data", "d", "--reader-threads", "65", NULL};
    char *queue[] = {"netshopd", "--data", "d", "--reader-queue", "0", NULL};
    char *text[] = {"netshopd", "--data", "d", "--reader-queue", "lots", NULL};
    assert_int_equal(parse(&cfg, 5, zero), -1);
    assert_int_equal(parse(&cfg, 5, many), -1);
    assert_int_equal(parse(&cfg, 5, queue), -1);
    assert_int_equal(parse(&cfg, 5, text), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_defaults),
        cmocka_unit_test(test_reader_options_parse),
        cmocka_unit_test(test_reader_options_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
