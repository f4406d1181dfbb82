/* Unit tests of netaddr: the /32 and /64 prefixes limits are keyed by. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "core/netaddr.h"

static netaddr_prefix_t v4(const char *text)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1234)};
    assert_int_equal(inet_pton(AF_INET, text, &sin.sin_addr), 1);
    netaddr_prefix_t p;
    assert_true(netaddr_prefix_of((struct sockaddr *)&sin, &p));
    return p;
}

static netaddr_prefix_t v6(const char *text, uint16_t port)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
    netaddr_prefix_t p;
    assert_true(netaddr_prefix_of((struct sockaddr *)&sin6, &p));
    return p;
}

static void test_ipv4_is_keyed_by_the_whole_address(void **state)
{
    (void)state;
    netaddr_prefix_t a = v4("192.0.2.1"), b = v4("192.0.2.1"), c = v4("192.0.2.2");
    assert_int_equal(a.len, 4);
    assert_memory_equal(a.bytes, "\xc0\x00\x02\x01\0\0\0\0", NETADDR_PREFIX_MAX);
    assert_true(netaddr_prefix_equal(&a, &b));
    assert_false(netaddr_prefix_equal(&a, &c));
}

static void test_ipv6_is_keyed_by_its_64(void **state)
{
    (void)state;
    netaddr_prefix_t a = v6("2001:db8:1:2::1", 1), b = v6("2001:db8:1:2:ffff:eeee:dddd:cccc", 2);
    netaddr_prefix_t c = v6("2001:db8:1:3::1", 1);
    assert_int_equal(a.len, 8);
    assert_true(netaddr_prefix_equal(&a, &b));   /* same /64, any interface id and port */
    assert_false(netaddr_prefix_equal(&a, &c));  /* the next /64 */
}

static void test_v4_mapped_ipv6_counts_as_ipv4(void **state)
{
    (void)state;
    netaddr_prefix_t mapped = v6("::ffff:192.0.2.1", 9), plain = v4("192.0.2.1");
    assert_true(netaddr_prefix_equal(&mapped, &plain));
    /* and an IPv6 /64 that happens to share bytes never equals an IPv4 address */
    netaddr_prefix_t six = v6("c000:201::", 9);
    assert_false(netaddr_prefix_equal(&six, &plain));
}

static void test_other_families_have_no_prefix(void **state)
{
    (void)state;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    netaddr_prefix_t p;
    memset(&p, 0xaa, sizeof p);
    assert_false(netaddr_prefix_of((struct sockaddr *)&sun, &p));
    assert_int_equal(p.len, 0);
    assert_false(netaddr_prefix_equal(&p, &p)); /* no prefix equals nothing, not even itself */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_is_keyed_by_the_whole_address),
        cmocka_unit_test(test_ipv6_is_keyed_by_its_64),
        cmocka_unit_test(test_v4_mapped_ipv6_counts_as_ipv4),
        cmocka_unit_test(test_other_families_have_no_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
