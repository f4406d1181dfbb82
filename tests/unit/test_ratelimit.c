/* Unit tests of ratelimit: windows, thresholds, resets, backoff, reservations (concurrent checks
 * cannot add guesses), bucket eviction under sprayed keys, known sources, and source keys (IPv6
 * by /64). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/ratelimit.h"

/* FNV-1a: the tests' stand-in for the server's keyed SipHash. */
static uint64_t fnv(const void *key, size_t len, void *arg)
{
    (void)arg;
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Every key in bucket 0: what an attacker who could aim keys would get. */
static uint64_t same_bucket(const void *key, size_t len, void *arg)
{
    (void)key, (void)len, (void)arg;
    return 0;
}

static ratelimit_t *limiter(size_t slots, unsigned max, int64_t window, unsigned backoff,
                            ratelimit_hash_fn hash)
{
    ratelimit_params_t p = {.slots = slots, .max_failures = max, .window_secs = window,
                            .backoff_max = backoff, .hash = hash};
    ratelimit_t *rl = ratelimit_new(&p);
    assert_non_null(rl);
    return rl;
}

static void test_new_rejects_zero_sizes(void **state)
{
    (void)state;
    ratelimit_params_t ok = {.slots = 8, .max_failures = 5, .window_secs = 60, .hash = fnv};
    ratelimit_params_t p = ok;
    p.slots = 0;
    assert_null(ratelimit_new(&p));
    p = ok;
    p.max_failures = 0;
    assert_null(ratelimit_new(&p));
    p = ok;
    p.window_secs = 0;
    assert_null(ratelimit_new(&p));
    p = ok;
    p.hash = NULL;
    assert_null(ratelimit_new(&p));
    p = ok;
    p.backoff_max = RATELIMIT_BACKOFF_MAX + 1;
    assert_null(ratelimit_new(&p));
    assert_null(ratelimit_known_new(0, 60, fnv, NULL));
    assert_null(ratelimit_known_new(8, 0, fnv, NULL));
    ratelimit_free(ratelimit_new(&ok));
}

static void test_blocks_after_max_failures_within_window(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 3, 60, 0, fnv);
    assert_false(ratelimit_blocked(rl, "root", 1000));
    ratelimit_fail(rl, "root", 1000);
    ratelimit_fail(rl, "root", 1001);
    assert_false(ratelimit_blocked(rl, "root", 1002));
    ratelimit_fail(rl, "root", 1002);
    assert_true(ratelimit_blocked(rl, "root", 1002));
    assert_int_equal(ratelimit_check(rl, "root", 1059), RATELIMIT_BLOCKED);
    /* Other keys are not affected. */
    assert_int_equal(ratelimit_check(rl, "root1", 1002), RATELIMIT_ALLOW);
    ratelimit_free(rl);
}

static void test_window_expiry_unblocks_and_restarts_count(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 2, 60, 0, fnv);
    ratelimit_fail(rl, "127.0.0.1", 0);
    ratelimit_fail(rl, "127.0.0.1", 10);
    assert_true(ratelimit_blocked(rl, "127.0.0.1", 59));
    assert_false(ratelimit_blocked(rl, "127.0.0.1", 60));
    /* A failure after the window starts a new count of 1 (no backoff: same length). */
    ratelimit_fail(rl, "127.0.0.1", 61);
    assert_false(ratelimit_blocked(rl, "127.0.0.1", 62));
    ratelimit_fail(rl, "127.0.0.1", 62);
    assert_true(ratelimit_blocked(rl, "127.0.0.1", 62));
    assert_int_equal(ratelimit_window_of(rl, "127.0.0.1"), 60);
    assert_false(ratelimit_blocked(rl, "127.0.0.1", 121));
    ratelimit_free(rl);
}

static void test_reset_forgets_failures(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 1, 60, 0, fnv);
    ratelimit_fail(rl, "alice", 5);
    assert_true(ratelimit_blocked(rl, "alice", 5));
    ratelimit_reset(rl, "alice");
    assert_false(ratelimit_blocked(rl, "alice", 5));
    ratelimit_reset(rl, "nobody"); /* unknown key: no effect, no crash */
    ratelimit_free(rl);
}

/* Regression (audit finding 9): the check came before the hash and the failure after it, so k
 * hashing threads let k-1 extra guesses through. A reservation counts against the limit until
 * it is settled: N reserved attempts, none settled yet, leave no room for an N+1th. */
static void test_regression_reserved_attempts_cannot_exceed_max_failures(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 5, 60, 0, fnv);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_try_reserve(rl, "root", 100), RATELIMIT_ALLOW);
    assert_int_equal(ratelimit_try_reserve(rl, "root", 100), RATELIMIT_WAIT);
    assert_int_equal(ratelimit_check(rl, "root", 100), RATELIMIT_WAIT);
    /* They all fail: the key is blocked, and the refused sixth was never counted. */
    for (int i = 0; i < 5; i++)
        ratelimit_settle(rl, "root", true, 101);
    assert_int_equal(ratelimit_try_reserve(rl, "root", 101), RATELIMIT_BLOCKED);
    ratelimit_free(rl);
}

static void test_settled_successes_give_the_room_back(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 3, 60, 0, fnv);
    ratelimit_fail(rl, "root", 10);
    assert_int_equal(ratelimit_try_reserve(rl, "root", 10), RATELIMIT_ALLOW);
    assert_int_equal(ratelimit_try_reserve(rl, "root", 10), RATELIMIT_ALLOW);
    assert_int_equal(ratelimit_try_reserve(rl, "root", 10), RATELIMIT_WAIT);
    ratelimit_settle(rl, "root", false, 11); /* a success: nothing counted */
    assert_int_equal(ratelimit_try_reserve(rl, "root", 11), RATELIMIT_ALLOW);
    ratelimit_settle(rl, "root", true, 12);
    ratelimit_settle(rl, "root", false, 12);
    assert_int_equal(ratelimit_check(rl, "root", 12), RATELIMIT_ALLOW); /* 2 failures of 3 */
    ratelimit_settle(rl, "nobody", true, 12); /* never reserved: counts, no crash */
    assert_false(ratelimit_blocked(rl, "nobody", 12));
    ratelimit_free(rl);
}

static void test_backoff_doubles_the_window_while_guessing_goes_on(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 2, 60, 3, fnv);
    int64_t t = 0;
    int64_t want[] = {60, 120, 240, 480, 480};
    for (size_t round = 0; round < sizeof want / sizeof want[0]; round++) {
        ratelimit_fail(rl, "root", t);
        ratelimit_fail(rl, "root", t);
        assert_int_equal(ratelimit_window_of(rl, "root"), want[round]);
        assert_true(ratelimit_blocked(rl, "root", t + want[round] - 1));
        assert_false(ratelimit_blocked(rl, "root", t + want[round]));
        t += want[round]; /* the next guess comes as soon as it may */
    }
    /* A quiet spell longer than a window after the last one: back to the base window. */
    ratelimit_fail(rl, "root", t + 2 * 480);
    assert_int_equal(ratelimit_window_of(rl, "root"), 60);
    /* A window that did not end blocked does not back off either. */
    ratelimit_t *fixed = limiter(8, 2, 60, 3, fnv);
    ratelimit_fail(fixed, "a", 0);
    ratelimit_fail(fixed, "a", 60);
    assert_int_equal(ratelimit_window_of(fixed, "a"), 60);
    ratelimit_free(fixed);
    ratelimit_free(rl);
}

/* Regression (audit finding 9): the table forgot its oldest entry when full, so spraying new keys
 * erased a blocked key's record. Spraying now evicts only entries that matter less. */
static void test_regression_spraying_keys_does_not_evict_a_blocked_key(void **state)
{
    (void)state;
    /* One bucket of 8, every key aimed at it (worse than an attacker without the secret). */
    ratelimit_t *rl = limiter(8, 3, 600, 0, same_bucket);
    for (int i = 0; i < 3; i++)
        ratelimit_fail(rl, "victim-guessed", 100);
    assert_true(ratelimit_blocked(rl, "victim-guessed", 100));
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "spray%d", i);
        ratelimit_fail(rl, key, 101 + i / 100);
    }
    assert_true(ratelimit_blocked(rl, "victim-guessed", 200));
    /* Two failures beat one: a half-way key also survives single-failure spraying. */
    ratelimit_fail(rl, "half", 300);
    ratelimit_fail(rl, "half", 300);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "more%d", i);
        ratelimit_fail(rl, key, 301);
    }
    ratelimit_fail(rl, "half", 302);
    assert_true(ratelimit_blocked(rl, "half", 302));
    ratelimit_free(rl);
}

static void test_full_bucket_reuses_a_stale_entry_first(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 1, 60, 0, same_bucket);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ratelimit_fail(rl, key, i == 3 ? 0 : 100); /* k3's window is over at 100 */
    }
    ratelimit_fail(rl, "new", 100);
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(ratelimit_blocked(rl, key, 100), i != 3);
    }
    assert_true(ratelimit_blocked(rl, "new", 100));
    ratelimit_free(rl);
}

/* What remains: a bucket full of blocked keys gives up the one blocked longest ago. Reaching
 * that needs RATELIMIT_WAYS blocked keys in one bucket, which the secret hash key hides. */
static void test_bucket_of_blocked_keys_gives_up_the_oldest(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 1, 600, 0, same_bucket);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ratelimit_fail(rl, key, 100 + i);
    }
    ratelimit_fail(rl, "k8", 110);
    assert_false(ratelimit_blocked(rl, "k0", 110));
    for (int i = 1; i <= 8; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(ratelimit_blocked(rl, key, 110));
    }
    ratelimit_free(rl);
}

static void test_pending_entry_is_not_evicted(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(8, 2, 60, 0, same_bucket);
    ratelimit_reserve(rl, "inflight", 0);
    ratelimit_reserve(rl, "inflight", 0);
    char key[16];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ratelimit_fail(rl, key, 1);
        ratelimit_fail(rl, key, 1);
    }
    assert_int_equal(ratelimit_check(rl, "inflight", 1), RATELIMIT_WAIT);
    ratelimit_free(rl);
}

static void test_many_keys_stay_bounded_and_found(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(4096, 1, 60, 0, fnv);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        ratelimit_fail(rl, key, 5);
    }
    int blocked = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        blocked += ratelimit_blocked(rl, key, 5);
    }
    assert_int_equal(blocked, 1000); /* 1000 keys in 512 buckets of 8: none forgotten */
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "spray-%d", i);
        ratelimit_fail(rl, key, 6);
    }
    ratelimit_free(rl);
}

static void test_long_keys_are_truncated_consistently(void **state)
{
    (void)state;
    ratelimit_t *rl = limiter(4, 1, 60, 0, fnv);
    char a[RATELIMIT_KEY_MAX + 20], b[RATELIMIT_KEY_MAX + 20];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[RATELIMIT_KEY_MAX + 5] = 'y'; /* differs only past the stored length */
    ratelimit_fail(rl, a, 1);
    assert_true(ratelimit_blocked(rl, b, 1));
    ratelimit_free(rl);
}

static void test_known_keys_expire_after_their_ttl(void **state)
{
    (void)state;
    ratelimit_known_t *k = ratelimit_known_new(64, 30, fnv, NULL);
    assert_non_null(k);
    assert_false(ratelimit_known_has(k, "root 127.0.0.2", 0));
    ratelimit_known_add(k, "root 127.0.0.2", 10);
    assert_true(ratelimit_known_has(k, "root 127.0.0.2", 39));
    assert_false(ratelimit_known_has(k, "root 127.0.0.3", 39));
    assert_false(ratelimit_known_has(k, "root 127.0.0.2", 40));
    ratelimit_known_add(k, "root 127.0.0.2", 40); /* a new login refreshes it */
    assert_true(ratelimit_known_has(k, "root 127.0.0.2", 69));
    ratelimit_known_free(k);
}

static void test_known_full_bucket_forgets_expired_then_oldest(void **state)
{
    (void)state;
    ratelimit_known_t *k = ratelimit_known_new(8, 100, same_bucket, NULL);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "p%d", i);
        ratelimit_known_add(k, key, i == 5 ? 0 : 50 + i); /* p5 expires at 100 */
    }
    ratelimit_known_add(k, "new", 120);
    assert_true(ratelimit_known_has(k, "p0", 120));
    assert_true(ratelimit_known_has(k, "new", 120));
    ratelimit_known_add(k, "newer", 121); /* nothing expired: p0, the oldest, goes */
    assert_false(ratelimit_known_has(k, "p0", 121));
    assert_true(ratelimit_known_has(k, "p1", 121));
    assert_true(ratelimit_known_has(k, "newer", 121));
    ratelimit_known_free(k);
}

static void assert_source_key(const char *addr, const char *want, bool is_addr)
{
    char out[RATELIMIT_SOURCE_MAX];
    assert_int_equal(ratelimit_source_key(addr, out), is_addr);
    assert_string_equal(out, want);
}

/* Regression (audit finding 9): IPv6 sources were keyed by the whole /128, so one subscriber's
 * /64 had 2^64 fresh addresses to guess from. */
static void test_regression_ipv6_sources_are_keyed_by_slash_64(void **state)
{
    (void)state;
    assert_source_key("2001:db8:1:2::1", "2001:db8:1:2::/64", true);
    assert_source_key("2001:db8:1:2:ffff:eeee:dddd:cccc", "2001:db8:1:2::/64", true);
    assert_source_key("2001:db8:1:3::1", "2001:db8:1:3::/64", true);
    assert_source_key("::1", "::/64", true);
    assert_source_key("fe80::1234:5678", "fe80::/64", true);
    assert_source_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64", true);
    /* IPv4, and IPv4 seen through a dual-stack socket, by the whole address. */
    assert_source_key("192.0.2.7", "192.0.2.7", true);
    assert_source_key("::ffff:192.0.2.7", "192.0.2.7", true);
    /* Anything else is used as it is. */
    assert_source_key("?", "?", false);
    assert_source_key("", "", false);

    /* Addresses of one /64 share one count. */
    ratelimit_t *rl = limiter(64, 3, 60, 0, fnv);
    const char *addrs[] = {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::99"};
    char key[RATELIMIT_SOURCE_MAX];
    for (size_t i = 0; i < 3; i++) {
        ratelimit_source_key(addrs[i], key);
        ratelimit_fail(rl, key, 1);
    }
    ratelimit_source_key("2001:db8:1:2:5:6:7:8", key);
    assert_true(ratelimit_blocked(rl, key, 2));
    ratelimit_source_key("2001:db8:1:3::1", key);
    assert_false(ratelimit_blocked(rl, key, 2));
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_zero_sizes),
        cmocka_unit_test(test_blocks_after_max_failures_within_window),
        cmocka_unit_test(test_window_expiry_unblocks_and_restarts_count),
        cmocka_unit_test(test_reset_forgets_failures),
        cmocka_unit_test(test_regression_reserved_attempts_cannot_exceed_max_failures),
        cmocka_unit_test(test_settled_successes_give_the_room_back),
        cmocka_unit_test(test_backoff_doubles_the_window_while_guessing_goes_on),
        cmocka_unit_test(test_regression_spraying_keys_does_not_evict_a_blocked_key),
        cmocka_unit_test(test_full_bucket_reuses_a_stale_entry_first),
        cmocka_unit_test(test_bucket_of_blocked_keys_gives_up_the_oldest),
        cmocka_unit_test(test_pending_entry_is_not_evicted),
        cmocka_unit_test(test_many_keys_stay_bounded_and_found),
        cmocka_unit_test(test_long_keys_are_truncated_consistently),
        cmocka_unit_test(test_known_keys_expire_after_their_ttl),
        cmocka_unit_test(test_known_full_bucket_forgets_expired_then_oldest),
        cmocka_unit_test(test_regression_ipv6_sources_are_keyed_by_slash_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
