/* Unit tests of ratelimit: windows, thresholds, resets, and bounded memory under many keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/ratelimit.h"

static void test_new_rejects_zero_sizes(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0, 5, 60));
    assert_null(ratelimit_new(8, 0, 60));
    assert_null(ratelimit_new(8, 5, 0));
}

static void test_blocks_after_max_failures_within_window(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(8, 3, 60);
    assert_non_null(rl);
    assert_false(ratelimit_blocked(rl, "u:root", 1000));
    ratelimit_fail(rl, "u:root", 1000);
    ratelimit_fail(rl, "u:root", 1001);
    assert_false(ratelimit_blocked(rl, "u:root", 1002));
    ratelimit_fail(rl, "u:root", 1002);
    assert_true(ratelimit_blocked(rl, "u:root", 1002));
    assert_true(ratelimit_blocked(rl, "u:root", 1059));
    /* Other keys are not affected. */
    assert_false(ratelimit_blocked(rl, "u:root1", 1002));
    ratelimit_free(rl);
}

static void test_window_expiry_unblocks_and_restarts_count(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(8, 2, 60);
    ratelimit_fail(rl, "a:127.0.0.1", 0);
    ratelimit_fail(rl, "a:127.0.0.1", 10);
    assert_true(ratelimit_blocked(rl, "a:127.0.0.1", 59));
    assert_false(ratelimit_blocked(rl, "a:127.0.0.1", 60));
    /* A failure after the window starts a new count of 1. */
    ratelimit_fail(rl, "a:127.0.0.1", 61);
    assert_false(ratelimit_blocked(rl, "a:127.0.0.1", 62));
    ratelimit_fail(rl, "a:127.0.0.1", 62);
    assert_true(ratelimit_blocked(rl, "a:127.0.0.1", 62));
    ratelimit_free(rl);
}

static void test_reset_forgets_failures(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(8, 1, 60);
    ratelimit_fail(rl, "u:alice", 5);
    assert_true(ratelimit_blocked(rl, "u:alice", 5));
    ratelimit_reset(rl, "u:alice");
    assert_false(ratelimit_blocked(rl, "u:alice", 5));
    ratelimit_reset(rl, "u:nobody"); /* unknown key: no effect, no crash */
    ratelimit_free(rl);
}

static void test_full_table_evicts_oldest_failure(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(4, 1, 600);
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ratelimit_fail(rl, key, 100 + i);
    }
    assert_true(ratelimit_blocked(rl, "k0", 110));
    /* A fifth key takes the slot of k0, whose last failure is oldest. */
    ratelimit_fail(rl, "k4", 110);
    assert_false(ratelimit_blocked(rl, "k0", 110));
    assert_true(ratelimit_blocked(rl, "k1", 110));
    assert_true(ratelimit_blocked(rl, "k4", 110));
    ratelimit_free(rl);
}

static void test_long_keys_are_truncated_consistently(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(4, 1, 60);
    char a[RATELIMIT_KEY_MAX + 20], b[RATELIMIT_KEY_MAX + 20];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[RATELIMIT_KEY_MAX + 5] = 'y'; /* differs only past the stored length */
    ratelimit_fail(rl, a, 1);
    assert_true(ratelimit_blocked(rl, b, 1));
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_zero_sizes),
        cmocka_unit_test(test_blocks_after_max_failures_within_window),
        cmocka_unit_test(test_window_expiry_unblocks_and_restarts_count),
        cmocka_unit_test(test_reset_forgets_failures),
        cmocka_unit_test(test_full_table_evicts_oldest_failure),
        cmocka_unit_test(test_long_keys_are_truncated_consistently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
