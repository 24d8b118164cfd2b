/*
 * test_chart_deps.c: dependency processing end to end: one subchart used
 * twice under two aliases (version ranges, conditions with the first
 * bool-valued path winning, tags), import-values through an alias, a
 * library chart that only contributes partials, .helmignore, .Files,
 * NOTES.txt left out. The chart is written to a temporary directory; the
 * expected texts were printed by helm template 3.17 for the same files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "renderer/render.h"

struct file {
    const char *path;
    const char *text;
};

static const struct file chart_files[] = {
    {"top/.helmignore", "*.bak\n"
                        "files/d/\n"},
    {"top/Chart.yaml", "apiVersion: v2\n"
                       "name: top\n"
                       "version: 1.0.0\n"
                       "appVersion: 2.0\n"
                       "dependencies:\n"
                       "  - name: sub\n"
                       "    version: \">=0.1.0\"\n"
                       "    alias: one\n"
                       "    condition: one.off,one.on\n"
                       "    import-values:\n"
                       "      - child: data\n"
                       "        parent: fromone\n"
                       "  - name: sub\n"
                       "    version: \"~0.1\"\n"
                       "    alias: two\n"
                       "    tags: [t2]\n"
                       "  - name: lib\n"
                       "    version: 0.1.0\n"},
    {"top/charts/lib/Chart.yaml", "apiVersion: v2\n"
                                  "name: lib\n"
                                  "version: 0.1.0\n"
                                  "type: library\n"},
    {"top/charts/lib/templates/_h.tpl",
     "{{- define \"lib.hello\" -}}hello from {{ .Chart.Name }}{{- end -}}\n"},
    {"top/charts/lib/templates/notrendered.yaml", "kind: Secret\n"},
    {"top/charts/sub/Chart.yaml", "apiVersion: v2\n"
                                  "name: sub\n"
                                  "version: 0.1.3\n"},
    {"top/charts/sub/templates/NOTES.txt", "sub notes\n"},
    {"top/charts/sub/templates/s.yaml",
     "kind: Service\n"
     "metadata:\n"
     "  name: {{ .Chart.Name }}-{{ .Values.x }}-{{ .Release.Namespace }}\n"
     "---\n"
     "{{- /* empty */ -}}\n"
     "---\n"
     "kind: Pod\n"
     "metadata:\n"
     "  name: hook-{{ .Chart.Name }}\n"
     "  annotations:\n"
     "    helm.sh/hook: pre-install,test\n"},
    {"top/charts/sub/values.yaml", "data:\n"
                                   "  k: v\n"
                                   "x: 1\n"},
    {"top/files/keep.txt", "k\n"},
    {"top/templates/NOTES.txt", "notes {{ .Release.Name }}\n"},
    {"top/templates/deep/er/cm.yaml",
     "kind: ConfigMap\n"
     "apiVersion: v1\n"
     "metadata:\n"
     "  name: {{ .Release.Name }}-{{ .Chart.Name }}\n"
     "  annotations:\n"
     "    helm.sh/hook-weight: \"5\"\n"
     "data:\n"
     "  files: {{ range $p, $_ := .Files }}{{ $p }},{{ end }}\n"
     "  tmpl: {{ .Template.Name }} {{ .Template.BasePath }}\n"
     "  lib: {{ include \"lib.hello\" . }}\n"
     "  imported: {{ toJson .Values.fromone }}\n"
     "  deps: {{ range .Chart.Dependencies }}{{ .Name }}={{ .Enabled }};{{ end }}\n"
     "  glob: {{ (.Files.Glob \"files/*\").AsConfig | quote }}\n"
     "  lines: {{ .Files.Lines \"files/keep.txt\" | toJson | quote }}\n"
     "  caps: {{ .Capabilities.APIVersions.Has \"batch/v1\" }} {{ .Capabilities.KubeVersion.Minor "
     "}}\n"},
    {"top/values.yaml", "one:\n"
                        "  on: true\n"
                        "  off: notabool\n"
                        "two:\n"
                        "  x: 2\n"
                        "tags:\n"
                        "  t2: true\n"},
};

static const char expected_default[] = "---\n"
                                       "# Source: top/templates/deep/er/cm.yaml\n"
                                       "kind: ConfigMap\n"
                                       "apiVersion: v1\n"
                                       "metadata:\n"
                                       "  name: r-top\n"
                                       "  annotations:\n"
                                       "    helm.sh/hook-weight: \"5\"\n"
                                       "data:\n"
                                       "  files: .helmignore,files/keep.txt,\n"
                                       "  tmpl: top/templates/deep/er/cm.yaml top/templates\n"
                                       "  lib: hello from top\n"
                                       "  imported: {\"k\":\"v\"}\n"
                                       "  deps: one=true;two=true;lib=true;\n"
                                       "  glob: \"keep.txt: |\\n  k\"\n"
                                       "  lines: \"[\\\"k\\\"]\"\n"
                                       "  caps: true 32\n"
                                       "---\n"
                                       "# Source: top/charts/one/templates/s.yaml\n"
                                       "kind: Service\n"
                                       "metadata:\n"
                                       "  name: one-1-default\n"
                                       "---\n"
                                       "# Source: top/charts/two/templates/s.yaml\n"
                                       "kind: Service\n"
                                       "metadata:\n"
                                       "  name: two-2-default\n"
                                       "---\n"
                                       "# Source: top/charts/one/templates/s.yaml\n"
                                       "---\n"
                                       "kind: Pod\n"
                                       "metadata:\n"
                                       "  name: hook-one\n"
                                       "  annotations:\n"
                                       "    helm.sh/hook: pre-install,test\n"
                                       "---\n"
                                       "# Source: top/charts/two/templates/s.yaml\n"
                                       "---\n"
                                       "kind: Pod\n"
                                       "metadata:\n"
                                       "  name: hook-two\n"
                                       "  annotations:\n"
                                       "    helm.sh/hook: pre-install,test\n";

static const char expected_one_off[] = "---\n"
                                       "# Source: top/templates/deep/er/cm.yaml\n"
                                       "kind: ConfigMap\n"
                                       "apiVersion: v1\n"
                                       "metadata:\n"
                                       "  name: r-top\n"
                                       "  annotations:\n"
                                       "    helm.sh/hook-weight: \"5\"\n"
                                       "data:\n"
                                       "  files: .helmignore,files/keep.txt,\n"
                                       "  tmpl: top/templates/deep/er/cm.yaml top/templates\n"
                                       "  lib: hello from top\n"
                                       "  imported: null\n"
                                       "  deps: two=true;lib=true;\n"
                                       "  glob: \"keep.txt: |\\n  k\"\n"
                                       "  lines: \"[\\\"k\\\"]\"\n"
                                       "  caps: true 32\n"
                                       "---\n"
                                       "# Source: top/charts/two/templates/s.yaml\n"
                                       "kind: Service\n"
                                       "metadata:\n"
                                       "  name: two-2-default\n"
                                       "---\n"
                                       "# Source: top/charts/two/templates/s.yaml\n"
                                       "---\n"
                                       "kind: Pod\n"
                                       "metadata:\n"
                                       "  name: hook-two\n"
                                       "  annotations:\n"
                                       "    helm.sh/hook: pre-install,test\n";

static const char expected_disabled[] = "---\n"
                                        "# Source: top/templates/deep/er/cm.yaml\n"
                                        "kind: ConfigMap\n"
                                        "apiVersion: v1\n"
                                        "metadata:\n"
                                        "  name: r-top\n"
                                        "  annotations:\n"
                                        "    helm.sh/hook-weight: \"5\"\n"
                                        "data:\n"
                                        "  files: .helmignore,files/keep.txt,\n"
                                        "  tmpl: top/templates/deep/er/cm.yaml top/templates\n"
                                        "  lib: hello from top\n"
                                        "  imported: null\n"
                                        "  deps: lib=true;\n"
                                        "  glob: \"keep.txt: |\\n  k\"\n"
                                        "  lines: \"[\\\"k\\\"]\"\n"
                                        "  caps: true 32\n";

static char root[64];

static void make_dirs(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/ks-chart-deps.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    for (size_t i = 0; i < sizeof(chart_files) / sizeof(chart_files[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", root, chart_files[i].path);
        make_dirs(path);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fputs(chart_files[i].text, f);
        fclose(f);
    }
    /* a file the chart's .helmignore drops */
    char ignored[512];
    snprintf(ignored, sizeof(ignored), "%s/top/files/skip.bak", root);
    FILE *f = fopen(ignored, "w");
    if (!f)
        return -1;
    fputs("ignored\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void render(const json_t *values, const char *expected)
{
    char chart[128];
    snprintf(chart, sizeof(chart), "%s/top", root);
    struct ks_render_opts o = {.release_name = "r", .values = values};
    struct ks_render_result r = {0};
    if (ks_render_chart(&r, chart, &o) != 0)
        fail_msg("render: %s", ks_error_last());
    assert_string_equal(r.text, expected);
    ks_render_result_release(&r);
}

static void test_aliases_conditions_tags(void **state)
{
    (void)state;
    render(NULL, expected_default);
    json_t *v = json_pack("{s:{s:b}}", "one", "on", 0);
    render(v, expected_one_off);
    json_decref(v);
    /* one.off is now a bool and wins over one.on; tag t2 disables two */
    v = json_pack("{s:{s:b}, s:{s:b, s:b}}", "tags", "t2", 0, "one", "off", 0, "on", 1);
    render(v, expected_disabled);
    json_decref(v);
}

static void test_missing_dependency(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "mv '%s/top/charts/lib' '%s/lib.away'", root, root);
    assert_int_equal(system(cmd), 0);
    char chart[128];
    snprintf(chart, sizeof(chart), "%s/top", root);
    struct ks_render_opts o = {0};
    struct ks_render_result r = {0};
    assert_int_equal(ks_render_chart(&r, chart, &o), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "missing in charts/ directory: lib"));
    snprintf(cmd, sizeof(cmd), "mv '%s/lib.away' '%s/top/charts/lib'", root, root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliases_conditions_tags),
        cmocka_unit_test(test_missing_dependency),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
