/*
 * test_podman_spec.c: Kubernetes pod/container specs -> libpod
 * PodSpecGenerator/SpecGenerator (nodeagent/podman/spec.c). Every mapping
 * rule is checked on the exact JSON produced, and every refusal on its
 * error code and the field its message names.
 */
#include "core/error.h"
#include "nodeagent/podman/podman.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);

    if (!doc)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return doc;
}

/* Asserts that got equals the JSON text want (order-insensitive). */
static void assert_json(const json_t *got, const char *want)
{
    json_t *w = parse(want);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

    if (!json_equal(got, w))
        fail_msg("got  %s\nwant %s", g, want);
    free(g);
    json_decref(w);
}

static void build_ctr_fails(const char *k8s, const struct ks_podman_ctr_ctx *ctx, int code,
                            const char *msg)
{
    json_t *c = parse(k8s), *out = NULL;
    int rc = ks_podman_spec_container(&out, c, ctx);

    if (rc != code)
        fail_msg("%s: got %d (%s), want %s", k8s, rc, ks_error_last(), ks_error_name(code));
    if (!strstr(ks_error_last(), msg))
        fail_msg("message '%s' lacks '%s'", ks_error_last(), msg);
    assert_null(out);
    json_decref(c);
}

static void test_container_full(void **state)
{
    json_t *c = parse("{\"name\": \"web\", \"image\": \"nginx:1.25\","
                      " \"command\": [\"/bin/sh\", \"-c\"], \"args\": [\"exec nginx\"],"
                      " \"env\": [{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\"},"
                      "           {\"name\": \"A\", \"value\": \"2\"}],"
                      " \"workingDir\": \"/srv\","
                      " \"securityContext\": {\"runAsUser\": 1000, \"runAsGroup\": 2000},"
                      " \"volumeMounts\": [{\"name\": \"data\", \"mountPath\": \"/data\"},"
                      "   {\"name\": \"conf\", \"mountPath\": \"/etc/x\", \"readOnly\": true,"
                      "    \"subPath\": \"a/b\"}],"
                      " \"resources\": {\"limits\": {\"cpu\": \"250m\", \"memory\": \"128Mi\"},"
                      "               \"requests\": {\"cpu\": \"100m\"}}}");
    json_t *labels = parse("{\"io.keelson.pod-uid\": \"u1\", \"io.keelson.node\": \"n1\"}");
    json_t *volumes = parse("{\"data\": \"/var/lib/k/data\", \"conf\": \"/var/lib/k/conf\"}");
    struct ks_podman_ctr_ctx ctx = {.name = "ns_web_u1_web",
                                    .pod = "ns_web_u1",
                                    .labels = labels,
                                    .volumes = volumes,
                                    .stop_timeout_s = 30};
    json_t *out = NULL;

    assert_int_equal(ks_podman_spec_container(&out, c, &ctx), 0);
    assert_json(out, "{\"name\": \"ns_web_u1_web\", \"pod\": \"ns_web_u1\","
                     " \"image\": \"nginx:1.25\", \"restart_policy\": \"no\","
                     " \"entrypoint\": [\"/bin/sh\", \"-c\"], \"command\": [\"exec nginx\"],"
                     " \"env\": {\"A\": \"2\", \"B\": \"\"}, \"work_dir\": \"/srv\","
                     " \"user\": \"1000:2000\","
                     " \"mounts\": [{\"destination\": \"/data\", \"source\": \"/var/lib/k/data\","
                     "   \"type\": \"bind\", \"options\": [\"rbind\", \"rw\"]},"
                     "  {\"destination\": \"/etc/x\", \"source\": \"/var/lib/k/conf/a/b\","
                     "   \"type\": \"bind\", \"options\": [\"rbind\", \"ro\"]}],"
                     " \"resource_limits\": {\"cpu\": {\"quota\": 25000, \"period\": 100000},"
                     "   \"memory\": {\"limit\": 134217728}},"
                     " \"labels\": {\"io.keelson.pod-uid\": \"u1\", \"io.keelson.node\": \"n1\"},"
                     " \"stop_timeout\": 30}");
    json_decref(out);
    json_decref(c);
    json_decref(labels);
    json_decref(volumes);
}

static void test_container_minimal(void **state)
{
    json_t *c = parse("{\"name\": \"x\", \"image\": \"busybox\"}"), *out = NULL;
    struct ks_podman_ctr_ctx ctx = {.name = "x", .stop_timeout_s = -1};

    assert_int_equal(ks_podman_spec_container(&out, c, &ctx), 0);
    /* No command/args: the image's ENTRYPOINT and CMD stay. */
    assert_json(out, "{\"name\": \"x\", \"image\": \"busybox\", \"restart_policy\": \"no\"}");
    json_decref(out);
    json_decref(c);
}

static void test_container_cpu_and_user_forms(void **state)
{
    json_t *c, *out = NULL;
    struct ks_podman_ctr_ctx ctx = {.name = "x", .stop_timeout_s = 0};

    /* Numeric cpu (YAML `cpu: 2`), memory in decimal SI, uid alone. */
    c = parse("{\"image\": \"i\", \"securityContext\": {\"runAsUser\": 0},"
              " \"resources\": {\"limits\": {\"cpu\": 2, \"memory\": \"1G\"}}}");
    assert_int_equal(ks_podman_spec_container(&out, c, &ctx), 0);
    assert_json(out, "{\"name\": \"x\", \"image\": \"i\", \"restart_policy\": \"no\","
                     " \"user\": \"0\", \"stop_timeout\": 0,"
                     " \"resource_limits\": {\"cpu\": {\"quota\": 200000, \"period\": 100000},"
                     "   \"memory\": {\"limit\": 1000000000}}}");
    json_decref(out);
    json_decref(c);
}

static void test_container_refusals(void **state)
{
    json_t *vols = parse("{\"data\": \"/v/data\"}");
    struct ks_podman_ctr_ctx ctx = {.name = "x", .volumes = vols, .stop_timeout_s = -1};

    build_ctr_fails("{\"name\": \"x\"}", &ctx, KS_EINVALID, "no image");
    build_ctr_fails("{\"image\": \"i\"}", &(struct ks_podman_ctr_ctx){.stop_timeout_s = -1},
                    KS_EINVALID, "no Podman name");
    build_ctr_fails("{\"image\": \"i\", \"command\": \"sh\"}", &ctx, KS_EINVALID,
                    "command: not a list");
    build_ctr_fails("{\"image\": \"i\", \"args\": [\"a\", 1]}", &ctx, KS_EINVALID,
                    "args[1]: not a string");
    build_ctr_fails("{\"image\": \"i\", \"env\": [{\"name\": \"A\", \"valueFrom\": {}}]}", &ctx,
                    KS_EINVALID, "env[0] (A): valueFrom must be resolved");
    build_ctr_fails("{\"image\": \"i\", \"env\": [{\"value\": \"v\"}]}", &ctx, KS_EINVALID,
                    "env[0].name");
    build_ctr_fails("{\"image\": \"i\", \"env\": [{\"name\": \"A=B\"}]}", &ctx, KS_EINVALID,
                    "env[0].name");
    build_ctr_fails("{\"image\": \"i\", \"workingDir\": \"rel\"}", &ctx, KS_EINVALID,
                    "workingDir: 'rel' is not absolute");
    build_ctr_fails("{\"image\": \"i\", \"volumeMounts\": [{\"name\": \"nope\","
                    " \"mountPath\": \"/m\"}]}",
                    &ctx, KS_EINVALID, "volume 'nope' has no host path");
    build_ctr_fails("{\"image\": \"i\", \"volumeMounts\": [{\"name\": \"data\","
                    " \"mountPath\": \"/m\", \"subPath\": \"../etc\"}]}",
                    &ctx, KS_EINVALID, "subPath");
    build_ctr_fails("{\"image\": \"i\", \"volumeMounts\": [{\"name\": \"data\","
                    " \"mountPath\": \"m\"}]}",
                    &ctx, KS_EINVALID, "absolute mountPath");
    build_ctr_fails("{\"image\": \"i\", \"resources\": {\"limits\": {\"cpu\": \"lots\"}}}", &ctx,
                    KS_EINVALID, "resources.limits.cpu");
    build_ctr_fails("{\"image\": \"i\", \"resources\": {\"limits\": {\"memory\": \"0\"}}}", &ctx,
                    KS_EINVALID, "resources.limits.memory: must be positive");
    build_ctr_fails("{\"image\": \"i\", \"securityContext\": {\"runAsUser\": -1}}", &ctx,
                    KS_EINVALID, "runAsUser");
    build_ctr_fails("{\"image\": \"i\", \"securityContext\": {\"runAsGroup\": 5}}", &ctx,
                    KS_EINVALID, "runAsGroup without runAsUser");
    json_decref(vols);
}

static void test_container_env_limit(void **state)
{
    json_t *c = parse("{\"image\": \"i\"}"), *env = json_array(), *out = NULL;
    struct ks_podman_ctr_ctx ctx = {.name = "x", .stop_timeout_s = -1};
    char name[16];
    int i;

    for (i = 0; i < 1025; i++) {
        snprintf(name, sizeof(name), "E%d", i);
        json_array_append_new(env, json_pack("{s:s,s:s}", "name", name, "value", "v"));
    }
    json_object_set_new(c, "env", env);
    assert_int_equal(ks_podman_spec_container(&out, c, &ctx), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "1024-entry limit"));
    json_decref(c);
}

static void test_pod_ports_hostname_labels(void **state)
{
    json_t *pod =
        parse("{\"metadata\": {\"name\": \"web-1\", \"labels\": {\"app\": \"web\","
              "  \"tier\": \"front\"}},"
              " \"spec\": {\"containers\": ["
              "  {\"name\": \"a\", \"ports\": [{\"containerPort\": 80, \"hostPort\": 8080,"
              "     \"hostIP\": \"127.0.0.1\"}, {\"containerPort\": 9090}]},"
              "  {\"name\": \"b\", \"ports\": [{\"containerPort\": 53, \"hostPort\": 5353,"
              "     \"protocol\": \"UDP\"}]}]}}");
    json_t *extra = parse("{\"io.keelson.pod-uid\": \"u1\", \"tier\": \"override\"}");
    json_t *out = NULL;

    assert_int_equal(ks_podman_spec_pod(&out, pod, "default_web-1_u1", extra), 0);
    assert_json(out, "{\"name\": \"default_web-1_u1\", \"hostname\": \"web-1\","
                     " \"labels\": {\"app\": \"web\", \"tier\": \"override\","
                     "   \"io.keelson.pod-uid\": \"u1\"},"
                     " \"portmappings\": ["
                     "  {\"container_port\": 80, \"host_port\": 8080, \"host_ip\": \"127.0.0.1\","
                     "   \"protocol\": \"tcp\"},"
                     "  {\"container_port\": 53, \"host_port\": 5353, \"host_ip\": \"\","
                     "   \"protocol\": \"udp\"}]}");
    json_decref(out);
    json_decref(pod);
    json_decref(extra);
}

static void test_pod_hostname_and_host_network(void **state)
{
    json_t *pod = parse("{\"metadata\": {\"name\": \"p\"}, \"spec\": {\"hostname\": \"h\","
                        " \"hostNetwork\": true, \"containers\": [{\"name\": \"a\", \"ports\":"
                        " [{\"containerPort\": 80, \"hostPort\": 80}]}]}}");
    json_t *out = NULL;

    assert_int_equal(ks_podman_spec_pod(&out, pod, "p", NULL), 0);
    /* Host network: no port mappings (the ports are the host's). */
    assert_json(out, "{\"name\": \"p\", \"hostname\": \"h\", \"labels\": {},"
                     " \"netns\": {\"nsmode\": \"host\"}}");
    json_decref(out);
    json_decref(pod);
}

static void test_pod_hostname_from_long_name(void **state)
{
    /* 62 'a', '-', then more: cut to 63 and the trailing '-' dropped. */
    json_t *pod = parse("{\"metadata\": {\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                        "aaaaaaaaaaaaaaaaaa-bbbb\"}, \"spec\": {\"containers\": []}}");
    json_t *out = NULL;

    assert_int_equal(ks_podman_spec_pod(&out, pod, "p", NULL), 0);
    assert_json(out, "{\"name\": \"p\", \"labels\": {}, \"hostname\":"
                     " \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
    json_decref(out);
    json_decref(pod);
}

static void pod_fails(const char *k8s, const char *msg)
{
    json_t *pod = parse(k8s), *out = NULL;

    assert_int_equal(ks_podman_spec_pod(&out, pod, "p", NULL), KS_EINVALID);
    if (!strstr(ks_error_last(), msg))
        fail_msg("message '%s' lacks '%s'", ks_error_last(), msg);
    assert_null(out);
    json_decref(pod);
}

static void test_pod_refusals(void **state)
{
    pod_fails("{\"spec\": {\"containers\": []}}", "no metadata or spec");
    pod_fails("{\"metadata\": {\"name\": \"p\"}, \"spec\": {}}", "spec.containers: not a list");
    pod_fails("{\"metadata\": {\"name\": \"p\"}, \"spec\": {\"containers\": [{\"ports\":"
              " [{\"containerPort\": 80, \"hostPort\": 70000}]}]}}",
              "spec.containers[0].ports[0]: not a port number");
    pod_fails("{\"metadata\": {\"name\": \"p\"}, \"spec\": {\"containers\": [{\"ports\":"
              " [{\"containerPort\": 80, \"hostPort\": 80, \"protocol\": \"ICMP\"}]}]}}",
              "'ICMP' is not TCP, UDP or SCTP");
    pod_fails("{\"metadata\": {\"name\": \"p\", \"labels\": {\"a\": 1}}, \"spec\":"
              " {\"containers\": []}}",
              "metadata.labels.a: not a string");
    pod_fails("{\"metadata\": {\"name\": \"p\"}, \"spec\": {\"hostname\":"
              " \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
              " \"containers\": []}}",
              "over 63 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_full),
        cmocka_unit_test(test_container_minimal),
        cmocka_unit_test(test_container_cpu_and_user_forms),
        cmocka_unit_test(test_container_refusals),
        cmocka_unit_test(test_container_env_limit),
        cmocka_unit_test(test_pod_ports_hostname_labels),
        cmocka_unit_test(test_pod_hostname_and_host_network),
        cmocka_unit_test(test_pod_hostname_from_long_name),
        cmocka_unit_test(test_pod_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
