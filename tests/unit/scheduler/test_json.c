/*
 * test_json.c: the Kubernetes-shaped JSON adapters: Node allocatable
 * quantities, labels, taints and images; Pod requests, selectors,
 * affinity, tolerations, spread constraints, ownerReferences and priority
 * classes; and errors that name the offending field and the limits.
 */
#include "sched_test.h"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fprintf(stderr, "bad test JSON: %s\n", err.text);
    assert_non_null(j);
    return j;
}

static void node_json(struct ks_sched *s, const char *text)
{
    json_t *j = parse(text);
    int rc = ks_sched_node_set_json(s, j);
    if (rc)
        fprintf(stderr, "node: %s\n", ks_error_last());
    assert_int_equal(rc, 0);
    json_decref(j);
}

static int pod_json(uint32_t *id, struct ks_sched *s, const char *text)
{
    json_t *j = parse(text);
    int rc = ks_sched_pod_add_json(id, s, j);
    json_decref(j);
    return rc;
}

static struct ks_sched_result sched_json(struct ks_sched *s, const char *text)
{
    uint32_t id;
    struct ks_sched_result r;
    int rc = pod_json(&id, s, text);
    if (rc)
        fprintf(stderr, "pod: %s\n", ks_error_last());
    assert_int_equal(rc, 0);
    assert_int_equal(ks_sched_schedule(&r, s, id, true), 0);
    return r;
}

static void cluster(struct ks_sched *s)
{
    node_json(s,
              "{\"metadata\":{\"name\":\"db-1\",\"labels\":{\"disk\":\"ssd\","
              "\"topology.kubernetes.io/zone\":\"a\"}},"
              "\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"db\","
              "\"effect\":\"NoSchedule\"}]},"
              "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"}}}");
    node_json(s, "{\"metadata\":{\"name\":\"web-1\",\"labels\":{\"disk\":\"hdd\","
                 "\"topology.kubernetes.io/zone\":\"b\"}},"
                 "\"status\":{\"capacity\":{\"cpu\":\"2500m\",\"memory\":\"4Gi\"},"
                 "\"images\":[{\"names\":[\"docker.io/library/nginx:1.25\",\"nginx:1.25\"],"
                 "\"sizeBytes\":734003200}]}}");
}

static void nodes_and_pods(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);
    /* the taint keeps it off db-1; 2 cpu fits web-1's 2500m */
    struct ks_sched_result r = sched_json(
        s, "{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
           "\"spec\":{\"containers\":[{\"image\":\"nginx:1.25\",\"resources\":{\"requests\":"
           "{\"cpu\":\"2\",\"memory\":\"1Gi\"}},\"ports\":[{\"containerPort\":80,\"hostPort\":8080}"
           "]}]}}");
    expect_node(r, "web-1");
    r = sched_json(
        s, "{\"metadata\":{\"name\":\"web2\",\"namespace\":\"shop\"},"
           "\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"600m\"}}}]}}");
    expect_message(r,
                   "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
                   "{dedicated: db}. preemption: 0/2 nodes are available: 1 No preemption "
                   "victims found for incoming pod, 1 Preemption is not helpful for scheduling.");
    r = sched_json(s,
                   "{\"metadata\":{\"name\":\"db\"},\"spec\":{"
                   "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\","
                   "\"value\":\"db\",\"effect\":\"NoSchedule\"}],"
                   "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
                   "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"disk\","
                   "\"operator\":\"In\",\"values\":[\"ssd\"]}]}]}}},"
                   "\"containers\":[{\"resources\":{\"requests\":{\"memory\":\"6Gi\"}}}]}}");
    expect_node(r, "db-1");
    r = sched_json(s,
                   "{\"metadata\":{\"name\":\"sel\"},\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"},"
                   "\"tolerations\":[{\"operator\":\"Exists\"}]}}");
    expect_node(r, "db-1");
    ks_sched_free(s);
}

#define API_POD(NAME)                                                                              \
    "{\"metadata\":{\"name\":\"" NAME "\",\"labels\":{\"app\":\"api\"},"                           \
    "\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"uid\":\"rs-1\",\"controller\":true}]},"       \
    "\"spec\":{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Exists\"}],"                 \
    "\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/"      \
    "zone\",\"whenUnsatisfiable\":\"DoNotSchedule\",\"labelSelector\":{\"matchLabels\":"           \
    "{\"app\":\"api\"}}}],"                                                                        \
    "\"affinity\":{\"podAntiAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"       \
    "[{\"topologyKey\":\"kubernetes.io/hostname\",\"labelSelector\":{\"matchExpressions\":"        \
    "[{\"key\":\"app\",\"operator\":\"In\",\"values\":[\"api\"]}]}}]}}}}"

/* requests = max(sum of containers, largest init container) + overhead */
static void init_containers_and_overhead(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_json(s, "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":"
                 "{\"cpu\":\"2\",\"memory\":\"4Gi\"}}}");
    /* containers 500m + 500m, init 1500m: needs 1500m + 100m overhead */
    struct ks_sched_result r =
        sched_json(s, "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"overhead\":{\"cpu\":\"100m\"},"
                      "\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"1500m\"}}}],"
                      "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"500m\"}}},"
                      "{\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}}");
    expect_node(r, "n");
    r = sched_json(s, "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"containers\":[{"
                      "\"resources\":{\"requests\":{\"cpu\":\"401m\"}}}]}}");
    assert_int_equal(r.status, KS_SCHED_UNSCHEDULABLE);
    ks_sched_result_release(&r);
    r = sched_json(s, "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"containers\":[{"
                      "\"resources\":{\"requests\":{\"cpu\":\"400m\"}}}]}}");
    expect_node(r, "n");
    uint32_t id;
    assert_int_equal(pod_json(&id, s,
                              "{\"metadata\":{\"name\":\"d\"},\"spec\":{"
                              "\"overhead\":{\"memory\":\"x\"}}}"),
                     KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "spec.overhead.memory"));
    ks_sched_free(s);
}

static void spread_affinity_and_owner(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);

    const char *texts[] = {API_POD("api-0"), API_POD("api-1")};
    const char *nodes[2];
    for (int i = 0; i < 2; i++) {
        struct ks_sched_result r = sched_json(s, texts[i]);
        assert_int_equal(r.status, KS_SCHED_BOUND);
        nodes[i] = r.node;
        ks_sched_result_release(&r);
    }
    assert_string_not_equal(nodes[0], nodes[1]);
    expect_message(sched_json(s, API_POD("api-2")),
                   "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. "
                   "preemption: 0/2 nodes are available: 2 No preemption victims found for "
                   "incoming pod.");
    ks_sched_free(s);
}

static void preferred_pod_affinity_json(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);
    uint32_t id;
    assert_int_equal(pod_json(&id, s,
                              "{\"metadata\":{\"name\":\"db\",\"labels\":{\"app\":"
                              "\"db\"}},\"spec\":{\"nodeName\":\"db-1\"}}"),
                     0);
    struct ks_sched_result r = sched_json(
        s,
        "{\"metadata\":{\"name\":\"near\"},\"spec\":{\"tolerations\":[{\"operator\":"
        "\"Exists\"}],\"affinity\":{\"podAffinity\":{\"preferredDuringSchedulingIgnored"
        "DuringExecution\":[{\"weight\":80,\"podAffinityTerm\":{\"topologyKey\":"
        "\"kubernetes.io/hostname\",\"labelSelector\":{\"matchLabels\":{\"app\":\"db\"}}}}]}}}}");
    assert_int_equal(r.scores[KS_SCHED_SCORE_INTERPOD], 200);
    expect_node(r, "db-1");
    assert_int_equal(pod_json(&id, s,
                              "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"affinity\":"
                              "{\"podAntiAffinity\":{\"preferredDuringScheduling"
                              "IgnoredDuringExecution\":[{\"weight\":0,"
                              "\"podAffinityTerm\":{\"topologyKey\":\"k\"}}]}}}}"),
                     KS_EINVALID);
    assert_non_null(strstr(ks_error_last(), "weight"));
    ks_sched_free(s);
}

/* Default spreading covers ReplicaSet (etc.) pods, not DaemonSet pods. */
static void default_spreading_by_owner_kind(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);
    struct ks_sched_result r = sched_json(
        s, "{\"metadata\":{\"name\":\"rs-pod\",\"ownerReferences\":[{\"kind\":\"ReplicaSet\","
           "\"uid\":\"u1\",\"controller\":true}]},\"spec\":{\"tolerations\":[{\"operator\":"
           "\"Exists\"}]}}");
    assert_int_equal(r.scores[KS_SCHED_SCORE_SPREAD], 200);
    ks_sched_result_release(&r);
    r = sched_json(s, "{\"metadata\":{\"name\":\"ds-pod\",\"ownerReferences\":[{\"kind\":"
                      "\"DaemonSet\",\"uid\":\"u2\",\"controller\":true}]},\"spec\":{"
                      "\"tolerations\":[{\"operator\":\"Exists\"}]}}");
    assert_int_equal(r.status, KS_SCHED_BOUND);
    assert_int_equal(r.scores[KS_SCHED_SCORE_SPREAD], 0);
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

static void priority_class_preemption(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);
    assert_int_equal(ks_sched_priority_class_set(s, "critical", 1000000), 0);
    uint32_t low;
    assert_int_equal(pod_json(&low, s,
                              "{\"metadata\":{\"name\":\"batch\"},\"spec\":{"
                              "\"nodeName\":\"web-1\",\"terminationGracePeriodSeconds\":5,"
                              "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}"),
                     0);
    struct ks_sched_result r = sched_json(
        s, "{\"metadata\":{\"name\":\"vip\"},\"spec\":{\"priorityClassName\":\"critical\","
           "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}");
    assert_int_equal(r.status, KS_SCHED_NOMINATED);
    assert_string_equal(r.node, "web-1");
    assert_int_equal(r.nvictims, 1);
    assert_int_equal(r.victims[0].pod, low);
    assert_int_equal(r.victims[0].grace_seconds, 5);
    ks_sched_result_release(&r);
    uint32_t id;
    assert_int_equal(pod_json(&id, s,
                              "{\"metadata\":{\"name\":\"x\"},\"spec\":{"
                              "\"priorityClassName\":\"nope\"}}"),
                     KS_EINVALID);
    assert_non_null(
        strstr(ks_error_last(), "spec.priorityClassName: no priority class named \"nope\""));
    ks_sched_free(s);
}

static void errors_name_fields(void **state)
{
    struct ks_sched *s = sched_mk(1);
    cluster(s);
    uint32_t id;
    struct {
        const char *json, *needle;
        int code;
    } cases[] = {
        {"{\"metadata\":{\"name\":\"q\"},\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
         "{\"cpu\":\"lots\"}}}]}}",
         "spec.containers[0]: resources.requests.cpu", KS_EINVALID},
        {"{\"metadata\":{\"name\":\"o\"},\"spec\":{\"tolerations\":[{\"key\":\"a\",\"operator\":"
         "\"Maybe\"}]}}",
         "spec.tolerations[0].operator: unknown operator \"Maybe\"", KS_EINVALID},
        {"{\"metadata\":{\"name\":\"w\"},\"spec\":{\"topologySpreadConstraints\":[{\"maxSkew\":0,"
         "\"topologyKey\":\"k\",\"whenUnsatisfiable\":\"DoNotSchedule\"}]}}",
         "spec.topologySpreadConstraints[0]", KS_EINVALID},
        {"{\"metadata\":{\"name\":\"l\",\"labels\":{\"a\":1}}}",
         "metadata.labels.a: expected a string", KS_EINVALID},
        {"{\"spec\":{}}", "metadata.name", KS_EINVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(pod_json(&id, s, cases[i].json), cases[i].code);
        if (!strstr(ks_error_last(), cases[i].needle))
            fprintf(stderr, "case %zu: %s\n", i, ks_error_last());
        assert_non_null(strstr(ks_error_last(), cases[i].needle));
    }
    /* limits: 300 labels */
    json_t *pod = parse("{\"metadata\":{\"name\":\"big\",\"labels\":{}}}");
    json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
    for (int i = 0; i < 300; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(labels, k, json_string("v"));
    }
    assert_int_equal(ks_sched_pod_add_json(&id, s, pod), KS_ELIMIT);
    assert_non_null(strstr(ks_error_last(), "limit of 256"));
    json_decref(pod);
    /* a duplicate pod is a conflict */
    assert_int_equal(pod_json(&id, s, "{\"metadata\":{\"name\":\"dup\"}}"), 0);
    assert_int_equal(pod_json(&id, s, "{\"metadata\":{\"name\":\"dup\"}}"), KS_ECONFLICT);
    ks_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nodes_and_pods),
        cmocka_unit_test(init_containers_and_overhead),
        cmocka_unit_test(spread_affinity_and_owner),
        cmocka_unit_test(preferred_pod_affinity_json),
        cmocka_unit_test(default_spreading_by_owner_kind),
        cmocka_unit_test(priority_class_preemption),
        cmocka_unit_test(errors_name_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
