/*
 * test_jsonpath.c: unit tests for typed JSON field access (core/jsonpath.h):
 * path walking with keys and indexes, null as absent, required/optional,
 * type mismatches and wrong containers on the way, malformed paths, and
 * the exact error texts other components rely on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonpath.h"

static const char *const doc_text =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"},\"annotations\":null},"
    "\"spec\":{\"replicas\":3,\"paused\":false,\"ratio\":0.5,\"big\":9223372036854775807,"
    "\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"busybox\","
    "\"args\":[\"sh\",\"-c\"]},{\"name\":\"side\",\"ports\":null}]}},"
    "\"matrix\":[[1,2],[3,4]],\"empty\":\"\",\"odd\":\"3\",\"nothing\":null}}";

static int setup(void **state)
{
    json_error_t err;
    *state = json_loads(doc_text, 0, &err);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    json_decref(*state);
    return 0;
}

static void reads_typed_values(void **state)
{
    const json_t *doc = *state;
    const char *s = NULL;
    int64_t n = 0;
    bool b = true;
    json_t *o = NULL, *a = NULL;

    assert_int_equal(ks_json_get_string(&s, doc, "kind", true), 0);
    assert_string_equal(s, "Deployment");
    assert_int_equal(ks_json_get_string(&s, doc, "metadata.name", true), 0);
    assert_string_equal(s, "web");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.template.spec.containers[0].image", true),
                     0);
    assert_string_equal(s, "busybox");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.template.spec.containers[0].args[1]", true),
                     0);
    assert_string_equal(s, "-c");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.empty", true), 0);
    assert_string_equal(s, "");

    assert_int_equal(ks_json_get_int(&n, doc, "spec.replicas", true), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ks_json_get_int(&n, doc, "spec.matrix[1][0]", true), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ks_json_get_int(&n, doc, "spec.big", true), 0);
    assert_int_equal(n, INT64_MAX);
    assert_int_equal(ks_json_get_int_range(&n, doc, "spec.replicas", true, 0, 3), 0);
    assert_int_equal(n, 3);

    assert_int_equal(ks_json_get_bool(&b, doc, "spec.paused", true), 0);
    assert_false(b);

    assert_int_equal(ks_json_get_object(&o, doc, "metadata.labels", true), 0);
    assert_ptr_equal(o, json_object_get(json_object_get(doc, "metadata"), "labels"));
    assert_int_equal(ks_json_get_array(&a, doc, "spec.template.spec.containers", true), 0);
    assert_int_equal(json_array_size(a), 2);

    /* lookup hands back any type, borrowed */
    json_t *v = NULL;
    assert_int_equal(ks_json_lookup(&v, doc, "spec.ratio"), 0);
    assert_true(json_is_real(v));
    assert_int_equal(ks_json_lookup(&v, doc, "spec"), 0);
    assert_ptr_equal(v, json_object_get(doc, "spec"));
}

static void absent_and_null(void **state)
{
    const json_t *doc = *state;
    const char *s = "default";
    int64_t n = 7;
    bool b = true;
    json_t *o = (json_t *)doc, *v = (json_t *)doc;
    /* optional and absent: success, out untouched */
    const char *absent[] = {"spec.strategy",
                            "spec.nothing",
                            "metadata.annotations",
                            "metadata.annotations.x",
                            "spec.template.spec.containers[5].name",
                            "spec.template.spec.containers[1].image",
                            "spec.template.spec.containers[1].ports[0]",
                            "spec.matrix[0][99999999999999999999999]",
                            "status.phase"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_int_equal(ks_json_get_string(&s, doc, absent[i], false), 0);
        assert_int_equal(ks_json_get_int(&n, doc, absent[i], false), 0);
        assert_int_equal(ks_json_get_bool(&b, doc, absent[i], false), 0);
        assert_int_equal(ks_json_get_object(&o, doc, absent[i], false), 0);
        assert_int_equal(ks_json_lookup(&v, doc, absent[i]), 0);
        assert_null(v);
        v = (json_t *)doc;
    }
    assert_string_equal(s, "default");
    assert_int_equal(n, 7);
    assert_true(b);
    assert_ptr_equal(o, doc);

    /* required and absent: "<path>: missing" */
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        char want[128];
        assert_int_equal(ks_json_get_string(&s, doc, absent[i], true), KS_EINVALID);
        snprintf(want, sizeof(want), "%s: missing", absent[i]);
        assert_string_equal(ks_error_last(), want);
    }
    assert_string_equal(s, "default");

    /* a NULL root has nothing in it */
    assert_int_equal(ks_json_get_int(&n, NULL, "spec.replicas", false), 0);
    assert_int_equal(ks_json_get_int(&n, NULL, "spec.replicas", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.replicas: missing");
}

static void type_mismatches_name_the_field(void **state)
{
    const json_t *doc = *state;
    const char *s = "untouched";
    int64_t n = 7;
    bool b = true;
    json_t *o = NULL;

    assert_int_equal(ks_json_get_int(&n, doc, "spec.odd", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.odd: expected an integer, got string");
    assert_int_equal(ks_json_get_int(&n, doc, "spec.ratio", false), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.ratio: expected an integer, got number");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.replicas", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.replicas: expected a string, got integer");
    assert_int_equal(ks_json_get_bool(&b, doc, "spec.odd", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.odd: expected a boolean, got string");
    assert_int_equal(ks_json_get_object(&o, doc, "spec.matrix", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.matrix: expected an object, got array");
    assert_int_equal(ks_json_get_array(&o, doc, "metadata.labels", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "metadata.labels: expected an array, got object");
    assert_int_equal(ks_json_get_int_range(&n, doc, "spec.replicas", true, 0, 2), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.replicas: must be between 0 and 2, got 3");
    assert_string_equal(s, "untouched");
    assert_int_equal(n, 7);
    assert_true(b);
    assert_null(o);
}

static void wrong_containers_on_the_way(void **state)
{
    const json_t *doc = *state;
    const char *s = NULL;
    int64_t n;
    json_t *v;

    assert_int_equal(ks_json_get_string(&s, doc, "kind.name", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "kind: expected an object, got string");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.replicas.x.y", false), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.replicas: expected an object, got integer");
    assert_int_equal(ks_json_get_string(&s, doc, "spec.template.spec.containers.name", true),
                     KS_EINVALID);
    assert_string_equal(ks_error_last(),
                        "spec.template.spec.containers: expected an object, got array");
    assert_int_equal(ks_json_get_int(&n, doc, "metadata.labels[0]", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "metadata.labels: expected an array, got object");
    assert_int_equal(ks_json_get_int(&n, doc, "spec.matrix[0][1][2]", true), KS_EINVALID);
    assert_string_equal(ks_error_last(), "spec.matrix[0][1]: expected an array, got integer");

    json_t *arr = json_loads("[1,2]", 0, NULL);
    assert_int_equal(ks_json_lookup(&v, arr, "kind"), KS_EINVALID);
    assert_string_equal(ks_error_last(), "expected an object, got array (reading kind)");
    json_decref(arr);
}

static void malformed_paths(void **state)
{
    const json_t *doc = *state;
    json_t *v;
    static const char *const cases[][2] = {
        {"", "invalid JSON path \"\": empty"},
        {".kind", "empty key"},
        {"spec..replicas", "empty key"},
        {"spec.", "ends with '.'"},
        {"spec.matrix[", "'[' must be followed by digits and ']'"},
        {"spec.matrix[]", "'[' must be followed by digits and ']'"},
        {"spec.matrix[-1]", "'[' must be followed by digits and ']'"},
        {"spec.matrix[1", "'[' must be followed by digits and ']'"},
        {"spec.matrix[0]x", "']' must be followed by '.', '[' or the end"},
        {"[0]", "empty key"},
        /* malformed after an absent part is still malformed */
        {"status.x[", "'[' must be followed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ks_json_lookup(&v, doc, cases[i][0]), KS_EINVALID);
        if (!strstr(ks_error_last(), cases[i][1]))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i][0], ks_error_last(), cases[i][1]);
    }
}

static void type_names(void **state)
{
    json_t *v[] = {json_object(),  json_array(), json_string("x"), json_integer(1),
                   json_real(1.5), json_true(),  json_false(),     json_null()};
    const char *names[] = {"object", "array",   "string",  "integer",
                           "number", "boolean", "boolean", "null"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_string_equal(ks_json_type_name(v[i]), names[i]);
        json_decref(v[i]);
    }
    assert_string_equal(ks_json_type_name(NULL), "nothing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_typed_values, setup, teardown),
        cmocka_unit_test_setup_teardown(absent_and_null, setup, teardown),
        cmocka_unit_test_setup_teardown(type_mismatches_name_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_containers_on_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_paths, setup, teardown),
        cmocka_unit_test(type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
