/*
 * test_funcs_dicts.c: Sprig's dict functions (renderer/funcs/dicts.c) through the engine:
 * dict/get/set/unset/hasKey/pluck/keys/values/pick/omit/dig, mergo's
 * merge and mergeOverwrite rules, deepCopy and deepEqual.
 * Every expectation was produced by helm 3.17.3 from the same template
 * (rendered through include and toJson to capture exact bytes).
 */
#include "test_funcs_run.h"

static const struct fcase dicts[] = {
    {"{{ dict \"b\" 1 \"a\" 2 }} {{ dict }} {{ dict \"a\" }} {{ dict 1 2 }} {{ dict nil 1 true 2 "
     "}}",
     NULL, "map[a:2 b:1] map[] map[a:] map[1:2] map[<nil>:1 true:2]", NULL},
    {"{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }} {{ set $d \"c\" 3 }} {{ unset $d "
     "\"a\" }} {{ unset $d \"zz\" }}",
     NULL, "map[a:1 b:2] map[a:1 b:2 c:3] map[b:2 c:3] map[b:2 c:3]", NULL},
    {"{{ get (dict \"a\" 1) \"a\" }}|{{ get (dict \"a\" 1) \"b\" }}|{{ hasKey (dict \"a\" nil) "
     "\"a\" }}|{{ hasKey (dict) \"a\" }}|{{ get (dict \"a\" 1) \"b\" | typeOf }}",
     NULL, "1||true|false|string", NULL},
    {"{{ keys (dict \"b\" 1 \"a\" 2) | sortAlpha }} {{ values (dict \"a\" 1) }} {{ pick (dict "
     "\"a\" 1 \"b\" 2) \"a\" \"z\" }} {{ omit (dict \"a\" 1 \"b\" 2) \"a\" }} {{ keys (dict \"b\" "
     "1) (dict \"a\" 2) | sortAlpha }} {{ keys }}",
     NULL, "[a b] [1] map[a:1] map[b:2] [a b] []", NULL},
    {"{{ pluck \"a\" (dict \"a\" 1) (dict \"b\" 2) (dict \"a\" 3) }} {{ dig \"a\" \"b\" \"def\" "
     "(dict \"a\" (dict \"b\" \"found\")) }} {{ dig \"a\" \"x\" \"def\" (dict \"a\" (dict \"b\" "
     "1)) }} {{ dig \"x\" \"def\" (dict) }} {{ pluck \"a\" }}",
     NULL, "[1 3] found def def []", NULL},
    {"{{ dig \"a\" \"b\" \"def\" (dict \"a\" \"str\") }}", NULL, NULL,
     "error calling dig: interface conversion: interface {} is string, not map[string]interface "
     "{}"},
    {"{{ dig \"a\" \"def\" \"notadict\" }}", NULL, NULL,
     "error calling dig: interface conversion: interface {} is string, not map[string]interface "
     "{}"},
    {"{{ dig 1 \"def\" (dict) }}", NULL, NULL,
     "error calling dig: interface conversion: interface {} is int, not string"},
    {"{{ dig \"a\" \"b\" }}", NULL, NULL, "error calling dig: dig needs at least three arguments"},
    {"{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 2 \"y\" "
     "2)) }}",
     NULL, "map[a:1 b:3 n:map[x:1 y:2]]", NULL},
    {"{{ mergeOverwrite (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict "
     "\"x\" 2 \"y\" 2)) }}",
     NULL, "map[a:2 b:3 n:map[x:2 y:2]]", NULL},
    {"{{ merge (dict \"l\" (list 1 2)) (dict \"l\" (list 3) \"e\" \"\") }} {{ mergeOverwrite (dict "
     "\"a\" 1) (dict \"a\" \"\") }} {{ mergeOverwrite (dict \"a\" 1) (dict \"a\" nil) }}",
     NULL, "map[e: l:[1 2]] map[a:] map[a:<nil>]", NULL},
    {"{{ merge (dict \"a\" \"\" \"b\" 0 \"c\" nil \"d\" (list) \"e\" (dict)) (dict \"a\" \"x\" "
     "\"b\" 1 \"c\" 2 \"d\" (list 1) \"e\" (dict \"k\" \"v\")) }}",
     NULL, "map[a:x b:1 c:2 d:[1] e:map[k:v]]", NULL},
    {"{{ merge (dict \"a\" \"s\") (dict \"a\" (dict \"k\" 1)) }} {{ mergeOverwrite (dict \"a\" "
     "\"s\") (dict \"a\" (dict \"k\" 1)) }} {{ mergeOverwrite (dict \"a\" (dict \"k\" 1)) (dict "
     "\"a\" \"s\") }} {{ merge (dict \"a\" (dict \"k\" 1)) (dict \"a\" nil) }}",
     NULL, "map[a:s] map[a:map[k:1]] map[a:s] map[a:map[k:1]]", NULL},
    {"{{ merge (dict \"a\" 1) (dict \"b\" 2) (dict \"a\" 3 \"c\" 4) }} {{ mustMergeOverwrite (dict "
     "\"a\" 1) (dict \"b\" 2) (dict \"a\" 3 \"c\" 4) }} {{ $d := dict \"x\" 1 }}{{ $_ := merge $d "
     "(dict \"y\" 2) }}{{ $d }}",
     NULL, "map[a:1 b:2 c:4] map[a:3 b:2 c:4] map[x:1 y:2]", NULL},
    {"{{ mergeOverwrite (dict \"n\" (dict \"l\" (list 1) \"m\" (dict \"a\" 1))) (dict \"n\" (dict "
     "\"l\" (list) \"m\" (dict))) }} {{ merge (dict \"n\" (dict \"l\" (list) \"f\" false)) (dict "
     "\"n\" (dict \"l\" (list 2) \"f\" true)) }}",
     NULL, "map[n:map[l:[] m:map[a:1]]] map[n:map[f:true l:[2]]]", NULL},
    {"{{ deepCopy (dict \"a\" (list 1)) }} {{ deepEqual (dict \"a\" 1) (dict \"a\" 1) }} {{ "
     "deepEqual (list 1) (list 2) }} {{ deepEqual 1 1.0 }} {{ deepCopy 5 }} {{ $a := dict \"k\" "
     "(list 1) }}{{ $b := deepCopy $a }}{{ $_ := set $b \"k\" 2 }}{{ $a }}",
     NULL, "map[a:[1]] true false false 5 map[k:[1]]", NULL},
    {"{{ set (list) \"a\" 1 }}", NULL, NULL,
     "wrong type for value; expected map[string]interface {}; got []interface {}"},
};

static void test_dicts(void **state)
{
    FUNCS_RUN(dicts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
