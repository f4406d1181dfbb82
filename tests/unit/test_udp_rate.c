/* Unit tests of udp_rate: one bucket per prefix whatever thread asks, distinct prefixes never
 * share a bucket while their set has room, and reuse of refilled buckets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "server/udp_rate.h"

#define SEC 1000000000LL

static netaddr_prefix_t v4(uint32_t n)
{
    netaddr_prefix_t p = {.len = 4};
    memcpy(p.bytes, &n, 4);
    return p;
}

static int allowed(udp_rate_t *r, const netaddr_prefix_t *p, int64_t now, int tries)
{
    int ok = 0;
    for (int i = 0; i < tries; i++)
        ok += udp_rate_allow(r, p, now);
    return ok;
}

static void test_one_prefix_gets_its_rate(void **state)
{
    (void)state;
    udp_rate_t *r = udp_rate_new(50);
    netaddr_prefix_t a = v4(1);
    assert_int_equal(allowed(r, &a, 1 * SEC, 200), 50);
    assert_int_equal(allowed(r, &a, 1 * SEC + SEC / 10, 200), 5);
    udp_rate_free(r);
}

static void test_a_busy_prefix_does_not_spend_anothers_budget(void **state)
{
    (void)state;
    udp_rate_t *r = udp_rate_new(10);
    /* Many busy prefixes at once: fewer than the table's ways on average per set, so each
     * keeps its own bucket (the old table shared one bucket per hash slot). */
    enum { N = UDP_RATE_SETS };
    for (uint32_t i = 0; i < N; i++) {
        netaddr_prefix_t p = v4(i);
        assert_int_equal(allowed(r, &p, 1 * SEC, 10), 10);
    }
    int refused = 0;
    for (uint32_t i = 0; i < N; i++) {
        netaddr_prefix_t p = v4(i);
        refused += !udp_rate_allow(r, &p, 1 * SEC);
    }
    /* Each prefix spent its own 10; only a set with more than UDP_RATE_WAYS busy prefixes
     * could have forgotten one (a handful, by chance). */
    assert_true(refused > N - N / 50);
    udp_rate_free(r);
}

static void test_refilled_buckets_are_reused_without_loss(void **state)
{
    (void)state;
    udp_rate_t *r = udp_rate_new(5);
    for (uint32_t i = 0; i < 50000; i++) {        /* a flood of one-off sources */
        netaddr_prefix_t p = v4(100000 + i);
        assert_true(udp_rate_allow(r, &p, 1 * SEC));
    }
    netaddr_prefix_t a = v4(1);
    assert_int_equal(allowed(r, &a, 10 * SEC, 20), 5);
    for (uint32_t i = 0; i < 50000; i++) {        /* later, another flood: a's bucket is busy */
        netaddr_prefix_t p = v4(200000 + i);
        udp_rate_allow(r, &p, 10 * SEC);
    }
    udp_rate_free(r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_prefix_gets_its_rate),
        cmocka_unit_test(test_a_busy_prefix_does_not_spend_anothers_budget),
        cmocka_unit_test(test_refilled_buckets_are_reused_without_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
