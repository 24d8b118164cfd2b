/*
 * test_chart_output.c: the output stage (helm's SplitManifests, install
 * order, hooks, --show-only, --include-crds, --skip-tests, --no-hooks), the
 * .helmignore rules, and loading conformance chart directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "renderer/chart/chart.h"
#include "renderer/output/output.h"

#define HELM_DIR KS_SOURCE_DIR "/../shared/conformance/helm"

static void test_split(void **state)
{
    (void)state;
    struct ks_output_doc *d = NULL;
    size_t n = 0;
    const char *t = "\n---\na: 1\n---   \n\n  \n---\nb: 2  \n---apiVersion: v1\n--- # c\nc: 3\n";
    assert_int_equal(ks_output_split(&d, &n, t, strlen(t)), 0);
    /* after a separator's trailing whitespace, "---" cannot start the next
     * separator (the regexp needs a newline first), so it stays in the doc */
    assert_int_equal(n, 4);
    assert_string_equal(d[0].text, "a: 1");
    assert_string_equal(d[1].text, "---\nb: 2");
    assert_string_equal(d[2].text, "apiVersion: v1");
    assert_string_equal(d[3].text, "# c\nc: 3");
    assert_int_equal(d[0].line, 3);
    assert_int_equal(d[1].line, 7);
    assert_int_equal(d[3].line, 10);
    ks_output_docs_free(d, n);

    assert_int_equal(ks_output_split(&d, &n, " \n\t", 3), 0);
    assert_int_equal(n, 0);
    ks_output_docs_free(d, n);
    /* "---" glued to text at the very start is still a separator */
    assert_int_equal(ks_output_split(&d, &n, "---x: 1", 7), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].text, "x: 1");
    ks_output_docs_free(d, n);
}

static void test_glob_and_kinds(void **state)
{
    (void)state;
    assert_true(ks_output_glob_match("templates/*.yaml", "templates/a.yaml"));
    assert_false(ks_output_glob_match("templates/*.yaml", "templates/sub/a.yaml"));
    assert_true(
        ks_output_glob_match("templates/subdir/role*", "templates/subdir/rolebinding.yaml"));
    assert_true(ks_output_glob_match("t?[a-c]", "txb"));
    assert_false(ks_output_glob_match("t[^a-c]", "tb"));
    assert_true(ks_output_glob_match("a\\*", "a*"));
    assert_false(ks_output_glob_match("[a", "a"));
    assert_int_equal(ks_output_kind_rank("PriorityClass"), 0);
    assert_true(ks_output_kind_rank("Namespace") < ks_output_kind_rank("Deployment"));
    assert_true(ks_output_kind_rank("ServiceAccount") < ks_output_kind_rank("Secret"));
    assert_int_equal(ks_output_kind_rank("Widget"), -1);
}

static const char *build(struct ks_buf *b, json_t *objects, const struct ks_output_file *f,
                         size_t n, const struct ks_output_opts *o, int want_rc)
{
    static const char crd[] = "kind: CustomResourceDefinition\n";
    const struct ks_output_file crds[] = {{"c/crds/x.yaml", crd, sizeof(crd) - 1}};
    ks_buf_reset(b);
    assert_int_equal(ks_output_build(b, objects, f, n, crds, 1, o), want_rc);
    return ks_buf_data(b);
}

#define F(path, text)                                                                              \
    {                                                                                              \
        path, text, sizeof(text) - 1                                                               \
    }

static void test_build(void **state)
{
    (void)state;
    const struct ks_output_file files[] = {
        F("c/templates/b.yaml", "kind: Deployment\nmetadata:\n  name: d\n---\nkind: Widget\n"
                                "---\nkind: Apple\n---\n# only a comment\n"),
        F("c/templates/a.yaml", "kind: Service\n---\nkind: Namespace\n"),
        F("c/templates/hooks.yaml",
          "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n---\n"
          "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: \" Pre-Install ,post-upgrade\"\n"
          "---\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: nonsense\n"),
        F("c/templates/empty.yaml", "  \n\n"),
    };
    struct ks_buf b;
    ks_buf_init(&b, 0);
    struct ks_output_opts o = {0};
    json_t *objects = json_array();
    const char *out = build(&b, objects, files, 4, &o, 0);
    assert_string_equal(
        out, "---\n# Source: c/templates/a.yaml\nkind: Namespace\n"
             "---\n# Source: c/templates/a.yaml\nkind: Service\n"
             "---\n# Source: c/templates/b.yaml\nkind: Deployment\nmetadata:\n  name: d\n"
             "---\n# Source: c/templates/b.yaml\n# only a comment\n"
             "---\n# Source: c/templates/b.yaml\nkind: Apple\n"
             "---\n# Source: c/templates/b.yaml\nkind: Widget\n"
             "---\n# Source: c/templates/hooks.yaml\nkind: Pod\nmetadata:\n"
             "  annotations:\n    helm.sh/hook: test\n"
             "---\n# Source: c/templates/hooks.yaml\nkind: Job\nmetadata:\n"
             "  annotations:\n    helm.sh/hook: \" Pre-Install ,post-upgrade\"\n");
    assert_int_equal(json_array_size(objects), 7);
    assert_true(json_is_true(json_object_get(json_array_get(objects, 6), "hook")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(objects, 0), "source")),
                        "c/templates/a.yaml");
    json_decref(objects);

    o.skip_tests = true;
    o.include_crds = true;
    out = build(&b, NULL, files, 2, &o, 0);
    assert_true(strncmp(out,
                        "---\n# Source: c/crds/x.yaml\nkind: CustomResourceDefinition\n\n---\n",
                        60) == 0);
    out = build(&b, NULL, files + 2, 1, &o, 0);
    assert_non_null(strstr(
        out,
        "kind: CustomResourceDefinition\n\n\n---\n# Source: c/templates/hooks.yaml\nkind: Job"));
    assert_null(strstr(out, "kind: Pod"));
    o = (struct ks_output_opts){.no_hooks = true};
    out = build(&b, NULL, files + 2, 1, &o, 0);
    assert_string_equal(out, "\n");

    const char *only[] = {"templates/b.yaml", "templates/a*"};
    o = (struct ks_output_opts){.show_only = only, .n_show_only = 2};
    out = build(&b, NULL, files, 2, &o, 0);
    assert_true(strncmp(out, "---\n# Source: c/templates/b.yaml\nkind: Deployment\n", 49) == 0);
    assert_non_null(
        strstr(out, "kind: Widget\n---\n# Source: c/templates/a.yaml\nkind: Namespace\n"));
    const char *missing[] = {"templates/nope.yaml"};
    o = (struct ks_output_opts){.show_only = missing, .n_show_only = 1};
    build(&b, NULL, files, 2, &o, KS_ENOTFOUND);
    assert_string_equal(ks_error_last(), "could not find template templates/nope.yaml in chart");

    const struct ks_output_file bad[] = {F("c/templates/bad.yaml", "a: 1\n---\nb: [\n")};
    o = (struct ks_output_opts){0};
    build(&b, NULL, bad, 1, &o, KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "c/templates/bad.yaml:4:1: YAML parse error"));
    const struct ks_output_file badann[] = {
        F("c/templates/x.yaml", "metadata:\n  annotations:\n    n: [5]\n")};
    build(&b, NULL, badann, 1, &o, KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "c/templates/x.yaml"));
    /* scalars become strings, as sigs.k8s.io/yaml converts them */
    const struct ks_output_file numann[] = {
        F("c/templates/x.yaml", "kind: A\nmetadata:\n  annotations:\n    n: 5\n")};
    out = build(&b, NULL, numann, 1, &o, 0);
    assert_non_null(strstr(out, "kind: A"));
    ks_buf_release(&b);
}

static void test_helmignore(void **state)
{
    (void)state;
    struct ks_helmignore *r = NULL;
    const char *text = "# comment\n\n*.bak\n/top.txt\ndocs/\nsub/*.md\n";
    assert_int_equal(ks_helmignore_parse(&r, text, strlen(text), ".helmignore"), 0);
    assert_true(ks_helmignore_ignored(r, "a/b/x.bak", false));
    assert_true(ks_helmignore_ignored(r, "top.txt", false));
    assert_false(ks_helmignore_ignored(r, "a/top.txt", false));
    assert_true(ks_helmignore_ignored(r, "docs", true));
    assert_false(ks_helmignore_ignored(r, "docs", false));
    assert_true(ks_helmignore_ignored(r, "sub/readme.md", false));
    assert_false(ks_helmignore_ignored(r, "other/readme.md", false));
    assert_true(ks_helmignore_ignored(r, "templates/.hidden", false));
    assert_false(ks_helmignore_ignored(r, "templates/x.yaml", false));
    ks_helmignore_free(r);
    assert_int_equal(ks_helmignore_parse(&r, "a/**/b\n", 7, ".helmignore"), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), ".helmignore:1:1: double-star"));
    /* helm's negation: a path that does not match a "!" rule is ignored */
    assert_int_equal(ks_helmignore_parse(&r, "!keep.txt\n", 10, ".helmignore"), 0);
    assert_true(ks_helmignore_ignored(r, "other.txt", false));
    assert_false(ks_helmignore_ignored(r, "keep.txt", false));
    ks_helmignore_free(r);
}

static void test_load_dirs(void **state)
{
    (void)state;
    struct ks_chart *c = NULL;
    struct ks_chart_limits l;
    ks_chart_limits_init(&l, 1 << 24, 1000, 16);
    assert_int_equal(ks_chart_load(&c, HELM_DIR "/semantics-probe/chart", &l), 0);
    assert_string_equal(c->name, "probe");
    assert_string_equal(json_string_value(json_object_get(c->meta, "AppVersion")), "1.1");
    assert_string_equal(json_string_value(json_object_get(c->meta, "Home")), "");
    json_t *deps = json_object_get(c->meta, "Dependencies");
    assert_int_equal(json_array_size(deps), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(deps, 0), "Alias")),
                        "kid");
    assert_int_equal(c->files.n, 3);
    assert_string_equal(c->files.v[0].name, "files/conf/a.txt");
    assert_int_equal(c->ndeps, 1);
    assert_string_equal(c->deps[0]->name, "child");
    assert_ptr_equal(c->deps[0]->parent, c);
    char full[256];
    ks_chart_full_path(full, sizeof(full), c->deps[0]);
    assert_string_equal(full, "probe/charts/child");
    ks_chart_free(c);

    /* .helmignore of helm create drops *.bak, .git/ ... and keeps templates */
    ks_chart_limits_init(&l, 1 << 24, 1000, 16);
    assert_int_equal(ks_chart_load(&c, HELM_DIR "/helm-create-default/chart", &l), 0);
    assert_true(c->templates.n >= 5);
    ks_chart_free(c);

    ks_chart_limits_init(&l, 1 << 24, 3, 16);
    assert_int_equal(ks_chart_load(&c, HELM_DIR "/semantics-probe/chart", &l), KS_ELIMIT);
    ks_chart_limits_init(&l, 100, 1000, 16);
    assert_int_equal(ks_chart_load(&c, HELM_DIR "/semantics-probe/chart", &l), KS_ELIMIT);
    ks_chart_limits_init(&l, 1 << 24, 1000, 16);
    assert_int_equal(ks_chart_load(&c, HELM_DIR "/does-not-exist", &l), KS_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),     cmocka_unit_test(test_glob_and_kinds),
        cmocka_unit_test(test_build),     cmocka_unit_test(test_helmignore),
        cmocka_unit_test(test_load_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
