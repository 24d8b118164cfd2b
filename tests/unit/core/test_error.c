/*
 * test_error.c: unit tests for the thread-local error messages and the
 * file:line:column prefix (core/error.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "core/error.h"

static void sets_message_and_code(void **state)
{
    assert_int_equal(ks_error_set(KS_EINVALID, "bad %s", "thing"), KS_EINVALID);
    assert_string_equal(ks_error_last(), "bad thing");
    assert_int_equal(ks_error_last_code(), KS_EINVALID);
    ks_error_clear();
    assert_string_equal(ks_error_last(), "");
}

static void position_prefix(void **state)
{
    struct ks_pos pos = {"apps/web.yaml", 12, 7};
    ks_error_set_at(KS_EINVALID, &pos, "duplicate key \"%s\"", "name");
    assert_string_equal(ks_error_last(), "apps/web.yaml:12:7: duplicate key \"name\"");
    struct ks_pos no_col = {"a.yaml", 3, 0};
    ks_error_set_at(KS_EINVALID, &no_col, "x");
    assert_string_equal(ks_error_last(), "a.yaml:3: x");
    ks_error_set_at(KS_EINVALID, NULL, "plain");
    assert_string_equal(ks_error_last(), "plain");
}

static void wrap_prefixes(void **state)
{
    ks_error_set(KS_ENOTFOUND, "no such file");
    assert_int_equal(ks_error_wrap(KS_ENOTFOUND, "loading %s", "chart"), KS_ENOTFOUND);
    assert_string_equal(ks_error_last(), "loading chart: no such file");
}

static void message_may_quote_itself(void **state)
{
    ks_error_set(KS_EINVALID, "inner cause");
    ks_error_set(KS_EINVALID, "outer: %s", ks_error_last());
    assert_string_equal(ks_error_last(), "outer: inner cause");
    struct ks_pos pos = {"f.yaml", 2, 3};
    ks_error_set_at(KS_EINVALID, &pos, "wrapped (%s)", ks_error_last());
    assert_string_equal(ks_error_last(), "f.yaml:2:3: wrapped (outer: inner cause)");
}

static void *other_thread(void *arg)
{
    ks_error_set(KS_EIO, "from thread");
    return NULL;
}

static void thread_local(void **state)
{
    ks_error_set(KS_EINVALID, "main");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    assert_string_equal(ks_error_last(), "main");
}

static void names(void **state)
{
    assert_string_equal(ks_error_name(KS_ELIMIT), "limit exceeded");
    assert_string_equal(ks_error_name(-999), "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sets_message_and_code),
        cmocka_unit_test(position_prefix),
        cmocka_unit_test(wrap_prefixes),
        cmocka_unit_test(thread_local),
        cmocka_unit_test(names),
        cmocka_unit_test(message_may_quote_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
