/*
 * test_duration.c: unit tests for Go-style duration parsing and formatting
 * (core/duration.h), including the error cases users hit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/duration.h"
#include "core/error.h"

static int64_t parse_ok(const char *s)
{
    int64_t v = -1;
    assert_int_equal(ks_duration_parse_ms(&v, s), 0);
    return v;
}

static void parses(void **state)
{
    assert_int_equal(parse_ok("30s"), 30000);
    assert_int_equal(parse_ok("5m"), 300000);
    assert_int_equal(parse_ok("1h30m"), 5400000);
    assert_int_equal(parse_ok("250ms"), 250);
    assert_int_equal(parse_ok("1.5h"), 5400000);
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("1m0.5s"), 60500);
    assert_int_equal(parse_ok("10s300ms"), 10300);
}

static void rejects(void **state)
{
    int64_t v = 42;
    const char *bad[] = {"", "5", "s", "-1s", "1d", "1 s", "1h x", ".s", "99999999999999999999h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ks_duration_parse_ms(&v, bad[i]), KS_EINVALID);
        assert_int_equal(v, 42);
    }
    ks_duration_parse_ms(&v, "1d");
    assert_non_null(strstr(ks_error_last(), "unit"));
}

static void formats(void **state)
{
    char b[32];
    assert_string_equal(ks_duration_format(b, sizeof b, 0), "0s");
    assert_string_equal(ks_duration_format(b, sizeof b, 250), "250ms");
    assert_string_equal(ks_duration_format(b, sizeof b, 5400000), "1h30m");
    assert_string_equal(ks_duration_format(b, sizeof b, 45000), "45s");
    assert_string_equal(ks_duration_format(b, sizeof b, 61500), "1m1.500s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses),
        cmocka_unit_test(rejects),
        cmocka_unit_test(formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
