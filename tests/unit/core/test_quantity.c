/*
 * test_quantity.c: unit tests for Kubernetes resource quantities
 * (core/quantity.h): the parse cases of apimachinery's quantity_test.go
 * checked through MilliValue()/Value() semantics, rounding, overflow,
 * error messages, JSON numbers and canonical formatting with round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/quantity.h"

#define NO_VALUE INT64_MIN /* marks "this unit overflows" in the tables */

struct qcase {
    const char *in;
    int64_t milli;
    int64_t value;
};

static void check_case(const struct qcase *c)
{
    int64_t v = 42;
    int rc = ks_quantity_parse_milli(&v, c->in);
    if (c->milli == NO_VALUE) {
        if (rc != KS_EINVALID)
            fail_msg("%s: milli parsed as %lld, expected overflow", c->in, (long long)v);
        assert_int_equal(v, 42);
        assert_non_null(strstr(ks_error_last(), "too large"));
    } else {
        if (rc != 0)
            fail_msg("%s: %s", c->in, ks_error_last());
        if (v != c->milli)
            fail_msg("%s: milli %lld, expected %lld", c->in, (long long)v, (long long)c->milli);
    }
    v = 42;
    rc = ks_quantity_parse_value(&v, c->in);
    if (c->value == NO_VALUE) {
        if (rc != KS_EINVALID)
            fail_msg("%s: value parsed as %lld, expected overflow", c->in, (long long)v);
        assert_int_equal(v, 42);
    } else {
        if (rc != 0)
            fail_msg("%s: %s", c->in, ks_error_last());
        if (v != c->value)
            fail_msg("%s: value %lld, expected %lld", c->in, (long long)v, (long long)c->value);
    }
}

static void check_cases(const struct qcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i]);
}

static void parses_plain_and_decimal_si(void **state)
{
    static const struct qcase cases[] = {
        {"0", 0, 0},
        {"0n", 0, 0},
        {"0m", 0, 0},
        {"0Ki", 0, 0},
        {"0T", 0, 0},
        {"-0", 0, 0},
        {"000", 0, 0},
        {"1", 1000, 1},
        {"9", 9000, 9},
        {"100m", 100, 1},
        {"250m", 250, 1},
        {"1000m", 1000, 1},
        {"0.5", 500, 1},
        {"0.1m", 1, 1}, /* rounds up to the smallest unit */
        {"5n", 1, 1},
        {"4u", 1, 1},
        {"3m", 3, 1},
        {"8k", 8000000, 8000},
        {"50k", 50000000, 50000},
        {"7M", 7000000000, 7000000},
        {"6G", 6000000000000, 6000000000},
        {"5T", 5000000000000000, 5000000000000},
        {"2P", 2000000000000000000, 2000000000000000},
        {"1E", NO_VALUE, 1000000000000000000},
        {"129M", 129000000000, 129000000},
        {"128974848", 128974848000, 128974848},
        {"1.", 1000, 1},
        {"5.", 5000, 5},
        {".5", 500, 1},
        {".001", 1, 1},
        {".0001k", 100, 1},
        {"1.G", 1000000000000, 1000000000},
        {"+1", 1000, 1},
        {"-1", -1000, -1},
        {"00001.000", 1000, 1},
        {"9.01", 9010, 10},
        {"8.1k", 8100000, 8100},
        {"100.035k", 100035000, 100035},
        {"7.123456M", 7123456000, 7123456},
        {"6.987654321G", 6987654321000, 6987654321},
        {"10.035M", 10035000000, 10035000},
        {"2.5P", 2500000000000000000, 2500000000000000},
        {"1.01E", NO_VALUE, 1010000000000000000},
        {"12E", NO_VALUE, NO_VALUE},
        {"3.001n", 1, 1},
        {"0.0000000001", 1, 1},
        {"0.00000012345", 1, 1},
        {"0.9n", 1, 1},
        {"0.001", 1, 1},
        {"0.0005k", 500, 1},
        {"0.50000", 500, 1},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void parses_exponents_and_binary_si(void **state)
{
    static const struct qcase cases[] = {
        {"1e3", 1000000, 1000},
        {"1E-3", 1, 1},
        {"1e-3", 1, 1},
        {"1E6", 1000000000, 1000000},
        {"1e9", 1000000000000, 1000000000},
        {"1E18", NO_VALUE, 1000000000000000000},
        {"1e19", NO_VALUE, NO_VALUE},
        {"129e6", 129000000000, 129000000},
        {"1.2e3", 1200000, 1200},
        {"1.3E+6", 1300000000, 1300000},
        {"1.40e9", 1400000000000, 1400000000},
        {"0.5e0", 500, 1},
        {"0.5e-1", 50, 1},
        {"0.5e-2", 5, 1},
        {"0.5e-9", 1, 1},
        {"1.1E-9", 1, 1},
        {"2e-4", 1, 1},
        {"1e-99999999999999", 1, 1}, /* huge exponents clamp, still round up */
        {"0e99999999999", 0, 0},
        {"1Ki", 1024000, 1024},
        {"8Ki", 8192000, 8192},
        {"7Mi", 7340032000, 7340032},
        {"123Mi", 128974848000, 128974848},
        {"6Gi", 6442450944000, 6442450944},
        {"5Ti", 5497558138880000, 5497558138880},
        {"4Pi", 4503599627370496000, 4503599627370496},
        {"3Ei", NO_VALUE, 3458764513820540928},
        {"7Ei", NO_VALUE, 8070450532247928832},
        {"8Ei", NO_VALUE, NO_VALUE}, /* 2^63 */
        {"9Ei", NO_VALUE, NO_VALUE},
        {"1.5Gi", 1610612736000, 1610612736},
        {"0.5Mi", 524288000, 524288},
        {"100.035Ki", 102435840, 102436},
        {"0.05Gi", 53687091200, 53687092},
        {"0.025Ti", 27487790694400, 27487790695},
        {".001Ki", 1024, 2},
        {"0.000000000001Ki", 1, 1},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void rounds_away_from_zero_for_negatives(void **state)
{
    static const struct qcase cases[] = {
        {"-1.5", -1500, -2}, {"-9.01", -9010, -10},     {"-0.1m", -1, -1},
        {"-100m", -100, -1}, {"-1Ki", -1024000, -1024}, {"-.5", -500, -1},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void int64_limits(void **state)
{
    static const struct qcase cases[] = {
        {"9223372036854775807", NO_VALUE, INT64_MAX},
        {"-9223372036854775807", NO_VALUE, -INT64_MAX},
        {"9223372036854775808", NO_VALUE, NO_VALUE},
        {"9223372036854775807m", INT64_MAX, 9223372036854776},
        {"9223372036854775808m", NO_VALUE, 9223372036854776},
        {"9223372036854775.807", INT64_MAX, 9223372036854776},
        {"9223372036854775807k", NO_VALUE, NO_VALUE},
        {"9223372036854775807Ki", NO_VALUE, NO_VALUE},
        {"8589934591Gi", NO_VALUE, 9223372035781033984},
        {"99999999999999999999999999999999999999", NO_VALUE, NO_VALUE},
        {"0.00000000000000000000000000000000000001", 1, 1},
        {"000000000000000000000000000000000000001", 1000, 1},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void expect_error(const char *in, const char *message_part)
{
    int64_t v = 42;
    if (ks_quantity_parse_milli(&v, in) != KS_EINVALID)
        fail_msg("\"%s\" parsed as %lld milli", in, (long long)v);
    assert_int_equal(v, 42);
    if (!strstr(ks_error_last(), message_part))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, ks_error_last(), message_part);
    if (ks_quantity_parse_value(&v, in) != KS_EINVALID)
        fail_msg("\"%s\" parsed as %lld", in, (long long)v);
}

static void rejects_bad_syntax(void **state)
{
    expect_error("", "quantity \"\": empty");
    expect_error("m", "quantity \"m\": no digits");
    expect_error("Mi", "no digits");
    expect_error(".", "no digits");
    expect_error("-", "no digits");
    expect_error("+", "no digits");
    expect_error("-.", "no digits");
    expect_error("aoeu", "no digits");
    expect_error("1.2.3", "quantity \"1.2.3\": more than one decimal point");
    expect_error("1.1.M", "decimal point");
    expect_error("1 Mi", "quantity \"1 Mi\": must not contain spaces");
    expect_error(" 1", "spaces");
    expect_error("1 ", "spaces");
    expect_error("1Q", "quantity \"1Q\": unknown suffix \"Q\"");
    expect_error("1ki", "unknown suffix \"ki\"");
    expect_error("1K", "unknown suffix \"K\"");
    expect_error("1KiB", "unknown suffix \"KiB\"");
    expect_error("0.1mi", "unknown suffix \"mi\"");
    expect_error("0.1am", "unknown suffix \"am\"");
    expect_error(".5i", "unknown suffix \"i\"");
    expect_error("1i", "unknown suffix");
    expect_error("-3.01i", "unknown suffix");
    expect_error("1+1.0M", "unknown suffix \"+1.0M\"");
    expect_error("--1", "no digits");
    expect_error("1e", "exponent \"e\"");
    expect_error("1E+", "exponent \"E+\"");
    expect_error("-3.01e-", "exponent \"e-\"");
    expect_error("1e1.5", "exponent \"e1.5\"");
    expect_error("1e3m", "exponent \"e3m\"");
    expect_error("1mm", "unknown suffix \"mm\"");
    expect_error("9223372036854775807k", "too large");
}

static void rejects_over_long_input(void **state)
{
    char in[KS_QUANTITY_MAX_LEN + 2];
    int64_t v = 42;
    memset(in, '1', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    assert_int_equal(ks_quantity_parse_value(&v, in), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "longer than 128 characters"));
    /* exactly the limit is fine: 128 zeros then nothing */
    memset(in, '0', KS_QUANTITY_MAX_LEN);
    in[KS_QUANTITY_MAX_LEN] = '\0';
    assert_int_equal(ks_quantity_parse_value(&v, in), 0);
    assert_int_equal(v, 0);
}

static void json_numbers_and_strings(void **state)
{
    static const struct {
        const char *json;
        int64_t milli;
    } cases[] = {
        {"2", 2000},       {"0.5", 500},    {"0.1", 100}, /* double 0.1 * 1000 rounds up to 101:
                                                             must read "0.1" */
        {"0.3", 300},      {"1.1", 1100},   {"2.0", 2000},    {"0.0001", 1},
        {"1.5e-5", 1},     {"-0.25", -250}, {"1e3", 1000000}, {"\"250m\"", 250},
        {"\"1.5\"", 1500}, {"0", 0},        {"-7", -7000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t err;
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, &err);
        int64_t out = 42;
        assert_non_null(v);
        if (ks_quantity_json_milli(&out, v) != 0)
            fail_msg("%s: %s", cases[i].json, ks_error_last());
        if (out != cases[i].milli)
            fail_msg("%s: %lld, expected %lld", cases[i].json, (long long)out,
                     (long long)cases[i].milli);
        json_decref(v);
    }
    json_t *v = json_real(0.1);
    int64_t out = 0;
    assert_int_equal(ks_quantity_json_value(&out, v), 0);
    assert_int_equal(out, 1);
    json_decref(v);
    v = json_string("128Mi");
    assert_int_equal(ks_quantity_json_value(&out, v), 0);
    assert_int_equal(out, 134217728);
    json_decref(v);
    v = json_integer(INT64_MAX);
    assert_int_equal(ks_quantity_json_value(&out, v), 0);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(ks_quantity_json_milli(&out, v), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "too large"));
    json_decref(v);
    v = json_real(1e20);
    assert_int_equal(ks_quantity_json_value(&out, v), KS_EINVALID);
    json_decref(v);
}

static void json_wrong_types(void **state)
{
    json_t *bad[] = {json_true(), json_null(), json_object(), json_array(), json_string("1Q")};
    const char *why[] = {"got boolean", "got null", "got object", "got array", "unknown suffix"};
    int64_t out = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ks_quantity_json_milli(&out, bad[i]), KS_EINVALID);
        assert_non_null(strstr(ks_error_last(), why[i]));
        json_decref(bad[i]);
    }
    assert_int_equal(ks_quantity_json_value(&out, NULL), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "got nothing"));
    assert_int_equal(out, 42);
}

static void formats_milli(void **state)
{
    static const struct {
        int64_t milli;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "1m"},
        {10, "10m"},
        {100, "100m"},
        {250, "250m"},
        {1000, "1"},
        {1080, "1080m"},
        {1500, "1500m"},
        {2000, "2"},
        {1000000, "1k"},
        {1234000, "1234"},
        {3000000000, "3M"},
        {-250, "-250m"},
        {-2000, "-2"},
        {INT64_MAX, "9223372036854775807m"},
        {INT64_MIN, "-9223372036854775808m"},
        {9000000000000000000, "9P"},
    };
    char buf[KS_QUANTITY_FORMAT_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(ks_quantity_format_milli(buf, sizeof(buf), cases[i].milli),
                            cases[i].text);
}

static void formats_bytes(void **state)
{
    static const struct {
        int64_t bytes;
        const char *text;
    } cases[] = {
        {0, "0"},
        {5, "5"},
        {512, "512"},
        {1000, "1k"},
        {1024, "1Ki"},
        {1025, "1025"},
        {1500, "1500"},
        {1536, "1536"},
        {6 * 1024, "6Ki"},
        {2048000, "2000Ki"},
        {134217728, "128Mi"},
        {300 * 1024 * 1024, "300Mi"},
        {1073741824, "1Gi"},
        {1001LL * 1024 * 1024 * 1024, "1001Gi"},
        {1099511627776, "1Ti"},
        {1000000000, "1G"},
        {129000000, "129M"},
        {128974848, "123Mi"},
        {4611686018427387904, "4Ei"},
        {INT64_MAX, "9223372036854775807"},
        {-1024, "-1Ki"},
        {-1500, "-1500"},
        {INT64_MIN, "-8Ei"},
    };
    char buf[KS_QUANTITY_FORMAT_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(ks_quantity_format_bytes(buf, sizeof(buf), cases[i].bytes),
                            cases[i].text);
    /* short buffers truncate, never overflow */
    char small[4];
    assert_string_equal(ks_quantity_format_bytes(small, sizeof(small), 134217728), "128");
    assert_string_equal(ks_quantity_format_milli(small, sizeof(small), 250), "250");
    assert_ptr_equal(ks_quantity_format_milli(small, 0, 250), small);
}

/* format then parse gives the value back, over a spread of magnitudes */
static void round_trips(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    char buf[KS_QUANTITY_FORMAT_SIZE];
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t v = (int64_t)(x >> (x % 64)); /* any magnitude, either sign */
        if (i % 3 == 0)
            v = (v % 100000) * 1024; /* plenty of exact binary values */
        if (i % 5 == 0)
            v = (v % 1000) * 1000000; /* and of round decimal ones */
        if (v == INT64_MIN)
            continue;
        int64_t back = 0;
        ks_quantity_format_milli(buf, sizeof(buf), v);
        if (ks_quantity_parse_milli(&back, buf) != 0 || back != v)
            fail_msg("milli %lld -> %s -> %lld", (long long)v, buf, (long long)back);
        ks_quantity_format_bytes(buf, sizeof(buf), v);
        if (ks_quantity_parse_value(&back, buf) != 0 || back != v)
            fail_msg("bytes %lld -> %s -> %lld", (long long)v, buf, (long long)back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_plain_and_decimal_si),
        cmocka_unit_test(parses_exponents_and_binary_si),
        cmocka_unit_test(rounds_away_from_zero_for_negatives),
        cmocka_unit_test(int64_limits),
        cmocka_unit_test(rejects_bad_syntax),
        cmocka_unit_test(rejects_over_long_input),
        cmocka_unit_test(json_numbers_and_strings),
        cmocka_unit_test(json_wrong_types),
        cmocka_unit_test(formats_milli),
        cmocka_unit_test(formats_bytes),
        cmocka_unit_test(round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
