/*
 * test_yaml_cases.c: data-driven tests of the YAML codec (core/yaml.h).
 *
 * Every folder tests/data/yaml/<case>/ holds input.yaml and either
 * expected.json (the JSON array of the stream's documents) or
 * expected-error.txt (a substring the error must contain, with its
 * "input.yaml:line:col:" position). An optional opts.json sets parse
 * limits. Successful cases are also checked for positions on every node
 * and for a parse -> emit -> parse round trip. A second group round-trips
 * every expected.txt, values.yaml and Chart.yaml of the shared Helm
 * conformance material (a values.yaml under templates/ is a Go template:
 * if it does not parse it must fail with a position); it fails when that
 * folder is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "core/yaml.h"

#define MAX_FILE (16u * 1024u * 1024u)
#define MAX_ENTRIES 4096

struct list {
    char *items[MAX_ENTRIES];
    size_t n;
};

static char *path_join(const char *a, const char *b)
{
    char *p = ks_strdupf("%s/%s", a, b);
    assert_non_null(p);
    return p;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

/* Checks that every node below v has a recorded position inside the file. */
static void check_positions(const struct ks_yaml_positions *pos, const json_t *v, int lines)
{
    struct ks_pos p;
    if (json_is_object(v)) {
        const char *key;
        size_t len;
        json_t *child;
        json_object_keylen_foreach((json_t *)v, key, len, child)
        {
            assert_int_equal(ks_yaml_position_of_membern(&p, pos, v, key, len), 0);
            assert_true(p.line >= 1 && p.line <= lines && p.column >= 1);
            check_positions(pos, child, lines);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            assert_int_equal(ks_yaml_position_of_index(&p, pos, v, i), 0);
            assert_true(p.line >= 1 && p.line <= lines + 1 && p.column >= 1);
            check_positions(pos, json_array_get(v, i), lines);
        }
    }
}

static int count_lines(const char *text, size_t len)
{
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
    return n;
}

/* parse -> emit (tree order and sorted) -> parse must give equal JSON. */
static void check_round_trip(const json_t *docs, const char *what)
{
    for (int sorted = 0; sorted <= 1; sorted++) {
        struct ks_buf out;
        ks_buf_init(&out, 0);
        struct ks_yaml_emit_opts eo = {.sort_keys = sorted};
        int rc = ks_yaml_emit_stream(&out, docs, &eo);
        if (rc)
            fail_msg("%s: emit failed: %s", what, ks_error_last());
        json_t *again = NULL;
        struct ks_yaml_parse_opts po = {.file = "emitted.yaml"};
        rc = ks_yaml_parse_stream(&again, ks_buf_data(&out), ks_buf_len(&out), &po);
        if (rc)
            fail_msg("%s: re-parse failed: %s\n--- emitted:\n%s", what, ks_error_last(),
                     ks_buf_data(&out));
        if (!json_equal(again, docs)) {
            char *a = json_dumps(docs, JSON_COMPACT), *b = json_dumps(again, JSON_COMPACT);
            fail_msg("%s: round trip differs\nfirst:  %.2000s\nsecond: %.2000s\nemitted:\n%s", what,
                     a, b, ks_buf_data(&out));
        }
        json_decref(again);
        ks_buf_release(&out);
    }
}

static void read_opts(struct ks_yaml_parse_opts *po, const char *dir)
{
    char *path = path_join(dir, "opts.json");
    if (file_exists(path)) {
        json_error_t jerr;
        json_t *o = json_load_file(path, 0, &jerr);
        if (!o)
            fail_msg("%s: %s", path, jerr.text);
        po->max_bytes = (size_t)json_integer_value(json_object_get(o, "max_bytes"));
        po->max_depth = (unsigned)json_integer_value(json_object_get(o, "max_depth"));
        po->max_alias_nodes = (size_t)json_integer_value(json_object_get(o, "max_alias_nodes"));
        po->max_documents = (unsigned)json_integer_value(json_object_get(o, "max_documents"));
        po->allow_duplicate_keys = json_is_true(json_object_get(o, "allow_duplicate_keys"));
        json_decref(o);
    }
    free(path);
}

static void run_case(void **state)
{
    const char *dir = *state;
    char *input_path = path_join(dir, "input.yaml");
    char *json_path = path_join(dir, "expected.json");
    char *err_path = path_join(dir, "expected-error.txt");
    char *text = NULL, *want_err = NULL;
    size_t len = 0;
    assert_int_equal(ks_file_read(&text, &len, input_path, MAX_FILE), 0);
    struct ks_yaml_parse_opts po = {.file = "input.yaml"};
    read_opts(&po, dir);
    po.positions = ks_yaml_positions_new();
    assert_non_null(po.positions);
    json_t *docs = NULL;
    int rc = ks_yaml_parse_stream(&docs, text, len, &po);
    if (file_exists(err_path)) {
        assert_int_equal(ks_file_read(&want_err, NULL, err_path, 4096), 0);
        want_err[strcspn(want_err, "\r\n")] = '\0';
        if (rc == 0)
            fail_msg("%s: expected error '%s' but parsing succeeded", dir, want_err);
        if (!strstr(ks_error_last(), want_err))
            fail_msg("%s: error '%s' lacks '%s'", dir, ks_error_last(), want_err);
    } else {
        if (rc)
            fail_msg("%s: parse failed: %s", dir, ks_error_last());
        json_error_t jerr;
        json_t *want = json_load_file(json_path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!want)
            fail_msg("%s: %s", json_path, jerr.text);
        if (!json_equal(want, docs)) {
            char *got = json_dumps(docs, JSON_COMPACT);
            fail_msg("%s: got %.3000s", dir, got);
        }
        json_decref(want);
        int lines = count_lines(text, len);
        for (size_t i = 0; i < json_array_size(docs); i++) {
            struct ks_pos p;
            assert_int_equal(ks_yaml_position_of_index(&p, po.positions, docs, i), 0);
            assert_string_equal(p.file, "input.yaml");
            check_positions(po.positions, json_array_get(docs, i), lines);
        }
        check_round_trip(docs, dir);
    }
    json_decref(docs);
    ks_yaml_positions_free(po.positions);
    free(text);
    free(want_err);
    free(input_path);
    free(json_path);
    free(err_path);
}

static void round_trip_file(void **state)
{
    const char *path = *state;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ks_file_read(&text, &len, path, MAX_FILE), 0);
    json_t *docs = NULL;
    struct ks_yaml_parse_opts po = {.file = path};
    if (ks_yaml_parse_stream(&docs, text, len, &po) != 0) {
        /* a chart's templates/ may hold a values.yaml that is a Go template
         * ({{ .Values | toYaml }} reads as a flow mapping used as a key):
         * it must then be rejected with a position, like any bad input */
        char *want = ks_strdupf("%s:1:", path);
        if (!strstr(path, "/templates/") || strncmp(ks_error_last(), want, strlen(want)) != 0)
            fail_msg("%s", ks_error_last());
        free(want);
        free(text);
        return;
    }
    check_round_trip(docs, path);
    json_decref(docs);
    free(text);
}

static void collect_cases(struct list *out, const char *root)
{
    DIR *d = opendir(root);
    if (!d)
        fail_msg("cannot open %s", root);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *dir = path_join(root, de->d_name);
        char *input = path_join(dir, "input.yaml");
        bool ok = file_exists(input);
        free(input);
        if (ok && out->n < MAX_ENTRIES)
            out->items[out->n++] = dir;
        else
            free(dir);
    }
    closedir(d);
    qsort(out->items, out->n, sizeof(char *), cmp_str);
}

static void collect_helm(struct list *out, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *p = path_join(dir, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (S_ISDIR(st.st_mode))
            collect_helm(out, p);
        if (S_ISREG(st.st_mode) && out->n < MAX_ENTRIES &&
            (strcmp(de->d_name, "expected.txt") == 0 || strcmp(de->d_name, "values.yaml") == 0 ||
             strcmp(de->d_name, "Chart.yaml") == 0)) {
            out->items[out->n++] = p;
            continue;
        }
        free(p);
    }
    closedir(d);
}

static const char *source_dir(void)
{
    const char *env = getenv("KS_SOURCE_DIR");
    return env && env[0] ? env : KS_SOURCE_DIR;
}

static int run_group(const char *name, struct list *l, CMUnitTestFunction fn)
{
    struct CMUnitTest *tests = calloc(l->n, sizeof(*tests));
    assert_non_null(tests);
    for (size_t i = 0; i < l->n; i++) {
        tests[i].name = l->items[i];
        tests[i].test_func = fn;
        tests[i].initial_state = l->items[i];
    }
    int failed = _cmocka_run_group_tests(name, tests, l->n, NULL, NULL);
    free(tests);
    return failed;
}

static struct list cases, helm;

/* The groups themselves must not be empty: a missing folder is a failure. */
static void folders_are_there(void **state)
{
    char *root = path_join(source_dir(), "tests/data/yaml");
    collect_cases(&cases, root);
    free(root);
    assert_true(cases.n >= 40);
    char *helm_dir = path_join(source_dir(), "../shared/conformance/helm");
    collect_helm(&helm, helm_dir);
    free(helm_dir);
    assert_true(helm.n >= 100);
}

int main(void)
{
    const struct CMUnitTest setup[] = {cmocka_unit_test(folders_are_there)};
    int failed = cmocka_run_group_tests(setup, NULL, NULL);
    if (failed == 0) {
        failed += run_group("yaml-cases", &cases, run_case);
        failed += run_group("yaml-helm-round-trip", &helm, round_trip_file);
    }
    list_free(&cases);
    list_free(&helm);
    return failed ? 1 : 0;
}
