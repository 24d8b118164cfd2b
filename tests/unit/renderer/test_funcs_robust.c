/*
 * test_funcs_robust.c: every function of the six tables called with
 * arguments of every kind of the value model (nil, int, float64, string,
 * list, map, bool) in every position, for each arity the table allows up
 * to three arguments: each call must either succeed or fail with a
 * message, never crash, leak or trip the sanitizers (this test is meant
 * for the ASan/UBSan build). Combinations are enumerated, not sampled.
 */
#include "test_funcs_run.h"

static const char *const kinds[] = {
    "nil", "-3", "2.5", "\"s,1\"", "(list 1 \"a\")", "(dict \"a\" 1)", "true"};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Functions whose every call would do slow or outside work: key
 * generation (each genCA is an RSA key) and name resolution. Their
 * argument handling is still exercised with the wrong-typed first
 * argument, which fails before any work. */
static bool slow(const char *name)
{
    return strncmp(name, "gen", 3) == 0 || strcmp(name, "getHostByName") == 0 ||
           strcmp(name, "derivePassword") == 0;
}

static void call_all(const struct ks_tpl_func_def *f, int arity, int *calls)
{
    size_t combos = 1;
    for (int i = 0; i < arity; i++)
        combos *= NKINDS;
    for (size_t c = 0; c < combos; c++) {
        char tpl[512];
        size_t len = (size_t)snprintf(tpl, sizeof(tpl), "{{ %s", f->name);
        size_t k = c;
        for (int i = 0; i < arity; i++, k /= NKINDS)
            len += (size_t)snprintf(tpl + len, sizeof(tpl) - len, " %s", kinds[k % NKINDS]);
        snprintf(tpl + len, sizeof(tpl) - len, " }}");
        if (slow(f->name) && arity > 0 && c % NKINDS == 3)
            continue; /* a string first argument would start real work */
        struct ks_buf out;
        int rc = funcs_render(&out, tpl, NULL);
        if (rc)
            assert_true(ks_error_last()[0] != '\0');
        ks_buf_release(&out);
        (*calls)++;
    }
}

static void test_all_kinds(void **state)
{
    int calls = 0;
    for (size_t t = 0; t < sizeof(funcs_tables) / sizeof(funcs_tables[0]); t++) {
        for (const struct ks_tpl_func_def *f = funcs_tables[t]; f->name; f++) {
            int max = f->max_args < 0 || f->max_args > 3 ? 3 : f->max_args;
            for (int arity = f->min_args; arity <= max; arity++)
                call_all(f, arity, &calls);
        }
    }
    assert_true(calls > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
