/*
 * test_funcs_lists.c: Sprig's list functions (renderer/funcs/lists.c) through the engine:
 * construction, access, set operations, the errors Sprig raises for
 * non-lists, until/untilStep/seq.
 * Every expectation was produced by helm 3.17.3 from the same template
 * (rendered through include and toJson to capture exact bytes).
 */
#include "test_funcs_run.h"

static const struct fcase lists[] = {
    {"{{ list 1 \"a\" nil (list 2) }} {{ list }} {{ tuple 1 2 }}", NULL, "[1 a <nil> [2]] [] [1 2]",
     NULL},
    {"{{ first (list 1 2) }} {{ last (list 1 2) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) "
     "}} {{ first (list) }} {{ last (list) }} {{ rest (list) }} {{ initial (list) }}",
     NULL, "1 2 [2 3] [1 2]   [] []", NULL},
    {"{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2) (list 3 4) }} "
     "{{ reverse (list 1 2 3) }} {{ uniq (list 1 \"1\" 1 2) }}",
     NULL, "[1 2] [0 1] [1 2 3 4] [3 2 1] [1 1 2]", NULL},
    {"{{ without (list 1 2 3 2) 2 }} {{ has 2 (list 1 2) }} {{ has \"2\" (list 1 2) }} {{ compact "
     "(list 0 1 \"\" \"a\" nil false) }} {{ slice (list 1 2 3 4) 1 3 }} {{ slice (list 1 2 3) 1 }}",
     NULL, "[1 3] true false [1 a] [2 3] [2 3]", NULL},
    {"{{ chunk 2 (list 1 2 3 4 5) }} {{ chunk 3 (list) }} {{ without (list 1 2 3) 1 3 }} {{ has 1 "
     "nil }} {{ uniq (list (list 1) (list 1) (dict \"a\" 1) (dict \"a\" 1)) }}",
     NULL, "[[1 2] [3 4] [5]] [] [2] false [[1] map[a:1]]", NULL},
    {"{{ push (list) \"x\" }} {{ mustAppend (list 1) (list 2) }} {{ mustPrepend (list) nil }} {{ "
     "mustFirst (list \"z\") }} {{ mustLast (list \"z\" \"y\") }}",
     NULL, "[x] [1 [2]] [<nil>] z y", NULL},
    {"{{ append \"x\" 1 }}", NULL, NULL, "error calling append: Cannot push on type string"},
    {"{{ mustAppend (dict) 1 }}", NULL, NULL, "error calling mustAppend: Cannot push on type map"},
    {"{{ prepend 3 1 }}", NULL, NULL, "error calling prepend: Cannot prepend on type int"},
    {"{{ first \"abc\" }}", NULL, NULL, "error calling first: Cannot find first on type string"},
    {"{{ last 1.5 }}", NULL, NULL, "error calling last: Cannot find last on type float64"},
    {"{{ rest true }}", NULL, NULL, "error calling rest: Cannot find rest on type bool"},
    {"{{ initial (dict) }}", NULL, NULL, "error calling initial: Cannot find initial on type map"},
    {"{{ reverse \"x\" }}", NULL, NULL,
     "error calling reverse: Cannot find reverse on type string"},
    {"{{ uniq \"x\" }}", NULL, NULL, "error calling uniq: Cannot find uniq on type string"},
    {"{{ without \"x\" 1 }}", NULL, NULL,
     "error calling without: Cannot find without on type string"},
    {"{{ has 1 \"x\" }}", NULL, NULL, "error calling has: Cannot find has on type string"},
    {"{{ compact 1 }}", NULL, NULL, "error calling compact: Cannot compact on type int"},
    {"{{ concat (list 1) 2 }}", NULL, NULL, "error calling concat: Cannot concat type int as list"},
    {"{{ slice \"abc\" 1 }}", NULL, NULL,
     "error calling slice: list should be type of slice or array but string"},
    {"{{ append nil 1 }}", NULL, NULL,
     "error calling append: runtime error: invalid memory address or nil pointer dereference"},
    {"{{ until 3 }} {{ untilStep 1 10 3 }} {{ until 0 }} {{ until -3 }} {{ untilStep 10 1 -4 }} {{ "
     "untilStep 1 10 0 }} {{ untilStep 10 1 2 }}",
     NULL, "[0 1 2] [1 4 7] [] [0 -1 -2] [10 6 2] [] []", NULL},
    {"{{ seq 3 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 1 }}|{{ seq 1 2 }}|{{ "
     "seq }}|{{ seq 0 }}|{{ seq 1 -1 5 }}",
     NULL, "1 2 3|2 3 4 5|5 4 3 2|0 2 4 6 8 10|10 7 4 1|1 2||1 0|", NULL},
    {"{{ range $i, $e := until 2 }}{{ $i }}{{ $e }}{{ end }} {{ len (until 5) }} {{ first (until "
     "4) | typeOf }}",
     NULL, "0011 5 int", NULL},
};

static void test_lists(void **state)
{
    FUNCS_RUN(lists);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
