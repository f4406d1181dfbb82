/* Unit tests of session_map: put/get/remove, growth, and removal inside probe runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "server/commands.h"
#include "server/session_map.h"

#define N 2000

static void test_put_get_remove_one(void **state)
{
    (void)state;
    session_map_t *m = session_map_new();
    assert_non_null(m);
    session_t s = {.id = 0x1234567890abcd01ULL};
    assert_null(session_map_get(m, s.id));
    assert_int_equal(session_map_put(m, &s), 0);
    assert_ptr_equal(session_map_get(m, s.id), &s);
    assert_null(session_map_get(m, s.id + 1));
    session_map_remove(m, s.id);
    assert_null(session_map_get(m, s.id));
    session_map_remove(m, s.id); /* absent: no effect */
    session_map_free(m);
}

/* Many ids sharing their low (worker) byte, as a worker's sessions do: growth keeps every entry,
 * and removing half (which moves entries inside probe runs) keeps the other half reachable. */
static void test_many_sessions_survive_growth_and_removals(void **state)
{
    (void)state;
    session_map_t *m = session_map_new();
    session_t *s = calloc(N, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < N; i++) {
        s[i].id = ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL) << 8 | 0x03;
        assert_int_equal(session_map_put(m, &s[i]), 0);
    }
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(session_map_get(m, s[i].id), &s[i]);
    for (size_t i = 0; i < N; i += 2)
        session_map_remove(m, s[i].id);
    for (size_t i = 0; i < N; i++) {
        if (i % 2)
            assert_ptr_equal(session_map_get(m, s[i].id), &s[i]);
        else
            assert_null(session_map_get(m, s[i].id));
    }
    /* Put the removed ones back: the map is consistent after deletions. */
    for (size_t i = 0; i < N; i += 2)
        assert_int_equal(session_map_put(m, &s[i]), 0);
    for (size_t i = 0; i < N; i++)
        assert_ptr_equal(session_map_get(m, s[i].id), &s[i]);
    session_map_free(m);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_remove_one),
        cmocka_unit_test(test_many_sessions_survive_growth_and_removals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
