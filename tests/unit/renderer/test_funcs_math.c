/*
 * test_funcs_math.c: Sprig's arithmetic and conversions (renderer/funcs/math.c) through
 * the engine: cast.ToInt64/ToFloat64 conversions, int64 wrap-around,
 * exact decimal *f functions, rounding, atoi and toDecimal.
 * Every expectation was produced by helm 3.17.3 from the same template
 * (rendered through include and toJson to capture exact bytes).
 */
#include "test_funcs_run.h"

static const struct fcase math[] = {
    {"{{ add 1 2 3 }} {{ add 1.9 1.9 }} {{ add \"2\" 3 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 "
     "}} {{ div -7 2 }} {{ mod -7 3 }} {{ add1 9 }} {{ add }}",
     NULL, "6 2 5 -2 24 3 -3 -1 10 0", NULL},
    {"{{ div 1 0 }}", NULL, NULL, "error calling div: runtime error: integer divide by zero"},
    {"{{ mod 1 0 }}", NULL, NULL, "error calling mod: runtime error: integer divide by zero"},
    {"{{ addf 1.1 2.2 }} {{ subf 1 0.9 }} {{ mulf 0.1 3 }} {{ divf 10 4 }} {{ add1f 0.5 }} {{ maxf "
     "1 2.5 }} {{ minf 1 2.5 }} {{ addf }} {{ divf 1 3 }} {{ mulf 1.5 \"2\" }} {{ divf 2 3 }} {{ "
     "subf 0.3 0.1 0.1 }}",
     NULL, "3.3 0.1 0.3 2.5 1.5 2.5 1 0 0.3333333333333333 3 0.6666666666666667 0.1", NULL},
    {"{{ divf 1 0 }}", NULL, NULL, "error calling divf: decimal division by 0"},
    {"{{ max 1 9 3 }} {{ min 4 -2 8 }} {{ biggest 3 7 }} {{ floor 1.7 }} {{ ceil 1.2 }} {{ round "
     "1.2345 2 }} {{ round 2.5 0 }} {{ round -2.5 0 }} {{ round 1.25 1 0.6 }} {{ floor \"2.5\" }} "
     "{{ max \"10\" 2.9 }}",
     NULL, "9 -2 7 1 2 1.23 3 -3 1.2 2 10", NULL},
    {"{{ int 3.9 }} {{ int -3.9 }} {{ int \"42\" }} {{ int \"4.2\" }} {{ int \"x\" }} {{ int true "
     "}} {{ int nil }} {{ int64 \"9223372036854775807\" }} {{ float64 \"1e3\" }} {{ float64 \"x\" "
     "}}",
     NULL, "3 -3 42 0 0 1 0 9223372036854775807 1000 0", NULL},
    {"{{ int \"0x1F\" }} {{ int \"0777\" }} {{ int \"1_000\" }} {{ int \"4.0\" }} {{ int \" 1\" }} "
     "{{ int \"+5\" }} {{ int \"-0b11\" }} {{ float64 \"0x1p-2\" }} {{ "
     "float64 true }} {{ int 1e19 }}",
     NULL, "31 511 1000 4 0 5 -3 0.25 1 -9223372036854775808", NULL},
    {"{{ toDecimal \"0777\" }} {{ atoi \"12\" }} {{ atoi \"x\" }} {{ atoi \"-3\" }} {{ atoi \"+4\" "
     "}} {{ atoi \"1.0\" }} {{ toDecimal 17 }} {{ toDecimal \"9\" }} {{ toDecimal \"-10\" }}",
     NULL, "511 12 0 -3 4 0 15 0 -8", NULL},
    {"{{ typeOf (int 1) }} {{ typeOf (float64 1) }} {{ typeOf (floor 1) }} {{ typeOf (addf 1) }}",
     NULL, "int float64 float64 float64", NULL},
    {"{{ add 9223372036854775807 1 }} {{ mul 4611686018427387904 4 }} {{ sub -9223372036854775808 "
     "1 }}",
     NULL, "-9223372036854775808 0 9223372036854775807", NULL},
};

/* Go has infinities; the value model does not, so they are refused. */
static const struct fcase nonfinite[] = {
    {"{{ float64 \"inf\" }}", NULL, NULL, "float64 result +Inf cannot be represented"},
    {"{{ floor \"-Inf\" }}", NULL, NULL, "float64 result -Inf cannot be represented"},
};

static void test_nonfinite(void **state)
{
    FUNCS_RUN(nonfinite);
}

static void test_math(void **state)
{
    FUNCS_RUN(math);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_math),
        cmocka_unit_test(test_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
