/*
 * test_agent_downward.c: the downward API of the node agent
 * (nodeagent/agent/downward.c, volumes.c): fieldRef paths for env and for
 * volumes, the label/annotation file format of Kubernetes' FormatMap,
 * resourceFieldRef with divisors and node defaults, and downwardAPI /
 * projected volumes written to a directory (stale files removed, modes
 * applied, a missing ConfigMap or an unsupported source named).
 */
#include "core/error.h"
#include "core/str.h"
#include "nodeagent/agent/downward.h"
#include "nodeagent/agent/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char POD[] =
    "{\"metadata\": {\"name\": \"web-1\", \"namespace\": \"shop\", \"uid\": \"u-1\","
    " \"labels\": {\"tier\": \"front\", \"app\": \"web\"},"
    " \"annotations\": {\"note\": \"say \\\"hi\\\"\\n\\tbye\\u0001\"}},"
    " \"spec\": {\"nodeName\": \"n1\", \"containers\": ["
    "  {\"name\": \"app\", \"resources\": {\"limits\": {\"cpu\": \"500m\", \"memory\": \"128Mi\"},"
    "   \"requests\": {\"cpu\": \"250m\"}}},"
    "  {\"name\": \"side\"}]}}";

static json_t *pod_json(void)
{
    json_t *pod = json_loads(POD, 0, NULL);
    assert_non_null(pod);
    return pod;
}

static char *field(const json_t *pod, const char *path, bool in_volume, int want_rc)
{
    struct ks_agent_pod_facts facts = {.pod_ip = "10.88.0.7", .host_ip = "192.0.2.1"};
    char *v = NULL;
    assert_int_equal(ks_agent_field_value(&v, pod, path, in_volume, &facts), want_rc);
    return v;
}

static void test_field_paths(void **state)
{
    (void)state;
    json_t *pod = pod_json();
    struct {
        const char *path, *want;
    } env[] = {{"metadata.name", "web-1"},
               {"metadata.namespace", "shop"},
               {"metadata.uid", "u-1"},
               {"metadata.labels['tier']", "front"},
               {"metadata.labels[\"app\"]", "web"},
               {"metadata.labels['absent']", ""},
               {"spec.nodeName", "n1"},
               {"spec.serviceAccountName", "default"},
               {"status.podIP", "10.88.0.7"},
               {"status.hostIP", "192.0.2.1"}};
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
        char *v = field(pod, env[i].path, false, 0);
        assert_string_equal(v, env[i].want);
        free(v);
    }
    /* a whole map only in volumes; node and status fields only in env */
    assert_null(field(pod, "metadata.labels", false, KS_EINVALID));
    assert_non_null(strstr(ks_error_last(), "metadata.labels is not supported in env"));
    assert_null(field(pod, "spec.nodeName", true, KS_EINVALID));
    assert_null(field(pod, "metadata.labels[tier]", false, KS_EINVALID));
    assert_null(field(pod, "status.phase", false, KS_EINVALID));
    json_decref(pod);
}

static void test_map_format(void **state)
{
    (void)state;
    json_t *pod = pod_json();
    char *v = field(pod, "metadata.labels", true, 0);
    assert_string_equal(v, "app=\"web\"\ntier=\"front\"");
    free(v);
    v = field(pod, "metadata.annotations", true, 0);
    assert_string_equal(v, "note=\"say \\\"hi\\\"\\n\\tbye\\x01\"");
    free(v);
    json_object_del(json_object_get(pod, "metadata"), "labels");
    v = field(pod, "metadata.labels", true, 0);
    assert_string_equal(v, "");
    free(v);
    json_decref(pod);
}

static char *resource(const json_t *pod, const char *ctr, const char *json, int want_rc)
{
    json_t *ref = json_loads(json, 0, NULL);
    const json_t *c = NULL;
    size_t i;
    json_t *it;
    char *v = NULL;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, it)
    {
        if (ctr && strcmp(json_string_value(json_object_get(it, "name")), ctr) == 0)
            c = it;
    }
    assert_int_equal(ks_agent_resource_value(&v, pod, c, ref), want_rc);
    json_decref(ref);
    return v;
}

static void test_resource_values(void **state)
{
    (void)state;
    json_t *pod = pod_json();
    struct {
        const char *ctr, *ref, *want;
    } cases[] = {
        {"app", "{\"resource\": \"limits.cpu\"}", "1"},
        {"app", "{\"resource\": \"limits.cpu\", \"divisor\": \"1m\"}", "500"},
        {"app", "{\"resource\": \"requests.cpu\", \"divisor\": \"1m\"}", "250"},
        {"app", "{\"resource\": \"limits.memory\", \"divisor\": \"1Mi\"}", "128"},
        {"app", "{\"resource\": \"requests.memory\"}", "134217728"}, /* defaults to the limit */
        {NULL,
         "{\"containerName\": \"app\", \"resource\": \"limits.memory\", \"divisor\": \"1Gi\"}",
         "1"},
        {"side", "{\"resource\": \"requests.cpu\"}", "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *v = resource(pod, cases[i].ctr, cases[i].ref, 0);
        assert_string_equal(v, cases[i].want);
        free(v);
    }
    /* an unset limit is the node's allocatable: the host's CPUs */
    char *v = resource(pod, "side", "{\"resource\": \"limits.cpu\"}", 0);
    char want[32];
    snprintf(want, sizeof(want), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    assert_string_equal(v, want);
    free(v);
    assert_null(resource(pod, "app", "{\"resource\": \"limits.ephemeral-storage\"}", KS_EINVALID));
    assert_null(resource(pod, NULL, "{\"resource\": \"limits.cpu\"}", KS_EINVALID));
    assert_null(resource(pod, NULL, "{\"containerName\": \"x\", \"resource\": \"limits.cpu\"}",
                         KS_EINVALID));
    assert_null(
        resource(pod, "app", "{\"resource\": \"limits.cpu\", \"divisor\": \"0\"}", KS_EINVALID));
    json_decref(pod);
}

/* A source that answers get_object from one ConfigMap. */
static int cm_get(struct ks_agent_source *src, json_t **out, const char *kind, const char *ns,
                  const char *name)
{
    (void)src;
    if (strcmp(kind, "ConfigMap") || strcmp(ns, "shop") || strcmp(name, "conf"))
        return KS_ENOTFOUND;
    *out = json_pack("{s:{s:s, s:s}}", "data", "a.txt", "alpha", "b.txt", "beta");
    return 0;
}
static const struct ks_agent_source_ops cm_ops = {.name = "test", .get_object = cm_get};

static char *read_file(const char *dir, const char *rel)
{
    char *path = ks_strdupf("%s/%s", dir, rel), *text = NULL;
    size_t n = 0;
    if (ks_file_read(&text, &n, path, 4096) < 0)
        text = NULL;
    free(path);
    return text;
}

static void test_volumes(void **state)
{
    (void)state;
    char dir[] = "/tmp/ks-downward-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct ks_agent_source src = {.ops = &cm_ops};
    json_t *pod = pod_json(), *map = NULL;
    json_t *vols =
        json_loads("[{\"name\": \"info\", \"downwardAPI\": {\"defaultMode\": 256, \"items\": ["
                   "  {\"path\": \"labels\", \"fieldRef\": {\"fieldPath\": \"metadata.labels\"}},"
                   "  {\"path\": \"sub/name\", \"fieldRef\": {\"fieldPath\": \"metadata.name\"}, "
                   "\"mode\": 420},"
                   "  {\"path\": \"mem\", \"resourceFieldRef\": {\"containerName\": \"app\","
                   "   \"resource\": \"limits.memory\", \"divisor\": \"1Mi\"}}]}},"
                   " {\"name\": \"all\", \"projected\": {\"sources\": ["
                   "  {\"configMap\": {\"name\": \"conf\", \"items\": [{\"key\": \"a.txt\", "
                   "\"path\": \"a\"}]}},"
                   "  {\"downwardAPI\": {\"items\": [{\"path\": \"ns\","
                   "   \"fieldRef\": {\"fieldPath\": \"metadata.namespace\"}}]}}]}}]",
                   0, NULL);
    const char *reason = NULL;
    json_object_set_new(json_object_get(pod, "spec"), "volumes", vols);
    assert_int_equal(ks_agent_volumes_prepare(&map, &reason, &src, pod, dir, "/run/p.sock", "/x"),
                     0);
    char *info = ks_strdupf("%s/info", dir), *all = ks_strdupf("%s/all", dir);
    assert_string_equal(json_string_value(json_object_get(map, "info")), info);
    char *t = read_file(info, "labels");
    assert_string_equal(t, "app=\"web\"\ntier=\"front\"");
    free(t);
    t = read_file(info, "sub/name");
    assert_string_equal(t, "web-1");
    free(t);
    t = read_file(info, "mem");
    assert_string_equal(t, "128");
    free(t);
    char *p = ks_strdupf("%s/labels", info);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0400);
    free(p);
    t = read_file(all, "a");
    assert_string_equal(t, "alpha");
    free(t);
    t = read_file(all, "ns");
    assert_string_equal(t, "shop");
    free(t);
    json_decref(map);

    /* a label change rewrites the file; a dropped item's file goes away */
    json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"), "tier",
                        json_string("back"));
    json_array_remove(
        json_object_get(json_object_get(json_array_get(vols, 0), "downwardAPI"), "items"), 2);
    assert_int_equal(ks_agent_volumes_prepare(&map, &reason, &src, pod, dir, "/run/p.sock", "/x"),
                     0);
    t = read_file(info, "labels");
    assert_string_equal(t, "app=\"web\"\ntier=\"back\"");
    free(t);
    assert_null(read_file(info, "mem"));
    json_decref(map);

    /* a missing ConfigMap and an unsupported projected source are named */
    json_object_set_new(
        json_object_get(
            json_array_get(
                json_object_get(json_object_get(json_array_get(vols, 1), "projected"), "sources"),
                0),
            "configMap"),
        "name", json_string("gone"));
    map = NULL;
    assert_int_equal(ks_agent_volumes_prepare(&map, &reason, &src, pod, dir, "/run/p.sock", "/x"),
                     KS_ENOTFOUND);
    assert_string_equal(reason, "CreateContainerConfigError");
    assert_non_null(strstr(ks_error_last(), "configmap \"gone\" not found"));
    json_array_append_new(
        json_object_get(json_object_get(json_array_get(vols, 1), "projected"), "sources"),
        json_pack("{s:{s:s}}", "serviceAccountToken", "path", "token"));
    json_array_remove(
        json_object_get(json_object_get(json_array_get(vols, 1), "projected"), "sources"), 0);
    assert_int_equal(ks_agent_volumes_prepare(&map, &reason, &src, pod, dir, "/run/p.sock", "/x"),
                     KS_EINVALID);
    assert_string_equal(reason, "UnsupportedVolume");
    assert_non_null(strstr(ks_error_last(), "volume all: sources[1]"));
    assert_null(map);
    json_decref(pod);
    ks_agent_rmtree(dir);
    free(info);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_paths),
        cmocka_unit_test(test_map_format),
        cmocka_unit_test(test_resource_values),
        cmocka_unit_test(test_volumes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
