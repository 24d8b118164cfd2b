/*
 * test_deadline.c: unit tests for ks_deadline_after_ms (core/deadline.h):
 * the nanosecond carry, whole seconds, and "now" for zero or negative.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/deadline.h"

static int64_t ns_of(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ns_of(ts);
}

/* The deadline lies ms after a reading taken before it and at most ms after
 * one taken after it, and its nanoseconds stay normalised. */
static void check(clockid_t clock, int64_t ms)
{
    int64_t before = now_ns(clock);
    struct timespec ts = ks_deadline_after_ms(clock, ms);
    int64_t after = now_ns(clock);
    int64_t add = ms > 0 ? ms * 1000000 : 0;
    assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
    assert_true(ns_of(ts) >= before + add);
    assert_true(ns_of(ts) <= after + add);
}

static void adds_milliseconds(void **state)
{
    (void)state;
    static const int64_t cases[] = {1, 10, 999, 1000, 1001, 1999, 5000, 86400123};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check(CLOCK_MONOTONIC, cases[i]);
        check(CLOCK_REALTIME, cases[i]);
    }
}

static void zero_and_negative_are_now(void **state)
{
    (void)state;
    check(CLOCK_MONOTONIC, 0);
    check(CLOCK_MONOTONIC, -5);
    check(CLOCK_REALTIME, -1000);
}

/* Every sub-second remainder, so some of them carry into tv_sec. */
static void carries_into_seconds(void **state)
{
    (void)state;
    for (int64_t ms = 1; ms < 1000; ms += 7)
        check(CLOCK_MONOTONIC, ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adds_milliseconds),
        cmocka_unit_test(zero_and_negative_are_now),
        cmocka_unit_test(carries_into_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
