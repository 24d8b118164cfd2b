/*
 * test_gofmt.c: Go fmt/strconv printing of template values (renderer/
 * gofmt.h): shortest floats and Go's %v exponent rule, FormatFloat with
 * precisions, Sprint spacing, Sprintf verbs/flags/errors, strconv.Quote.
 * Expected strings are what Go prints.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "renderer/gofmt.h"

static void check_value(const char *json, const char *want)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_gofmt_print_value(&b, v), 0);
    assert_string_equal(ks_buf_data(&b), want);
    ks_buf_release(&b);
    json_decref(v);
}

static void values(void **state)
{
    check_value("1000000.0", "1e+06");
    check_value("123456789.0", "1.23456789e+08");
    check_value("12345678901234567890.0", "1.2345678901234567e+19");
    check_value("3.14", "3.14");
    check_value("1.0", "1");
    check_value("0.00001", "1e-05");
    check_value("0.0001", "0.0001");
    check_value("-5.0", "-5");
    check_value("123456.0", "123456");
    check_value("0.1", "0.1");
    check_value("0.30000000000000004", "0.30000000000000004");
    check_value("1e100", "1e+100");
    check_value("-0.0", "-0");
    check_value("42", "42");
    check_value("-9223372036854775808", "-9223372036854775808");
    check_value("true", "true");
    check_value("null", "<nil>");
    check_value("\"s\"", "s");
    check_value("[1, \"a\", null, [], {}]", "[1 a <nil> [] map[]]");
    check_value("{\"b\":1,\"a\":{\"z\":[1.5]},\"B\":null}", "map[B:<nil> a:map[z:[1.5]] b:1]");
}

static void check_float(double f, char fmt, int prec, const char *want)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_gofmt_float(&b, f, fmt, prec), 0);
    assert_string_equal(ks_buf_data(&b), want);
    ks_buf_release(&b);
}

static void floats(void **state)
{
    check_float(1e21, 'g', -1, "1e+21");
    check_float(1.5, 'f', -1, "1.5");
    check_float(1e21, 'f', -1, "1000000000000000000000");
    check_float(0.000123, 'f', -1, "0.000123");
    check_float(1234.5678, 'e', -1, "1.2345678e+03");
    check_float(3.14159, 'f', 2, "3.14");
    check_float(2.5, 'f', 0, "2");
    check_float(1e6, 'e', 3, "1.000e+06");
    check_float(123456, 'g', 3, "1.23e+05");
    check_float(NAN, 'g', -1, "NaN");
    check_float(INFINITY, 'g', -1, "+Inf");
    check_float(-INFINITY, 'f', 2, "-Inf");
    check_float(0, 'g', -1, "0");
    check_float(5e-324, 'g', -1, "5e-324");
    check_float(1.7976931348623157e308, 'g', -1, "1.7976931348623157e+308");
}

static void check_printf(const char *format, const char *args_json, const char *want)
{
    json_t *a = json_loads(args_json, 0, NULL);
    assert_non_null(a);
    json_t *argv[16];
    size_t n = json_array_size(a);
    for (size_t i = 0; i < n; i++)
        argv[i] = json_array_get(a, i);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_gofmt_sprintf(&b, format, argv, n), 0);
    assert_string_equal(ks_buf_data(&b), want);
    ks_buf_release(&b);
    json_decref(a);
}

static void sprintf_verbs(void **state)
{
    check_printf("%v|%s|%d|%q|%t|%x|%5.2f|%-4s|%T", "[1,\"s\",7,\"q\",true,255,3.14159,\"ab\",1.5]",
                 "1|s|7|\"q\"|true|ff| 3.14|ab  |float64");
    check_printf("%d", "[42.0]", "%!d(float64=42)");
    check_printf("%s", "[1]", "%!s(int=1)");
    check_printf("%s-%s", "[\"a\"]", "a-%!s(MISSING)");
    check_printf("%s", "[\"a\", \"x\", 2]", "a%!(EXTRA string=x, int=2)");
    check_printf("%05d|%+d|% d|%x|%X|%o|%#x|%b|%c|%U", "[42,5,5,-255,255,8,255,5,65,65]",
                 "00042|+5| 5|-ff|FF|10|0xff|101|A|U+0041");
    check_printf("%6.2f|%-8.3e|%g|%G|%e", "[3.14159,1234.5,0.000001,1e-7,1.0]",
                 "  3.14|1.234e+03|1e-06|1E-07|1.000000e+00");
    check_printf("%v %s %d", "[[1,2],[\"a\"],[1,\"b\"]]", "[1 2] [a] [1 %!d(string=b)]");
    check_printf("%q", "[[\"a\",\"b\"]]", "[\"a\" \"b\"]");
    check_printf("%x|%X|% x", "[\"hi\",\"hi\",\"hi\"]", "6869|6869|68 69");
    check_printf("%.2s|%5s|%-5s", "[\"hello\",\"ab\",\"ab\"]", "he|   ab|ab   ");
    check_printf("%v|%s|%d", "[null,null,null]", "<nil>|%!s(<nil>)|%!d(<nil>)");
    check_printf("100%%", "[]", "100%");
    check_printf("%*d|%-*d|", "[4,7,3,1]", "   7|1  |");
    check_printf("%!", "[]", "%!!(MISSING)");
    check_printf("%", "[]", "%!(NOVERB)");
    check_printf("%v", "[{\"b\":1,\"a\":2}]", "map[a:2 b:1]");
    check_printf("%t", "[1]", "%!t(int=1)");
    check_printf("%z", "[1]", "%!z(int=1)");
    check_printf("%q", "[\"\\u00e9\\n\\u0001\\u00a0\"]", "\"\xc3\xa9\\n\\x01\\u00a0\"");
    check_printf("%q", "[65]", "'A'");
}

static void sprint_spacing(void **state)
{
    json_t *a = json_loads("[\"a\",1,2,\"b\",3.5,true,null]", 0, NULL);
    json_t *argv[7];
    for (size_t i = 0; i < 7; i++)
        argv[i] = json_array_get(a, i);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    ks_gofmt_sprint(&b, argv, 7);
    assert_string_equal(ks_buf_data(&b), "a1 2b3.5 true <nil>");
    ks_buf_reset(&b);
    ks_gofmt_sprintln(&b, argv, 2);
    assert_string_equal(ks_buf_data(&b), "a 1\n");
    ks_buf_reset(&b);
    ks_gofmt_quote(&b, "a\"b\\c\t\xff\xf0\x9f\x98\x80", 11);
    assert_string_equal(ks_buf_data(&b), "\"a\\\"b\\\\c\\t\\xff\xf0\x9f\x98\x80\"");
    assert_string_equal(ks_gofmt_type_name(argv[0]), "string");
    assert_string_equal(ks_gofmt_type_name(argv[1]), "int");
    assert_string_equal(ks_gofmt_type_name(argv[4]), "float64");
    assert_string_equal(ks_gofmt_type_name(a), "[]interface {}");
    ks_buf_release(&b);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values),
        cmocka_unit_test(floats),
        cmocka_unit_test(sprintf_verbs),
        cmocka_unit_test(sprint_spacing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
