/*
 * test_preempt.c: preemption by priority (lowest-priority victims, fewest
 * victims, grace periods, "not helpful" and "no victims" summaries in
 * kube-scheduler's words) and batch placement in queue order.
 */
#include "sched_test.h"

static uint32_t bound_pod(struct ks_sched *s, const char *name, const char *node, int64_t cpu,
                          int32_t prio, int64_t grace)
{
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {.name = name,
                                  .node_name = node,
                                  .priority = prio,
                                  .grace_seconds = grace,
                                  .containers = one_container(&c, cpu, -1),
                                  .ncontainers = 1};
    return pod_add(s, &p);
}

static struct ks_sched_result urgent(struct ks_sched *s, const char *name, int64_t cpu,
                                     int32_t prio)
{
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {
        .name = name, .priority = prio, .containers = one_container(&c, cpu, -1), .ncontainers = 1};
    return place(s, &p, true);
}

static void lowest_priority_victim(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n", 1000, GI, NULL, 0, NULL, 0);
    uint32_t low = bound_pod(s, "low", "n", 500, 1, 10);
    bound_pod(s, "mid", "n", 500, 5, -1);
    struct ks_sched_result r = urgent(s, "urgent", 500, 1000);
    assert_int_equal(r.status, KS_SCHED_NOMINATED);
    assert_string_equal(r.node, "n");
    assert_int_equal(r.nvictims, 1);
    assert_int_equal(r.victims[0].pod, low);
    assert_int_equal(r.victims[0].priority, 1);
    assert_int_equal(r.victims[0].grace_seconds, 10);
    assert_string_equal(r.message, "0/1 nodes are available: 1 Insufficient cpu.");
    /* nothing was evicted */
    assert_string_equal(ks_sched_pod_node(s, low), "n");
    json_t *j = ks_sched_result_to_json(s, &r);
    char *text = json_dumps(json_object_get(j, "victims"), JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "[{\"gracePeriodSeconds\":10,\"pod\":\"default/low\",\"priority\":1}]");
    free(text);
    json_decref(j);
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

static void picks_node_with_cheapest_victims(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "a", 1000, GI, NULL, 0, NULL, 0);
    node_add(s, "b", 1000, GI, NULL, 0, NULL, 0);
    node_add(s, "c", 1000, GI, NULL, 0, NULL, 0);
    bound_pod(s, "a-big", "a", 1000, 50, -1); /* one victim of priority 50 */
    bound_pod(s, "b-1", "b", 400, 10, -1);    /* victims of priority 10 */
    bound_pod(s, "b-2", "b", 600, 10, -1);
    bound_pod(s, "c-1", "c", 300, 10, -1);
    bound_pod(s, "c-2", "c", 300, 10, -1);
    bound_pod(s, "c-3", "c", 400, 10, -1);
    struct ks_sched_result r = urgent(s, "u", 600, 100);
    assert_int_equal(r.status, KS_SCHED_NOMINATED);
    /* b and c both have max victim priority 10; b needs one victim (b-2, the
     * 600m pod), c needs two: b has the smaller priority sum */
    assert_string_equal(r.node, "b");
    assert_int_equal(r.nvictims, 1);
    assert_string_equal(ks_sched_pod_name(s, r.victims[0].pod), "b-2");
    assert_int_equal(r.victims[0].grace_seconds, 30);
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

static void preemption_summaries(void **state)
{
    struct ks_sched *s = sched_mk(1);
    struct ks_sched_taint t = {"dedicated", "db", KS_SCHED_EFFECT_NO_SCHEDULE};
    node_add(s, "tainted", 4000, GI, NULL, 0, &t, 1);
    node_add(s, "full", 1000, GI, NULL, 0, NULL, 0);
    bound_pod(s, "peer", "full", 1000, 100, -1);
    struct ks_sched_result r = urgent(s, "same-priority", 500, 100);
    expect_message(r,
                   "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated "
                   "taint {dedicated: db}. preemption: 0/2 nodes are available: 1 No preemption "
                   "victims found for incoming pod, 1 Preemption is not helpful for scheduling.");
    ks_sched_free(s);
}

/* Preemption also resolves anti-affinity: the low-priority pod whose
 * anti-affinity rejects the newcomer is the victim. */
static void preempts_anti_affinity_owner(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "only", 4000, 4 * GI, NULL, 0, NULL, 0);
    struct ks_sched_kv web = {"app", "web"};
    struct ks_sched_pod_term anti = {
        {.match_labels = &web, .nmatch_labels = 1}, KS_SCHED_HOSTNAME_KEY, NULL, 0};
    struct ks_sched_pod_spec loner = {.name = "loner",
                                      .node_name = "only",
                                      .priority = 1,
                                      .anti_affinity = &anti,
                                      .nanti_affinity = 1};
    uint32_t victim = pod_add(s, &loner);
    bound_pod(s, "bystander", "only", 100, 0, -1);
    struct ks_sched_pod_spec p = {.name = "web", .labels = &web, .nlabels = 1, .priority = 100};
    struct ks_sched_result r = place(s, &p, true);
    assert_int_equal(r.status, KS_SCHED_NOMINATED);
    assert_int_equal(r.nvictims, 1); /* the bystander is reprieved */
    assert_int_equal(r.victims[0].pod, victim);
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

/* A DaemonSet pod pinned to a full node preempts there and only there. */
static void pinned_pod_preempts_on_its_node(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "a", 1000, GI, NULL, 0, NULL, 0);
    node_add(s, "b", 1000, GI, NULL, 0, NULL, 0);
    bound_pod(s, "fill-a", "a", 1000, 0, -1);
    bound_pod(s, "fill-b", "b", 900, 0, -1);
    const char *b[] = {"b"};
    struct ks_sched_req field = {"metadata.name", KS_SCHED_OP_IN, b, 1};
    struct ks_sched_node_term term = {NULL, 0, &field, 1};
    struct ks_sched_container c;
    struct ks_sched_pod_spec p = {.name = "ds-b",
                                  .priority = 1000,
                                  .required = &term,
                                  .nrequired = 1,
                                  .containers = one_container(&c, 200, -1),
                                  .ncontainers = 1};
    struct ks_sched_result r = place(s, &p, true);
    assert_int_equal(r.status, KS_SCHED_NOMINATED);
    assert_string_equal(r.node, "b");
    assert_string_equal(ks_sched_pod_name(s, r.victims[0].pod), "fill-b");
    ks_sched_result_release(&r);
    ks_sched_free(s);
}

static void batch_queue_order_and_preemption(void **state)
{
    struct ks_sched *s = sched_mk(1);
    node_add(s, "n", 1000, GI, NULL, 0, NULL, 0);
    uint32_t old = bound_pod(s, "old", "n", 600, 0, -1);
    struct ks_sched_container c;
    struct ks_sched_pod_spec lo = {
        .name = "lo", .priority = 1, .containers = one_container(&c, 400, -1), .ncontainers = 1};
    uint32_t ids[2];
    ids[0] = pod_add(s, &lo);
    struct ks_sched_pod_spec hi = {
        .name = "hi", .priority = 10, .containers = one_container(&c, 400, -1), .ncontainers = 1};
    ids[1] = pod_add(s, &hi);
    struct ks_sched_result out[2];
    assert_int_equal(ks_sched_batch(out, s, ids, 2, false), 0);
    /* hi goes first although listed second */
    assert_int_equal(out[1].status, KS_SCHED_BOUND);
    assert_int_equal(out[0].status, KS_SCHED_UNSCHEDULABLE);
    json_t *plan = ks_sched_batch_to_json(s, out, 2);
    assert_non_null(plan);
    assert_int_equal(json_integer_value(json_object_get(plan, "bound")), 1);
    assert_int_equal(json_integer_value(json_object_get(plan, "unschedulable")), 1);
    json_t *first = json_array_get(json_object_get(plan, "placements"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "pod")), "default/lo");
    assert_string_equal(json_string_value(json_object_get(first, "message")),
                        "0/1 nodes are available: 1 Insufficient cpu.");
    json_decref(plan);
    ks_sched_result_release(&out[0]);
    ks_sched_result_release(&out[1]);
    /* with preemption, lo evicts old (priority 0) and takes its room */
    assert_int_equal(ks_sched_batch(out, s, ids, 1, true), 0);
    assert_int_equal(out[0].status, KS_SCHED_NOMINATED);
    assert_int_equal(out[0].nvictims, 1);
    assert_int_equal(out[0].victims[0].pod, old);
    assert_null(ks_sched_pod_node(s, old));
    assert_string_equal(ks_sched_pod_node(s, ids[0]), "n");
    ks_sched_result_release(&out[0]);
    ks_sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lowest_priority_victim),
        cmocka_unit_test(picks_node_with_cheapest_victims),
        cmocka_unit_test(preemption_summaries),
        cmocka_unit_test(preempts_anti_affinity_owner),
        cmocka_unit_test(pinned_pod_preempts_on_its_node),
        cmocka_unit_test(batch_queue_order_and_preemption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
