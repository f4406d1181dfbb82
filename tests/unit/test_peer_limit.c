/* Unit tests of peer_limit: the per-prefix cap, release, independence of prefixes, and counts
 * kept exact when many threads acquire and release at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "server/peer_limit.h"

static netaddr_prefix_t v4(uint32_t n)
{
    netaddr_prefix_t p = {.len = 4};
    memcpy(p.bytes, &n, 4);
    return p;
}

static void test_cap_per_prefix_and_release(void **state)
{
    (void)state;
    peer_limit_t *pl = peer_limit_new(3);
    assert_non_null(pl);
    netaddr_prefix_t a = v4(1), b = v4(2);
    for (int i = 0; i < 3; i++)
        assert_true(peer_limit_acquire(pl, &a));
    assert_false(peer_limit_acquire(pl, &a));
    assert_true(peer_limit_acquire(pl, &b));      /* another prefix has its own count */
    peer_limit_release(pl, &a);
    assert_true(peer_limit_acquire(pl, &a));      /* a slot came back */
    assert_false(peer_limit_acquire(pl, &a));
    for (int i = 0; i < 3; i++)
        peer_limit_release(pl, &a);
    peer_limit_release(pl, &b);
    for (int i = 0; i < 3; i++)                   /* entries freed at zero start again at zero */
        assert_true(peer_limit_acquire(pl, &a));
    assert_false(peer_limit_acquire(pl, &a));
    peer_limit_free(pl);                          /* frees the entries still counted */
}

static void test_many_prefixes_do_not_share_counts(void **state)
{
    (void)state;
    peer_limit_t *pl = peer_limit_new(1);
    for (uint32_t i = 0; i < 20000; i++) {       /* more prefixes than buckets: chains */
        netaddr_prefix_t p = v4(i);
        assert_true(peer_limit_acquire(pl, &p));
    }
    for (uint32_t i = 0; i < 20000; i++) {
        netaddr_prefix_t p = v4(i);
        assert_false(peer_limit_acquire(pl, &p));
        peer_limit_release(pl, &p);
    }
    peer_limit_free(pl);
}

#define THREADS 4
#define ROUNDS 20000

static void *churn(void *arg)
{
    peer_limit_t *pl = arg;
    netaddr_prefix_t p = v4(7);
    for (int i = 0; i < ROUNDS; i++) {
        if (peer_limit_acquire(pl, &p))
            peer_limit_release(pl, &p);
    }
    return NULL;
}

static void test_concurrent_acquire_release_keeps_counts_exact(void **state)
{
    (void)state;
    peer_limit_t *pl = peer_limit_new(2);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, pl), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    netaddr_prefix_t p = v4(7);
    assert_true(peer_limit_acquire(pl, &p));      /* every acquire was released: back to 0 */
    assert_true(peer_limit_acquire(pl, &p));
    assert_false(peer_limit_acquire(pl, &p));
    peer_limit_free(pl);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_per_prefix_and_release),
        cmocka_unit_test(test_many_prefixes_do_not_share_counts),
        cmocka_unit_test(test_concurrent_acquire_release_keeps_counts_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
