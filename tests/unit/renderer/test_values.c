/*
 * test_values.c: Helm's values machinery (renderer/values.h): --set family
 * parsing, -f merging, coalescing with chart defaults, globals, null
 * deletion and import-values, checked against helm 3.17 output in
 * shared/conformance/helm (semantics-set-values, helm-testdata-issue-9027)
 * and against behaviour measured with a helm 3.17 binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "renderer/goenc.h"
#include "renderer/values.h"

#define SHARED KS_SOURCE_DIR "/../shared/conformance/helm"
#define SETCASE SHARED "/semantics-set-values"

static json_t *read_yaml(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (ks_file_read(&text, &len, path, 1 << 22) != 0)
        fail_msg("%s", ks_error_last());
    json_t *v = NULL;
    int rc = ks_helmyaml_parse(&v, text, len, path, 1);
    free(text);
    if (rc)
        fail_msg("%s", ks_error_last());
    return v;
}

static char *to_yaml(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_goyaml_marshal(&b, v), 0);
    return ks_buf_detach(&b, NULL);
}

static char *to_json(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_gojson_marshal(&b, v), 0);
    return ks_buf_detach(&b, NULL);
}

/* A chart named name whose defaults are the YAML file dir/rel. */
static struct ks_values_chart *chart_from(const char *name, const char *dir, const char *rel)
{
    char path[1024];
    struct ks_values_chart *ch = ks_values_chart_new(name);
    assert_non_null(ch);
    json_decref(ch->values);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    ch->values = read_yaml(path);
    return ch;
}

/* --set-file reader: paths relative to the set-values case folder. */
static int case_reader(void *ctx, const char *path, char **out, size_t *out_len)
{
    char full[1024];
    snprintf(full, sizeof(full), "%s/%s", (const char *)ctx, path);
    return ks_file_read(out, out_len, full, 1 << 20);
}

/* Parses --set arguments into a fresh object, failing the test on error. */
static json_t *set_args(enum ks_values_set_kind kind, const char *arg)
{
    json_t *o = json_object();
    if (ks_values_parse_set(o, kind, arg, case_reader, (void *)SETCASE) != 0)
        fail_msg("%s: %s", arg, ks_error_last());
    return o;
}

static void check_set(enum ks_values_set_kind kind, const char *arg, const char *want_json)
{
    json_t *o = set_args(kind, arg);
    char *got = to_json(o);
    assert_string_equal(got, want_json);
    free(got);
    json_decref(o);
}

static void check_set_error(enum ks_values_set_kind kind, const char *arg, const char *want)
{
    json_t *o = json_object();
    assert_int_not_equal(ks_values_parse_set(o, kind, arg, case_reader, (void *)SETCASE), 0);
    assert_string_equal(ks_error_last(), want);
    json_decref(o);
}

static void set_typing(void **state)
{
    (void)state;
    check_set(KS_VALUES_SET, "a=1,b=true,c=FALSE,d=null,e=007,f=1.5,g=0,h=-3,i=+4,j=",
              "{\"a\":1,\"b\":true,\"c\":false,\"d\":null,\"e\":\"007\",\"f\":\"1.5\",\"g\":0,"
              "\"h\":-3,\"i\":4,\"j\":\"\"}");
    json_t *o = set_args(KS_VALUES_SET, "a=1,big=99999999999999999999");
    assert_true(json_is_integer(json_object_get(o, "a")));
    assert_true(json_is_string(json_object_get(o, "big")));
    json_decref(o);
    check_set(KS_VALUES_SET_STRING, "a=1,b=true,c=null",
              "{\"a\":\"1\",\"b\":\"true\",\"c\":\"null\"}");
    check_set(KS_VALUES_SET_LITERAL, "a.b=x,y=z\\,{q}", "{\"a\":{\"b\":\"x,y=z\\\\,{q}\"}}");
}

static void set_paths_and_lists(void **state)
{
    (void)state;
    check_set(KS_VALUES_SET, "a.b.c=deep,dotted\\.key=v,esc=a\\,b",
              "{\"a\":{\"b\":{\"c\":\"deep\"}},\"dotted.key\":\"v\",\"esc\":\"a,b\"}");
    check_set(KS_VALUES_SET, "arr={x,y,1},list[1]=B,n[0].name=a,n[0].v=1,m[1][0]=z",
              "{\"arr\":[\"x\",\"y\",1],\"list\":[null,\"B\"],\"m\":[null,[\"z\"]],"
              "\"n\":[{\"name\":\"a\",\"v\":1}]}");
    check_set(KS_VALUES_SET, "a={},b={x},c=d", "{\"a\":[\"\"],\"b\":[\"x\"],\"c\":\"d\"}");
    /* measured with helm 3.17: a trailing dot ends parsing quietly, an
     * index without "=" sets an empty list, "a[0].=1" leaves an empty map,
     * and the space after a --set-json comma belongs to the next key */
    check_set(KS_VALUES_SET, "a=1,b.", "{\"a\":1}");
    check_set(KS_VALUES_SET, "a=1,b[0]", "{\"a\":1,\"b\":[]}");
    check_set(KS_VALUES_SET, "a[0].=1", "{\"a\":[{}]}");
    check_set(KS_VALUES_SET_JSON, "json={\"k\":[1,2.5,\"s\"],\"n\":null}, e=, l[1]=[true]",
              "{\" e\":null,\" l\":[null,[true]],\"json\":{\"k\":[1,2.5,\"s\"],\"n\":null}}");
    check_set(KS_VALUES_SET_JSON, "x=1,y=22 ,z=\"s\"", "{\"x\":1,\"y\":22,\"z\":\"s\"}");
    check_set(KS_VALUES_SET_JSON, "a=true,b=null,c=[1],d={},e=-1.5e2,f=\"q\"",
              "{\"a\":true,\"b\":null,\"c\":[1],\"d\":{},\"e\":-150,\"f\":\"q\"}");
    json_t *o = set_args(KS_VALUES_SET_JSON, "x=1");
    assert_true(json_is_real(json_object_get(o, "x")));
    json_decref(o);
    check_set(KS_VALUES_SET_FILE, "file=inputs/setfile.txt",
              "{\"file\":\"file-content\\nline2\\n\"}");
}

static void set_errors(void **state)
{
    (void)state;
    check_set_error(KS_VALUES_SET, "name", "failed parsing --set data: key \"name\" has no value");
    check_set_error(KS_VALUES_SET, "a=1,name,b=2",
                    "failed parsing --set data: key \"name\" has no value (cannot end with ,)");
    check_set_error(KS_VALUES_SET, "a.=1", "failed parsing --set data: key map \"a\" has no value");
    check_set_error(KS_VALUES_SET, "a=1,b[2",
                    "failed parsing --set data: error parsing index: EOF");
    check_set_error(KS_VALUES_SET_JSON, "x=1x", "failed parsing --set-json data x=1x");
    check_set_error(KS_VALUES_SET, "a={x,y",
                    "failed parsing --set data: list must terminate with '}'");
    check_set_error(KS_VALUES_SET, "a[x]=1",
                    "failed parsing --set data: error parsing index: strconv.Atoi: parsing \"x\": "
                    "invalid syntax");
    check_set_error(KS_VALUES_SET, "a[-1]=1",
                    "failed parsing --set data: negative -1 index not allowed");
    check_set_error(KS_VALUES_SET, "a[65537]=1",
                    "failed parsing --set data: index of 65537 is greater than maximum supported "
                    "index of 65536");
    check_set_error(KS_VALUES_SET, "a[0]x=1",
                    "failed parsing --set data: unexpected data at end of array index: ['x']");
    check_set_error(KS_VALUES_SET_LITERAL, "a",
                    "failed parsing --set-literal data: key \"a\" has no value");
    check_set_error(KS_VALUES_SET, "a=1,a.b=2",
                    "failed parsing --set data: unable to parse key: interface conversion: "
                    "interface {} is int64, not map[string]interface {}");
    check_set_error(KS_VALUES_SET, "a=x,a[0]=2",
                    "failed parsing --set data: unable to parse key: interface conversion: "
                    "interface {} is string, not []interface {}");
    check_set_error(KS_VALUES_SET_JSON, "a={bad", "failed parsing --set-json data a={bad");
    check_set_error(KS_VALUES_SET_STRING, "k",
                    "failed parsing --set-string data: key \"k\" has no value");
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 31; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "a.");
    snprintf(deep + n, sizeof(deep) - n, "b=1");
    check_set_error(KS_VALUES_SET, deep,
                    "failed parsing --set data: value name nested level is greater than maximum "
                    "supported nested level of 30");
}

/* Splits a helm command line (single quotes only) into argv. */
static size_t split_args(char **argv, size_t max, const char *line)
{
    size_t n = 0;
    const char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (!*p)
            break;
        struct ks_buf b;
        ks_buf_init(&b, 0);
        while (*p && *p != ' ' && *p != '\n') {
            if (*p == '\'') {
                const char *q = strchr(p + 1, '\'');
                ks_buf_put(&b, p + 1, (size_t)(q - p - 1));
                p = q + 1;
            } else {
                ks_buf_putc(&b, *p++);
            }
        }
        argv[n++] = ks_buf_detach(&b, NULL);
    }
    return n;
}

/* The user values helm builds from a case's args.txt. */
static json_t *user_values_of(const char *args_path)
{
    char *line = NULL;
    assert_int_equal(ks_file_read(&line, NULL, args_path, 1 << 16), 0);
    char *argv[128];
    size_t argc = split_args(argv, 128, line);
    free(line);
    json_t *files[16];
    size_t nfiles = 0;
    struct ks_values_arg args[64];
    size_t nargs = 0;
    static const struct {
        const char *flag;
        enum ks_values_set_kind kind;
    } flags[] = {{"--set", KS_VALUES_SET},
                 {"--set-string", KS_VALUES_SET_STRING},
                 {"--set-json", KS_VALUES_SET_JSON},
                 {"--set-file", KS_VALUES_SET_FILE},
                 {"--set-literal", KS_VALUES_SET_LITERAL}};
    for (size_t i = 0; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--values") == 0) {
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", SETCASE, argv[i + 1]);
            files[nfiles++] = read_yaml(path);
            i++;
            continue;
        }
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
            if (strcmp(argv[i], flags[k].flag) == 0) {
                args[nargs].kind = flags[k].kind;
                args[nargs++].text = argv[i + 1];
                i++;
                break;
            }
        }
    }
    json_t *user = NULL;
    if (ks_values_merge_user(&user, files, nfiles, args, nargs, case_reader, (void *)SETCASE) != 0)
        fail_msg("%s", ks_error_last());
    for (size_t i = 0; i < nfiles; i++)
        json_decref(files[i]);
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    return user;
}

/* The "values.yaml: |" block of an expected.txt (toYaml .Values | nindent 4). */
static char *expected_values_block(const char *path)
{
    char *text = NULL;
    assert_int_equal(ks_file_read(&text, NULL, path, 1 << 20), 0);
    const char *p = strstr(text, "  values.yaml: |\n");
    assert_non_null(p);
    p += strlen("  values.yaml: |\n");
    struct ks_buf b;
    ks_buf_init(&b, 0);
    while (*p && strncmp(p, "    ", 4) == 0) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        ks_buf_put(&b, p + 4, n - 4);
        ks_buf_putc(&b, '\n');
        p += n + (eol ? 1 : 0);
    }
    free(text);
    return ks_buf_detach(&b, NULL);
}

static json_t *coalesce_case(const char *args_path)
{
    struct ks_values_chart *ch = chart_from("setprobe", SETCASE, "chart/values.yaml");
    ch->deps_undeclared = true;
    json_t *user = user_values_of(args_path);
    json_t *vals = NULL;
    assert_int_equal(ks_values_process_imports(ch, NULL), 0);
    assert_int_equal(ks_values_coalesce(&vals, ch, user, NULL), 0);
    json_decref(user);
    ks_values_chart_free(ch);
    return vals;
}

static void set_values_case(void **state)
{
    (void)state;
    json_t *vals = coalesce_case(SETCASE "/args.txt");
    char *got = to_yaml(vals);
    char *want = expected_values_block(SETCASE "/expected.txt");
    assert_string_equal(got, want);
    free(got);
    free(want);
    /* typeOf lines: int64 from --set, float64 from files, nil kept */
    assert_true(json_is_integer(json_object_get(vals, "int")));
    assert_true(json_is_real(json_object_get(vals, "replicas")));
    assert_true(json_is_string(json_object_get(vals, "float")));
    assert_true(json_is_null(json_object_get(vals, "null1")));
    assert_null(json_object_get(vals, "keepme"));
    assert_null(json_object_get(vals, "deleteme"));
    json_decref(vals);

    vals = coalesce_case(SETCASE "/cases/multi-f-order/args.txt");
    got = to_yaml(vals);
    want = expected_values_block(SETCASE "/cases/multi-f-order/expected.txt");
    assert_string_equal(got, want);
    assert_true(json_is_integer(json_object_get(vals, "replicas")));
    free(got);
    free(want);
    json_decref(vals);
}

/* The last document of an expected.txt whose Source matches, minus the
 * "---\n# Source: ...\n" header. */
static char *expected_doc(const char *path, const char *source)
{
    char *text = NULL;
    assert_int_equal(ks_file_read(&text, NULL, path, 1 << 20), 0);
    char head[512];
    snprintf(head, sizeof(head), "# Source: %s\n", source);
    const char *p = strstr(text, head);
    assert_non_null(p);
    p += strlen(head);
    const char *end = strstr(p, "\n---\n");
    char *doc = ks_strndup(p, end ? (size_t)(end - p) + 1 : strlen(p));
    free(text);
    return doc;
}

static void issue_9027_globals_and_nulls(void **state)
{
    (void)state;
    const char *dir = SHARED "/helm-testdata-issue-9027";
    struct ks_values_chart *root = chart_from("issue-9027", dir, "chart/values.yaml");
    struct ks_values_chart *sub = chart_from("subchart", dir, "chart/charts/subchart/values.yaml");
    sub->deps_undeclared = true;
    assert_int_equal(ks_values_chart_add_dep(root, sub), 0);
    json_t *vals = NULL;
    assert_int_equal(ks_values_process_imports(root, NULL), 0);
    assert_int_equal(ks_values_coalesce(&vals, root, NULL, NULL), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s/expected.txt", dir);
    char *want = expected_doc(path, "issue-9027/templates/values.yaml");
    char *got = to_yaml(vals);
    assert_string_equal(got, want);
    free(got);
    free(want);
    want = expected_doc(path, "issue-9027/charts/subchart/templates/values.yaml");
    got = to_yaml(json_object_get(vals, "subchart"));
    assert_string_equal(got, want);
    free(got);
    free(want);
    json_decref(vals);
    ks_values_chart_free(root);
}

static json_t *coalesce_one(const char *defaults, const char *user_yaml)
{
    struct ks_values_chart *ch = ks_values_chart_new("c");
    json_decref(ch->values);
    assert_int_equal(ks_helmyaml_parse(&ch->values, defaults, strlen(defaults), "d", 1), 0);
    json_t *user = NULL;
    assert_int_equal(ks_helmyaml_parse(&user, user_yaml, strlen(user_yaml), "u", 1), 0);
    json_t *vals = NULL;
    struct ks_values_warnings warn;
    ks_buf_init(&warn.text, 0);
    assert_int_equal(ks_values_coalesce(&vals, ch, user, &warn), 0);
    json_decref(user);
    ks_values_chart_free(ch);
    ks_buf_release(&warn.text);
    return vals;
}

static void check_coalesce(const char *defaults, const char *user_yaml, const char *want)
{
    json_t *v = coalesce_one(defaults, user_yaml);
    char *got = to_json(v);
    assert_string_equal(got, want);
    free(got);
    json_decref(v);
}

/* Null rules measured with helm 3.17.1 on a chart with t: {a: 1, c: null}. */
static void null_deletion_rules(void **state)
{
    (void)state;
    const char *defaults = "t:\n  a: 1\n  c: null\n";
    check_coalesce(defaults, "t: {b: null}", "{\"t\":{\"a\":1,\"b\":null,\"c\":null}}");
    check_coalesce(defaults, "t: {a: null}", "{\"t\":{\"c\":null}}");
    check_coalesce(defaults, "t: {c: null, d: null}", "{\"t\":{\"a\":1,\"d\":null}}");
    check_coalesce(defaults, "t: null", "{}");
    check_coalesce(defaults, "t: 5", "{\"t\":5}");
    check_coalesce("t: 5\n", "t: {x: 1}", "{\"t\":{\"x\":1}}");
    check_coalesce("t: {x: {y: 1}}\n", "t: {x: 2}", "{\"t\":{\"x\":2}}");
}

#define DATA KS_SOURCE_DIR "/tests/data/renderer/values"

static struct ks_values_chart *load_chart(const char *dir, const char *name)
{
    char path[1024];
    struct ks_values_chart *ch = chart_from(name, dir, "values.yaml");
    snprintf(path, sizeof(path), "%s/values.schema.json", dir);
    json_error_t jerr;
    ch->schema = json_load_file(path, 0, &jerr);
    assert_non_null(ch->schema);
    ch->deps_undeclared = true;
    return ch;
}

/* helm's error text, minus "Error: ", as a set of lines: each line of want
 * must appear in got once, and the chart headers in the same order. */
static void check_schema_errors(const char *got, const char *expected_path)
{
    char *want = NULL;
    assert_int_equal(ks_file_read(&want, NULL, expected_path, 1 << 16), 0);
    const char *w = strncmp(want, "Error: ", 7) == 0 ? want + 7 : want;
    size_t wlines = 0, glines = 0;
    for (const char *p = w; *p; p++)
        wlines += *p == '\n';
    for (const char *p = got; *p; p++)
        glines += *p == '\n';
    /* helm adds one blank line after the message */
    assert_int_equal(glines + 1, wlines);
    const char *p = w;
    while (*p && *p != '\n') {
        const char *eol = strchr(p, '\n');
        char *line = ks_strndup(p, (size_t)(eol - p + 1));
        if (strcmp(line, "\n") != 0 && !strstr(got, line))
            fail_msg("missing line: %s", line);
        free(line);
        p = eol + 1;
    }
    free(want);
}

static void schema_validation(void **state)
{
    (void)state;
    struct ks_values_chart *ch = load_chart(DATA "/schema", "probe");
    json_t *vals = NULL;
    assert_int_equal(ks_values_coalesce(&vals, ch, NULL, NULL), 0);
    assert_int_equal(ks_values_validate(ch, vals), KS_EINVALID);
    check_schema_errors(ks_error_last(), DATA "/schema/expected.stderr.txt");
    json_decref(vals);
    ks_values_chart_free(ch);

    struct ks_values_chart *top = load_chart(DATA "/schema-sub", "top");
    assert_int_equal(ks_values_chart_add_dep(top, load_chart(DATA "/schema-sub/charts/sub", "sub")),
                     0);
    assert_int_equal(ks_values_coalesce(&vals, top, NULL, NULL), 0);
    assert_int_equal(ks_values_validate(top, vals), KS_EINVALID);
    check_schema_errors(ks_error_last(), DATA "/schema-sub/expected.stderr.txt");
    assert_non_null(strstr(ks_error_last(), "top:\n- a:"));
    /* the same values pass once fixed */
    json_object_set_new(vals, "a", json_string("s"));
    json_t *sub = json_object_get(vals, "sub");
    json_object_set_new(sub, "q", json_true());
    json_object_set_new(sub, "m", json_real(1.0));
    assert_int_equal(ks_values_validate(top, vals), 0);
    json_decref(vals);
    ks_values_chart_free(top);

    ch = load_chart(DATA "/schema-more", "more");
    assert_int_equal(ks_values_coalesce(&vals, ch, NULL, NULL), 0);
    assert_int_equal(ks_values_validate(ch, vals), KS_EINVALID);
    check_schema_errors(ks_error_last(), DATA "/schema-more/expected.stderr.txt");
    json_decref(vals);
    ks_values_chart_free(ch);
}

/* The quoted toJson line helm printed for a chart's Source in expected.txt. */
static char *helm_values_line(const char *path, const char *source)
{
    char *doc = expected_doc(path, source);
    const char *p = strstr(doc, "vals: ");
    assert_non_null(p);
    p += 6;
    json_error_t jerr;
    json_t *q = json_loadb(p, strcspn(p, "\n"), JSON_DECODE_ANY, &jerr);
    assert_non_null(q);
    char *s = strdup(json_string_value(q));
    json_decref(q);
    free(doc);
    return s;
}

static void import_values_subchart_testdata(void **state)
{
    (void)state;
    const char *src = SHARED "/helm-testdata-subchart/chart";
    struct ks_values_chart *root = chart_from("subchart", src, "values.yaml");
    struct ks_values_chart *a = chart_from("subcharta", src, "charts/subchartA/values.yaml");
    a->deps_undeclared = true;
    ks_values_chart_add_import(a, "SCAdata", "imported-chartA");
    ks_values_chart_add_import(a, "SCAdata", "overridden-chartA");
    ks_values_chart_add_import(a, "SCAdata", "imported-chartA-B");
    struct ks_values_chart *b = chart_from("subchartb", src, "charts/subchartB/values.yaml");
    b->deps_undeclared = true;
    ks_values_chart_add_import(b, "SCBdata", "imported-chartB");
    ks_values_chart_add_import(b, "SCBdata", "imported-chartA-B");
    ks_values_chart_add_import(b, "exports.SCBexported2", "exports.SCBexported2");
    ks_values_chart_add_import(b, "exports.configmap", "");
    ks_values_chart_add_import(b, "exports.SCBexported1", "");
    assert_int_equal(ks_values_chart_add_dep(root, a), 0);
    assert_int_equal(ks_values_chart_add_dep(root, b), 0);

    json_t *user = json_object();
    assert_int_equal(ks_values_parse_set(user, KS_VALUES_SET, "configmap.enabled=true", NULL, NULL),
                     0);
    assert_int_equal(ks_values_parse_set(user, KS_VALUES_SET, "subchartb.enabled=true", NULL, NULL),
                     0);
    json_t *vals = NULL;
    assert_int_equal(ks_values_process_imports(root, NULL), 0);
    assert_int_equal(ks_values_coalesce(&vals, root, user, NULL), 0);

    const char *exp = DATA "/import-values/expected.txt";
    struct {
        const char *source;
        const json_t *v;
    } checks[] = {
        {"subchart/templates/v.yaml", vals},
        {"subchart/charts/subcharta/templates/v.yaml", json_object_get(vals, "subcharta")},
        {"subchart/charts/subchartb/templates/v.yaml", json_object_get(vals, "subchartb")},
    };
    for (size_t i = 0; i < 3; i++) {
        char *want = helm_values_line(exp, checks[i].source);
        char *got = to_json(checks[i].v);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    json_decref(vals);
    json_decref(user);
    ks_values_chart_free(root);
}

/* Measured with helm 3.17.1: dependency "sub" with alias "foo" and
 * import-values child data -> parent imp gives {"foo":{"data":{"x":1},
 * "global":{}},"imp":{"x":1}}: the import is found under the alias. */
static void import_values_with_alias(void **state)
{
    (void)state;
    struct ks_values_chart *root = ks_values_chart_new("top");
    struct ks_values_chart *sub = ks_values_chart_new("foo");
    sub->dep_name = strdup("sub");
    sub->deps_undeclared = true;
    json_object_set_new(sub->values, "data", json_pack("{s:f}", "x", 1.0));
    ks_values_chart_add_import(sub, "data", "imp");
    ks_values_chart_add_dep(root, sub);
    json_t *vals = NULL;
    assert_int_equal(ks_values_process_imports(root, NULL), 0);
    assert_int_equal(ks_values_coalesce(&vals, root, NULL, NULL), 0);
    char *got = to_json(vals);
    assert_string_equal(got, "{\"foo\":{\"data\":{\"x\":1},\"global\":{}},\"imp\":{\"x\":1}}");
    free(got);
    json_decref(vals);
    ks_values_chart_free(root);
}

/* semantics-probe: dependency child aliased kid, parent values set kid.who
 * and globals; the kid's `values: |` block is toYaml .Values in the kid. */
static json_t *probe_values(void)
{
    const char *dir = SHARED "/semantics-probe/chart";
    struct ks_values_chart *root = chart_from("probe", dir, "values.yaml");
    struct ks_values_chart *kid = chart_from("kid", dir, "charts/child/values.yaml");
    kid->dep_name = strdup("child");
    kid->deps_undeclared = true;
    ks_values_chart_add_dep(root, kid);
    json_t *vals = NULL;
    assert_int_equal(ks_values_process_imports(root, NULL), 0);
    assert_int_equal(ks_values_coalesce(&vals, root, NULL, NULL), 0);
    ks_values_chart_free(root);
    return vals;
}

static void probe_subchart_globals(void **state)
{
    (void)state;
    json_t *vals = probe_values();
    char *text = NULL;
    assert_int_equal(ks_file_read(&text, NULL, SHARED "/semantics-probe/expected.txt", 1 << 22), 0);
    const char *p = strstr(text, "# Source: probe/charts/kid/templates/cm.yaml\n");
    assert_non_null(p);
    p = strstr(p, "  values: |\n");
    assert_non_null(p);
    p += strlen("  values: |\n");
    struct ks_buf want;
    ks_buf_init(&want, 0);
    while (strncmp(p, "    ", 4) == 0) {
        const char *eol = strchr(p, '\n');
        ks_buf_put(&want, p + 4, (size_t)(eol - p - 3));
        p = eol + 1;
    }
    char *got = to_yaml(json_object_get(vals, "kid"));
    assert_string_equal(got, ks_buf_data(&want));
    free(got);
    ks_buf_release(&want);
    free(text);
    json_decref(vals);
}

/* Every argument of set-cases.json parsed, coalesced with an empty chart
 * and printed as toJson, or its error, against what helm 3.17 printed. */
static void set_cases_against_helm(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *cases = json_load_file(DATA "/set-cases.json", 0, &jerr);
    assert_non_null(cases);
    assert_true(json_array_size(cases) >= 30);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *flag = json_string_value(json_object_get(c, "flag"));
        const char *arg = json_string_value(json_object_get(c, "arg"));
        const char *want = json_string_value(json_object_get(c, "helm"));
        enum ks_values_set_kind kind = strcmp(flag, "--set-string") == 0    ? KS_VALUES_SET_STRING
                                       : strcmp(flag, "--set-json") == 0    ? KS_VALUES_SET_JSON
                                       : strcmp(flag, "--set-literal") == 0 ? KS_VALUES_SET_LITERAL
                                                                            : KS_VALUES_SET;
        json_t *user = json_object();
        struct ks_buf got;
        ks_buf_init(&got, 0);
        if (ks_values_parse_set(user, kind, arg, NULL, NULL) != 0) {
            ks_buf_printf(&got, "Error: %s", ks_error_last());
        } else {
            struct ks_values_chart *ch = ks_values_chart_new("sp");
            json_t *vals = NULL;
            assert_int_equal(ks_values_coalesce(&vals, ch, user, NULL), 0);
            assert_int_equal(ks_gojson_marshal(&got, vals), 0);
            json_decref(vals);
            ks_values_chart_free(ch);
        }
        if (strcmp(ks_buf_data(&got), want) != 0)
            fail_msg("%s %s: got %s, helm %s", flag, arg, ks_buf_data(&got), want);
        ks_buf_release(&got);
        json_decref(user);
    }
    json_decref(cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_typing),
        cmocka_unit_test(set_paths_and_lists),
        cmocka_unit_test(set_errors),
        cmocka_unit_test(set_values_case),
        cmocka_unit_test(issue_9027_globals_and_nulls),
        cmocka_unit_test(null_deletion_rules),
        cmocka_unit_test(schema_validation),
        cmocka_unit_test(import_values_subchart_testdata),
        cmocka_unit_test(import_values_with_alias),
        cmocka_unit_test(probe_subchart_globals),
        cmocka_unit_test(set_cases_against_helm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
