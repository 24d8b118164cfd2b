/*
 * test_template.c: table-driven tests of the Go text/template engine
 * (renderer/template.h) with only Go's builtin functions: template text +
 * data JSON -> exact output, or an expected error substring. Expected
 * texts are what Go's text/template produces (lexing, trimming, scoping,
 * missingkey=zero, printing, builtin errors and their positions).
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
#include "renderer/template.h"

struct tcase {
    const char *tpl;
    const char *data; /* JSON or NULL */
    const char *want; /* exact output, or NULL when an error is expected */
    const char *err;  /* substring of the error */
};

static const struct tcase cases[] = {
    /* text, trimming, comments */
    {"hello", NULL, "hello", NULL},
    {"a {{- \"b\" -}} c", NULL, "abc", NULL},
    {"a  {{- /* c */}}  b", NULL, "a  b", NULL},
    {"{{/* comment */}} x", NULL, " x", NULL},
    {"x\n  {{- 3 }}\n", NULL, "x3\n", NULL},
    {"{{- 3 -}}|{{ -3 }}|{{-3}}", NULL, "3|-3|-3", NULL},
    {"{{ \"x\" }}{{/* c */}}{{ \"y\" }}", NULL, "xy", NULL},
    {"a\n{{- /* multi\nline */ -}}\nb", NULL, "ab", NULL},
    /* literals */
    {"{{ 1000000 }} {{ 1e6 }} {{ 1.5 }} {{ 0x1F }} {{ 1_000 }} {{ -0 }} {{ 'x' }}", NULL,
     "1000000 1e+06 1.5 31 1000 0 120", NULL},
    {"{{ 3.0 }} {{ 2.50 }} {{ 1e21 }} {{ 1e20 }} {{ 0.000001 }} {{ 123456.0 }} {{ 1234567.0 }}",
     NULL, "3 2.5 1e+21 1e+20 1e-06 123456 1.234567e+06", NULL},
    {"{{ 0o17 }} {{ 0b101 }} {{ 017 }} {{ 0x1p-2 }} {{ .5 }}", NULL, "15 5 15 0.25 0.5", NULL},
    {"{{ \"a\\tb\\u00e9\\x41\\101\" }}|{{ `raw\\n` }}|{{ '\\n' }}", NULL,
     "a\tb\xc3\xa9"
     "AA|raw\\n|10",
     NULL},
    {"{{ true }} {{ false }}", NULL, "true false", NULL},
    /* fields, missing keys, nil */
    {"{{ .a.b }}", "{\"a\":{\"b\":\"x\"}}", "x", NULL},
    {"{{ .missing }}", "{}", "<no value>", NULL},
    {"{{ .n }}", "{\"n\":null}", "<no value>", NULL},
    {"{{ .a.missing }}", "{\"a\":{}}", "<no value>", NULL},
    {"{{ .missing.x }}", "{}", NULL,
     "template: t:1:11: executing \"t\" at <.missing.x>: nil "
     "pointer evaluating interface {}.x"},
    {"{{ $x := .missing }}{{ $x.y }}", "{}", "<no value>", NULL},
    {"{{ (.missing).y }}", "{}", "<no value>", NULL},
    {"{{ .s.x }}", "{\"s\":\"str\"}", NULL, "can't evaluate field x in type interface {}"},
    {"{{ with .s }}{{ .x }}{{ end }}", "{\"s\":\"str\"}", NULL,
     "can't evaluate field x in type string"},
    {"{{ .a 1 }}", "{\"a\":1}", NULL, "a is not a method but has arguments"},
    {"{{ . }}", "[1,\"a\",null,[2],{\"k\":true}]", "[1 a <nil> [2] map[k:true]]", NULL},
    {"{{ . }}", "{\"b\":2.5,\"a\":1e6,\"B\":\"x\"}", "map[B:x a:1e+06 b:2.5]", NULL},
    /* if / else if / with / range */
    {"{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}", "{\"b\":1}", "B", NULL},
    {"{{ if 0 }}x{{ else }}y{{ end }}{{ if \"\" }}x{{ end }}{{ if list }}x{{ end }}", NULL, NULL,
     "function \"list\" not defined"},
    {"{{ if 0.0 }}x{{ else }}y{{ end }}|{{ if .e }}x{{ else }}y{{ end }}|{{ if .m }}x{{ end }}",
     "{\"e\":[],\"m\":{}}", "y|y|", NULL},
    {"{{ with .a }}{{ . }}{{ else }}none{{ end }}", "{\"a\":0}", "none", NULL},
    {"{{ with .a }}{{ . }}{{ else with .b }}b{{ . }}{{ end }}", "{\"b\":2}", "b2", NULL},
    {"{{ range .l }}[{{ . }}]{{ end }}", "{\"l\":[1,\"a\"]}", "[1][a]", NULL},
    {"{{ range $i, $v := .l }}{{ $i }}={{ $v }},{{ end }}", "{\"l\":[\"a\",\"b\"]}", "0=a,1=b,",
     NULL},
    {"{{ range $k, $v := . }}{{ $k }}={{ $v }},{{ end }}", "{\"b\":2,\"a\":1,\"B\":3,\"_\":0}",
     "B=3,_=0,a=1,b=2,", NULL},
    {"{{ range $v := .l }}{{ $v }}{{ end }}", "{\"l\":[3,4]}", "34", NULL},
    {"{{ range .l }}x{{ else }}empty{{ end }}", "{\"l\":[]}", "empty", NULL},
    {"{{ range .missing }}x{{ else }}none{{ end }}", "{}", "none", NULL},
    {"{{ range .l }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", "{\"l\":[1,2,3,4]}", "12",
     NULL},
    {"{{ range .l }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", "{\"l\":[1,2,3]}",
     "13", NULL},
    {"{{ range 3 }}{{ . }}{{ end }}", NULL, NULL,
     "template: t:1:9: executing \"t\" at <3>: range can't iterate over 3"},
    {"{{ range $i, $c := \"ab\" }}{{ $c }}{{ end }}", NULL, NULL, "range can't iterate over ab"},
    {"{{ range nil }}x{{ end }}", NULL, NULL, "at <nil>: nil is not a command"},
    {"{{ range .l }}{{ .x }}{{ end }}", "{\"l\":[null]}", NULL,
     "nil pointer evaluating interface {}.x"},
    /* variables and scoping */
    {"{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", NULL, "2", NULL},
    {"{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}", NULL, NULL, "undefined variable \"$y\""},
    {"{{ $ }}", "{\"a\":1}", "map[a:1]", NULL},
    {"{{ with .a }}{{ $.b }}{{ end }}", "{\"a\":1,\"b\":\"B\"}", "B", NULL},
    {"{{ $x := .a }}{{ $x.b }}", "{\"a\":{\"b\":5}}", "5", NULL},
    /* define / template / block */
    {"{{ define \"x\" }}X{{ . }}{{ end }}{{ template \"x\" 1 }}{{ template \"x\" }}", NULL,
     "X1X<no value>", NULL},
    {"{{ block \"b\" . }}B{{ . }}{{ end }}", "\"d\"", "Bd", NULL},
    {"{{ template \"nope\" }}", NULL, NULL,
     "template: t:1:12: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not "
     "defined"},
    {"{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}", NULL, NULL,
     "template nesting exceeds the limit"},
    /* pipelines and parens */
    {"{{ \"a\" | printf \"%s:%s\" \"b\" }}", NULL, "b:a", NULL},
    {"{{ (printf \"%d\" 5) }}{{ (len \"abc\") | print }}", NULL, "53", NULL},
    {"{{ \"a\" | \"b\" }}", NULL, NULL, "non executable command in pipeline stage 2"},
    {"{{ .a | .b }}", "{\"a\":1,\"b\":2}", NULL, "b is not a method but has arguments"},
    /* builtins */
    {"{{ and 1 \"a\" }}|{{ and 0 \"a\" }}|{{ and \"\" 1 }}|{{ or 0 \"\" }}|{{ or nil \"x\" }}|{{ "
     "or \"a\" \"b\" }}|{{ not 0 }}|{{ not \"x\" }}|{{ not nil }}",
     NULL, "a|0|||x|a|true|false|true", NULL},
    {"{{ if and .missing .missing.x }}x{{ else }}ok{{ end }}", "{}", "ok", NULL},
    {"{{ eq 1 1 }} {{ eq \"a\" \"a\" }} {{ eq 1.5 1.5 }} {{ eq true true }} {{ ne 1 2 }} {{ eq 1 "
     "2 3 1 }} {{ eq .missing nil }} {{ eq nil nil }}",
     "{}", "true true true true true true true true", NULL},
    {"{{ eq .f 42 }}", "{\"f\":42.0}", NULL,
     "template: t:1:3: executing \"t\" at <eq .f 42>: error calling eq: incompatible types for "
     "comparison"},
    {"{{ lt 1 2 }} {{ le 2 2 }} {{ gt 3 2 }} {{ ge 2 3 }} {{ lt \"a\" \"b\" }} {{ lt 1.5 2.5 }}",
     NULL, "true true true false true true", NULL},
    {"{{ lt nil 1 }}", NULL, NULL, "error calling lt: invalid type for comparison"},
    {"{{ eq 1 }}", NULL, NULL, "missing argument for comparison"},
    {"{{ len \"abc\" }} {{ len .l }} {{ len .m }} {{ len \"\\u00e9\" }}",
     "{\"l\":[1,2],\"m\":{\"a\":1}}", "3 2 1 2", NULL},
    {"{{ len .missing }}", "{}", NULL, "error calling len: len of nil pointer"},
    {"{{ len 5 }}", NULL, NULL, "error calling len: len of type int"},
    {"{{ index .l 1 }} {{ index .m \"k\" }} {{ index .m \"nope\" }} {{ index . \"m\" \"k\" }}",
     "{\"l\":[\"a\",\"b\"],\"m\":{\"k\":\"v\"}}", "b v <no value> v", NULL},
    {"{{ index .l 5 }}", "{\"l\":[1]}", NULL, "error calling index: index out of range: 5"},
    {"{{ index .l 1 }}", "{\"l\":[1]}", NULL, "reflect: slice index out of range"},
    {"{{ index .l -1 }}", "{\"l\":[1]}", NULL, "index out of range: -1"},
    {"{{ index .missing 1 }}", "{}", NULL, "index of untyped nil"},
    {"{{ index \"abc\" 1 }}", NULL, "98", NULL},
    {"{{ slice .l 1 3 }} {{ slice .l 1 }} {{ slice \"hello\" 1 3 }}", "{\"l\":[1,2,3,4]}",
     "[2 3] [2 3 4] el", NULL},
    {"{{ slice .l 3 1 }}", "{\"l\":[1,2,3,4]}", NULL, "invalid slice index: 3 > 1"},
    {"{{ print \"a\" 1 2 \"b\" 3.5 true nil }}", NULL, "a1 2b3.5 true <nil>", NULL},
    {"{{ println \"a\" 1 }}", NULL, "a 1\n", NULL},
    {"{{ printf \"%v|%s|%d|%q|%t|%x|%5.2f|%-4s|%T\" 1 \"s\" 7 \"q\" true 255 3.14159 \"ab\" 1.5 }}",
     NULL, "1|s|7|\"q\"|true|ff| 3.14|ab  |float64", NULL},
    {"{{ printf \"%d\" .f }}|{{ printf \"%s\" 1 }}|{{ printf \"%s-%s\" \"a\" }}|{{ printf \"%s\" "
     "\"a\" \"x\" }}",
     "{\"f\":42.0}", "%!d(float64=42)|%!s(int=1)|a-%!s(MISSING)|a%!(EXTRA string=x)", NULL},
    {"{{ urlquery \"a b/c?d=e&f\" }} {{ html \"<a href='x'>&</a>\" }} {{ js \"a'b\\\"c<d>\" }}",
     NULL,
     "a+b%2Fc%3Fd%3De%26f &lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt; a\\'b\\\"c\\u003Cd\\u003E",
     NULL},
    {"{{ html .missing }}", "{}", "&lt;no value&gt;", NULL},
    {"{{ call .f }}", "{\"f\":\"x\"}", NULL, "error calling call: non-function .f of type string"},
    {"{{ not }}", NULL, NULL, "wrong number of args for not: want 1 got 0"},
    {"{{ and }}", NULL, NULL, "wrong number of args for and: want at least 1 got 0"},
    /* more syntax */
    {"{{.}}{{\"a\"}}{{$.x}}", "{\"x\":1}", "map[x:1]a1", NULL},
    {"{{ $.a.b }}|{{ with $x := .a }}{{ $x.b }}{{ end }}", "{\"a\":{\"b\":2}}", "2|2", NULL},
    {"{{ define \"d\" }}{{ $.v }}{{ end }}{{ template \"d\" (index .l 0) }}",
     "{\"l\":[{\"v\":\"in\"}]}", "in", NULL},
    {"{{ range .l }}{{ range . }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }};{{ end }}",
     "{\"l\":[[1,2,3],[4]]}", "1;4;", NULL},
    {"{{ `a\nb` }}\n{{ .x.y }}", "{\"x\":null}", NULL,
     "template: t:3:5: executing \"t\" at <.x.y>: nil pointer evaluating interface {}.y"},
    {"{{ /* c */ }}", NULL, NULL, "unexpected \"/\" in command"},
    {"{{ .a-b }}", "{}", NULL, "bad character U+002D '-'"},
    {"{{ print (1) (\"x\") }}", NULL, "1x", NULL},
    {"{{ (index .m \"k\").z }}", "{\"m\":{\"k\":{\"z\":\"Z\"}}}", "Z", NULL},
    {"{{ (index .m \"nope\").z }}", "{\"m\":{}}", "<no value>", NULL},
    {"{{ $x := 1 }}{{ $x := 2 }}{{ $x }}", NULL, "2", NULL},
    {"{{ range $i, $e := .l }}{{ end }}{{ $i }}", "{\"l\":[1]}", NULL, "undefined variable \"$i\""},
    {"{{ range $i, $e := .l }}{{ $i = 5 }}{{ $i }}{{ end }}", "{\"l\":[7,8]}", "55", NULL},
    {"{{ template \"x\" . }}{{ define \"x\" }}[{{ . }}]{{ end }}", "3", "[3]", NULL},
    {"{{ if .t }}a{{ else with .w }}{{ . }}{{ else }}c{{ end }}", "{\"w\":\"W\"}", NULL,
     "template: t:1: unexpected <with> in input"},
    {"{{ 1 | print 2 }}", NULL, "2 1", NULL},
    {"{{ nil }}", NULL, NULL, "nil is not a command"},
    {"{{ .m.k \"x\" }}", "{\"m\":{\"k\":1}}", NULL, "k is not a method but has arguments"},
    {"{{ $x := 3 }}{{ $x 1 }}", NULL, NULL, "can't give argument to non-function $x"},
    {"{{ 3 4 }}", NULL, NULL, "can't give argument to non-function 3"},
    /* parse errors */
    {"{{ foo }}", NULL, NULL, "template: t:1: function \"foo\" not defined"},
    {"{{ if 1 }}", NULL, NULL, "template: t:1: unexpected EOF"},
    {"x\n{{ end }}", NULL, NULL, "template: t:2: unexpected {{end}}"},
    {"{{", NULL, NULL, "template: t:1: unclosed action"},
    {"{{ \"abc }}", NULL, NULL, "unterminated quoted string"},
    {"a\n{{ 1\n\n", NULL, NULL, "template: t:4: unclosed action started at t:2"},
    {"{{ 1\n \"x }}", NULL, NULL,
     "template: t:2: unterminated quoted string in action started at t:1"},
    {"{{ 1a }}", NULL, NULL, "bad number syntax: \"1a\""},
    {"{{ ( 1 }}", NULL, NULL, "unclosed left paren"},
    {"{{ 1 ) }}", NULL, NULL, "unexpected right paren"},
    {"{{ break }}", NULL, NULL, "{{break}} outside {{range}}"},
    {"{{ if }}{{ end }}", NULL, NULL, "missing value for if"},
    {"{{/* x */ 1 }}", NULL, NULL, "comment ends before closing delimiter"},
    {"{{/* x ", NULL, NULL, "unclosed comment"},
    {"{{ $x }}", NULL, NULL, "undefined variable \"$x\""},
    {"{{ 1.x }}", NULL, NULL, "bad number syntax"},
    {"{{ \"s\".x }}", NULL, NULL, "unexpected . after term \"\\\"s\\\"\""},
    {"{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}", NULL, NULL,
     "multiple definition of template \"a\""},
    {"{{ else }}", NULL, NULL, "unexpected {{else}}"},
    {"{{ range $a, $b, $c := . }}{{ end }}", NULL, NULL, "too many declarations in range"},
    {"{{ 99999999999999999999 }}", NULL, NULL, "integer overflow"},
    {NULL, NULL, NULL, NULL},
};

static int run_one(const struct tcase *c, char **out, char **err)
{
    struct ks_tpl_set *set = NULL;
    json_t *data = NULL;
    struct ks_buf b;
    ks_buf_init(&b, 0);
    *out = *err = NULL;
    struct ks_tpl_limits lim;
    ks_tpl_limits_default(&lim);
    lim.max_depth = 200;
    int rc = ks_tpl_set_new(&set, &lim, 0, NULL, 0);
    assert_int_equal(rc, 0);
    if (c->data) {
        json_error_t je;
        data = json_loads(c->data, JSON_DECODE_ANY, &je);
        assert_non_null(data);
    }
    rc = ks_tpl_set_add(set, "t", c->tpl, strlen(c->tpl));
    if (!rc)
        rc = ks_tpl_execute(&b, set, "t", data);
    if (rc)
        *err = strdup(ks_error_last());
    else
        *out = strdup(ks_buf_data(&b));
    ks_buf_release(&b);
    json_decref(data);
    ks_tpl_set_free(set);
    return rc;
}

static void table(void **state)
{
    int failures = 0;
    for (const struct tcase *c = cases; c->tpl; c++) {
        char *out, *err;
        run_one(c, &out, &err);
        if (c->want && (!out || strcmp(out, c->want) != 0)) {
            fprintf(stderr, "FAIL %s\n  want %s\n  got  %s\n", c->tpl, c->want, out ? out : err);
            failures++;
        }
        if (!c->want && (!err || !strstr(err, c->err))) {
            fprintf(stderr, "FAIL %s\n  want error %s\n  got  %s\n", c->tpl, c->err,
                    err ? err : out);
            failures++;
        }
        free(out);
        free(err);
    }
    assert_int_equal(failures, 0);
}

/* A host object: methods, String(), fields seen by printing. */
static int host_get(json_t **out, struct ks_tpl_call *call, void *self, json_t *const *args,
                    size_t nargs)
{
    if (!json_is_string(args[0]))
        return ks_tpl_call_error(call, 0, "want a string");
    *out = json_sprintf("%s:%s", (const char *)self, json_string_value(args[0]));
    return 0;
}

static int host_str(struct ks_buf *out, void *self)
{
    return ks_buf_printf(out, "v%s", (const char *)self);
}

static const struct ks_tpl_method host_methods[] = {
    {"Get", host_get, 1, 1},
    {NULL, NULL, 0, 0},
};

static const struct ks_tpl_host_type host_type = {"*test.Host", host_methods, host_str, NULL, 0};
static const struct ks_tpl_host_type struct_type = {"*test.Struct", NULL, NULL, NULL, 0};

static void host_objects(void **state)
{
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, 0, NULL, 0), 0);
    json_t *fields = json_pack("{s:s}", "Major", "1");
    json_t *h = NULL;
    assert_int_equal(ks_tpl_host_new(&h, set, &host_type, "self", fields), 0);
    json_t *dot = json_pack("{s:o}", "H", h);
    const char *tpl = "{{ .H.Get \"x\" }}|{{ .H.Major }}|{{ .H }}|{{ print .H }}|{{ printf \"%T\" "
                      ".H }}|{{ .H.Get }}";
    assert_int_equal(ks_tpl_set_add(set, "t", tpl, strlen(tpl)), 0);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_not_equal(ks_tpl_execute(&b, set, "t", dot), 0);
    assert_non_null(strstr(ks_error_last(), "wrong number of args for Get: want 1 got 0"));
    const char *tpl2 = "{{ .H.Get \"x\" }}|{{ .H.Major }}|{{ .H }}|{{ print .H }}|{{ printf "
                       "\"%T\" .H }}|{{ .H.Get 1 }}";
    assert_int_equal(ks_tpl_set_add(set, "t2", tpl2, strlen(tpl2)), 0);
    ks_buf_reset(&b);
    assert_int_not_equal(ks_tpl_execute(&b, set, "t2", dot), 0);
    assert_non_null(strstr(ks_error_last(), "error calling Get: want a string"));
    assert_string_equal(ks_buf_data(&b), "self:x|1|vself|vself|*test.Host|");
    /* a plain copy is not a host object */
    json_t *copy = json_deep_copy(json_object_get(dot, "H"));
    json_t *dot2 = json_pack("{s:o}", "H", copy);
    const char *tpl3 = "{{ .H }}";
    assert_int_equal(ks_tpl_set_add(set, "t3", tpl3, strlen(tpl3)), 0);
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "t3", dot2), 0);
    assert_string_equal(ks_buf_data(&b), "map[Major:1]");
    /* struct semantics: a missing field is an error */
    json_t *sfields = json_pack("{s:s}", "Name", "c");
    json_t *sobj = NULL;
    assert_int_equal(
        ks_tpl_host_new_flags(&sobj, set, &struct_type, NULL, sfields, KS_TPL_HOST_STRUCT), 0);
    json_t *dot3 = json_pack("{s:o}", "Chart", sobj);
    const char *tpl4 = "{{ .Chart.Name }}{{ .Chart.Foo }}";
    assert_int_equal(ks_tpl_set_add(set, "t4", tpl4, strlen(tpl4)), 0);
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "t4", dot3), KS_EINVALID);
    assert_string_equal(ks_buf_data(&b), "c");
    assert_string_equal(ks_error_last(), "template: t4:1:26: executing \"t4\" at <.Chart.Foo>: "
                                         "can't evaluate field Foo in type interface {}");
    ks_buf_release(&b);
    json_decref(dot);
    json_decref(dot2);
    json_decref(dot3);
    ks_tpl_set_free(set);
}

/* include/tpl through a test function table */
static int f_include(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    char *s = NULL;
    int rc = ks_tpl_call_include(&s, call, json_string_value(args[0]), args[1]);
    if (rc)
        return rc;
    *out = json_string(s);
    free(s);
    return 0;
}

static int f_tpl(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    char *s = NULL;
    int rc = ks_tpl_call_tpl(&s, call, json_string_value(args[0]), args[1]);
    if (rc)
        return rc;
    *out = json_string(s);
    free(s);
    return 0;
}

static int f_fail(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    return ks_tpl_call_fail(call, json_string_value(args[0]));
}

/* Sprig's unset: mutates the dict it is given, returns it */
static int f_del(json_t **out, struct ks_tpl_call *call, json_t *const *args, size_t nargs)
{
    json_object_del(args[0], json_string_value(args[1]));
    *out = json_incref(args[0]);
    return 0;
}

static const struct ks_tpl_func_def test_funcs[] = {
    {"del", f_del, 2, 2},   {"include", f_include, 2, 2}, {"tpl", f_tpl, 2, 2},
    {"fail", f_fail, 1, 1}, {NULL, NULL, 0, 0},
};

static char *helm_run(const char *tpl, const char *data_json, int *rc_out)
{
    const struct ks_tpl_func_def *tables[] = {test_funcs};
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, KS_TPL_HELM, tables, 1), 0);
    json_t *data = data_json ? json_loads(data_json, JSON_DECODE_ANY, NULL) : NULL;
    struct ks_buf b;
    ks_buf_init(&b, 0);
    int rc = ks_tpl_set_add(set, "c/templates/t.yaml", tpl, strlen(tpl));
    if (!rc)
        rc = ks_tpl_execute(&b, set, "c/templates/t.yaml", data);
    char *res = strdup(rc ? ks_error_last() : ks_buf_data(&b));
    *rc_out = rc;
    ks_buf_release(&b);
    json_decref(data);
    ks_tpl_set_free(set);
    return res;
}

static void helm_services(void **state)
{
    static const struct {
        const char *tpl, *data, *want;
        int fails;
    } hc[] = {
        {"{{ define \"l\" }}L{{ . }}L{{ end }}{{ template \"l\" \"x\" }}{{ include \"l\" \"y\" }}",
         NULL, "LxLLyL", 0},
        {"{{ range $k, $v := .m }}{{ $_ := del $.m \"b\" }}{{ $k }}{{ $v }}{{ end }}|{{ .m }}",
         "{\"m\":{\"a\":1,\"b\":2}}", "a1b2|map[a:1]", 0},
        {"{{ tpl \"{{ .a }}-{{ .b }}\" . }}", "{\"a\":1,\"b\":\"two\"}", "1-two", 0},
        {"{{ tpl \"{{ define \\\"i\\\" }}I{{ end }}{{ include \\\"i\\\" . }}\" . }}", "{}", "I", 0},
        {"a{{ .missing }}b{{ tpl \"{{ .x }}\" . }}", "{}", "ab", 0},
        {"{{ tpl \"{{\" . }}", "{}",
         "template: c/templates/t.yaml:1:3: executing \"c/templates/t.yaml\" at <tpl \"{{\" .>: "
         "error calling tpl: cannot parse template \"{{\": template: gotpl:1: unclosed action",
         1},
        {"{{ include \"nonexistent\" . }}", "{}",
         "template: c/templates/t.yaml:1:3: executing \"c/templates/t.yaml\" at <include "
         "\"nonexistent\" .>: error calling include: template: no template \"nonexistent\" "
         "associated with template \"gotpl\"",
         1},
        {"{{ fail \"stop here\" }}", "{}", "execution error at (c/templates/t.yaml:1:3): stop here",
         1},
        {"x\n{{ define \"d\" }}{{ fail \"deep\" }}{{ end }}{{ include \"d\" . }}", "{}",
         "execution error at (c/templates/t.yaml:2:45): deep", 1},
        {"{{ foo }}", "{}", "parse error at (c/templates/t.yaml:1): function \"foo\" not defined",
         1},
        {"{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}", "{}",
         "rendering template has a nested reference name: r: unable to execute template", 1},
        {"{{ tpl \"{{ .x.y }}\" . }}", "{\"x\":null}",
         "error calling tpl: error during tpl function execution for \"{{ .x.y }}\": template: "
         "gotpl:1:5: executing \"gotpl\" at <.x.y>: nil pointer evaluating interface {}.y",
         1},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
        int rc;
        char *got = helm_run(hc[i].tpl, hc[i].data, &rc);
        bool ok = hc[i].fails ? (rc != 0 && strstr(got, hc[i].want) != NULL)
                              : (rc == 0 && strcmp(got, hc[i].want) == 0);
        if (!ok) {
            fprintf(stderr, "FAIL %s\n  want %s\n  got  %s\n", hc[i].tpl, hc[i].want, got);
            failures++;
        }
        free(got);
    }
    assert_int_equal(failures, 0);
}

static void int64_marks(void **state)
{
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, 0, NULL, 0), 0);
    json_t *d = json_loads("{\"a\":5,\"b\":6}", 0, NULL);
    assert_int_equal(ks_tpl_mark_int64(set, json_object_get(d, "a")), 0);
    assert_int_equal(ks_tpl_mark_int64(set, json_object_get(d, "a")), 0);
    assert_int_equal(ks_tpl_mark_int64(set, d), KS_EINVALID);
    const char *t = "{{ printf \"%T %T %d %s\" .a .b .a .a }}|{{ eq .a 5 }}|{{ .a }}|{{ .a.x }}";
    assert_int_equal(ks_tpl_set_add(set, "t", t, strlen(t)), 0);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_tpl_execute(&b, set, "t", d), KS_EINVALID);
    assert_string_equal(ks_buf_data(&b), "int64 int 5 %!s(int64=5)|true|5|");
    assert_non_null(strstr(ks_error_last(), "can't evaluate field x in type interface {}"));
    ks_buf_release(&b);
    json_decref(d);
    ks_tpl_set_free(set);
}

static void strict_mode(void **state)
{
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, KS_TPL_STRICT, NULL, 0), 0);
    json_t *d = json_loads("{\"a\":{\"b\":1},\"n\":null}", 0, NULL);
    const char *t1 = "{{ .a.b }}{{ .a.c }}";
    const char *t2 = "{{ $x := .n }}{{ $x.y }}";
    const char *t3 = "{{ .n }}";
    assert_int_equal(ks_tpl_set_add(set, "t1", t1, strlen(t1)), 0);
    assert_int_equal(ks_tpl_set_add(set, "t2", t2, strlen(t2)), 0);
    assert_int_equal(ks_tpl_set_add(set, "t3", t3, strlen(t3)), 0);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_tpl_execute(&b, set, "t1", d), KS_EINVALID);
    assert_string_equal(ks_error_last(), "template: t1:1:15: executing \"t1\" at <.a.c>: map has "
                                         "no entry for key \"c\"");
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "t2", d), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "nil data; no entry for key \"y\""));
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "t3", d), 0);
    assert_string_equal(ks_buf_data(&b), "<no value>");
    ks_buf_release(&b);
    json_decref(d);
    ks_tpl_set_free(set);
}

static void limits(void **state)
{
    struct ks_tpl_limits lim;
    ks_tpl_limits_default(&lim);
    lim.max_output = 100;
    lim.max_steps = 1000;
    lim.max_source = 64;
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, &lim, 0, NULL, 0), 0);
    const char *big = "{{ range .l }}0123456789{{ end }}";
    assert_int_equal(ks_tpl_set_add(set, "big", big, strlen(big)), 0);
    json_t *d = json_loads("{\"l\":[1,2,3,4,5,6,7,8,9,10,11,12]}", 0, NULL);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_tpl_execute(&b, set, "big", d), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 100 bytes"));
    const char *loop = "{{ define \"a\" }}{{ range $.l }}{{ template \"a\" $ }}{{ end }}{{ end "
                       "}}";
    assert_int_equal(ks_tpl_set_add(set, "loop", loop, strlen(loop)), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 64 bytes"));
    const char *loop2 = "{{define \"a\"}}{{range $.l}}{{template \"a\" $}}{{end}}{{end}}";
    assert_int_equal(ks_tpl_set_add(set, "loop2", loop2, strlen(loop2)), 0);
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "a", d), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 1000 steps"));
    ks_buf_reset(&b);
    assert_int_equal(ks_tpl_execute(&b, set, "nope", d), KS_ENOTFOUND);
    ks_buf_release(&b);
    json_decref(d);
    ks_tpl_set_free(set);
}

/* Deep recursion with the default limits must end in a limit error, not
 * a stack overflow (also run under ASan, whose frames are larger). */
static void deep_recursion(void **state)
{
    const struct ks_tpl_func_def *tables[] = {test_funcs};
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, 0, tables, 1), 0);
    const char *t1 = "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}";
    const char *t2 = "{{ define \"m\" }}{{ tpl \"{{ include \\\"m\\\" . }}\" . }}{{ end }}"
                     "{{ include \"m\" . }}";
    assert_int_equal(ks_tpl_set_add(set, "t1", t1, strlen(t1)), 0);
    assert_int_equal(ks_tpl_set_add(set, "t2", t2, strlen(t2)), 0);
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_tpl_execute(&b, set, "t1", NULL), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "template nesting exceeds the limit of 1500"));
    ks_buf_reset(&b);
    assert_int_not_equal(ks_tpl_execute(&b, set, "t2", NULL), 0);
    assert_non_null(strstr(ks_error_last(), "template nesting exceeds the limit of 1500"));
    ks_buf_release(&b);
    ks_tpl_set_free(set);
}

static void helm_order_and_redefinition(void **state)
{
    const char *names[] = {"c/templates/a.yaml", "c/charts/s/templates/_h.tpl",
                           "c/templates/_h.tpl", "c/charts/s/templates/b.yaml",
                           "c/templates/z.yaml"};
    ks_tpl_sort_helm(names, 5);
    assert_string_equal(names[0], "c/charts/s/templates/b.yaml");
    assert_string_equal(names[1], "c/charts/s/templates/_h.tpl");
    assert_string_equal(names[2], "c/templates/z.yaml");
    assert_string_equal(names[3], "c/templates/a.yaml");
    assert_string_equal(names[4], "c/templates/_h.tpl");
    struct ks_tpl_set *set = NULL;
    assert_int_equal(ks_tpl_set_new(&set, NULL, 0, NULL, 0), 0);
    const char *sub = "{{ define \"n\" }}sub{{ end }}{{ define \"e\" }}keep{{ end }}";
    const char *par = "{{ define \"n\" }}parent{{ end }}{{ define \"e\" }} {{ end }}";
    const char *use = "{{ template \"n\" }}-{{ template \"e\" }}";
    assert_int_equal(ks_tpl_set_add(set, "c/charts/s/templates/_h.tpl", sub, strlen(sub)), 0);
    assert_int_equal(ks_tpl_set_add(set, "c/templates/_h.tpl", par, strlen(par)), 0);
    assert_int_equal(ks_tpl_set_add(set, "c/templates/u.yaml", use, strlen(use)), 0);
    assert_true(ks_tpl_set_has(set, "n"));
    assert_false(ks_tpl_set_has(set, "zz"));
    struct ks_buf b;
    ks_buf_init(&b, 0);
    assert_int_equal(ks_tpl_execute(&b, set, "c/templates/u.yaml", NULL), 0);
    assert_string_equal(ks_buf_data(&b), "parent-keep");
    ks_buf_release(&b);
    ks_tpl_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),          cmocka_unit_test(host_objects),
        cmocka_unit_test(helm_services),  cmocka_unit_test(int64_marks),
        cmocka_unit_test(strict_mode),    cmocka_unit_test(limits),
        cmocka_unit_test(deep_recursion), cmocka_unit_test(helm_order_and_redefinition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
