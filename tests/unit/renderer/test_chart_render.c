/*
 * test_chart_render.c: ks_render_chart end to end on the shared helm
 * conformance charts: output byte for byte as helm 3.17 printed it, the
 * parsed objects, output options, and errors naming the template.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "renderer/render.h"

#define HELM_DIR KS_SOURCE_DIR "/../shared/conformance/helm"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void expect_render(const char *chart, const struct ks_render_opts *o, const char *expected)
{
    struct ks_render_result r = {0};
    int rc = ks_render_chart(&r, chart, o);
    if (rc != 0)
        fail_msg("render %s: %s", chart, ks_error_last());
    char *want = slurp(expected);
    assert_string_equal(r.text, want);
    assert_int_equal(r.len, strlen(want));
    free(want);
    ks_render_result_release(&r);
}

static void test_edge(void **state)
{
    (void)state;
    struct ks_render_opts o = {0};
    expect_render(HELM_DIR "/semantics-edge/chart", &o, HELM_DIR "/semantics-edge/expected.txt");
    o.include_crds = true;
    expect_render(HELM_DIR "/semantics-edge/chart", &o,
                  HELM_DIR "/semantics-edge/cases/include-crds/expected.txt");
    o = (struct ks_render_opts){.no_hooks = true};
    expect_render(HELM_DIR "/semantics-edge/chart", &o,
                  HELM_DIR "/semantics-edge/cases/no-hooks/expected.txt");
    o = (struct ks_render_opts){.skip_tests = true};
    expect_render(HELM_DIR "/semantics-edge/chart", &o,
                  HELM_DIR "/semantics-edge/cases/skip-tests/expected.txt");
    o = (struct ks_render_opts){0};
    expect_render(HELM_DIR "/semantics-edge/charts-extra/empty", &o,
                  HELM_DIR "/semantics-edge/cases/empty-chart/expected.txt");
    expect_render(HELM_DIR "/semantics-edge/charts-extra/hooks-only", &o,
                  HELM_DIR "/semantics-edge/cases/hooks-only-chart/expected.txt");
}

static void test_subchart_options(void **state)
{
    (void)state;
    const char *only[] = {"templates/subdir/role*"};
    struct ks_render_opts o = {.kube_version = "1.20.0", .show_only = only, .n_show_only = 1};
    expect_render(HELM_DIR "/helm-testdata-subchart/chart", &o,
                  HELM_DIR "/helm-testdata-subchart/cases/show-only-glob/expected.txt");
    o = (struct ks_render_opts){.kube_version = "1.16.0"};
    expect_render(HELM_DIR "/helm-testdata-subchart/chart", &o,
                  HELM_DIR "/helm-testdata-subchart/cases/kube-version/expected.txt");
    const char *api[] = {"helm.k8s.io/test"};
    o = (struct ks_render_opts){.kube_version = "1.20.0", .api_versions = api, .n_api_versions = 1};
    expect_render(HELM_DIR "/helm-testdata-subchart/chart", &o,
                  HELM_DIR "/helm-testdata-subchart/cases/api-versions/expected.txt");
    json_t *v =
        json_pack("{s:{s:b}, s:{s:b}}", "configmap", "enabled", 1, "subchartb", "enabled", 1);
    o = (struct ks_render_opts){.kube_version = "1.20.0", .values = v};
    expect_render(HELM_DIR "/helm-testdata-subchart/chart", &o,
                  HELM_DIR "/helm-testdata-subchart/cases/import-values/expected.txt");
    json_decref(v);
}

static void test_create_and_objects(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "fullnameOverride",
                          "this-is-a-very-long-full-name-override-that-exceeds-sixty-three-chars-");
    struct ks_render_opts o = {.release_name = "myrel", .kube_version = "1.32.0", .values = v};
    expect_render(HELM_DIR "/helm-create-default/chart", &o,
                  HELM_DIR "/helm-create-default/cases/fullname-trunc/expected.txt");
    json_decref(v);

    o = (struct ks_render_opts){.release_name = "myrel", .kube_version = "1.32.0"};
    struct ks_render_result r = {0};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/helm-create-default/chart", &o), 0);
    /* ServiceAccount, Service, Deployment, then the test hook Pod */
    assert_int_equal(json_array_size(r.objects), 4);
    json_t *first = json_array_get(r.objects, 0);
    assert_string_equal(json_string_value(json_object_get(first, "source")),
                        "mychart/templates/serviceaccount.yaml");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "object"), "kind")),
        "ServiceAccount");
    assert_true(json_is_true(json_object_get(json_array_get(r.objects, 3), "hook")));
    /* objects are typed as Kubernetes reads manifests: integers stay integers */
    json_t *deploy = json_object_get(json_array_get(r.objects, 2), "object");
    assert_true(json_is_integer(json_object_get(json_object_get(deploy, "spec"), "replicas")));
    ks_render_result_release(&r);
}

static void expect_error(const char *chart, const char *needle, int code)
{
    struct ks_render_result r = {0};
    struct ks_render_opts o = {.release_name = "r"};
    assert_int_equal(ks_render_chart(&r, chart, &o), code);
    if (!strstr(ks_error_last(), needle))
        fail_msg("error \"%s\" lacks \"%s\"", ks_error_last(), needle);
    assert_null(r.text);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(HELM_DIR "/semantics-errors/charts/e1", "e1/templates/t.yaml:1:5", KS_EINVALID);
    expect_error(HELM_DIR "/semantics-errors/charts/e12", "e12/templates/t.yaml:1", KS_EINVALID);
    expect_error(HELM_DIR "/no-such-chart", "no-such-chart", KS_ENOTFOUND);
    struct ks_render_result r = {0};
    const char *only[] = {"templates/nope.yaml"};
    struct ks_render_opts o = {.show_only = only, .n_show_only = 1};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/semantics-edge/chart", &o), KS_ENOTFOUND);
    assert_string_equal(ks_error_last(), "could not find template templates/nope.yaml in chart");
    o = (struct ks_render_opts){.release_name = "Bad_Name"};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/semantics-edge/chart", &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "invalid release name"));
    o = (struct ks_render_opts){.kube_version = "banana"};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/semantics-edge/chart", &o), KS_EINVALID);
    o = (struct ks_render_opts){.max_files = 1};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/semantics-edge/chart", &o), KS_ELIMIT);
    o = (struct ks_render_opts){.max_output = 100};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/helm-create-default/chart", &o), KS_ELIMIT);
    o = (struct ks_render_opts){.max_chart_bytes = 1000};
    assert_int_equal(ks_render_chart(&r, HELM_DIR "/helm-create-default/chart", &o), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 1000 bytes"));
}

static void test_name_template(void **state)
{
    (void)state;
    char *name = NULL;
    assert_int_equal(ks_render_name_template(&name, "foobar-{{ b64enc \"abc\" | lower }}-baz"), 0);
    assert_string_equal(name, "foobar-ywjj-baz");
    free(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge),
        cmocka_unit_test(test_subchart_options),
        cmocka_unit_test(test_create_and_objects),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_name_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
