/*
 * test_buf.c: unit tests for the capped buffer (core/buf.h): growth,
 * sticky limit errors, escaping and detaching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

static void grows_and_terminates(void **state)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_string_equal(ks_buf_data(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ks_buf_printf(&b, "%d,", i % 10), 0);
    assert_int_equal(ks_buf_len(&b), 2000);
    assert_int_equal(ks_buf_data(&b)[2000], '\0');
    assert_memory_equal(ks_buf_data(&b), "0,1,2,", 6);
    ks_buf_release(&b);
}

static void limit_is_sticky_and_named(void **state)
{
    struct ks_buf b;
    ks_buf_init(&b, 8);
    assert_int_equal(ks_buf_puts(&b, "12345678"), 0);
    assert_int_equal(ks_buf_putc(&b, '9'), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 8 bytes"));
    assert_int_equal(ks_buf_puts(&b, ""), KS_ELIMIT);
    assert_int_equal(ks_buf_error(&b), KS_ELIMIT);
    assert_int_equal(ks_buf_len(&b), 8);
    assert_null(ks_buf_detach(&b, NULL));
    ks_buf_reset(&b);
    assert_int_equal(ks_buf_error(&b), 0);
    assert_int_equal(ks_buf_puts(&b, "ok"), 0);
    ks_buf_release(&b);
}

static void escapes_json(void **state)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    ks_buf_put_escaped(&b, "a\"b\\c\n\x01");
    assert_string_equal(ks_buf_data(&b), "a\\\"b\\\\c\\n\\u0001");
    ks_buf_release(&b);
}

static void detach_hands_over(void **state)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    size_t len = 99;
    char *empty = ks_buf_detach(&b, &len);
    assert_non_null(empty);
    assert_int_equal(len, 0);
    free(empty);
    ks_buf_puts(&b, "hello");
    char *p = ks_buf_detach(&b, &len);
    assert_string_equal(p, "hello");
    assert_int_equal(len, 5);
    assert_int_equal(ks_buf_len(&b), 0);
    free(p);
    ks_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_terminates),
        cmocka_unit_test(limit_is_sticky_and_named),
        cmocka_unit_test(escapes_json),
        cmocka_unit_test(detach_hands_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
