/*
 * test_snippets.c: runs every case of the shared Helm conformance snippets
 * (/work/shared/conformance/helm/snippets/snippets.json, produced with helm
 * v3.17.3) through the engine with the full function library and Helm's
 * builtin objects, and compares the raw engine output (or the error text)
 * byte for byte. Each template sits between "@@B@@" and "@@E@@" markers as
 * it did when the expected output was captured, so columns in error
 * positions match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/builtins.h"
#include "renderer/chart/chart.h"
#include "renderer/template.h"

#define SNIPPETS KS_SOURCE_DIR "/../shared/conformance/helm/snippets/snippets.json"
#define TNAME "c/templates/t.yaml"

static int add_file(struct ks_chart_files *fl, const char *name, const char *text)
{
    char *n = strdup(name), *d = strdup(text);
    assert_non_null(n);
    assert_non_null(d);
    return ks_chart_files_push(fl, n, d, strlen(d));
}

static json_t *make_dot(struct ks_tpl_set *set, const struct ks_chart *chart)
{
    struct ks_kube_version kv;
    assert_int_equal(ks_builtin_kube_version(&kv, "1.32.0"), 0);
    json_t *caps = NULL, *files = NULL, *meta = NULL;
    assert_int_equal(ks_builtin_capabilities(&caps, set, &kv, NULL, 0), 0);
    assert_int_equal(ks_builtin_files(&files, set, &chart->files), 0);
    assert_int_equal(ks_builtin_chart(&meta, set, chart->meta, true), 0);
    json_t *dot =
        json_pack("{s:o,s:o,s:o,s:O,s:{s:s,s:s,s:i,s:b,s:b,s:s},s:{s:s,s:s}}", "Capabilities", caps,
                  "Files", files, "Chart", meta, "Values", chart->values, "Release", "Name", "rel",
                  "Namespace", "default", "Revision", 1, "IsInstall", 1, "IsUpgrade", 0, "Service",
                  "Helm", "Template", "Name", TNAME, "BasePath", "c/templates");
    assert_non_null(dot);
    return dot;
}

static void snippets(void **state)
{
    json_error_t je;
    json_t *doc = json_load_file(SNIPPETS, 0, &je);
    if (!doc)
        fail_msg("cannot read %s: %s", SNIPPETS, je.text);
    json_t *chart_files = json_object_get(doc, "chart");
    json_t *cases = json_object_get(doc, "cases");
    assert_true(json_is_array(cases));
    const struct ks_tpl_func_def *tables[] = {ks_tpl_funcs_strings,  ks_tpl_funcs_lists,
                                              ks_tpl_funcs_dicts,    ks_tpl_funcs_math,
                                              ks_tpl_funcs_encoding, ks_tpl_funcs_misc};
    int passed = 0, total = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *tpl = json_string_value(json_object_get(c, "template"));
        json_t *want = json_object_get(c, "helm_v3_17_3");
        bool want_ok = json_is_true(json_object_get(want, "ok"));
        const char *want_text =
            json_string_value(json_object_get(want, want_ok ? "output" : "error"));
        total++;
        /* the chart of this case */
        struct ks_chart_files fl = {0};
        struct ks_chart_limits lim;
        ks_chart_limits_init(&lim, 0, 0, 0);
        assert_int_equal(add_file(&fl, "Chart.yaml",
                                  json_string_value(json_object_get(chart_files, "Chart.yaml"))),
                         0);
        assert_int_equal(add_file(&fl, "values.yaml",
                                  json_string_value(json_object_get(chart_files, "values.yaml"))),
                         0);
        struct ks_buf text;
        ks_buf_init(&text, 0);
        ks_buf_printf(&text, "@@B@@%s@@E@@", tpl);
        assert_int_equal(add_file(&fl, "templates/t.yaml", ks_buf_data(&text)), 0);
        struct ks_chart *chart = NULL;
        int rc = ks_chart_from_files(&chart, &fl, "c", &lim, 0);
        if (rc)
            fail_msg("chart: %s", ks_error_last());
        struct ks_tpl_set *set = NULL;
        assert_int_equal(ks_tpl_set_new(&set, NULL, KS_TPL_HELM, tables, 6), 0);
        json_t *dot = make_dot(set, chart);
        struct ks_buf out;
        ks_buf_init(&out, 0);
        rc = ks_tpl_set_add(set, TNAME, ks_buf_data(&text), ks_buf_len(&text));
        if (!rc)
            rc = ks_tpl_execute(&out, set, TNAME, dot);
        bool ok;
        const char *got;
        if (rc) {
            got = ks_error_last();
            ok = !want_ok && strcmp(got, want_text) == 0;
        } else {
            got = ks_buf_data(&out);
            size_t n = ks_buf_len(&out);
            ok = want_ok && n >= 10 && strncmp(got, "@@B@@", 5) == 0 &&
                 strcmp(got + n - 5, "@@E@@") == 0 && strlen(want_text) == n - 10 &&
                 memcmp(got + 5, want_text, n - 10) == 0;
        }
        if (ok)
            passed++;
        else
            fprintf(stderr, "FAIL %lld %s\n  want %s%s\n  got  %s%s\n",
                    (long long)json_integer_value(json_object_get(c, "id")), tpl,
                    want_ok ? "" : "error: ", want_text, rc ? "error: " : "", got);
        ks_buf_release(&out);
        ks_buf_release(&text);
        json_decref(dot);
        ks_tpl_set_free(set);
        ks_chart_free(chart);
    }
    fprintf(stderr, "snippets: %d of %d pass\n", passed, total);
    json_decref(doc);
    assert_int_equal(passed, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snippets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
