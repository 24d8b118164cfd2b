/*
 * test_object.c: unit tests for object identity, the cluster-scoped kinds
 * table and the DNS-1123 name rules (core/object.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/object.h"

static json_t *obj_of(const char *json)
{
    json_error_t err;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &err);
    if (!v)
        fail_msg("bad test JSON %s: %s", json, err.text);
    return v;
}

static void reads_identity(void **state)
{
    struct ks_object_id id;
    json_t *o = obj_of("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                       "\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"}}");
    assert_int_equal(ks_object_id_get(&id, o, "team"), 0);
    assert_string_equal(id.api_version, "apps/v1");
    assert_string_equal(id.kind, "Deployment");
    assert_string_equal(id.namespace_, "shop");
    assert_string_equal(id.name, "web");
    /* borrowed from the object */
    assert_ptr_equal(id.name,
                     json_string_value(json_object_get(json_object_get(o, "metadata"), "name")));
    json_decref(o);

    o = obj_of("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"}}");
    assert_int_equal(ks_object_id_get(&id, o, "team"), 0);
    assert_string_equal(id.namespace_, "team");
    assert_int_equal(ks_object_id_get(&id, o, NULL), 0);
    assert_string_equal(id.namespace_, "default");
    json_decref(o);

    const char *defaulted[] = {
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"\"}}",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":null}}",
    };
    for (size_t i = 0; i < 2; i++) {
        o = obj_of(defaulted[i]);
        assert_int_equal(ks_object_id_get(&id, o, "team"), 0);
        assert_string_equal(id.namespace_, "team");
        json_decref(o);
    }

    /* cluster-scoped kinds never carry a namespace */
    o = obj_of("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
               "\"metadata\":{\"name\":\"shop\",\"namespace\":\"ignored\"}}");
    assert_int_equal(ks_object_id_get(&id, o, "team"), 0);
    assert_string_equal(id.namespace_, "");
    json_decref(o);
    o = obj_of("{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\","
               "\"metadata\":{\"name\":\"admin\"}}");
    assert_int_equal(ks_object_id_get(&id, o, "team"), 0);
    assert_string_equal(id.namespace_, "");
    json_decref(o);
}

static void identity_errors_name_the_field(void **state)
{
    static const char *const cases[][2] = {
        {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}", "apiVersion: missing"},
        {"{\"apiVersion\":1,\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
         "apiVersion: expected a string, got integer"},
        {"{\"apiVersion\":\"\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}",
         "apiVersion: must not be empty"},
        {"{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\"}}", "kind: missing"},
        {"{\"apiVersion\":\"v1\",\"kind\":[],\"metadata\":{\"name\":\"p\"}}",
         "kind: expected a string, got array"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", "metadata.name: missing"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":\"x\"}",
         "metadata: expected an object, got string"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{}}", "metadata.name: missing"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":true}}",
         "metadata.name: expected a string, got boolean"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"\"}}",
         "metadata.name: must not be empty"},
        {"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":3}}",
         "metadata.namespace: expected a string, got integer"},
        {"[1]", "object: expected an object, got array"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ks_object_id id = {"untouched", NULL, NULL, NULL};
        json_t *o = obj_of(cases[i][0]);
        assert_int_equal(ks_object_id_get(&id, o, "team"), KS_EINVALID);
        assert_string_equal(ks_error_last(), cases[i][1]);
        assert_string_equal(id.api_version, "untouched");
        json_decref(o);
    }
    struct ks_object_id id;
    assert_int_equal(ks_object_id_get(&id, NULL, NULL), KS_EINVALID);
    assert_string_equal(ks_error_last(), "object: expected an object, got nothing");
}

static void formats_and_compares(void **state)
{
    char buf[64];
    struct ks_object_id a = {"apps/v1", "Deployment", "shop", "web"};
    struct ks_object_id ns = {"v1", "Namespace", "", "shop"};
    struct ks_object_id nulls = {"v1", "Namespace", NULL, "shop"};
    assert_string_equal(ks_object_id_format(buf, sizeof(buf), &a), "Deployment/shop/web");
    assert_string_equal(ks_object_id_format(buf, sizeof(buf), &ns), "Namespace/shop");
    assert_string_equal(ks_object_id_format(buf, sizeof(buf), &nulls), "Namespace/shop");
    char small[8];
    assert_string_equal(ks_object_id_format(small, sizeof(small), &a), "Deploym");
    assert_ptr_equal(ks_object_id_format(small, 0, &a), small);

    struct ks_object_id b = a;
    assert_int_equal(ks_object_id_cmp(&a, &b), 0);
    b.api_version = "apps/v1beta1"; /* not part of identity */
    assert_int_equal(ks_object_id_cmp(&a, &b), 0);
    b.name = "webz";
    assert_true(ks_object_id_cmp(&a, &b) < 0);
    assert_true(ks_object_id_cmp(&b, &a) > 0);
    b = a;
    b.namespace_ = "a-shop";
    assert_true(ks_object_id_cmp(&a, &b) > 0); /* namespace before name */
    b.name = "aaa";
    assert_true(ks_object_id_cmp(&a, &b) > 0);
    b = a;
    b.kind = "ConfigMap";
    b.namespace_ = "zzz";
    assert_true(ks_object_id_cmp(&a, &b) > 0); /* kind first */
    assert_int_equal(ks_object_id_cmp(&ns, &nulls), 0);
}

static void cluster_scoped_kinds(void **state)
{
    /* first, last and spread-out entries: a misordered table fails some */
    const char *scoped[] = {"APIService",
                            "CSINode",
                            "ClusterRole",
                            "ClusterRoleBinding",
                            "CustomResourceDefinition",
                            "IngressClass",
                            "Namespace",
                            "Node",
                            "PersistentVolume",
                            "PriorityClass",
                            "RuntimeClass",
                            "StorageClass",
                            "TokenReview",
                            "ValidatingWebhookConfiguration",
                            "VolumeAttributesClass"};
    for (size_t i = 0; i < sizeof(scoped) / sizeof(scoped[0]); i++)
        if (!ks_kind_is_cluster_scoped(scoped[i]))
            fail_msg("%s should be cluster-scoped", scoped[i]);
    const char *namespaced[] = {"Pod",
                                "Deployment",
                                "Service",
                                "ConfigMap",
                                "Secret",
                                "Role",
                                "RoleBinding",
                                "Release",
                                "namespace",
                                "node",
                                "PersistentVolumeClaim",
                                "",
                                "Job",
                                "Lease"};
    for (size_t i = 0; i < sizeof(namespaced) / sizeof(namespaced[0]); i++)
        if (ks_kind_is_cluster_scoped(namespaced[i]))
            fail_msg("%s should be namespaced", namespaced[i]);
}

typedef int (*name_check)(const char *);

static void expect_valid(name_check check, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (check(names[i]) != 0)
            fail_msg("%s: %s", names[i], ks_error_last());
}

/* cases[i] = {name, part of the expected message} */
static void expect_invalid(name_check check, const char *const (*cases)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(check(cases[i][0]), KS_EINVALID);
        if (!strstr(ks_error_last(), cases[i][1]))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i][0], ks_error_last(), cases[i][1]);
    }
}

static void dns1123_names(void **state)
{
    char sub[KS_NAME_MAX_SUBDOMAIN + 2], label[KS_NAME_MAX_LABEL + 2];
    char sub_long[sizeof(sub)], label_long[sizeof(label)];
    memset(sub, 'a', sizeof(sub));
    sub[100] = '.';
    memcpy(sub_long, sub, sizeof(sub));
    sub[KS_NAME_MAX_SUBDOMAIN] = sub_long[KS_NAME_MAX_SUBDOMAIN + 1] = '\0';
    memset(label, 'b', sizeof(label));
    memcpy(label_long, label, sizeof(label));
    label[KS_NAME_MAX_LABEL] = label_long[KS_NAME_MAX_LABEL + 1] = '\0';

    const char *const good_sub[] = {"a", "0", "a.b", "my-app.example.com", "1-2.3", sub};
    expect_valid(ks_dns1123_subdomain_validate, good_sub, sizeof(good_sub) / sizeof(good_sub[0]));
    const char *const good_label[] = {"a", "my-app", "1a", "a1", label};
    expect_valid(ks_dns1123_label_validate, good_label, sizeof(good_label) / sizeof(good_label[0]));

    const char *const bad_sub[][2] = {
        {"", "name \"\": must not be empty"},
        {"A", "name \"A\": character 'A' at position 1 is not allowed (a DNS-1123 subdomain"},
        {"a_b", "character '_' at position 2 is not allowed"},
        {"-a", "character '-' at position 1 must be a letter or digit"},
        {"a-", "character '-' at position 2 must be a letter or digit"},
        {".a", "character '.' at position 1 must be a letter or digit"},
        {"a.", "character '.' at position 2 must be a letter or digit"},
        {"a..b", "character '.' at position 2 must be a letter or digit"},
        {"a.-b", "character '-' at position 3 must be a letter or digit"},
        {"a-.b", "character '-' at position 2 must be a letter or digit"},
        {"a b", "character ' ' at position 2 is not allowed"},
        {"a\tb", "character \\x09 at position 2 is not allowed"},
        {"caf\xc3\xa9", "character \\xc3 at position 4 is not allowed"},
        {sub_long, "must be no more than 253 characters (is 254)"},
    };
    expect_invalid(ks_dns1123_subdomain_validate, bad_sub, sizeof(bad_sub) / sizeof(bad_sub[0]));
    const char *const bad_label[][2] = {
        {"a.b", "character '.' at position 2 is not allowed (a DNS-1123 label"},
        {"My", "character 'M' at position 1 is not allowed"},
        {"a-", "must be a letter or digit"},
        {"", "must not be empty"},
        {label_long, "must be no more than 63 characters (is 64)"},
    };
    expect_invalid(ks_dns1123_label_validate, bad_label, sizeof(bad_label) / sizeof(bad_label[0]));

    /* the generic entry point names what was checked */
    assert_int_equal(ks_name_validate(KS_NAME_DNS1123_LABEL, "container name", "Web"), KS_EINVALID);
    assert_true(strncmp(ks_error_last(), "container name \"Web\": ", 22) == 0);
    assert_int_equal(ks_name_validate(KS_NAME_LABEL_VALUE, "label value", ""), 0);
    assert_int_equal(ks_name_validate(KS_NAME_QUALIFIED, "name", ""), KS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_identity),       cmocka_unit_test(identity_errors_name_the_field),
        cmocka_unit_test(formats_and_compares), cmocka_unit_test(cluster_scoped_kinds),
        cmocka_unit_test(dns1123_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
