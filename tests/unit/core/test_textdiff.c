/*
 * test_textdiff.c: unified diffs of small texts (core/textdiff.h): equal
 * inputs, one-line changes with context, additions at either end, separate
 * hunks, and a missing final newline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/textdiff.h"

static void check(const char *a, const char *b, unsigned ctx, const char *want)
{
    struct ks_buf out;
    ks_buf_init(&out, 0);
    assert_int_equal(ks_textdiff_unified(&out, a, b, ctx), 0);
    assert_string_equal(ks_buf_data(&out), want);
    ks_buf_release(&out);
}

static void equal_texts_give_nothing(void **state)
{
    check("a\nb\n", "a\nb\n", 3, "");
    check("", "", 3, "");
}

static void one_line_change(void **state)
{
    check("spec:\n  replicas: 2\n  paused: false\n", "spec:\n  replicas: 3\n  paused: false\n", 1,
          "@@ -1,3 +1,3 @@\n spec:\n-  replicas: 2\n+  replicas: 3\n   paused: false\n");
}

static void create_and_delete(void **state)
{
    check("", "a: 1\nb: 2\n", 3, "@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n");
    check("a: 1\n", "", 3, "@@ -1,1 +0,0 @@\n-a: 1\n");
}

static void separate_hunks(void **state)
{
    const char *a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    const char *b = "x\n2\n3\n4\n5\n6\n7\n8\ny\n";
    check(a, b, 1, "@@ -1,2 +1,2 @@\n-1\n+x\n 2\n@@ -8,2 +8,2 @@\n 8\n-9\n+y\n");
    /* with more context the two changes join into one hunk */
    struct ks_buf out;
    ks_buf_init(&out, 0);
    ks_textdiff_unified(&out, a, b, 4);
    assert_non_null(strstr(ks_buf_data(&out), "@@ -1,9 +1,9 @@"));
    assert_null(strstr(ks_buf_data(&out) + 1, "@@ -8"));
    ks_buf_release(&out);
}

static void insertion_in_middle(void **state)
{
    check("a\nb\nc\n", "a\nb\nnew\nc\n", 1, "@@ -2,2 +2,3 @@\n b\n+new\n c\n");
}

static void missing_final_newline(void **state)
{
    check("a\nb", "a\nc", 1, "@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_texts_give_nothing), cmocka_unit_test(one_line_change),
        cmocka_unit_test(create_and_delete),        cmocka_unit_test(separate_hunks),
        cmocka_unit_test(insertion_in_middle),      cmocka_unit_test(missing_final_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
