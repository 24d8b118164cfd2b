/*
 * test_goenc.c: Helm's YAML/JSON encodings (renderer/goenc.h) checked
 * against what helm 3.17 printed: the snippet cases of
 * shared/conformance/helm/snippets/snippets.json that use toYaml, toJson
 * and fromYaml, and the toYaml blocks of the semantics-probe chart's
 * expected output, all fed from semantics-probe/chart/values.yaml read
 * with ks_helmyaml_parse. Expected strings come from those files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/str.h"
#include "renderer/goenc.h"

#define SHARED KS_SOURCE_DIR "/../shared/conformance/helm"

static json_t *snippets;
static json_t *probe_values;
static char *probe_expected;

static int setup(void **state)
{
    (void)state;
    json_error_t jerr;
    snippets = json_load_file(SHARED "/snippets/snippets.json", 0, &jerr);
    if (!snippets) {
        fprintf(stderr, "cannot read snippets.json: %s\n", jerr.text);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    if (ks_file_read(&text, &len, SHARED "/semantics-probe/chart/values.yaml", 1 << 20) != 0) {
        fprintf(stderr, "%s\n", ks_error_last());
        return -1;
    }
    int rc = ks_helmyaml_parse(&probe_values, text, len, "values.yaml", 1);
    free(text);
    if (rc) {
        fprintf(stderr, "%s\n", ks_error_last());
        return -1;
    }
    if (ks_file_read(&probe_expected, NULL, SHARED "/semantics-probe/expected.txt", 1 << 22) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(snippets);
    json_decref(probe_values);
    free(probe_expected);
    return 0;
}

/* The helm output of snippet id. */
static const char *snippet_output(int id)
{
    json_t *cases = json_object_get(snippets, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        if (json_integer_value(json_object_get(c, "id")) == id)
            return json_string_value(json_object_get(json_object_get(c, "helm_v3_17_3"), "output"));
    }
    fail_msg("snippet %d not found", id);
    return NULL;
}

/* toYaml in templates: Marshal minus one trailing newline. */
static char *to_yaml(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_goyaml_marshal(&b, v), 0);
    if (b.len && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    return ks_buf_detach(&b, NULL);
}

static char *to_json(const json_t *v)
{
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_gojson_marshal(&b, v), 0);
    return ks_buf_detach(&b, NULL);
}

static void check_yaml(const json_t *v, const char *want)
{
    char *got = to_yaml(v);
    assert_string_equal(got, want);
    free(got);
}

static void check_json(const json_t *v, const char *want)
{
    char *got = to_json(v);
    assert_string_equal(got, want);
    free(got);
}

/* Splits s on sep into at most max parts (malloc'd copies). */
static size_t split(char **parts, size_t max, const char *s, const char *sep)
{
    size_t n = 0;
    const char *p = s;
    while (n + 1 < max) {
        const char *q = strstr(p, sep);
        if (!q)
            break;
        parts[n++] = ks_strndup(p, (size_t)(q - p));
        p = q + strlen(sep);
    }
    parts[n++] = ks_strndup(p, strlen(p));
    return n;
}

static void free_parts(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
}

/* The block under "  <key>: |" in the 02-toyaml document, de-indented. */
static char *probe_block(const char *key)
{
    char head[128];
    snprintf(head, sizeof(head), "\n  %s: |\n", key);
    const char *doc = strstr(probe_expected, "name: toyaml\n");
    assert_non_null(doc);
    const char *p = strstr(doc, head);
    assert_non_null(p);
    p += strlen(head);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n >= 4 && strncmp(p, "    ", 4) == 0)
            ks_buf_put(&b, p + 4, n - 4);
        else if (n >= 4 || (n > 0 && strspn(p, " ") < n))
            break;
        ks_buf_putc(&b, '\n');
        p += n + (eol ? 1 : 0);
    }
    /* nindent/indent added the block; toYaml trimmed one newline */
    while (b.len && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    return ks_buf_detach(&b, NULL);
}

static json_t *pick(const char *const *keys)
{
    json_t *o = json_object();
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(probe_values, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    return o;
}

static void specials_quoting(void **state)
{
    (void)state;
    check_yaml(json_object_get(probe_values, "specials"), snippet_output(114));
    char *block = probe_block("specials");
    check_yaml(json_object_get(probe_values, "specials"), block);
    free(block);
}

static void map_natural_key_order(void **state)
{
    (void)state;
    char *block = probe_block("map");
    check_yaml(json_object_get(probe_values, "map"), block);
    free(block);
}

static void numbers_after_json_trip(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "int",  "zero",     "bigint", "bigint2", "hugeint", "float",    "floatwhole",
        "sci",  "tiny",     "small",  "neg",     "octal",   "hex",      "version",
        "date", "datetime", "t",      "f",       "nullval", "emptystr", NULL};
    json_t *o = pick(keys);
    char *block = probe_block("numbers");
    check_yaml(o, block);
    free(block);
    json_decref(o);
}

static void lists_and_strings(void **state)
{
    (void)state;
    json_t *lists = json_pack(
        "{s:O,s:O,s:O,s:O,s:[{s:i,s:[i,i]},[s,[s]]]}", "list",
        json_object_get(probe_values, "list"), "numlist", json_object_get(probe_values, "numlist"),
        "emptylist", json_object_get(probe_values, "emptylist"), "emptymap",
        json_object_get(probe_values, "emptymap"), "nested", "b", 1, "a", 1, 2, "x", "y");
    assert_non_null(lists);
    char *block = probe_block("lists");
    check_yaml(lists, block);
    free(block);
    json_decref(lists);

    static const char *const keys[] = {
        "longstr",        "longnospace",         "multiline", "multilinenotrail",
        "multilinetrail", "multilinetrailspace", NULL};
    json_t *o = pick(keys);
    block = probe_block("strings");
    /* the block's blank line inside |+ carries the indent helm added */
    check_yaml(o, block);
    free(block);
    json_decref(o);

    block = probe_block("toplevel-list");
    check_yaml(json_object_get(probe_values, "list"), block);
    free(block);
}

static void snippet_dicts_and_lists(void **state)
{
    (void)state;
    /* 115: dict "z" 1 "a" (list 1 "two" (dict "k" "v")) "m" (dict) "n" nil ... */
    json_t *v = json_pack("{s:i,s:[i,s,{s:s}],s:{},s:n,s:s,s:s,s:s}", "z", 1, "a", 1, "two", "k",
                          "v", "m", "n", "e", "", "t", "true", "s", "x y");
    check_yaml(v, snippet_output(115));
    json_decref(v);
    v = json_pack("[[i,i],{s:[]}]", 1, 2, "a");
    check_yaml(v, snippet_output(116));
    json_decref(v);
    v = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "key with space", 1, "key:colon", 2, "-dash", 3,
                  "yes", 4, "null", 5, "1.5", 6, "", 7);
    check_yaml(v, snippet_output(121));
    json_decref(v);
}

static void snippet_strings(void **state)
{
    (void)state;
    /* 117: toYaml "a\nb\n" | toYaml "a\n" | quote | "  lead" | "trail " | "k: v" | "#c" | "*" */
    char *parts[12];
    size_t n = split(parts, 12, snippet_output(117), "|");
    /* the literal blocks' own "|" indicators split off parts too */
    assert_int_equal(n, 9);
    json_t *s = json_string("a\nb\n");
    char *got = to_yaml(s);
    char want[64];
    snprintf(want, sizeof(want), "|%s", parts[1]);
    assert_string_equal(got, want);
    free(got);
    json_decref(s);
    /* toYaml "a\n" | quote: "|\n  a" printed by %q */
    s = json_string("a\n");
    got = to_yaml(s);
    assert_string_equal(parts[2], "\"");
    assert_string_equal(got, "|\n  a");
    assert_string_equal(parts[3], "\\n  a\"");
    free(got);
    json_decref(s);
    static const char *const inputs[] = {"  lead", "trail ", "k: v", "#c", "*"};
    for (size_t i = 0; i < 5; i++) {
        s = json_string(inputs[i]);
        check_yaml(s, parts[4 + i]);
        json_decref(s);
    }
    free_parts(parts, n);

    json_t *v = json_pack("{s:s}", "long",
                          "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                          "tempor incididunt ut labore et dolore magna aliqua.");
    check_yaml(v, snippet_output(118));
    json_decref(v);
    v = json_pack("{s:s}", "k", "line one\n  indented line two\nline three");
    check_yaml(v, snippet_output(119));
    json_decref(v);
    v = json_pack("{s:s}", "k", "  leading spaces\nsecond");
    check_yaml(v, snippet_output(120));
    json_decref(v);
}

static void snippet_scalars(void **state)
{
    (void)state;
    /* 122: 1.5 1e6 1e23 0.000001 .Values.tiny true nil */
    char *parts[8];
    size_t n = split(parts, 8, snippet_output(122), " ");
    assert_int_equal(n, 7);
    json_t *vals[7] = {json_real(1.5),
                       json_real(1e6),
                       json_real(1e23),
                       json_real(0.000001),
                       json_incref(json_object_get(probe_values, "tiny")),
                       json_true(),
                       json_null()};
    for (size_t i = 0; i < 7; i++) {
        check_yaml(vals[i], parts[i]);
        json_decref(vals[i]);
    }
    free_parts(parts, n);

    /* x|hello|"123"|""|null|42|{}|[] */
    const char *line = strstr(probe_expected, "toplevel-string: x|") + 19;
    char *one = ks_strndup(line, strcspn(line, "\n"));
    n = split(parts, 8, one, "|");
    free(one);
    assert_int_equal(n, 7);
    json_t *tl[7] = {json_string("hello"),
                     json_string("123"),
                     json_string(""),
                     json_null(),
                     json_incref(json_object_get(probe_values, "int")),
                     json_incref(json_object_get(probe_values, "emptymap")),
                     json_incref(json_object_get(probe_values, "emptylist"))};
    for (size_t i = 0; i < 7; i++) {
        check_yaml(tl[i], parts[i]);
        json_decref(tl[i]);
    }
    free_parts(parts, n);
}

static void snippet_json(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:i,s:[f,s,n,b],s:s}", "b", 1, "a", 1.5, "x", 1, "h", "<&>");
    check_json(v, snippet_output(124));
    json_decref(v);

    /* 125: toJson 1e21, 1e20, 0.0000001, .Values.hugeint, "\u2028", "é😀" */
    char *parts[8];
    size_t n = split(parts, 8, snippet_output(125), " ");
    assert_int_equal(n, 6);
    json_t *vals[6] = {json_real(1e21),
                       json_real(1e20),
                       json_real(0.0000001),
                       json_incref(json_object_get(probe_values, "hugeint")),
                       json_string("\xE2\x80\xA8"),
                       json_string("\xC3\xA9\xF0\x9F\x98\x80")};
    for (size_t i = 0; i < 6; i++) {
        check_json(vals[i], parts[i]);
        json_decref(vals[i]);
    }
    free_parts(parts, n);

    struct ks_buf b;
    ks_buf_init(&b, 0);
    v = json_pack("{s:i,s:[i,i],s:{},s:[]}", "b", 1, "a", 1, 2, "e", "l");
    assert_int_equal(ks_gojson_marshal_opts(&b, v, 1, 1), 0);
    assert_string_equal(b.data, snippet_output(126));
    json_decref(v);
    ks_buf_reset(&b);
    v = json_pack("{s:s}", "h", "<&>");
    assert_int_equal(ks_gojson_marshal_opts(&b, v, 0, 0), 0);
    assert_memory_equal(b.data, snippet_output(127), b.len);
    json_decref(v);
    ks_buf_release(&b);
}

/* toJson-specials / toJson-numbers lines of the probe (printed with quote). */
static void probe_json_lines(void **state)
{
    (void)state;
    static const char *const keys[] = {"int",        "bigint", "hugeint", "float",
                                       "floatwhole", "tiny",   "nullval", NULL};
    struct {
        const char *line;
        json_t *v;
    } cases[] = {
        {"toJson-specials: ", json_incref(json_object_get(probe_values, "specials"))},
        {"toJson-numbers: ", pick(keys)},
    };
    for (size_t i = 0; i < 2; i++) {
        const char *p = strstr(probe_expected, cases[i].line);
        assert_non_null(p);
        p += strlen(cases[i].line);
        const char *eol = strchr(p, '\n');
        json_error_t jerr;
        /* Go's %q of these strings is valid JSON */
        json_t *quoted = json_loadb(p, (size_t)(eol - p), JSON_DECODE_ANY, &jerr);
        assert_non_null(quoted);
        check_json(cases[i].v, json_string_value(quoted));
        json_decref(quoted);
        json_decref(cases[i].v);
    }
}

static json_t *helm_parse(const char *text, int want_object)
{
    json_t *v = NULL;
    int rc = ks_helmyaml_parse(&v, text, strlen(text), "t.yaml", want_object);
    if (rc)
        fail_msg("parse failed: %s", ks_error_last());
    return v;
}

static void parse_typing(void **state)
{
    (void)state;
    /* 128: fromYaml "a: 1\nb:\n  - x\n  - 2.5\nc: yes\nd: null\ne: '007'\nf: 0x10\ng: 1e3\nh:
     * 2021-01-01" | toJson */
    json_t *v = helm_parse("a: 1\nb:\n  - x\n  - 2.5\nc: yes\nd: null\ne: '007'\nf: 0x10\ng: "
                           "1e3\nh: 2021-01-01",
                           1);
    check_json(v, snippet_output(128));
    json_decref(v);
    /* 132: fromYamlArray "[1, a, {b: c}]" | toJson */
    v = helm_parse("[1, a, {b: c}]", 0);
    check_json(v, snippet_output(132));
    json_decref(v);
    /* every number is a float64 */
    v = helm_parse("a: 1\n", 1);
    assert_true(json_is_real(json_object_get(v, "a")));
    json_decref(v);
    /* fromYaml-toYaml: "z: 1\na: 1000000\nm: {q: 1.50}" */
    v = helm_parse("z: 1\na: 1000000\nm: {q: 1.50}", 1);
    char *block = probe_block("fromYaml-toYaml");
    check_yaml(v, block);
    free(block);
    json_decref(v);
}

static void parse_keys_and_words(void **state)
{
    (void)state;
    json_t *v = helm_parse("on: 1\n\"off\": 2\n0x1F: a\n007: b\n1.5: c\nyes: d\nY: e\n", 1);
    check_json(v, "{\"1.5\":\"c\",\"31\":\"a\",\"7\":\"b\",\"off\":2,\"true\":\"e\"}");
    json_decref(v);
    v = helm_parse("a: [0o17, 0b101, -0x10, +5, 1_000, 08, .5, -.5e1, 1e400, ~, Null, NO, n, "
                   "Off, TRUE, tRue, 2001-12-14 21:59:43.10, 12:30]",
                   1);
    check_json(v, "{\"a\":[15,5,-16,5,1000,8,0.5,-5,\"1e400\",null,null,false,false,false,true,"
                  "\"tRue\",\"2001-12-14 21:59:43.10\",\"12:30\"]}");
    json_decref(v);
    /* later duplicates win */
    v = helm_parse("a: 1\nb: 2\na: 3\n", 1);
    check_json(v, "{\"a\":3,\"b\":2}");
    json_decref(v);
    /* only the first document counts, later ones are not even parsed
     * (helm 3.17 gives {"a":1} and {} for these) */
    v = helm_parse("a: 1\n---\nb: [\n", 1);
    check_json(v, "{\"a\":1}");
    json_decref(v);
    v = helm_parse("# c\n---\n---\nb: 2\n", 1);
    check_json(v, "{}");
    json_decref(v);
    v = helm_parse("", 1);
    check_json(v, "{}");
    json_decref(v);
    v = helm_parse("# only a comment\n", 0);
    assert_true(json_is_null(v));
    json_decref(v);
}

static void parse_errors(void **state)
{
    (void)state;
    json_t *v = NULL;
    assert_int_equal(ks_helmyaml_parse(&v, "- a\n", 4, "t.yaml", 1), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "cannot unmarshal array into Go value of type "
                                            "map[string]interface {}"));
    assert_int_equal(ks_helmyaml_parse(&v, "a: .inf\n", 8, "t.yaml", 1), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "json: unsupported value: +Inf"));
    assert_int_equal(ks_helmyaml_parse(&v, "a: [\n", 5, "t.yaml", 1), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "t.yaml:"));
    assert_int_equal(ks_helmyaml_parse(&v, "a: !!int x\n", 11, "t.yaml", 1), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "cannot decode !!str `x` as a !!int"));
    assert_null(v);
}

static void float_formats(void **state)
{
    (void)state;
    struct {
        double f;
        const char *json;
        const char *yaml;
    } cases[] = {
        {0, "0", "0"},
        {-0.0, "-0", "-0"},
        {1234567.5, "1234567.5", "1.2345675e+06"},
        {123456.5, "123456.5", "123456.5"},
        {0.0001, "0.0001", "0.0001"},
        {0.00001, "0.00001", "1e-05"},
        {1e-7, "1e-7", "1e-07"},
        {1e21, "1e+21", "1e+21"},
        {5e-324, "5e-324", "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
        {0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"},
        {100, "100", "100"},
        {3.14, "3.14", "3.14"},
    };
    struct ks_buf b;
    ks_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ks_buf_reset(&b);
        assert_int_equal(ks_gojson_format_float(&b, cases[i].f), 0);
        assert_string_equal(b.data, cases[i].json);
        ks_buf_reset(&b);
        assert_int_equal(ks_goyaml_format_float(&b, cases[i].f), 0);
        assert_string_equal(b.data, cases[i].yaml);
    }
    ks_buf_reset(&b);
    assert_int_equal(ks_gojson_format_float(&b, NAN), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "unsupported value: NaN"));
    ks_buf_reset(&b);
    assert_int_equal(ks_goyaml_format_float32(&b, 3.14159265358979), 0);
    assert_string_equal(b.data, "3.1415927");
    ks_buf_release(&b);
}

static void json_escapes(void **state)
{
    (void)state;
    json_t *v = json_stringn_nocheck("a\x01\b\f\n\r\t\"\\<>&\xff\xE2\x80\xA9z", 17);
    check_json(v, "\"a\\u0001\\b\\f\\n\\r\\t\\\"\\\\\\u003c\\u003e\\u0026\\ufffd\\u2029z\"");
    json_decref(v);
}

static void yaml_long_keys_and_escapes(void **state)
{
    (void)state;
    char key[140];
    memset(key, 'k', 129);
    key[129] = '\0';
    json_t *v = json_pack("{s:s,s:{s:i}}", key, "v", "a\tb", "x", 1);
    char *got = to_yaml(v);
    char want[400];
    /* letters compare as letters: "a\tb" sorts before "kkk..." */
    snprintf(want, sizeof(want), "\"a\\tb\":\n  x: 1\n? %s\n: v", key);
    assert_string_equal(got, want);
    free(got);
    json_decref(v);
    v = json_pack("[s,s,s]", "\xEF\xBB\xBFx", "a\xC2\xA0", "multi\nline ");
    check_yaml(v, "- \"\\uFEFF\\x78\"\n- a\xC2\xA0\n- \"multi\\nline \"");
    json_decref(v);
}

/* The plain-word fast path of toYaml (strings written without the full
 * analysis) against helm 3.17.1's `toYaml .Values` of the same values:
 * the bool/null words in every case spelling go-yaml knows (quoted) and
 * near misses (plain), numbers and timestamps (quoted), words starting
 * with _ and /, keys in natural order (key9 < key10 < key010). */
static void yaml_plain_words_like_helm(void **state)
{
    (void)state;
    json_error_t err;
    json_t *v = json_loads(
        "{\"w\": {\"null\": \"a\", \"Null\": \"b\", \"yes\": \"c\", \"ON\": \"d\", \"y\": \"e\", "
        "\"NO\": \"f\", \"nulls\": \"g\", \"yess\": \"h\", \"offf\": \"i\", \"0x10\": \"j\", "
        "\"1e3\": \"k\", \"12\": \"l\", \"_x\": \"m\", \"/a\": false, \"a.b-c+d\": \"o\", "
        "\"key10\": \"p\", \"key9\": \"q\", \"key010\": \"r\", \"Key1\": \"s\", \"~\": \"t\"}, "
        "\"vals\": [\"null2\", \"null\", \"Null\", \"true\", \"True\", \"tRUE\", \"on\", \"On\", "
        "\"oN\", \"off\", \"y\", \"Y\", \"n\", \"N\", \"no\", \"yes\", \"nO\", \"fals\", "
        "\"falsey\", \"0\", \"007\", \"0o7\", \"0b1\", \"1_000\", \"1.5\", \".5\", \"1e5\", "
        "\"12:30\", \"1:20:3\", \"2001-12-14\", \"_1\", \"/x\", \"x.y\", \"x-\", \"x+\", \"ok\", "
        "\"o\", \"t\", \"f\", 3.0, -4.0, 2.5, 1e21, true, false, null]}",
        0, &err);
    assert_non_null(v);
    check_yaml(v, "vals:\n"
                  "- null2\n"
                  "- \"null\"\n"
                  "- \"Null\"\n"
                  "- \"true\"\n"
                  "- \"True\"\n"
                  "- tRUE\n"
                  "- \"on\"\n"
                  "- \"On\"\n"
                  "- oN\n"
                  "- \"off\"\n"
                  "- \"y\"\n"
                  "- \"Y\"\n"
                  "- \"n\"\n"
                  "- \"N\"\n"
                  "- \"no\"\n"
                  "- \"yes\"\n"
                  "- nO\n"
                  "- fals\n"
                  "- falsey\n"
                  "- \"0\"\n"
                  "- \"007\"\n"
                  "- \"0o7\"\n"
                  "- \"0b1\"\n"
                  "- \"1_000\"\n"
                  "- \"1.5\"\n"
                  "- \".5\"\n"
                  "- \"1e5\"\n"
                  "- \"12:30\"\n"
                  "- \"1:20:3\"\n"
                  "- \"2001-12-14\"\n"
                  "- _1\n"
                  "- /x\n"
                  "- x.y\n"
                  "- x-\n"
                  "- x+\n"
                  "- ok\n"
                  "- o\n"
                  "- t\n"
                  "- f\n"
                  "- 3\n"
                  "- -4\n"
                  "- 2.5\n"
                  "- 1e+21\n"
                  "- true\n"
                  "- false\n"
                  "- null\n"
                  "w:\n"
                  "  /a: false\n"
                  "  _x: m\n"
                  "  \"~\": t\n"
                  "  \"0x10\": j\n"
                  "  \"12\": l\n"
                  "  \"1e3\": k\n"
                  "  Key1: s\n"
                  "  \"NO\": f\n"
                  "  \"Null\": b\n"
                  "  \"ON\": d\n"
                  "  a.b-c+d: o\n"
                  "  key9: q\n"
                  "  key10: p\n"
                  "  key010: r\n"
                  "  \"null\": a\n"
                  "  nulls: g\n"
                  "  offf: i\n"
                  "  \"y\": e\n"
                  "  \"yes\": c\n"
                  "  yess: h");
    json_decref(v);
}

/* Found by differential runs against helm 3.17.1 (`toYaml .Values` and
 * `toJson .Values` on random values files): each line here is helm's. */
static void helm_differential_findings(void **state)
{
    (void)state;
    /* -0.0 goes through JSON "-0", which go-yaml reads as the int 0 */
    json_t *v = json_pack("{s:f}", "k", -0.0);
    check_yaml(v, "k: 0");
    json_decref(v);
    /* go-yaml's is_bom looks at the value's first bytes: everything escaped */
    v = json_pack("{s:s}", "k", "\xEF\xBB\xBF<a \xC3\xA9\t");
    check_yaml(v, "k: \"\\uFEFF\\x3C\\x61\\x20\\xE9\\t\"");
    json_decref(v);
    /* U+FEFF is not a letter, so it sorts before letters */
    v = json_pack("{s:i,s:i}", "word", 1,
                  "\xEF\xBB\xBF"
                  "8",
                  2);
    check_yaml(v, "\"\\uFEFF\\x38\": 2\nword: 1");
    json_decref(v);
    /* é is a letter: after other letters by code point, after digits */
    v = json_pack("{s:i,s:i,s:i}", "\xC3\xA9", 1, "z", 2, "1", 3);
    check_yaml(v, "\"1\": 3\nz: 2\n\xC3\xA9: 1");
    json_decref(v);
    /* json.Marshal leaves U+0085 raw and go-yaml folds it as a line break
     * when it reads the JSON back: x<NEL>y is "x y", two NELs a newline */
    v = json_pack("{s:s,s:s,s:s}", "t", "x\xC2\x85y", "u", "p \xC2\x85\xC2\x85 q", "w", "\xC2\x85");
    check_yaml(v, "t: x y\nu: |-\n  p\n  q\nw: ' '");
    json_decref(v);
    /* ... and a NEL in a key makes that reading fail: toYaml gives "" */
    struct ks_buf b;
    ks_buf_init(&b, 0);
    v = json_pack("{s:{s:i}}", "k", "a\xC2\x85", 1);
    assert_int_equal(ks_goyaml_marshal(&b, v), KS_EINVALID);
    json_decref(v);
    /* ... and so does a NEL followed by a document marker and a blank */
    v = json_pack("[s]", "a\xC2\x85... b");
    assert_int_equal(ks_goyaml_marshal(&b, v), KS_EINVALID);
    json_decref(v);
    v = json_pack("[s]", "a\xC2\x85...b");
    ks_buf_reset(&b);
    assert_int_equal(ks_goyaml_marshal(&b, v), 0);
    json_decref(v);
    ks_buf_release(&b);
    /* keys beyond int64 are uint64 keys, which sigs.k8s.io/yaml refuses */
    json_t *out = NULL;
    const char *y = "18446744073709551615: a\n";
    assert_int_equal(ks_helmyaml_parse(&out, y, strlen(y), "t.yaml", 1), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "unsupported map key of type: uint64"));
    y = "9223372036854775807: a\n1e3: b\n";
    assert_int_equal(ks_helmyaml_parse(&out, y, strlen(y), "t.yaml", 1), 0);
    check_json(out, "{\"1000\":\"b\",\"9223372036854775807\":\"a\"}");
    json_decref(out);
}

#define DIFF_DIR KS_SOURCE_DIR "/tests/data/renderer/values/goenc-diff"

/* Random values files read the Helm way, then toYaml and toJson, against
 * helm 3.17's output for the same files. */
static void recorded_random_values(void **state)
{
    (void)state;
    for (int n = 1; n <= 4; n++) {
        char path[512];
        char *text = NULL, *want_y = NULL, *want_j = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), DIFF_DIR "/values-%d.json", n);
        assert_int_equal(ks_file_read(&text, &len, path, 1 << 22), 0);
        snprintf(path, sizeof(path), DIFF_DIR "/toYaml-%d.txt", n);
        assert_int_equal(ks_file_read(&want_y, NULL, path, 1 << 22), 0);
        snprintf(path, sizeof(path), DIFF_DIR "/toJson-%d.txt", n);
        assert_int_equal(ks_file_read(&want_j, NULL, path, 1 << 22), 0);
        json_t *v = NULL;
        assert_int_equal(ks_helmyaml_parse(&v, text, len, path, 1), 0);
        check_yaml(v, want_y);
        check_json(v, want_j);
        json_decref(v);
        free(text);
        free(want_y);
        free(want_j);
    }
}

/* fromYaml's Error texts (no file name): helm 3.17's wording and line
 * numbers, from fromyaml-errors.json and snippet 130. */
static void fromyaml_error_texts(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *cases =
        json_load_file(KS_SOURCE_DIR "/tests/data/renderer/values/fromyaml-errors.json", 0, &jerr);
    assert_non_null(cases);
    assert_true(json_array_size(cases) >= 10);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *y = json_string_value(json_object_get(c, "yaml"));
        json_t *v = NULL;
        assert_int_not_equal(ks_helmyaml_parse(&v, y, strlen(y), NULL, 1), 0);
        assert_string_equal(ks_error_last(), json_string_value(json_object_get(c, "helm_error")));
    }
    json_decref(cases);
    /* snippet 130: {{ fromYaml "a: [" }} prints map[Error:...] */
    json_t *v = NULL;
    assert_int_not_equal(ks_helmyaml_parse(&v, "a: [", 4, NULL, 1), 0);
    char want[512];
    snprintf(want, sizeof(want), "map[Error:%s]", ks_error_last());
    assert_string_equal(want, snippet_output(130));
    /* resolver errors read the same way */
    assert_int_not_equal(ks_helmyaml_parse(&v, "a: .inf", 7, NULL, 1), 0);
    assert_string_equal(ks_error_last(),
                        "error converting YAML to JSON: json: unsupported value: +Inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(specials_quoting),
        cmocka_unit_test(map_natural_key_order),
        cmocka_unit_test(numbers_after_json_trip),
        cmocka_unit_test(lists_and_strings),
        cmocka_unit_test(snippet_dicts_and_lists),
        cmocka_unit_test(snippet_strings),
        cmocka_unit_test(snippet_scalars),
        cmocka_unit_test(snippet_json),
        cmocka_unit_test(probe_json_lines),
        cmocka_unit_test(parse_typing),
        cmocka_unit_test(parse_keys_and_words),
        cmocka_unit_test(parse_errors),
        cmocka_unit_test(float_formats),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(yaml_long_keys_and_escapes),
        cmocka_unit_test(yaml_plain_words_like_helm),
        cmocka_unit_test(helm_differential_findings),
        cmocka_unit_test(recorded_random_values),
        cmocka_unit_test(fromyaml_error_texts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
