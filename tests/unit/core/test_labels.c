/*
 * test_labels.c: unit tests for label selectors and label validation
 * (core/labels.h). The parse, print and match tables follow apimachinery's
 * pkg/labels selector_test.go (good and bad strings, absent keys, empty
 * values, in/notin as identifiers) and metav1.LabelSelectorAsSelector.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/labels.h"

static struct ks_selector *parse_ok(const char *text)
{
    struct ks_selector *sel = NULL;
    if (ks_selector_parse(&sel, text) != 0)
        fail_msg("\"%s\": %s", text, ks_error_last());
    assert_non_null(sel);
    return sel;
}

static json_t *labels_of(const char *json)
{
    json_error_t err;
    json_t *v = json_loads(json, 0, &err);
    if (!v)
        fail_msg("bad test JSON %s: %s", json, err.text);
    return v;
}

static void parses_and_prints_canonically(void **state)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"x=a,y=b,z=c", "x=a,y=b,z=c"},
        {"x!=a,y=b", "x!=a,y=b"},
        {"x=", "x="},
        {"x= ", "x="},
        {"x=,z= ", "x=,z="},
        {"x= ,z= ", "x=,z="},
        {"!x", "!x"},
        {"x>1", "x>1"},
        {"x>1,z<5", "x>1,z<5"},
        {"x==a", "x=a"},
        {"x=a,a=x", "a=x,x=a"},
        {"a=x,x=a", "a=x,x=a"},
        {"\rx", "x"},
        {"a ", "a"},
        {" app = web , tier != db ", "app=web,tier!=db"},
        {"this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"},
        {"this-is-another-dns.domain.com/key-with-dash in (so,what)",
         "this-is-another-dns.domain.com/key-with-dash in (so,what)"},
        {"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
         "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"},
        {"foo  in\t (abc)", "foo in (abc)"},
        {"x notin\n (abc)", "x notin (abc)"},
        {"x  notin\t\t(abc,def)", "x notin (abc,def)"},
        {"x in (abc,)", "x in (,abc)"},
        {"x in ()", "x in ()"},
        {"x notin ( )", "x notin ()"},
        {"x notin (, a)", "x notin (,a)"},
        {"x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"},
        {"x,y in (a)", "x,y in (a)"},
        {"a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"},
        {"notin=in", "notin=in"},
        {"in in (in)", "in in (in)"},
        {"x in (b,a,b)", "x in (a,b)"},
        {"app.kubernetes.io/name=web,!legacy,canary", "app.kubernetes.io/name=web,canary,!legacy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ks_selector *sel = parse_ok(cases[i][0]);
        char *text = ks_selector_to_string(sel);
        assert_non_null(text);
        if (strcmp(text, cases[i][1]) != 0)
            fail_msg("\"%s\" printed as \"%s\", expected \"%s\"", cases[i][0], text, cases[i][1]);
        /* the canonical form parses back to itself */
        struct ks_selector *again = parse_ok(text);
        char *text2 = ks_selector_to_string(again);
        assert_string_equal(text2, text);
        assert_int_equal(ks_selector_is_empty(sel), cases[i][1][0] == '\0');
        free(text2);
        free(text);
        ks_selector_free(again);
        ks_selector_free(sel);
    }
}

static void rejects_bad_syntax_naming_the_place(void **state)
{
    static const char *const cases[][2] = {
        /* "a||y" is read as the value, and fails label value rules first */
        {"x=a||y=b", "label value \"a||y\": character '|' at position 2 is not allowed"},
        {"x=a,y=b=c", "column 8: found '=', expected ',' or the end of the text"},
        {"x>-5", "label value \"-5\""},
        {"x==a==b", "column 5: found '=='"},
        {"!x=a", "column 3: found '='"},
        {"x<a", "operator '<' needs an integer, got \"a\""},
        {"x>", "needs an integer, got \"\""},
        {"x>1.5", "needs an integer"},
        {"x,,y", "column 3: found ',', expected '!' or a label key"},
        {",x,y", "column 1: found ','"},
        {"x nott in (y)", "column 3: found 'nott', expected an operator"},
        {"a in (xyz),", "found the end of the text, expected '!' or a label key"},
        {"a in (xyz)b notin ()", "column 11: found 'b'"},
        {"a in (xyz abc)", "column 11: found 'abc', expected ',' or ')'"},
        {"a notin(", "found the end of the text, expected ',', ')' or a value"},
        {"a (", "column 3: found '(', expected an operator"},
        {"(", "column 1: found '('"},
        {"x in (a", "found the end of the text, expected ',' or ')'"},
        {"x in a", "column 6: found 'a', expected '('"},
        {"x=(a,b)", "column 3: found '(', expected a value"},
        {"x in (a,,)", "column 10: found ')', expected ',' or a value"},
        {"x!", "column 2: found '!', expected an operator"},
        {"x=a b", "column 5: found 'b'"},
        {"Foo Bar=x", "column 5: found 'Bar', expected an operator"},
        {"-x=a", "label key \"-x\""},
        {"x=-a", "label value \"-a\""},
        {"a/b/c", "more than one '/'"},
        {"/a", "prefix before '/' is empty"},
        {"x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "must be no more than 63 characters (is 64)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ks_selector *sel = (struct ks_selector *)&sel;
        int rc = ks_selector_parse(&sel, cases[i][0]);
        if (rc != KS_EINVALID)
            fail_msg("\"%s\" gave %d, expected KS_EINVALID", cases[i][0], rc);
        assert_ptr_equal(sel, (struct ks_selector *)&sel); /* untouched */
        if (!strstr(ks_error_last(), cases[i][1]))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i][0], ks_error_last(),
                     cases[i][1]);
        char quoted[128];
        snprintf(quoted, sizeof(quoted), "label selector \"%s\": ", cases[i][0]);
        if (strncmp(ks_error_last(), quoted, strlen(quoted)) != 0)
            fail_msg("message \"%s\" does not start with %s", ks_error_last(), quoted);
    }
}

struct match_case {
    const char *selector;
    const char *labels; /* JSON, or NULL for no labels */
    bool match;
};

static void check_matches(const struct match_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ks_selector *sel = parse_ok(cases[i].selector);
        json_t *labels = cases[i].labels ? labels_of(cases[i].labels) : NULL;
        if (ks_selector_matches(sel, labels) != cases[i].match)
            fail_msg("\"%s\" on %s: expected %s", cases[i].selector,
                     cases[i].labels ? cases[i].labels : "no labels",
                     cases[i].match ? "a match" : "no match");
        json_decref(labels);
        ks_selector_free(sel);
    }
}

static void matches_like_kubernetes(void **state)
{
    static const struct match_case cases[] = {
        {"", "{\"x\":\"y\"}", true},
        {"", NULL, true},
        {"x=y", "{\"x\":\"y\"}", true},
        {"x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}", true},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}", true},
        {"notin=in", "{\"notin\":\"in\"}", true},
        {"x", "{\"x\":\"z\"}", true},
        {"!x", "{\"y\":\"z\"}", true},
        {"x>1", "{\"x\":\"2\"}", true},
        {"x<1", "{\"x\":\"0\"}", true},
        {"x=z", "{}", false},
        {"x=y", "{\"x\":\"z\"}", false},
        {"x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}", false},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}", false},
        {"x", "{\"y\":\"z\"}", false},
        {"!x", "{\"x\":\"z\"}", false},
        {"x>1", "{\"x\":\"0\"}", false},
        {"x<1", "{\"x\":\"2\"}", false},
        {"foo=bar", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true},
        {"foo=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true},
        {"foo=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false},
        {"foo=bar,foobar=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false},
        {"x in (foo),y notin (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", true},
        {"x in (foo),y in (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", false},
        {"x notin (),y", "{\"y\":\"\"}", true},
        {"!x,y", "{\"y\":\"\"}", true},
        {"x notin (),!y", "{\"y\":\"\"}", false},
        {"x in ()", "{\"y\":\"baz\"}", false},
        {"z>1", "{\"z\":\"2\"}", true},
        {"z>1", "{\"z\":\"v2\"}", false},
    };
    check_matches(cases, sizeof(cases) / sizeof(cases[0]));
}

static void absent_keys_and_odd_values(void **state)
{
    static const struct match_case cases[] = {
        /* != and notin hold when the key is absent, = and in do not */
        {"x!=y", "{}", true},
        {"x!=y", NULL, true},
        {"x notin (a)", "{}", true},
        {"x notin (a)", NULL, true},
        {"x in (a)", "{}", false},
        {"x=a", NULL, false},
        {"x>1", "{}", false},
        {"x<1", NULL, false},
        {"x", NULL, false},
        {"!x", NULL, true},
        /* empty values */
        {"x in ()", "{\"x\":\"\"}", true},
        {"x=", "{\"x\":\"\"}", true},
        {"x=", "{}", false},
        {"x!=", "{\"x\":\"\"}", false},
        {"x", "{\"x\":\"\"}", true},
        /* integers as Go's ParseInt reads them */
        {"x>1", "{\"x\":\"+2\"}", true},
        {"x<3", "{\"x\":\"-2\"}", true},
        {"x<5", "{\"x\":\" 3\"}", false},
        {"x<5", "{\"x\":\"99999999999999999999\"}", false},
        /* a non-string value: present, equal to no value */
        {"x", "{\"x\":5}", true},
        {"x=5", "{\"x\":5}", false},
        {"x!=5", "{\"x\":5}", true},
        {"x>1", "{\"x\":5}", false},
        /* not an object: no labels at all */
        {"x!=y", "[1]", true},
        {"x", "[1]", false},
    };
    check_matches(cases, sizeof(cases) / sizeof(cases[0]));
}

static void many_values_binary_search(void **state)
{
    struct ks_selector *sel = parse_ok("x in (m,c,a,k,e,g,i,b,d,f,h,j,l)");
    const char *in = "abcdefghijklm";
    char json[32];
    for (const char *c = in; *c; c++) {
        snprintf(json, sizeof(json), "{\"x\":\"%c\"}", *c);
        json_t *labels = labels_of(json);
        assert_true(ks_selector_matches(sel, labels));
        json_decref(labels);
    }
    const char *out[] = {"{\"x\":\"\"}", "{\"x\":\"n\"}", "{\"x\":\"A\"}", "{\"x\":\"aa\"}",
                         "{\"y\":\"a\"}"};
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        json_t *labels = labels_of(out[i]);
        assert_false(ks_selector_matches(sel, labels));
        json_decref(labels);
    }
    ks_selector_free(sel);
}

static struct ks_selector *from_json_ok(const char *json)
{
    struct ks_selector *sel = NULL;
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    if (ks_selector_from_json(&sel, v) != 0)
        fail_msg("%s: %s", json, ks_error_last());
    json_decref(v);
    return sel;
}

static void json_form(void **state)
{
    struct ks_selector *sel =
        from_json_ok("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
                     "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},"
                     "{\"key\":\"legacy\",\"operator\":\"DoesNotExist\"},"
                     "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"prod\"]},"
                     "{\"key\":\"canary\",\"operator\":\"Exists\",\"values\":[]}]}");
    char *text = ks_selector_to_string(sel);
    assert_string_equal(text, "app=web,canary,env notin (prod),!legacy,tier in (be,fe)");
    free(text);
    json_t *l = labels_of("{\"app\":\"web\",\"tier\":\"fe\",\"canary\":\"\"}");
    assert_true(ks_selector_matches(sel, l));
    json_decref(l);
    l = labels_of("{\"app\":\"web\",\"tier\":\"fe\",\"canary\":\"\",\"env\":\"prod\"}");
    assert_false(ks_selector_matches(sel, l));
    json_decref(l);
    l = labels_of("{\"app\":\"web\",\"tier\":\"fe\",\"canary\":\"1\",\"legacy\":\"1\"}");
    assert_false(ks_selector_matches(sel, l));
    json_decref(l);
    l = labels_of("{\"app\":\"web\",\"tier\":\"fe\"}");
    assert_false(ks_selector_matches(sel, l));
    json_decref(l);
    ks_selector_free(sel);

    /* null, {} and a NULL pointer are the empty selector */
    const char *empty[] = {"null", "{}", "{\"matchLabels\":{},\"matchExpressions\":[]}",
                           "{\"matchLabels\":null,\"matchExpressions\":null}"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        sel = from_json_ok(empty[i]);
        assert_true(ks_selector_is_empty(sel));
        assert_true(ks_selector_matches(sel, NULL));
        ks_selector_free(sel);
    }
    assert_int_equal(ks_selector_from_json(&sel, NULL), 0);
    assert_true(ks_selector_is_empty(sel));
    ks_selector_free(sel);
}

static void json_form_errors(void **state)
{
    static const char *const cases[][2] = {
        {"[]", "label selector: expected an object, got array"},
        {"{\"matchLabel\":{}}", "label selector: unknown field \"matchLabel\""},
        {"{\"matchLabels\":[]}", "matchLabels: expected an object, got array"},
        {"{\"matchLabels\":{\"a\":1}}", "matchLabels.a: expected a string, got integer"},
        {"{\"matchLabels\":{\"a b\":\"x\"}}", "matchLabels: label key \"a b\""},
        {"{\"matchLabels\":{\"a\":\"x y\"}}", "label value \"x y\""},
        {"{\"matchExpressions\":{}}", "matchExpressions: expected an array, got object"},
        {"{\"matchExpressions\":[1]}", "matchExpressions[0]: expected an object, got integer"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
         "matchExpressions[0]: key \"a\": operator In needs at least one value"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[]}]}",
         "operator NotIn needs at least one value"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},"
         "{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
         "matchExpressions[1]: key \"a\": operator Exists takes no values"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\",\"values\":[\"\"]}]}",
         "operator DoesNotExist takes no values"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
         "matchExpressions[0].operator: \"Gt\" is not a valid label selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"1\"]}]}",
         "\"in\" is not a valid"},
        {"{\"matchExpressions\":[{\"key\":\"a\"}]}", "matchExpressions[0].operator: missing"},
        {"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", "matchExpressions[0].key: missing"},
        {"{\"matchExpressions\":[{\"key\":5,\"operator\":\"Exists\"}]}",
         "matchExpressions[0].key: expected a string, got integer"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":\"x\"}]}",
         "matchExpressions[0].values: expected an array, got string"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"x\",1]}]}",
         "matchExpressions[0].values[1]: expected a string, got integer"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"value\":[\"x\"]}]}",
         "matchExpressions[0]: unknown field \"value\""},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"-x\"]}]}",
         "label value \"-x\""},
        {"{\"matchExpressions\":[{\"key\":\"\",\"operator\":\"Exists\"}]}", "must not be empty"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ks_selector *sel = (struct ks_selector *)&sel;
        json_t *v = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        assert_int_equal(ks_selector_from_json(&sel, v), KS_EINVALID);
        assert_ptr_equal(sel, (struct ks_selector *)&sel);
        if (!strstr(ks_error_last(), cases[i][1]))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i][0], ks_error_last(), cases[i][1]);
        assert_true(strncmp(ks_error_last(), "label selector: ", 16) == 0);
        json_decref(v);
    }
}

static void limits(void **state)
{
    struct ks_selector *sel = NULL;
    size_t n = KS_SELECTOR_MAX_TEXT + 2;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, 'a', n - 1);
    text[n - 1] = '\0';
    assert_int_equal(ks_selector_parse(&sel, text), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "longer than 16384 bytes"));

    /* 257 requirements "a0,a1,..." */
    size_t used = 0;
    for (int i = 0; i <= KS_SELECTOR_MAX_REQUIREMENTS; i++)
        used += (size_t)snprintf(text + used, n - used, "%sk%d", i ? "," : "", i);
    assert_int_equal(ks_selector_parse(&sel, text), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "more than 256 requirements"));
    /* exactly the limit is fine */
    *strrchr(text, ',') = '\0';
    sel = parse_ok(text);
    ks_selector_free(sel);

    used = (size_t)snprintf(text, n, "x in (");
    for (int i = 0; i <= KS_SELECTOR_MAX_VALUES; i++)
        used += (size_t)snprintf(text + used, n - used, "%sv%d", i ? "," : "", i);
    snprintf(text + used, n - used, ")");
    assert_int_equal(ks_selector_parse(&sel, text), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "more than 256 values"));
    free(text);
}

static void validates_keys_and_values(void **state)
{
    char long_prefix[300], buf[400];
    memset(long_prefix, 'a', 253);
    long_prefix[253] = '\0';
    const char *good_keys[] = {
        "a",   "app.kubernetes.io/name", "example.com/MyName", "my.name", "123-abc", "A",
        "a_b", "1.2.3.domain/99"};
    for (size_t i = 0; i < sizeof(good_keys) / sizeof(good_keys[0]); i++)
        if (ks_label_key_validate(good_keys[i]) != 0)
            fail_msg("%s: %s", good_keys[i], ks_error_last());
    snprintf(buf, sizeof(buf), "%s/%s", long_prefix,
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaa");
    assert_int_equal(ks_label_key_validate(buf), 0); /* 253 + '/' + 63 */

    static const char *const bad_keys[][2] = {
        {"", "label key \"\": name \"\": must not be empty"},
        {"-a", "character '-' at position 1 must be a letter or digit"},
        {"a-", "character '-' at position 2 must be a letter or digit"},
        {"_a", "position 1"},
        {"a b", "character ' ' at position 2 is not allowed"},
        {"/a", "the prefix before '/' is empty"},
        {"a/", "name \"\": must not be empty"},
        {"Example.com/a", "prefix \"Example.com\": character 'E' at position 1 is not allowed"},
        {"ex..com/a", "character '.' at position 3 must be a letter or digit"},
        {"ex.-com/a", "character '-' at position 4 must be a letter or digit"},
        {"a/b/c", "more than one '/'"},
        {"a\x01", "character \\x01 at position 2"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "must be no more than 63 characters (is 64)"},
    };
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        assert_int_equal(ks_label_key_validate(bad_keys[i][0]), KS_EINVALID);
        if (!strstr(ks_error_last(), bad_keys[i][1]))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad_keys[i][0], ks_error_last(),
                     bad_keys[i][1]);
    }
    snprintf(buf, sizeof(buf), "a%s/x", long_prefix);
    assert_int_equal(ks_label_key_validate(buf), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "prefix must be no more than 253 characters (is 254)"));

    const char *good_values[] = {
        "",  "a",     "A-b_c.d",
        "1", "0.1.2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof(good_values) / sizeof(good_values[0]); i++)
        if (ks_label_value_validate(good_values[i]) != 0)
            fail_msg("%s: %s", good_values[i], ks_error_last());
    const char *bad_values[] = {"-a",
                                "a-",
                                "a b",
                                "a/b",
                                "\xc3\xa9",
                                ".a",
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        assert_int_equal(ks_label_value_validate(bad_values[i]), KS_EINVALID);
        assert_non_null(strstr(ks_error_last(), "label value \""));
    }
}

static void validates_label_objects(void **state)
{
    json_t *l = labels_of("{\"app\":\"web\",\"app.kubernetes.io/part-of\":\"shop\",\"x\":\"\"}");
    assert_int_equal(ks_labels_validate(l), 0);
    json_decref(l);
    l = labels_of("{\"app\":1}");
    assert_int_equal(ks_labels_validate(l), KS_EINVALID);
    assert_string_equal(ks_error_last(), "labels.app: expected a string, got integer");
    json_decref(l);
    l = labels_of("{\"a b\":\"x\"}");
    assert_int_equal(ks_labels_validate(l), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "labels: label key \"a b\""));
    json_decref(l);
    l = labels_of("{\"a\":\"x y\"}");
    assert_int_equal(ks_labels_validate(l), KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "labels: label value \"x y\""));
    json_decref(l);
    l = labels_of("[]");
    assert_int_equal(ks_labels_validate(l), KS_EINVALID);
    assert_string_equal(ks_error_last(), "labels: expected an object, got array");
    json_decref(l);
    assert_int_equal(ks_labels_validate(NULL), KS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_prints_canonically),
        cmocka_unit_test(rejects_bad_syntax_naming_the_place),
        cmocka_unit_test(matches_like_kubernetes),
        cmocka_unit_test(absent_keys_and_odd_values),
        cmocka_unit_test(many_values_binary_search),
        cmocka_unit_test(json_form),
        cmocka_unit_test(json_form_errors),
        cmocka_unit_test(limits),
        cmocka_unit_test(validates_keys_and_values),
        cmocka_unit_test(validates_label_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
