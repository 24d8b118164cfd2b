/*
 * test_filters.c: each filter against the edge cases Kubernetes documents:
 * exact fit, zero requests, pod count, taints and tolerations (empty key
 * with Exists, effect mismatch, NoExecute), unschedulable nodes, node
 * selector and every affinity operator, host ports, DaemonSet pinning,
 * and the FitError wording kube-scheduler prints.
 */
#include "sched_test.h"

static void fit_exact_and_over(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_container c;
    node_add(s, "n1", 1000, 1 * GI, NULL, 0, NULL, 0);
    struct ks_sched_pod_spec p = {
        .name = "exact", .containers = one_container(&c, 1000, GI), .ncontainers = 1};
    expect_node(place(s, &p, false), "n1");
    p.name = "one-more";
    one_container(&c, 1, -1);
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 Insufficient cpu.");
    p.name = "both";
    one_container(&c, 1, 1);
    expect_message(place(s, &p, false),
                   "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.");
    /* a pod without requests still fits a full node */
    p.name = "zero";
    one_container(&c, -1, -1);
    expect_node(place(s, &p, false), "n1");
    ks_sched_free(s);
}

static void fit_pod_count(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_node_spec n = {.name = "small", .cpu_milli = 4000, .memory = GI, .pods = 2};
    assert_int_equal(ks_sched_node_set(s, &n), 0);
    char name[16];
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        struct ks_sched_pod_spec p = {.name = name};
        expect_node(place(s, &p, false), "small");
    }
    struct ks_sched_pod_spec p = {.name = "third"};
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 Too many pods.");
    ks_sched_free(s);
}

static void message_sorts_reasons(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_taint db = {"dedicated", "db", KS_SCHED_EFFECT_NO_SCHEDULE};
    node_add(s, "a", 4000, 1 * GI, NULL, 0, NULL, 0);
    node_add(s, "b", 4000, 1 * GI, NULL, 0, NULL, 0);
    node_add(s, "c", 4000, 1 * GI, NULL, 0, NULL, 0);
    node_add(s, "d", 4000, 64 * GI, NULL, 0, &db, 1);
    node_add(s, "e", 4000, 64 * GI, NULL, 0, &db, 1);
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {
        .name = "big", .containers = one_container(&c, 100, 2 * GI), .ncontainers = 1};
    expect_message(place(s, &p, false),
                   "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: db}, "
                   "3 Insufficient memory.");
    ks_sched_free(s);
}

static void tolerations(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_taint t[] = {{"dedicated", "db", KS_SCHED_EFFECT_NO_SCHEDULE},
                                 {"gpu", NULL, KS_SCHED_EFFECT_NO_EXECUTE}};
    node_add(s, "t", 4000, 4 * GI, NULL, 0, t, 2);
    struct ks_sched_toleration equal = {"dedicated", false, "db", KS_SCHED_EFFECT_NO_SCHEDULE};
    struct ks_sched_toleration gpu = {"gpu", true, NULL, KS_SCHED_EFFECT_ANY};
    struct ks_sched_toleration wrong_effect = {"gpu", true, NULL, KS_SCHED_EFFECT_NO_SCHEDULE};
    struct ks_sched_toleration all = {NULL, true, NULL, KS_SCHED_EFFECT_ANY};
    struct ks_sched_toleration tols[2] = {equal, gpu};
    struct ks_sched_pod_spec p = {.name = "none"};
    expect_message(place(s, &p, false),
                   "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}.");
    p.name = "only-equal";
    p.tolerations = &equal;
    p.ntolerations = 1;
    expect_message(place(s, &p, false),
                   "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: }.");
    p.name = "effect-mismatch";
    tols[1] = wrong_effect;
    p.tolerations = tols;
    p.ntolerations = 2;
    expect_message(place(s, &p, false),
                   "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: }.");
    p.name = "both";
    tols[1] = gpu;
    expect_node(place(s, &p, false), "t");
    p.name = "exists-empty-key";
    p.tolerations = &all;
    p.ntolerations = 1;
    expect_node(place(s, &p, false), "t");
    /* an empty key needs operator Exists */
    struct ks_sched_toleration bad = {NULL, false, "x", KS_SCHED_EFFECT_ANY};
    uint32_t id;
    p.name = "bad";
    p.tolerations = &bad;
    assert_int_equal(ks_sched_pod_add(&id, s, &p), KS_EINVALID);
    ks_sched_free(s);
}

static void unschedulable_node(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_node_spec cordoned = {
        .name = "c", .cpu_milli = 1000, .memory = GI, .pods = 10, .unschedulable = true};
    assert_int_equal(ks_sched_node_set(s, &cordoned), 0);
    /* a toleration of everything (empty key, Exists) also tolerates a cordon */
    struct ks_sched_toleration all = {NULL, true, NULL, KS_SCHED_EFFECT_ANY};
    struct ks_sched_pod_spec any = {
        .name = "tolerates-all", .tolerations = &all, .ntolerations = 1};
    expect_node(place(s, &any, false), "c");
    ks_sched_free(s);
    s = sched_mk(1);
    struct ks_sched_node_spec n = {
        .name = "cordoned", .cpu_milli = 1000, .memory = GI, .pods = 10, .unschedulable = true};
    assert_int_equal(ks_sched_node_set(s, &n), 0);
    struct ks_sched_pod_spec p = {.name = "p"};
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 node(s) were unschedulable.");
    struct ks_sched_toleration t = {"node.kubernetes.io/unschedulable", true, NULL,
                                    KS_SCHED_EFFECT_NO_SCHEDULE};
    p.name = "tolerating";
    p.tolerations = &t;
    p.ntolerations = 1;
    expect_node(place(s, &p, false), "cordoned");
    ks_sched_free(s);
}

static void node_affinity_operators(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_kv l1[] = {{"disk", "ssd"}, {"cores", "8"}};
    struct ks_sched_kv l2[] = {{"disk", "hdd"}, {"cores", "2"}, {"legacy", "yes"}};
    node_add(s, "fast", 4000, 4 * GI, l1, 2, NULL, 0);
    node_add(s, "slow", 4000, 4 * GI, l2, 3, NULL, 0);
    const char *ssd[] = {"ssd"}, *four[] = {"4"};
    struct {
        struct ks_sched_req req;
        const char *want;
    } cases[] = {
        {{"disk", KS_SCHED_OP_IN, ssd, 1}, "fast"},
        {{"disk", KS_SCHED_OP_NOT_IN, ssd, 1}, "slow"},
        {{"legacy", KS_SCHED_OP_EXISTS, NULL, 0}, "slow"},
        {{"legacy", KS_SCHED_OP_DOES_NOT_EXIST, NULL, 0}, "fast"},
        {{"cores", KS_SCHED_OP_GT, four, 1}, "fast"},
        {{"cores", KS_SCHED_OP_LT, four, 1}, "slow"},
        {{"zone", KS_SCHED_OP_EXISTS, NULL, 0}, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%zu", i);
        struct ks_sched_node_term term = {&cases[i].req, 1, NULL, 0};
        struct ks_sched_pod_spec p = {.name = name, .required = &term, .nrequired = 1};
        if (cases[i].want)
            expect_node(place(s, &p, false), cases[i].want);
        else
            expect_message(place(s, &p, false), "0/2 nodes are available: 2 node(s) didn't match "
                                                "Pod's node affinity/selector.");
    }
    /* terms are ORed, expressions ANDed */
    struct ks_sched_req both[] = {{"disk", KS_SCHED_OP_IN, ssd, 1},
                                  {"legacy", KS_SCHED_OP_EXISTS, NULL, 0}};
    struct ks_sched_req legacy = {"legacy", KS_SCHED_OP_EXISTS, NULL, 0};
    struct ks_sched_node_term terms[] = {{both, 2, NULL, 0}, {&legacy, 1, NULL, 0}};
    struct ks_sched_pod_spec p = {.name = "or", .required = terms, .nrequired = 2};
    expect_node(place(s, &p, false), "slow");
    struct ks_sched_kv sel = {"disk", "ssd"};
    struct ks_sched_pod_spec q = {.name = "selector", .node_selector = &sel, .nnode_selector = 1};
    expect_node(place(s, &q, false), "fast");
    ks_sched_free(s);
}

static void host_ports(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_port tcp = {8080, NULL, NULL}, udp = {8080, "UDP", NULL},
                         ip1 = {9090, "TCP", "10.0.0.1"}, ip2 = {9090, "TCP", "10.0.0.2"},
                         any = {9090, "TCP", "0.0.0.0"};
    struct ks_sched_pod_spec p = {.name = "a", .ports = &tcp, .nports = 1};
    expect_node(place(s, &p, false), "n");
    p.name = "b";
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 node(s) didn't have free ports "
                                        "for the requested pod ports.");
    p.name = "udp";
    p.ports = &udp;
    expect_node(place(s, &p, false), "n");
    p.name = "ip1";
    p.ports = &ip1;
    expect_node(place(s, &p, false), "n");
    p.name = "ip2";
    p.ports = &ip2;
    expect_node(place(s, &p, false), "n");
    p.name = "any";
    p.ports = &any;
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 node(s) didn't have free ports "
                                        "for the requested pod ports.");
    /* removing the pod frees its port */
    uint32_t id;
    assert_int_equal(ks_sched_pod_find(&id, s, NULL, "a"), 0);
    assert_int_equal(ks_sched_pod_remove(s, id), 0);
    p.name = "again";
    p.ports = &tcp;
    expect_node(place(s, &p, false), "n");
    ks_sched_free(s);
}

static void daemonset_pinning(void **state)
{
    struct ks_sched *s = sched_mk(1);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "node-%d", i);
        node_add(s, name, i == 9 ? 10 : 1000, GI, NULL, 0, NULL, 0);
    }
    const char *seven[] = {"node-7"}, *nine[] = {"node-9"};
    struct ks_sched_req field = {"metadata.name", KS_SCHED_OP_IN, seven, 1};
    struct ks_sched_node_term term = {NULL, 0, &field, 1};
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {.name = "ds-7",
                                  .required = &term,
                                  .nrequired = 1,
                                  .containers = one_container(&c, 100, MI),
                                  .ncontainers = 1};
    struct ks_sched_result r = place(s, &p, false);
    assert_int_equal(r.nodes_evaluated, 1);
    expect_node(r, "node-7");
    field.values = nine;
    p.name = "ds-9";
    expect_message(place(s, &p, false), "0/200 nodes are available: 1 Insufficient cpu, 199 "
                                        "node(s) didn't satisfy plugin(s) [NodeAffinity].");
    /* other fields than metadata.name are rejected */
    field.key = "metadata.uid";
    uint32_t id;
    p.name = "bad";
    assert_int_equal(ks_sched_pod_add(&id, s, &p), KS_EINVALID);
    ks_sched_free(s);
}

static void node_update_and_remove(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n", 1000, GI, NULL, 0, NULL, 0);
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {
        .name = "a", .containers = one_container(&c, 800, -1), .ncontainers = 1};
    expect_node(place(s, &p, false), "n");
    p.name = "b";
    expect_message(place(s, &p, false), "0/1 nodes are available: 1 Insufficient cpu.");
    node_add(s, "n", 2000, GI, NULL, 0, NULL, 0); /* grows: pods stay, room appears */
    uint32_t b;
    assert_int_equal(ks_sched_pod_find(&b, s, "default", "b"), 0);
    struct ks_sched_result r;
    assert_int_equal(ks_sched_schedule(&r, s, b, false), 0);
    expect_node(r, "n");
    assert_int_equal(ks_sched_node_remove(s, "n"), 0);
    assert_null(ks_sched_pod_node(s, b));
    assert_int_equal(ks_sched_node_count(s), 0);
    assert_int_equal(ks_sched_schedule(&r, s, b, false), 0);
    expect_message(r, "no nodes available to schedule pods");
    assert_int_equal(ks_sched_node_remove(s, "n"), KS_ENOTFOUND);
    ks_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fit_exact_and_over),
        cmocka_unit_test(fit_pod_count),
        cmocka_unit_test(message_sorts_reasons),
        cmocka_unit_test(tolerations),
        cmocka_unit_test(unschedulable_node),
        cmocka_unit_test(node_affinity_operators),
        cmocka_unit_test(host_ports),
        cmocka_unit_test(daemonset_pinning),
        cmocka_unit_test(node_update_and_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
